"""Decide, for one table of one page, the type of every column and the columns dlt would add.

This mirrors `JsonLItemsNormalizer._coerce_row` for a whole column at once: an existing
column keeps its type and the values must convert to it; a new column takes the type dlt
infers from its first value (detections, Python type, preferred type) and goes after the
columns already known, in the order dlt meets them row by row. A column whose values are
all null is not created, as in dlt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from dlt.common.data_types.type_helpers import py_type_to_sc_type
from dlt.common.json import json
from dlt.common.schema import Schema, utils
from dlt.common.schema.typing import TColumnSchema

from ._arrow_dlt import SchemaRules, infer_column
from ._arrow_shred import Field, Rows, dig, row_order
from ._arrow_types import ARROW_TYPES, TypeRefused, convert


@dataclass
class TablePlan:
    rows: Rows
    arrays: dict[str, Any] = field(default_factory=dict)
    new_columns: dict[str, TColumnSchema] = field(default_factory=dict)


def plan_table(schema: Schema, rules: SchemaRules, rows: Rows, links: Mapping[str, Any], records: list[Any]) -> TablePlan:
    """Typed arrays for `rows` plus the new column schemas; raises `TypeRefused`."""
    clash = set(rows.fields) & set(links)
    if clash:
        raise TypeRefused(f"the data has dlt's own columns {sorted(clash)} in table {rows.name!r}")
    table = schema.tables.get(rows.name)
    known = table["columns"] if table else {}
    plan, first_rows = TablePlan(rows), {}
    fields = [*rows.fields.values(), *(Field(name, (), array, False) for name, array in links.items())]
    for column in fields:
        first = _first_valid(column.array)
        existing = known.get(column.name)
        if first is None:
            # dlt creates no column before it sees a value, and nulls need no type
            if existing is not None and not existing.get("nullable", True) and utils.is_complete_column(existing):
                raise TypeRefused(f"null in not-null column {column.name!r} of {rows.name!r}")
            continue
        if existing is not None and utils.is_complete_column(existing):
            schema_column = existing
        else:
            value = _first_value(rows, column, first, links, records)
            schema_column = _new_column(schema, column.name, value, existing)
            plan.new_columns[column.name], first_rows[column.name] = schema_column, first
        plan.arrays[column.name] = _typed(rows, column, schema_column, records)
    plan.new_columns = _in_dlt_order(rules, rows, plan.new_columns, first_rows, list(links), records)
    return plan


def _new_column(schema: Schema, name: str, value: Any, incomplete: TColumnSchema | None) -> TColumnSchema:
    data_type = utils.autodetect_sc_type(schema._type_detections, type(value), value) or py_type_to_sc_type(type(value))
    data_type = schema.get_preferred_type(name) or data_type
    column = infer_column(schema, name, data_type)
    # hints given before any data (user columns, primary key) win over inferred defaults
    return utils.merge_column(column, incomplete) if incomplete else column


def _typed(rows: Rows, column: Field, schema_column: TColumnSchema, records: list[Any]) -> Any:
    data_type = schema_column.get("data_type")
    if data_type not in ARROW_TYPES:
        raise TypeRefused(f"column {column.name!r} has type {data_type}")
    if data_type == "timestamp" and ("timezone" in schema_column or "precision" in schema_column):
        raise TypeRefused(f"column {column.name!r} has timestamp hints")
    if not schema_column.get("nullable", True) and column.array.null_count:
        raise TypeRefused(f"null in not-null column {column.name!r} of {rows.name!r}")
    return convert(column.array, str(data_type), lambda: _json_text(rows, column, records))


def _json_text(rows: Rows, column: Field, records: list[Any]) -> Any:
    """Whole dicts and lists as dlt writes them into a json column."""
    valid = column.array.is_valid().to_pylist()
    texts = [json.dumps(dig(rows.origin(i, records), column.raw_path)) if ok else None for i, ok in enumerate(valid)]
    return pa.array(texts, pa.string())


def _first_valid(array: Any) -> int | None:
    if len(array) == array.null_count:
        return None
    if not array.null_count:
        return 0
    return int(pc.index(array.is_valid(), True).as_py())


def _first_value(rows: Rows, column: Field, row: int, links: Mapping[str, Any], records: list[Any]) -> Any:
    if column.name in links:
        return links[column.name][row].as_py()
    # Arrow turns a mix of ints and floats into doubles: only the record knows the first one
    return dig(rows.origin(row, records), column.raw_path)


def _in_dlt_order(
    rules: SchemaRules,
    rows: Rows,
    new: dict[str, TColumnSchema],
    first_rows: dict[str, int],
    links: list[str],
    records: list[Any],
) -> dict[str, TColumnSchema]:
    """New columns in the order dlt adds them: by the row that first has a value, then by
    their place in that row (data in `_flatten` order, then dlt's own columns)."""
    orders: dict[int, list[str]] = {}
    for row in sorted(set(first_rows.values())):
        orders[row] = row_order(rows.origin(row, records), rows.name, rows.level, rules) + links

    def place(name: str) -> tuple[int, int]:
        row = first_rows[name]
        if name not in orders[row]:
            raise TypeRefused(f"cannot place column {name!r} of {rows.name!r}")
        return row, orders[row].index(name)

    return {name: new[name] for name in sorted(new, key=place)}
