"""SIGKILL a pipeline at random points of a run, rerun it, and compare the destination with
an uninterrupted run.

The API is the `tickets` mock served by another process (`python -m sluice.mock`); the
pipelines are the seed configuration run by children forked from `crash_worker.py`, one
per run, killed with SIGKILL at a random moment (before the first request, during
extraction, normalization or load, or after the end).

What a rerun does (dlt 1.31, observed and asserted here): a run killed before its extract
finished leaves nothing pending, and the rerun extracts anew. A run killed after extract
leaves its package pending (normalize/extracted or load/normalized), and the rerun loads that
package and stops there, without extracting (jobs already loaded are not loaded again). So:
- merge: the destination always ends with exactly the rows of an uninterrupted run;
- append: the same, unless the killed run had already committed its load (killed after the
  end, or between the last commit and exit): then the rerun is a second full run and every
  row is there twice. That is append's meaning, not a loss; it is asserted as such.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from forkserver import ForkServer

KILL_POINTS = {"merge": 12, "append": 8}
SEED = 20240607


class Worker(ForkServer):
    """A `crash_worker.py` process: forks pipeline runs on demand."""

    def __init__(self) -> None:
        super().__init__("crash_worker.py", timeout=120.0)


@pytest.fixture(scope="module")
def api() -> Any:
    """The tickets mock in its own process: 1,200 records, 12 pages of 100, 20 ms a request."""
    proc = subprocess.Popen([sys.executable, "-m", "sluice.mock", "tickets", "--port", "0", "--count", "tickets=1200",
                             "--latency-ms", "20"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    found: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while len(found) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        for key in ("base_url", "api_key"):
            if line.strip().startswith(f"{key}:"):
                found[key] = line.split(":", 1)[1].strip()
    assert len(found) == 2, "the mock process did not start"
    yield found
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def snapshot(directory: Path) -> dict[str, Counter[tuple[str, ...]]]:
    """Every data table's rows (dlt's own columns left out) as a multiset."""
    with duckdb.connect(str(directory / "crash.duckdb")) as con:
        tables = [t for (t,) in con.execute("select table_name from information_schema.tables where table_schema = 'd'").fetchall()
                  if not t.startswith("_dlt")]
        out = {}
        for table in tables:
            columns = [c for (c,) in con.execute(f"select column_name from information_schema.columns where table_schema = 'd' "
                                                 f"and table_name = '{table}' order by ordinal_position").fetchall()
                       if not c.startswith("_dlt")]
            rows = con.execute(f"select {', '.join(columns)} from d.{table}").fetchall()
            out[table] = Counter(tuple(map(repr, row)) for row in rows)
    return out


def pending(directory: Path) -> str:
    """Where the killed run left its package: the phase a rerun starts from."""
    root = directory / "pipelines" / "crash"
    if any((root / "load" / "loaded").glob("*")):
        return "loaded"
    if any((root / "load" / "normalized").glob("*")):
        return "normalized, load pending"
    if any((root / "normalize" / "extracted").glob("*")):
        return "extracted, normalize pending"
    return "nothing pending"


def run_once(worker: Worker, directory: Path, api: dict[str, str], disposition: str) -> tuple[int, float]:
    directory.mkdir(exist_ok=True)
    started = time.monotonic()
    pid = worker.ask(op="run", dir=str(directory), connector="tickets", disposition=disposition, **api)["pid"]
    status = worker.ask(op="wait", pid=pid)["status"]
    return status, time.monotonic() - started


def kill_and_rerun(worker: Worker, directory: Path, api: dict[str, str], disposition: str, delay: float) -> dict[str, Any]:
    directory.mkdir()
    pid = worker.ask(op="run", dir=str(directory), connector="tickets", disposition=disposition, **api)["pid"]
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)  # the child is not reaped until `wait`: the pid cannot be reused
    killed = worker.ask(op="wait", pid=pid)["status"]
    phase = pending(directory)
    status, _ = run_once(worker, directory, api, disposition)
    return {"delay": round(delay, 3), "killed": killed == -signal.SIGKILL, "phase": phase, "rerun": status,
            "rows": snapshot(directory)}


def doubled(rows: dict[str, Counter[tuple[str, ...]]]) -> dict[str, Counter[tuple[str, ...]]]:
    return {table: counter + counter for table, counter in rows.items()}


def lost(expected: dict[str, Counter[tuple[str, ...]]], got: dict[str, Counter[tuple[str, ...]]]) -> int:
    return sum(sum((counter - got.get(table, Counter())).values()) for table, counter in expected.items())


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun(api: dict[str, str], tmp_path: Path) -> None:
    rng = random.Random(SEED)
    workers = [Worker(), Worker()]  # two lanes: a killed run and another lane's rerun overlap
    try:
        for worker in workers:
            assert worker.ask(op="ping")["ok"]  # imports done: durations below are runs only
        references, durations = {}, {}
        for disposition, worker in zip(KILL_POINTS, workers):
            directory = tmp_path / f"reference-{disposition}"
            status, durations[disposition] = run_once(worker, directory, api, disposition)
            assert status == 0
            references[disposition] = snapshot(directory)
        assert sum(references["merge"]["ticket_data"].values()) == 1200

        plan = [(d, rng.uniform(0.05, 0.95 * durations[d])) for d, n in KILL_POINTS.items() for _ in range(n)]
        plan.append(("append", 1.5 * durations["append"]))  # "killed" after the end: append's rerun doubles
        results: list[tuple[str, dict[str, Any]]] = []

        def lane(worker: Worker, points: list[tuple[int, str, float]]) -> None:
            for index, disposition, delay in points:
                outcome = kill_and_rerun(worker, tmp_path / f"kill-{index}", api, disposition, delay)
                results.append((disposition, outcome))

        numbered = [(i, d, delay) for i, (d, delay) in enumerate(plan)]
        threads = [threading.Thread(target=lane, args=(w, numbered[k::2])) for k, w in enumerate(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
    finally:
        for worker in workers:
            worker.close()

    assert len(results) == len(plan) >= 20
    report = []
    for disposition, outcome in results:
        reference = references[disposition]
        assert outcome["rerun"] == 0, outcome
        completed_before = outcome["phase"] == "loaded"
        expected = doubled(reference) if disposition == "append" and completed_before else reference
        assert lost(expected, outcome["rows"]) == 0, (disposition, outcome["phase"], outcome["delay"])
        assert outcome["rows"] == expected, (disposition, outcome["phase"], outcome["delay"])
        report.append((disposition, outcome["phase"], outcome["killed"]))
    print("\nkill points:", Counter(report))  # shown with -s: which phases the kills hit
    assert sum(1 for _, o in results if o["killed"]) >= 10  # most kills landed inside a run
