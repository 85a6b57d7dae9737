"""The Arrow path against dlt itself: the same pages go through pipeline A (a resource that
yields the dicts) and pipeline B (a resource that yields `ArrowPageWriter.items`), each into
its own DuckDB file, and the results must match:

- the same tables, with the same parent, the same complete columns in the same order with
  the same dlt schema (type, nullability, key hints) and the same DuckDB types;
- the same rows, compared without the random `_dlt_id` / `_dlt_load_id` values: each row is
  identified by its ancestry (the parent row, then its `_dlt_list_idx`), so parent links
  must agree; `_dlt_root_id` must point at the root ancestor and `_dlt_load_id` at the load.

Where a case falls back to dicts, the test says so and checks the reason.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from sluice.load.arrow import ArrowPageWriter, ArrowUnsupported, TableHints

DLT_VALUE_FREE = {"_dlt_id", "_dlt_load_id", "_dlt_parent_id", "_dlt_root_id"}


@dataclass
class Run:
    pipeline: Any
    db: Path
    fallback: str | None
    arrow_pages: int


def load(tmp_path: Path, name: str, pages: list[list[dict[str, Any]]], hints: TableHints, *, arrow: bool, runs: int = 1, table: str = "events") -> Run:
    db = tmp_path / f"{name}.duckdb"
    pipeline = dlt.pipeline(pipeline_name=name, pipelines_dir=str(tmp_path / "pipelines"), destination=dlt.destinations.duckdb(str(db)), dataset_name="data")
    state: dict[str, Any] = {"fallback": None, "arrow_pages": 0}

    def pages_of() -> Iterator[Any]:
        writer = ArrowPageWriter(table, hints)
        for page in pages:
            if not arrow:
                yield page
                continue
            try:
                items = writer.items(page)
            except ArrowUnsupported as exc:
                state["fallback"] = exc.reason
                yield page
            else:
                state["arrow_pages"] += 1 if items else 0
                yield from items

    for _ in range(runs):
        resource = dlt.resource(
            pages_of,
            name=table,
            write_disposition=hints.write_disposition,  # type: ignore[arg-type]
            primary_key=list(hints.primary_key) or None,
            columns=dict(hints.columns) or None,  # type: ignore[arg-type]
            max_table_nesting=hints.max_table_nesting,
        )
        pipeline.run(resource(), loader_file_format="parquet")
    return Run(pipeline, db, state["fallback"], state["arrow_pages"])


def schema_view(run: Run) -> dict[str, Any]:
    """Every data table: parent and complete columns with their dlt schema, in order."""
    view = {}
    for table in run.pipeline.default_schema.data_tables():
        columns = [(name, dict(sorted(col.items()))) for name, col in table["columns"].items() if col.get("data_type")]
        view[table["name"]] = {"parent": table.get("parent"), "columns": columns}
    return view


def duckdb_types(run: Run) -> dict[str, list[tuple[str, str]]]:
    with duckdb.connect(str(run.db), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'data' and table_name not like '_dlt%' order by table_name, ordinal_position"
        ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        out.setdefault(table, []).append((column, data_type))
    return out


def content(run: Run) -> dict[str, list[Any]]:
    """Rows of every table as sorted (ancestry, values) pairs, links checked on the way."""
    schema = run.pipeline.default_schema
    tables = {t["name"]: t for t in schema.data_tables()}
    with duckdb.connect(str(run.db), read_only=True) as con:
        load_ids = {r[0] for r in con.execute("select load_id from data._dlt_loads").fetchall()}
        data = {}
        for name in tables:
            cursor = con.execute(f'select * from data."{name}"')
            cols = [d[0] for d in cursor.description]
            data[name] = [dict(zip(cols, row)) for row in cursor.fetchall()]
    by_id = {name: {row["_dlt_id"]: row for row in rows} for name, rows in data.items()}

    def ancestry(name: str, row: dict[str, Any]) -> tuple[Any, ...]:
        parent = tables[name].get("parent")
        if parent is None:
            assert row["_dlt_load_id"] in load_ids
            return (_values(row, tables[name]),)
        parent_row = by_id[parent][row["_dlt_parent_id"]]
        if "_dlt_root_id" in row:
            assert row["_dlt_root_id"] == _root_of(tables, by_id, parent, parent_row)["_dlt_id"]
        return (*ancestry(parent, parent_row), row["_dlt_list_idx"], _values(row, tables[name]))

    return {name: sorted((ancestry(name, row) for row in rows), key=repr) for name, rows in data.items()}


def _root_of(tables: Mapping[str, Any], by_id: Mapping[str, Any], name: str, row: dict[str, Any]) -> dict[str, Any]:
    parent = tables[name].get("parent")
    return row if parent is None else _root_of(tables, by_id, parent, by_id[parent][row["_dlt_parent_id"]])


def _values(row: dict[str, Any], table: Mapping[str, Any]) -> tuple[Any, ...]:
    out = []
    for name, value in sorted(row.items()):
        if name in DLT_VALUE_FREE or name == "_dlt_list_idx":
            continue
        if table["columns"].get(name, {}).get("data_type") == "json" and isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, datetime.datetime):
            value = value.astimezone(datetime.timezone.utc).isoformat()
        out.append((name, value))
    return tuple(out)


def compare(tmp_path: Path, pages: list[list[dict[str, Any]]], hints: TableHints = TableHints(), *, runs: int = 1) -> Run:
    """Loads `pages` both ways, asserts the results are the same, returns the Arrow run."""
    a = load(tmp_path, "dicts", pages, hints, arrow=False, runs=runs)
    b = load(tmp_path, "arrow", pages, hints, arrow=True, runs=runs)
    assert schema_view(b) == schema_view(a)
    assert duckdb_types(b) == duckdb_types(a)
    assert content(b) == content(a)
    return b


def on_arrow(run: Run) -> None:
    assert run.fallback is None, run.fallback
    assert run.arrow_pages > 0


# ---------------------------------------------------------------------------------------
# fixtures: pages of records

FLAT = [
    [{"id": i, "name": f"n{i}", "score": i / 2, "ok": i % 2 == 0, "missing": None} for i in range(5)],
    [{"id": 5, "name": "five", "score": 2.5, "ok": True, "late": "x"}],
]

NESTED_OBJECTS = [[
    {"id": 1, "meta": {"x": 1, "innerObj": {"y": "q", "deep": {"z": True}}}, "after": "a"},
    {"id": 2, "meta": None, "after": "b"},
    {"id": 3, "meta": {"x": 3, "innerObj": None, "w": 2.5}},
]]

ARRAYS_OF_OBJECTS = [[
    {"id": 1, "dates": [{"d": "2024-01-02", "n": 1}, {"d": "2024-01-03", "n": 2, "extra": "e"}]},
    {"id": 2, "dates": []},
    {"id": 3, "dates": None},
    {"id": 4, "dates": [{"d": "x", "sub": [{"k": 1}, {"k": 2}]}, None]},
]]

ARRAYS_OF_SCALARS = [[
    {"id": 1, "tags": ["a", "b"], "nums": [1, 2, 3]},
    {"id": 2, "tags": [], "nums": [4]},
    {"id": 3, "tags": ["c", None]},
]]

ARRAYS_OF_ARRAYS = [[
    {"id": 1, "matrix": [[1, 2], [3]], "deep": [[[1]], [[2, 3]]]},
    {"id": 2, "matrix": [[], [4, 5]], "deep": []},
]]

TIMESTAMPS = [[
    {"id": 1, "at": "2024-01-01T10:00:00Z", "ms": "2024-01-01T10:00:00.123Z", "off": "2024-01-01T10:00:00+02:00", "naive": "2024-03-04T05:06:07", "day": "2024-01-01"},
    {"id": 2, "at": "2024-06-30T23:59:59.999999Z", "ms": None, "off": "2024-01-01T10:00:00.5-05:30", "naive": "2024-03-04T05:06", "day": "2024-02-01"},
]]

UNICODE_AND_CAMEL = [[
    {"userId": 1, "HTTPStatus": 200, "füße": "x", "with space": 1, "Dash-Key": 2, "trailing_": 3, "9lives": 4, "ümlaut": {"ÄÖ": 1}},
]]

DRIFT_SAME_TYPE_LATER = [
    [{"id": 1, "v": 1}],
    [{"id": 2, "v": 2, "w": "x"}],
]

EMPTY_PAGES = [[], [{"id": 1, "a": 1}], [], [{"id": 2, "a": None}]]


@pytest.mark.parametrize(
    "pages",
    [FLAT, NESTED_OBJECTS, ARRAYS_OF_OBJECTS, ARRAYS_OF_SCALARS, ARRAYS_OF_ARRAYS, TIMESTAMPS, UNICODE_AND_CAMEL, DRIFT_SAME_TYPE_LATER, EMPTY_PAGES],
    ids=["flat", "nested-objects", "arrays-of-objects", "arrays-of-scalars", "arrays-of-arrays", "timestamps", "unicode-camel", "drift-compatible", "empty-pages"],
)
def test_same_tables_as_dlt(tmp_path: Path, pages: list[list[dict[str, Any]]]) -> None:
    on_arrow(compare(tmp_path, pages))
