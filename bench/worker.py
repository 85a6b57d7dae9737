"""One measured run in a process of its own: `python -m bench.worker JOB.json RESULT.json`.

A job names an engine and what it runs:

    {"engine": "dlt" | "dlt-tuned" | "sluice" | "floor" | "airbyte",
     "config": {...} | null, "connector": null | {"name", "base_url", "rate_limit"},
     "plan": {...} (floor), "airbyte": {...} (airbyte), "workdir": "/tmp/...",
     "env": {...}}

The result holds `wall` (seconds from building the source to the end of the load; imports
excluded), `cpu` (user + system seconds over the same span, children included), `rss_mb`
(peak resident set of the process or its largest child), `phases` (dlt's extract /
normalize / load) and `tables` (`{table: {"rows": n, "columns": [...]}}` read back from the
DuckDB file), or `error`.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

DATASET = "dataset"


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's peak resident set (VmHWM), in MB; 0.0 once it is gone.

    Not `ru_maxrss`: Linux carries the parent's peak across fork and exec into it, so every
    worker would report at least the harness's own memory."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1]) / 1024


def _usage() -> tuple[float, float]:
    """(cpu seconds of this process and its finished children, peak RSS in MB)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    return cpu, peak_rss_mb()


def read_tables(file: Path, schema: str = DATASET) -> dict[str, dict[str, Any]]:
    """Row count and column names of every table in `schema` except dlt's own."""
    import duckdb

    tables: dict[str, dict[str, Any]] = {}
    with duckdb.connect(str(file), read_only=True) as db:
        rows = db.execute(
            "select table_name, column_name from information_schema.columns where table_schema = ? "
            "order by table_name, ordinal_position", [schema]).fetchall()
        for table, column in rows:
            if not table.startswith("_dlt_"):
                tables.setdefault(table, {"rows": 0, "columns": []})["columns"].append(column)
        for table, info in tables.items():
            info["rows"] = db.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]  # type: ignore[index]
    return tables


def _config(job: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The configuration and rest_api_source's other arguments (a seed is read from its file)."""
    connector = job.get("connector")
    if not connector:
        return job["config"], {}
    from sluice.configfile import load_config, with_base_url
    from sluice.connectors import CONNECTORS
    from sluice.demo import connector_file

    loaded = load_config(connector_file(CONNECTORS[connector["name"]].module))
    config = with_base_url(loaded.config, connector["base_url"])
    if job["engine"] == "sluice":  # sluice's own client keys: dlt has no such knobs
        config = {**config, "client": {**config["client"], **connector["client"]}}
    kwargs = {k: v for k, v in loaded.kwargs.items() if k != "parallelized"}
    return config, kwargs


def _tuned(config: dict[str, Any]) -> dict[str, Any]:
    resources = [r if isinstance(r, str) else {**r, "parallelized": True} for r in config["resources"]]
    resources = [{"name": r, "endpoint": r, "parallelized": True} if isinstance(r, str) else r for r in resources]
    return {**config, "resources": resources}


def _phases(pipeline: Any) -> dict[str, float]:
    phases = {}
    for step in pipeline.last_trace.steps:
        if step.step in ("extract", "normalize", "load") and step.finished_at and step.started_at:
            phases[step.step] = round((step.finished_at - step.started_at).total_seconds(), 3)
    return phases


def run_dlt(job: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """dlt's pipeline around dlt's own rest_api_source, or sluice's (same configuration)."""
    import dlt

    engine = job["engine"]
    config, kwargs = _config(job)
    if engine == "sluice":
        from sluice import rest_api_source
        from sluice.runner import duckdb_destination
    else:
        from dlt.sources.rest_api import rest_api_source
    if engine == "dlt-tuned":
        config = _tuned(config)
    file = workdir / "run.duckdb"
    cpu0, rss0 = _usage()
    started = time.perf_counter()
    # sluice is measured as `sluice run` loads (DuckDB's memory_limit set); dlt with its own default
    destination = duckdb_destination(file) if engine == "sluice" else dlt.destinations.duckdb(str(file))
    pipeline = dlt.pipeline(pipeline_name=f"bench_{engine.replace('-', '_')}", destination=destination,
                            dataset_name=DATASET, pipelines_dir=str(workdir / "pipelines"))
    source = rest_api_source(config, **kwargs)
    if engine == "dlt-tuned":
        pipeline.run(source, loader_file_format="parquet")
    else:
        pipeline.run(source)
    wall = time.perf_counter() - started
    cpu1, rss = _usage()
    phases = _phases(pipeline)
    del pipeline, source
    return {"wall": wall, "cpu": cpu1 - cpu0, "rss_mb": rss, "rss_start_mb": rss0, "phases": phases,
            "tables": read_tables(file)}


def run(job: dict[str, Any]) -> dict[str, Any]:
    workdir = Path(job["workdir"])
    workdir.mkdir(parents=True, exist_ok=True)
    engine = job["engine"]
    if engine == "floor":
        from .floor import run_floor

        return run_floor(job["plan"], workdir)
    if engine == "airbyte":
        from .airbyte import run_airbyte

        return run_airbyte(job["airbyte"], workdir)
    return run_dlt(job, workdir)


def main(argv: list[str]) -> int:
    job_file, result_file = Path(argv[0]), Path(argv[1])
    job = json.loads(job_file.read_text())
    if job.get("gc_freeze"):
        gc.freeze()
    try:
        result = run(job)
    except Exception as exc:  # noqa: BLE001 - any failure is a result: the harness prints it loudly
        result = {"error": f"{type(exc).__name__}: {exc}"[:2000], "traceback": traceback.format_exc()[-4000:]}
    result_file.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
