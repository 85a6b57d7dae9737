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


Pages = list[list[dict[str, Any]]]


def load(tmp_path: Path, name: str, runs: list[Pages], hints: TableHints, *, arrow: bool, table: str = "events", extract_only: bool = False) -> Run:
    """Runs one pipeline once per entry of `runs`, each run yielding those pages."""
    db = tmp_path / f"{name}.duckdb"
    pipeline = dlt.pipeline(pipeline_name=name, pipelines_dir=str(tmp_path / "pipelines"), destination=dlt.destinations.duckdb(str(db)), dataset_name="data")
    state: dict[str, Any] = {"fallback": None, "arrow_pages": 0}

    def pages_of(pages: Pages) -> Iterator[Any]:
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

    for pages in runs:
        resource = dlt.resource(
            pages_of,
            name=table,
            write_disposition=hints.write_disposition,  # type: ignore[arg-type]
            primary_key=list(hints.primary_key) or None,
            columns=dict(hints.columns) or None,  # type: ignore[arg-type]
            max_table_nesting=hints.max_table_nesting,
        )
        data = _as_source(resource(pages), name, hints.root_key)
        if extract_only:
            pipeline.extract(data)
        else:
            pipeline.run(data, loader_file_format="parquet")
    return Run(pipeline, db, state["fallback"], state["arrow_pages"])


def _as_source(resource: Any, name: str, root_key: bool) -> Any:
    """The resource in a source, the level where dlt keeps `root_key`."""

    def resources() -> Any:
        return resource

    return dlt.source(resources, name=name, root_key=root_key or None)()


def schema_view(run: Run) -> dict[str, Any]:
    """Every data table: parent and complete columns with their dlt schema, in order.

    A column that the user's hints made complete has no `nullable` in dlt's schema; Arrow
    fields always say it. Both mean nullable, so a missing `nullable` reads as True."""
    view = {}
    for table in run.pipeline.default_schema.data_tables():
        columns = [(name, dict(sorted({"nullable": True, **col}.items()))) for name, col in table["columns"].items() if col.get("data_type")]
        view[table["name"]] = {"parent": table.get("parent"), "columns": columns}
    return view


def table_props(run: Run, arrow: bool) -> dict[str, Any]:
    """Table-level schema. Nested tables made from Arrow keep what their table variant copied
    from the resource and dlt cannot drop; those keys are taken out on the Arrow side only."""
    view = {}
    for table in run.pipeline.default_schema.data_tables():
        props = {k: v for k, v in table.items() if k != "columns"}
        if arrow and "parent" in props:
            props.pop("variant_name")
            props.pop("write_disposition")
            normalizer = {k: v for k, v in props.pop("x-normalizer", {}).items() if k != "max_nesting"}
            props.update({"x-normalizer": normalizer} if normalizer else {})
        view[table["name"]] = props
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
            value = value.astimezone(datetime.UTC).isoformat()
        out.append((name, value))
    return tuple(out)


NO_HINTS = TableHints()


def compare(tmp_path: Path, pages: Pages, hints: TableHints = NO_HINTS, *, runs: int = 1, later: tuple[Pages, ...] = ()) -> Run:
    """Loads `pages` both ways (`runs` times, then the `later` runs), asserts the results
    are the same, returns the Arrow run."""
    all_runs = [pages] * runs + list(later)
    a = load(tmp_path, "dicts", all_runs, hints, arrow=False)
    b = load(tmp_path, "arrow", all_runs, hints, arrow=True)
    assert schema_view(b) == schema_view(a)
    if b.fallback is None:
        assert table_props(b, arrow=True) == table_props(a, arrow=False)
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

# dlt's `_flatten` emits a row's scalars first, then its dicts last-in-first-out
KEY_ORDER = [[
    {"a": 1, "m": {"x": 1, "k": {"z": 1}, "w": 2}, "n": {"y": 2}, "b": 3},
    {"c": 1, "b": 2, "z": {"q": 1}, "a": None},
    {"n": {"y2": 1}, "c": 2, "m": {"new": True}},
]]

ODD_KEYS = [[{"": 1, "ok": {"": 3}, "__dunder__": 4, "a.b": 5, "A+B": 6}]]

LISTS_IN_DICTS = [[
    {"id": 1, "meta": {"tags": ["a"], "more": {"items": [{"k": 1}]}}},
    {"id": 2, "meta": {"tags": [], "more": None}},
]]

EMPTY_RECORDS = [[{}, {}], [{"a": {}}, {"b": []}]]


@pytest.mark.parametrize(
    "pages",
    [FLAT, NESTED_OBJECTS, ARRAYS_OF_OBJECTS, ARRAYS_OF_SCALARS, ARRAYS_OF_ARRAYS, TIMESTAMPS, UNICODE_AND_CAMEL, DRIFT_SAME_TYPE_LATER, EMPTY_PAGES, KEY_ORDER, ODD_KEYS, LISTS_IN_DICTS, EMPTY_RECORDS],
    ids=["flat", "nested-objects", "arrays-of-objects", "arrays-of-scalars", "arrays-of-arrays", "timestamps", "unicode-camel", "drift-compatible", "empty-pages", "key-order", "odd-keys", "lists-in-dicts", "empty-records"],
)
def test_same_tables_as_dlt(tmp_path: Path, pages: list[list[dict[str, Any]]]) -> None:
    on_arrow(compare(tmp_path, pages))


def falls_back(run: Run, reason: str) -> None:
    assert run.fallback is not None and reason in run.fallback, run.fallback


NESTED_FOR_MERGE = [
    [{"id": 1, "v": "a", "items": [{"k": 1, "tags": ["x", "y"]}, {"k": 2}], "meta": {"m": 1}}, {"id": 2, "v": "b", "items": []}],
    [{"id": 3, "v": "c", "items": [{"k": 3, "tags": ["z"]}]}, {"id": 1, "v": "a2", "items": [{"k": 9}]}],
]


def test_merge_twice_leaves_no_duplicates(tmp_path: Path) -> None:
    hints = TableHints(write_disposition="merge", primary_key=("id",))
    twice = compare(tmp_path, NESTED_FOR_MERGE, hints, runs=2)
    on_arrow(twice)
    once = load(tmp_path / "once", "once", [NESTED_FOR_MERGE], hints, arrow=True)
    assert _counts(twice) == _counts(once)
    assert _counts(once)["events"] == 3


def _counts(run: Run) -> dict[str, int]:
    with duckdb.connect(str(run.db), read_only=True) as con:
        return {t: con.execute(f"select count(*) from data.{t}").fetchone()[0] for t in ("events", "events__items", "events__items__tags")}


def test_merge_across_pages_and_runs(tmp_path: Path) -> None:
    hints = TableHints(write_disposition="merge", primary_key=("id",))
    on_arrow(compare(tmp_path, NESTED_FOR_MERGE, hints, later=([NESTED_FOR_MERGE[1]],)))


def test_replace(tmp_path: Path) -> None:
    on_arrow(compare(tmp_path, ARRAYS_OF_OBJECTS, TableHints(write_disposition="replace"), runs=2))


def test_root_key_without_merge(tmp_path: Path) -> None:
    on_arrow(compare(tmp_path, ARRAYS_OF_OBJECTS, TableHints(root_key=True)))


DEEP = [[
    {"id": 1, "a": {"b": {"c": {"d": 1}}, "list": [1, 2]}, "rows": [{"x": {"y": 1}, "inner": [{"z": [{"q": 1}, {"q": 2}]}]}], "grid": [[1], [2, 3]]},
    {"id": 2, "a": {"b": None}, "rows": [{"x": None, "inner": []}], "grid": [[]]},
]]


@pytest.mark.parametrize("nesting", [0, 1, 2, 3])
def test_max_table_nesting(tmp_path: Path, nesting: int) -> None:
    pages = [[{k: v for k, v in r.items() if nesting >= 3 or k != "rows"} for r in DEEP[0]]]
    on_arrow(compare(tmp_path, pages, TableHints(max_table_nesting=nesting)))


def test_user_column_hints(tmp_path: Path) -> None:
    pages = [[
        {"id": 1, "when": "2024-01-01T00:00:00Z", "amount": 3, "payload": {"a": 1}, "code": 7, "note": None},
        {"id": 2, "when": "later", "amount": 2.5, "payload": {"b": [1, 2]}, "code": 8, "note": "n"},
    ]]
    columns = {
        "when": {"data_type": "text"},
        "amount": {"data_type": "double"},
        "payload": {"data_type": "json"},
        "code": {"data_type": "text"},
        "note": {"data_type": "text", "nullable": True},
        "never": {"data_type": "bigint"},
        "id": {"nullable": False},
    }
    on_arrow(compare(tmp_path, pages, TableHints(columns=columns, primary_key=("id",), write_disposition="merge")))


def test_json_hint_keeps_a_list_whole(tmp_path: Path) -> None:
    pages = [[{"id": 1, "points": [{"x": 1}, {"x": 2}], "raw": [[1], None]}, {"id": 2, "points": None, "raw": [[3], []]}]]
    columns = {"points": {"data_type": "json"}, "raw": {"data_type": "json"}}
    on_arrow(compare(tmp_path, pages, TableHints(columns=columns)))


def test_json_of_mixed_shapes_falls_back(tmp_path: Path) -> None:
    # pyarrow types the page before the json hint is read: mixed shapes go the dict path
    pages = [[{"id": 1, "raw": [1, "two"]}, {"id": 2, "raw": {"k": 1}}]]
    falls_back(compare(tmp_path, pages, TableHints(columns={"raw": {"data_type": "json"}})), "pyarrow cannot type the page")


def test_all_null_column_is_created_when_a_value_comes(tmp_path: Path) -> None:
    pages = [[{"id": 1, "later": None, "obj": None}], [{"id": 2, "later": None}], [{"id": 3, "later": 5, "obj": {"a": "x"}}]]
    on_arrow(compare(tmp_path, pages))


# ---------------------------------------------------------------------------------------
# cases that go the dict path: the whole resource falls back, and the result is still dlt's


def test_type_drift_across_pages_falls_back_and_matches(tmp_path: Path) -> None:
    pages = [[{"id": 1, "phone": 123}], [{"id": 2, "phone": "n/a"}], [{"id": 3, "phone": 5}]]
    run = compare(tmp_path, pages)
    falls_back(run, "string values in a bigint column")
    assert run.arrow_pages == 1
    assert "phone__v_text" in run.pipeline.default_schema.tables["events"]["columns"]


def test_drift_in_a_nested_table_after_arrow_pages(tmp_path: Path) -> None:
    pages = [[{"id": 1, "items": [{"k": 1, "s": [1]}]}], [{"id": 2, "items": [{"k": "x", "s": [2]}]}]]
    run = compare(tmp_path, pages, TableHints(write_disposition="merge", primary_key=("id",)))
    falls_back(run, "string values in a bigint column")
    assert run.arrow_pages == 1


def test_next_run_on_dicts_after_a_run_on_arrow(tmp_path: Path) -> None:
    first = [[{"id": 1, "items": [{"k": 1}], "at": "2024-01-01T00:00:00Z"}]]
    second = [[{"id": 1, "items": [{"k": 1.5}], "at": "2024-01-02T00:00:00Z"}], [{"id": 2, "items": [{"k": 2}]}]]
    run = compare(tmp_path, first, TableHints(write_disposition="merge", primary_key=("id",), max_table_nesting=2), later=(second,))
    falls_back(run, "double values in a bigint column")


def test_type_drift_across_runs_falls_back_and_matches(tmp_path: Path) -> None:
    run = compare(tmp_path, [[{"id": 1, "phone": 123, "at": "2024-01-01T00:00:00Z"}]], later=([[{"id": 2, "phone": 1.5, "at": "soon"}]],))
    falls_back(run, "double values in a bigint column")


def test_int_then_float_in_one_page_falls_back(tmp_path: Path) -> None:
    falls_back(compare(tmp_path, [[{"v": 1}, {"v": 2.5}]]), "double values in a bigint column")


def test_float_then_int_stays_on_arrow(tmp_path: Path) -> None:
    on_arrow(compare(tmp_path, [[{"v": 1.5}, {"v": 2}], [{"v": 3}]]))


def test_timestamp_then_text_falls_back(tmp_path: Path) -> None:
    falls_back(compare(tmp_path, [[{"at": "2024-01-01T00:00:00Z"}, {"at": "soon"}]]), "RFC 3339")


def extracted(tmp_path: Path, pages: Pages, hints: TableHints = NO_HINTS) -> Run:
    """Extract only: for pages that dlt itself cannot normalize or load."""
    return load(tmp_path, "arrow", [pages], hints, arrow=True, extract_only=True)


def test_large_ints_fall_back(tmp_path: Path) -> None:
    # dlt 1.31 itself fails on these in normalize; the fallback keeps its behaviour
    falls_back(extracted(tmp_path, [[{"id": 1, "big": 2**63 + 1}]]), "pyarrow cannot type the page")


def test_mixed_list_falls_back(tmp_path: Path) -> None:
    falls_back(compare(tmp_path, [[{"id": 1, "l": [1, {"q": 2}]}]]), "pyarrow cannot type the page")


def test_colliding_keys_fall_back(tmp_path: Path) -> None:
    falls_back(compare(tmp_path, [[{"userName": "a", "user_name": "b"}, {"userName": "c"}]]), "collide on column 'user_name'")


def test_mixed_scalar_and_object_fall_back(tmp_path: Path) -> None:
    falls_back(compare(tmp_path, [[{"id": 1, "m": {"a": 1}}, {"id": 2, "m": "flat"}]]), "pyarrow cannot type the page")


def test_lists_that_map_to_one_table_fall_back(tmp_path: Path) -> None:
    falls_back(compare(tmp_path, [[{"a": [1], "A": [2]}]]), "map to one table")


def test_records_that_are_not_objects_fall_back(tmp_path: Path) -> None:
    falls_back(compare(tmp_path, [[1, 2, 3]]), "every record must be a JSON object")  # type: ignore[list-item]


def test_dlt_columns_in_data_fall_back(tmp_path: Path) -> None:
    falls_back(compare(tmp_path, [[{"id": 1, "_dlt_id": "mine"}]]), "dlt's own columns")


def test_null_primary_key_goes_to_dlt(tmp_path: Path) -> None:
    # dlt refuses it in normalize ("Cannot coerce NULL"); it must see the dicts to say so
    hints = TableHints(write_disposition="merge", primary_key=("id",))
    falls_back(extracted(tmp_path, [[{"id": 1}], [{"id": None, "x": 1}]], hints), "null in not-null column 'id'")


def test_parquet_add_dlt_id_sends_everything_to_dicts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID", "true")
    falls_back(compare(tmp_path, FLAT), "add_dlt_id")


def test_parquet_add_dlt_load_id_keeps_flat_pages_on_arrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
    on_arrow(compare(tmp_path / "flat", FLAT))
    falls_back(compare(tmp_path / "nested", ARRAYS_OF_OBJECTS), "add_dlt_load_id")


@pytest.mark.parametrize("strategy", ["upsert", "scd2"])
def test_merge_strategies_with_deterministic_keys_fall_back(tmp_path: Path, strategy: str) -> None:
    hints = TableHints(write_disposition={"disposition": "merge", "strategy": strategy}, primary_key=("id",))
    falls_back(extracted(tmp_path, [[{"id": 1, "v": "a"}]], hints), "deterministic row keys")


def test_schema_contract_falls_back(tmp_path: Path) -> None:
    hints = TableHints(schema_contract={"columns": "freeze"})
    falls_back(extracted(tmp_path, [[{"id": 1}]], hints), "schema contract")
