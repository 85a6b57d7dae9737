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
    size: str  # "full" or "reduced"
    wall: float = 0.0
    cpu: float = 0.0
    rss_mb: float = 0.0
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
    repeat: int = 3
    dlt_repeat: int = 1
    engines: tuple[str, ...] = ("dlt", "dlt-tuned", "sluice", "floor")
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


class CaseRunner:
    """Runs one case's engines against one mock process."""

    def __init__(self, case: Case, size: str, options: Options) -> None:
        self.case, self.size, self.options = case, size, options

    def run(self, schedule: list[tuple[str, int]]) -> list[Run]:
        """`schedule`: (engine, runs wanted); engines alternate, A B A B, until each has its runs."""
        case = self.case
        seed = case.seed
        with MockProcess(case.mock, counts=case.counts, options=seed.options if seed else None) as mock:
            self._warm_up(mock)
            mock.set_latency(case.latency_ms)
            runs: list[Run] = []
            failed: set[str] = set()  # an engine that failed once is not run again on this case
            for round_ in range(max((n for _, n in schedule), default=0)):
                for engine, wanted in schedule:
                    if round_ < wanted and engine not in failed:
                        runs.append(self._one(mock, engine))
                        if runs[-1].error:
                            failed.add(engine)
            return runs

    def _warm_up(self, mock: MockProcess) -> None:
        """Every page once, so the mock's body cache is as warm for the first engine as the last."""
        if self.case.floor is not None:
            from .floor import fetch

            asyncio.run(fetch(self.case.floor(mock.origin)))

    def _job(self, mock: MockProcess, engine: str) -> tuple[dict[str, Any], dict[str, str]]:
        case = self.case
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

    def _one(self, mock: MockProcess, engine: str) -> Run:
        job, env = self._job(mock, engine)
        mock.reset()
        result = run_worker(job, self.options.keep, env)
        stats = mock.stats()
        error = result.get("error")
        run = Run(self.case.name, engine, self.size, mock=stats, error=_first_lines(error) if error else None)
        for key in ("wall", "cpu", "rss_mb", "process_wall", "phases", "tables"):
            if key in result:
                setattr(run, key, result[key])
        self._log(run)
        return run

    def _log(self, run: Run) -> None:
        what = f"ERROR {run.error}" if run.error else (
            f"{run.wall:7.2f} s  cpu {run.cpu:6.2f} s  rss {run.rss_mb:6.0f} MB  "
            f"{run.mock.get('requests', 0)} requests  {run.rows} rows")
        print(f"  {run.case:<26} {self.size:<7} {run.engine:<9} {what}", file=self.options.log, flush=True)
