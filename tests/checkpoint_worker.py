"""Checkpointed runs for the SIGKILL sweep: imports dlt once, then forks one child per run.

    python tests/checkpoint_worker.py      # JSON commands on stdin, JSON lines out

    {"op": "run", "dir": D, "url": U, "shape": "flat|fan_out|windowed", "disposition": "append", "every": N}
        -> {"pid": P}   a child runs sluice.run(...) into D/cp.duckdb (dlt state in D/pipelines) and
                        exits 0; it appends to D/events "pause <held pages> <time.time()>" at each
                        checkpoint's snapshot and "commit <time.time()>" when each slice is committed
        optional: "days" (windowed: windows of a day from 2024-01-01); "where": "filesystem" or a PostgreSQL DSN (test_checkpoints.pipeline);
                  "crash_at": [table, n]: SIGKILL between the n-th job of table's commit and its marker
    {"op": "wait", "pid": P} -> {"status": S}      {"op": "ping"} -> {"ok": true}     {"op": "quit"}
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import dlt  # noqa: F401  (imported before any fork)
import duckdb  # noqa: F401
import pyarrow  # noqa: F401
from dlt.common.storages.load_package import PackageStorage

sys.path.insert(0, os.path.dirname(__file__))

import test_checkpoints as shapes  # noqa: E402
from forkserver import serve  # noqa: E402

import sluice  # noqa: E402
from sluice.checkpoint import driver  # noqa: E402
from sluice.engine.run import Engine  # noqa: E402


def child(command: dict[str, Any]) -> int:
    directory = Path(command["dir"])
    log = os.open(directory / "log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)  # stdout is the protocol channel: a run writes to D/log
    os.dup2(log, 2)
    os.environ["RUNTIME__LOG_LEVEL"] = "ERROR"
    events = open(directory / "events", "a", buffering=1)  # noqa: SIM115 - lives as long as the child
    snapshot, one_slice = Engine.snapshot, driver._slice

    def noted_snapshot(engine: Engine) -> Any:
        events.write(f"pause {sum(len(s.pages) for q in engine._sequences.values() for s in q.slots())} {time.time()}\n")
        return snapshot(engine)

    def noted_slice(*args: Any) -> None:
        one_slice(*args)
        events.write(f"commit {time.time()}\n")

    Engine.snapshot = noted_snapshot  # type: ignore[method-assign]
    driver._slice = noted_slice
    if "crash_at" in command:
        crash_at(*command["crash_at"])
    sized = (command.get("days", 28),) if command["shape"] == "windowed" else ()
    config = getattr(shapes, command["shape"])(command["url"], command["disposition"], *sized)
    where = command.get("where", "duckdb")
    try:
        sluice.run(shapes.pipeline(directory, where=where), sluice.rest_api_source(config), checkpoint_every=command["every"])
    except Exception:
        traceback.print_exc()
        return 3
    return 0


def crash_at(table: str, nth: int) -> None:
    """SIGKILL this process in dlt's load, right after the destination committed the `nth` job of
    `table` and before dlt writes the job's pending-transition marker (its "done")."""
    save, seen = PackageStorage.save_pending_transition, [0]

    def save_or_die(storage: PackageStorage, load_id: str, file_name: str, *args: Any) -> None:
        seen[0] += file_name.startswith(f"{table}.")
        if seen[0] == nth and file_name.startswith(f"{table}."):
            os.kill(os.getpid(), signal.SIGKILL)
        save(storage, load_id, file_name, *args)

    PackageStorage.save_pending_transition = save_or_die  # type: ignore[method-assign]


if __name__ == "__main__":
    serve(child)
