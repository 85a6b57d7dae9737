"""Time dlt's normalizer against the Arrow fast path on the same records.

    python bench/arrow_normalize.py [--records 100000] [--page 1000] [--repeat 1]

Pipeline A yields the dict pages (dlt's JSON normalizer, parquet loader files); pipeline B
yields `ArrowPageWriter.items(page)`. Both load into their own DuckDB file. Each record has
15 fields: scalars, nullable fields, a nested object and an array of two small objects
(so B writes a nested table too). Prints the wall time of each step and the ratio; with
`--repeat N` each step's best time over N runs (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sluice.load.arrow import ArrowPageWriter, ArrowUnsupported, TableHints

STEPS = ("extract", "normalize", "load")


def records(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    statuses = ["open", "closed", "pending", None]
    return [
        {
            "id": i,
            "externalId": f"ext-{i:08d}",
            "title": f"event number {i}",
            "status": statuses[i % 4],
            "priority": rng.randint(1, 5),
            "score": rng.random() * 100,
            "isPublic": i % 3 == 0,
            "createdAt": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}Z",
            "updatedAt": None if i % 5 else f"2024-06-01T12:00:{i % 60:02d}.{i % 1000:03d}Z",
            "assignee": None if i % 7 == 0 else f"user{i % 97}",
            "count": i * 3,
            "ratio": None if i % 2 else i / 7,
            "location": {"city": f"city{i % 50}", "lat": 50.0 + i % 10, "lon": 14.0 - i % 10},
            "attendees": [{"name": f"a{i}", "role": "host"}, {"name": f"b{i}", "role": "guest"}],
            "note": None,
        }
        for i in range(count)
    ]


def run(name: str, pages: list[list[dict[str, Any]]], arrow: bool, workdir: Path) -> dict[str, float]:
    pipeline = dlt.pipeline(pipeline_name=name, pipelines_dir=str(workdir / "pipelines"), destination=dlt.destinations.duckdb(str(workdir / f"{name}.duckdb")), dataset_name="bench")
    fallback: list[str] = []

    def events() -> Iterator[Any]:
        writer = ArrowPageWriter("events", TableHints())
        for page in pages:
            if not arrow:
                yield page
                continue
            try:
                yield from writer.items(page)
            except ArrowUnsupported as exc:
                fallback.append(exc.reason)
                yield page

    times: dict[str, float] = {}
    start = time.perf_counter()
    pipeline.extract(dlt.resource(events, name="events")(), loader_file_format="parquet")
    times["extract"] = time.perf_counter() - start
    start = time.perf_counter()
    pipeline.normalize()
    times["normalize"] = time.perf_counter() - start
    start = time.perf_counter()
    pipeline.load()
    times["load"] = time.perf_counter() - start
    times["total"] = sum(times[step] for step in STEPS)
    if fallback:
        print(f"  {name}: fell back to dicts: {fallback[0]}")
    return times


def counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: con.execute(f"select count(*) from bench.{t}").fetchone()[0] for t in ("events", "events__attendees")}  # type: ignore[index]


def best(pages: list[list[dict[str, Any]]], arrow: bool, repeat: int) -> dict[str, float]:
    times: dict[str, float] = {}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            name = "arrow" if arrow else "dicts_parquet"
            got = run(name, pages, arrow, Path(tmp))
            rows = counts(Path(tmp) / f"{name}.duckdb")
            assert rows == {"events": sum(map(len, pages)), "events__attendees": 2 * sum(map(len, pages))}, rows
        times = got if not times else {k: min(v, got[k]) for k, v in times.items()}
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    data = records(args.records)
    pages = [data[i : i + args.page] for i in range(0, len(data), args.page)]
    a, b = best(pages, False, args.repeat), best(pages, True, args.repeat)
    print(f"{args.records} records in pages of {args.page}")
    print(f"{'step':<10}{'A dicts+parquet':>18}{'B arrow':>12}{'A/B':>8}")
    for step in (*STEPS, "total"):
        print(f"{step:<10}{a[step]:>17.2f}s{b[step]:>11.2f}s{a[step] / b[step]:>8.1f}")


if __name__ == "__main__":
    main()
