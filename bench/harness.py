"""Running the cases: one mock process per data set, engines alternating A B A B, each run
in a fresh process writing a fresh DuckDB file; request counts come from the mock."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cases import Case
from .mockproc import REPO, MockProcess, child_env

WORKER_TIMEOUT_S = 900


@dataclass
class Run:
    """One measured run of one engine on one case."""

    case: str
    engine: str  # dlt | dlt-tuned | sluice | floor | airbyte
    size: str  # the case's size label
    wall: float = 0.0
    cpu: float = 0.0
    rss_mb: float = 0.0
    rss_start_mb: float = 0.0  # after imports, before the run
    process_wall: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    mock: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def records(self) -> int:
        """Rows of the root tables (one per record the API served; child tables excluded)."""
        return sum(t["rows"] for name, t in self.tables.items() if "__" not in name)

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.tables.values())


@dataclass
class Options:
    airbyte_bin: str | None = None
    keep: bool = False
    log: Any = sys.stderr


@contextmanager
def _workdir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sluice-bench-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


def run_worker(job: dict[str, Any], keep: bool = False, env: dict[str, str] | None = None) -> dict[str, Any]:
    """One job in a fresh `python -m bench.worker` process; the result plus its process wall."""
    with _workdir(keep) as work:
        job = {**job, "workdir": str(work / "run")}
        (work / "job.json").write_text(json.dumps(job))
        started = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, "-m", "bench.worker", str(work / "job.json"), str(work / "result.json")],
                                  cwd=REPO, env=child_env(env), capture_output=True, text=True, timeout=WORKER_TIMEOUT_S,
                                  check=False)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {WORKER_TIMEOUT_S} s"}
        process_wall = time.perf_counter() - started
        if not (work / "result.json").exists():
            return {"error": f"worker exit {done.returncode}: {done.stderr.strip()[-1500:]}"}
        result: dict[str, Any] = json.loads((work / "result.json").read_text())
        result["process_wall"] = process_wall
        return result


def _first_lines(text: str, limit: int = 300) -> str:
    """An error as one short line: dlt's wrappers add paragraphs of advice after the cause."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    cause = next((line for line in lines if "Cause:" in line or "Error" in line.split(":")[0]), lines[0] if lines else text)
    return cause[:limit]


@dataclass
class Work:
    """One case to run: its engines (engine, runs wanted) at full size, and engines run once on a
    reduced copy beside sluice (dlt, whose runs take a minute per 100,000 records here)."""

    case: Case
    schedule: list[tuple[str, int]]
    reduced: Case | None = None
    reduced_engines: tuple[str, ...] = ()  # run once each on `reduced`, then sluice
    weight: float = 1.0  # share of the time budget


class CaseRunner:
    """Runs cases: engines alternate, A B A B, against one mock process per data set."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.cuts: list[str] = []  # cases that got fewer rounds than asked, to stay in the budget

    def run(self, work: Work, allowance: float | None = None) -> list[Run]:
        """The first round always runs; later rounds only while they fit in `allowance` seconds."""
        started = time.monotonic()
        failed: set[str] = set()  # an engine that failed once is not run again on this case
        with self._mock(work.case) as mock:
            runs = self._round(mock, work.case, work.schedule, 0, failed)
            last = time.monotonic() - started
            if work.reduced is not None:
                with self._mock(work.reduced) as small:
                    schedule = [(e, 1) for e in (*work.reduced_engines, "sluice")]
                    runs += self._round(small, work.reduced, schedule, 0, set())
            rounds = max((n for _, n in work.schedule), default=0)
            for round_ in range(1, rounds):
                if allowance is not None and time.monotonic() - started + last > allowance:
                    self.cuts.append(f"{work.case.name}: {round_} round(s) of {rounds} (time budget)")
                    break
                begun = time.monotonic()
                runs += self._round(mock, work.case, work.schedule, round_, failed)
                last = time.monotonic() - begun
        return runs

    def _mock(self, case: Case) -> MockProcess:
        mock = MockProcess(case.mock, counts=case.counts, options=case.seed.options if case.seed else None)
        try:
            self._warm_up(mock, case)
            mock.set_latency(case.latency_ms)
        except BaseException:
            mock.close()
            raise
        return mock

    def _round(self, mock: MockProcess, case: Case, schedule: list[tuple[str, int]], round_: int,
               failed: set[str]) -> list[Run]:
        runs = []
        for engine, wanted in schedule:
            if round_ < wanted and engine not in failed:
                runs.append(self._one(mock, case, engine))
                if runs[-1].error:
                    failed.add(engine)
        return runs

    def _warm_up(self, mock: MockProcess, case: Case) -> None:
        """Every page once, so the mock's body cache is as warm for the first engine as the last."""
        if case.floor is not None:
            from .floor import fetch

            asyncio.run(fetch(case.floor(mock.origin)))

    def _job(self, mock: MockProcess, case: Case, engine: str) -> tuple[dict[str, Any], dict[str, str]]:
        job: dict[str, Any] = {"engine": engine}
        env: dict[str, str] = {}
        if engine == "floor":
            assert case.floor is not None
            job["plan"] = case.floor(mock.origin)
        elif engine == "airbyte":
            assert case.airbyte is not None
            job["airbyte"] = {**case.airbyte(mock.origin), "bin": self.options.airbyte_bin}
        elif case.seed is not None:
            from sluice.connectors import CONNECTORS

            job["connector"] = {"name": case.seed.connector, "base_url": mock.base_url, "client": case.seed.client}
            env[CONNECTORS[case.seed.connector].secret.upper()] = mock.api_key
        else:
            assert case.config is not None
            job["config"] = case.config(mock.origin)
        return job, env

    def _one(self, mock: MockProcess, case: Case, engine: str) -> Run:
        job, env = self._job(mock, case, engine)
        mock.reset()
        result = run_worker(job, self.options.keep, env)
        stats = mock.stats()
        error = result.get("error")
        run = Run(case.name, engine, case.size, mock=stats, error=_first_lines(error) if error else None)
        for key in ("wall", "cpu", "rss_mb", "rss_start_mb", "process_wall", "phases", "tables"):
            if key in result:
                setattr(run, key, result[key])
        self._log(run)
        return run

    def _log(self, run: Run) -> None:
        what = f"ERROR {run.error}" if run.error else (
            f"{run.wall:7.2f} s  cpu {run.cpu:6.2f} s  rss {run.rss_mb:6.0f} MB  "
            f"{run.mock.get('requests', 0)} requests  {run.rows} rows")
        print(f"  {run.case:<26} {run.size:<9} {run.engine:<9} {what}", file=self.options.log, flush=True)
