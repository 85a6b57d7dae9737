"""Run a configuration through dlt's own rest_api_source and through sluice; compare tables."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import dlt
import duckdb

_counter = itertools.count()


def load(source: Any, tmp: Path, tag: str) -> dict[str, tuple[tuple[str, ...], int]]:
    """Run `source` into a fresh DuckDB file; {table: (columns, rows)} of the data tables."""
    n = next(_counter)
    file = tmp / f"{tag}{n}.duckdb"
    pipeline = dlt.pipeline(f"{tag}{n}", destination=dlt.destinations.duckdb(str(file)),
                            dataset_name="data", pipelines_dir=str(tmp / f"pipes_{tag}{n}"))
    pipeline.run(source)
    return tables(file)


def tables(file: Path, dataset: str = "data") -> dict[str, tuple[tuple[str, ...], int]]:
    con = duckdb.connect(str(file), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? order by 1", [dataset]).fetchall()]
        out = {}
        for name in names:
            if name.startswith("_dlt_"):
                continue
            cols = tuple(r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? order by 1",
                [dataset, name]).fetchall())
            out[name] = (cols, con.execute(f'select count(*) from {dataset}."{name}"').fetchall()[0][0])
        return out
    finally:
        con.close()


def rows(file: Path, table: str, order: str, dataset: str = "data") -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(file), read_only=True)
    try:
        return con.execute(f'select * exclude (_dlt_id, _dlt_load_id) from {dataset}."{table}" order by {order}').fetchall()
    finally:
        con.close()


def both(config: dict[str, Any], tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(dlt's tables, sluice's tables) for one configuration."""
    from dlt.sources.rest_api import rest_api_source as dlt_source

    from sluice import rest_api_source

    theirs = load(dlt_source(copy.deepcopy(config)), tmp, "dlt")
    ours = load(rest_api_source(config), tmp, "sluice")
    return theirs, ours
