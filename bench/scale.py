"""Scale-out on Dask, measured: the same configuration with the local executor and on a
LocalCluster of 1, 2 and 4 worker processes (issue 11).

    python -m bench.scale                          # fan-out 2,000 parents at 50 ms, flat 100k at 0 ms
    python -m bench.scale --parents 10000 --flat 1000000 --workers 1,2,4
    python -m bench.scale --pacer 2000            # per-request cost of the global budget alone

Each run: a fresh DuckDB file, wall time from building the source to the end of the load (the
cluster is started before the clock, as an existing cluster would be), rows read back. The mock
runs in this process, on another thread (`sluice.mock.MockServer`):
on 2 cores it competes with the workers, as any single-machine measurement does.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import dlt
import duckdb

import sluice
from sluice.mock import Fault, MockServer

from .cases import fanout_config, flat_config


def _rows(file: Path) -> int:
    con = duckdb.connect(str(file), read_only=True)
    try:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables where table_schema='data' "
                                           "and table_name not like '_dlt%'").fetchall()]
        return sum(int(con.execute(f'select count(*) from data."{n}"').fetchone()[0]) for n in names)  # type: ignore[index]
    finally:
        con.close()


def _once(config: dict[str, Any], executor: Any, tmp: Path, tag: str) -> tuple[float, int]:
    tag = re.sub(r"\W+", "_", tag)  # a pipeline's name is a Python identifier
    file = tmp / f"{tag}.duckdb"
    pipeline = dlt.pipeline(f"scale_{tag}", destination=dlt.destinations.duckdb(str(file)), dataset_name="data",
                            pipelines_dir=str(tmp / f"p_{tag}"))
    started = time.perf_counter()
    source = sluice.rest_api_source(config)
    if executor is None:
        pipeline.run(source)
    else:
        sluice.run(pipeline, source, executor=executor)
    return time.perf_counter() - started, _rows(file)


def case(name: str, config: dict[str, Any], workers: list[int], tmp: Path) -> None:
    from sluice.scale.cluster import connect

    seconds, rows = _once(config, None, tmp, f"{name}_local")
    print(f"| {name} | local | {seconds:.2f} | {rows:,} | 1.00x |", flush=True)
    for n in workers:
        with connect(n, None, str(tmp / "staging")) as executor:
            took, got = _once(config, executor, tmp, f"{name}_{n}")
        print(f"| {name} | dask x{n} | {took:.2f} | {got:,}{'' if got == rows else ' MISMATCH'} | {seconds / took:.2f}x |", flush=True)


async def _cycles(pacer: Any, n: int, lanes: int) -> None:
    """`n` requests' worth of pacer calls (acquire, release, accepted), `lanes` at once."""
    async def lane(count: int) -> None:
        for _ in range(count):
            sent_at = await pacer.acquire()
            pacer.release()
            pacer.accepted(sent_at)

    await asyncio.gather(*(lane(n // lanes) for _ in range(lanes)))
    await pacer.close()


def _on_worker(budget: Any, n: int, lanes: int) -> float:
    """Seconds per request of the global budget's calls, in a worker as a shard makes them."""
    started = time.perf_counter()
    asyncio.run(_cycles(budget.pacer(), n, lanes))
    return (time.perf_counter() - started) / n


PACER_CASES = (("leases only", False, False), ("leases + shared pace", True, False),
               ("leases + shared pace, the API has spoken", True, True))


def pacer_cost(n: int) -> None:
    """The global budget's cost per request on a 1-worker LocalCluster, 1 and 8 requests at once:
    semaphore leases alone (no shared pace); with the shared pace, calm; and with the shared
    pace once the API has spoken (a budget of a billion requests: every request asks, none waits)."""
    from distributed import Client, LocalCluster

    from sluice.http.headers import Budget as Said
    from sluice.http.pacing import SLOW_START_FOR
    from sluice.scale.budget import Budget
    from sluice.scale.pace import SharedPace

    print("| budget | at once | ms per request | started by asking / calm |\n|---|---|---|---|")
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        for lanes in (1, 8):
            for label, shared, spoken in PACER_CASES:
                pace = client.submit(SharedPace, actor=True, pure=False).result() if shared else None
                budget = Budget(f"bench-{len(label)}-{lanes}", 8, None, pace)
                client.submit(_on_worker, budget, 50, lanes, pure=False).result()  # warm up
                time.sleep(SLOW_START_FOR)  # the shared pace's slow start is over: its steady state
                if spoken:
                    pace.report([("budget", Said(remaining=1e9, reset=3600.0, limit=1e9), 0.0)]).result()
                seconds = client.submit(_on_worker, budget, n, lanes, pure=False).result()
                counts = "{} / {}".format(*pace.counts().result()) if shared else ""
                print(f"| {label} | {lanes} | {seconds * 1000:.3f} | {counts} |", flush=True)


def _staged(rows: int, tmp: Path) -> list[Any]:
    """The Arrow segments a 2-worker run of the flat resource staged (kept: not cleaned)."""
    from sluice.scale.cluster import connect
    from sluice.scale.coordinator import DaskRun

    clean, DaskRun.clean = DaskRun.clean, lambda self: None  # type: ignore[method-assign]
    try:
        with MockServer("bench", counts={"flat": rows}) as api, connect(2, None, str(tmp / "staging")) as executor:
            _once(flat_config("flat_total", True)(api.base_url), executor, tmp, f"staged_{rows}")
    finally:
        DaskRun.clean = clean  # type: ignore[method-assign]
    return sorted((tmp / "staging").glob("*/*/*/flat.*.arrow"))


def _timed_run(name: str, items: Any, tmp: Path) -> tuple[float, float, float, int]:
    """extract, normalize and load seconds of a pipeline of one resource `flat`, and its rows."""
    file = tmp / f"{name}.duckdb"
    pipeline = dlt.pipeline(f"imports_{name}", destination=dlt.destinations.duckdb(str(file)), dataset_name="data",
                            pipelines_dir=str(tmp / f"p_{name}"))
    times = []
    for step in (lambda: pipeline.extract(dlt.resource(items, name="flat")), pipeline.normalize, pipeline.load):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return times[0], times[1], times[2], _rows(file)


def import_cost(rows: int) -> None:
    """The coordinator's import of the flat resource's staged root table: the Arrow IPC files
    read and handed to dlt's Arrow extractor (what sluice does) against parquet files handed
    over with `dlt.mark.with_file_import` (not read again). Also the workers' side: writing a
    segment as IPC and as parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        segments = _staged(rows, tmp)
        tables = [pa.ipc.open_stream(pa.OSFile(str(path))).read_all() for path in segments]
        segments = [path for path, table in zip(segments, tables) if "_dlt_parent_id" not in table.schema.names]
        tables = [table for table in tables if "_dlt_parent_id" not in table.schema.names]  # the root table's
        write_ipc = write_parquet = 0.0
        for i, table in enumerate(tables):
            started = time.perf_counter()
            with pa.OSFile(str(tmp / f"again_{i}.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as stream:
                stream.write_table(table)
            write_ipc += time.perf_counter() - started
            started = time.perf_counter()
            pq.write_table(table, str(tmp / f"staged_{i}.parquet"))
            write_parquet += time.perf_counter() - started

        def arrow() -> Any:
            for path in segments:
                yield from pa.ipc.open_stream(pa.OSFile(str(path))).read_all().to_batches(max_chunksize=50_000)

        def imported() -> Any:
            for i, table in enumerate(tables):
                yield dlt.mark.with_file_import(str(tmp / f"staged_{i}.parquet"), "parquet", table.num_rows, hints=table.slice(0, 0))

        print(f"root table `flat`, {sum(t.num_rows for t in tables):,} rows in {len(tables)} staged segments (2 workers)")
        print(f"workers: write IPC {write_ipc:.2f} s, write parquet {write_parquet:.2f} s (all segments, one process)")
        print("| coordinator | extract | normalize | load | total | rows |\n|---|---|---|---|---|---|")
        for label, items in (("Arrow IPC -> Arrow extractor", arrow), ("parquet -> with_file_import", imported)):
            times = _timed_run(label.split()[0].lower(), items, tmp)
            print(f"| {label} | {times[0]:.2f} | {times[1]:.2f} | {times[2]:.2f} | {sum(times[:3]):.2f} | {times[3]:,} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--parents", type=int, default=2000)
    parser.add_argument("--flat", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--imports", type=int, default=0, help="measure the coordinator's import of N flat records both ways, and stop")
    parser.add_argument("--pacer", type=int, default=0, help="measure the global budget's cost per request over N requests, and stop")
    args = parser.parse_args()
    if args.imports:
        import_cost(args.imports)
        return
    if args.pacer:
        pacer_cost(args.pacer)
        return
    workers = [int(w) for w in args.workers.split(",")]
    print("| case | executor | seconds | rows | speed-up |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        faults = {"parents": Fault(latency_ms=50), "children": Fault(latency_ms=50)}
        with MockServer("bench", counts={"parents": args.parents, "children": 100}, faults=faults) as api:
            case(f"fan-out {args.parents:,} at 50 ms", fanout_config(api.base_url), workers, Path(tmp))
        with MockServer("bench", counts={"flat": args.flat}) as api:
            case(f"flat {args.flat:,} at 0 ms", flat_config("flat_total", True)(api.base_url), workers, Path(tmp))


if __name__ == "__main__":
    main()
