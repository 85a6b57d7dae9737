"""A pipeline runner for the crash tests: imports dlt once, then forks one child per run.

    python tests/crash_worker.py           # reads JSON commands on stdin, answers JSON lines

    {"op": "run", "dir": D, "connector": "tickets", "base_url": U, "api_key": K, "disposition": "merge"}
        -> {"pid": P}          a forked child runs that seed configuration into
                               D/crash.duckdb with dlt state in D/pipelines, and exits 0 (done)
                               or 3 (the run raised); the test may SIGKILL it at any moment
    {"op": "wait", "pid": P}  -> {"pid": P, "status": S}   S: exit code, or -signal
    {"op": "ping"}            -> {"ok": true}   once dlt is imported
    {"op": "quit"}

The fork server itself (and why it forks) is `forkserver.py`.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

import dlt  # noqa: F401  (imported before any fork: the point of this helper)
import duckdb  # noqa: F401
from forkserver import serve  # the script's own directory is on sys.path

from sluice.configfile import LoadedConfig, load_config, with_base_url
from sluice.engine.run import RunOptions
from sluice.runner import Target, run

CONNECTORS = os.path.join(os.path.dirname(__file__), "..", "src", "sluice", "connectors")


def seed_config(connector: str, base_url: str, disposition: str) -> LoadedConfig:
    # the seed configuration, verbatim but for the disposition; API_KEY comes from the env
    loaded = load_config(os.path.join(CONNECTORS, f"{connector}.py"))
    config = with_base_url(loaded.config, base_url)
    config = {**config, "resource_defaults": {**config["resource_defaults"], "write_disposition": disposition}}
    return LoadedConfig(config, loaded.kwargs, loaded.path)


def child(command: dict[str, Any]) -> int:
    os.dup2(2, 1)  # stdout is the protocol channel of the parent: nothing of a run may reach it
    os.environ["API_KEY"] = command["api_key"]
    os.environ["RUNTIME__LOG_LEVEL"] = "ERROR"
    directory = command["dir"]
    target = Target("crash", duckdb_file=os.path.join(directory, "crash.duckdb"),
                    pipelines_dir=os.path.join(directory, "pipelines"), dataset_name="d")
    try:
        run(seed_config(command["connector"], command["base_url"], command["disposition"]), target, RunOptions(max_retry_delay=0.05))
    except Exception:
        traceback.print_exc()
        return 3
    return 0


if __name__ == "__main__":
    serve(child)
