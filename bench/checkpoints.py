"""Checkpoints (issue 10): what they cost, and what a SIGKILL costs a resumed run.

    python -m bench.checkpoints --overhead [--rounds 5] [--records 100000] [--every 20000] [--latency-ms 0] [--profile]
    python -m bench.checkpoints --kills [--per-case 4] [--seed 20261130]

--overhead: the flat bench mock (`bench.mockproc`, its own process; 0 ms a request, the worst
case, or `--latency-ms` as the bench's other flat cases, 20), runs without checkpoints and with one every `--every` records alternated in this process (A B, B A, ...),
each into a fresh DuckDB file; prints every wall time, the medians, their ratio and the cost
per checkpoint. `--profile` adds one checkpointed run under cProfile: dlt's steps per slice.

--kills: the issue's sweep, a 2,000-page run with a checkpoint every ~200 pages (flat, fan-out,
windowed; append and merge), SIGKILLed at random points and run again; prints one row per kill
(tests/test_checkpoints.py, `sweep`: CI runs it at a smaller size).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cases import flat_config
from .mockproc import REPO, MockProcess


def one_run(config: dict[str, Any], every: int, workdir: Path) -> tuple[float, int]:
    """Wall time of one `sluice.run` of `config` into a fresh DuckDB file, and its slices."""
    import dlt

    import sluice
    from sluice.runner import duckdb_destination

    started = time.perf_counter()
    pipeline = dlt.pipeline("bench_checkpoints", destination=duckdb_destination(workdir / "run.duckdb"),
                            dataset_name="bench", pipelines_dir=str(workdir / "pipelines"))
    result = sluice.run(pipeline, sluice.rest_api_source(config), checkpoint_every=every, checkpoint_seconds=1e9)
    return time.perf_counter() - started, result.slices


def overhead(args: argparse.Namespace) -> None:
    with MockProcess("bench", counts={"flat": args.records}, latency_ms=args.latency_ms) as mock, tempfile.TemporaryDirectory() as tmp:
        config = flat_config("flat", False)(mock.origin)
        one_run(config, 0, Path(tmp) / "warm-up")  # imports, the mock's body cache
        times: dict[int, list[float]] = {0: [], args.every: []}
        slices = 0
        for round_ in range(args.rounds):
            for every in (0, args.every) if round_ % 2 == 0 else (args.every, 0):
                wall, count = one_run(config, every, Path(tmp) / f"{round_}-{every}")
                times[every].append(wall)
                slices = count if every else slices
                print(f"round {round_ + 1}: checkpoint every {every or 'never'}: {wall:.2f} s ({count} loads)", flush=True)
        base, with_checkpoints = statistics.median(times[0]), statistics.median(times[args.every])
        print(f"\nmedian without checkpoints {base:.2f} s, with one every {args.every} records {with_checkpoints:.2f} s: "
              f"ratio {with_checkpoints / base:.3f} ({100 * (with_checkpoints / base - 1):+.1f}%), "
              f"{(with_checkpoints - base) / max(slices - 1, 1):.3f} s per checkpoint ({slices} slices)")
        if args.profile:
            profile(config, args.every, Path(tmp) / "profiled", slices)


def profile(config: dict[str, Any], every: int, workdir: Path, slices: int) -> None:
    """dlt's own steps and what they call, cumulative seconds per slice, from one cProfile run."""
    profiler = cProfile.Profile()
    profiler.runcall(one_run, config, every, workdir)
    stats = pstats.Stats(profiler)
    rows = []
    for (path, _line, name), (_cc, calls, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "site-packages/dlt/" in path or "/sluice/" in path:
            rows.append((cumulative, calls, f"{name} ({path.split('site-packages/')[-1].split('/src/')[-1]})"))
    print(f"\ncProfile, one run of {slices} slices: cumulative seconds per slice (the engine thread is not profiled)")
    for cumulative, calls, name in sorted(rows, reverse=True)[:40]:
        print(f"{cumulative / slices:8.3f}  {calls:7d}  {name}")


def kills(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO / "tests"))
    import test_checkpoints as sweep

    with tempfile.TemporaryDirectory(prefix="sluice-kills-") as tmp:
        figures = sweep.sweep(sweep.FULL, args.per_case, args.seed, Path(tmp))
    print(sweep.table(figures))
    bad = [f for f in figures if not f.ok]
    print(f"\n{len(figures)} kills, {sum(f.checkpointed for f in figures)} after a checkpoint; "
          f"{len(bad)} over the bound or with tables not equal")
    if bad:
        sys.exit(1)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.checkpoints", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--overhead", action="store_true")
    parser.add_argument("--kills", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="the mock's latency per request (default 0: the worst case)")
    parser.add_argument("--per-case", type=int, default=4, help="kills per shape and disposition (default 4: 24 kills)")
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args(argv)
    if not (args.overhead or args.kills):
        parser.error("choose --overhead and/or --kills")
    if args.overhead:
        overhead(args)
    if args.kills:
        kills(args)


if __name__ == "__main__":
    main()
