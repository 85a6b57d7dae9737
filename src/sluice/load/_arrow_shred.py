"""Shred one page of JSON records into Arrow columns per table, walking each record the way
dlt's relational normalizer does (`dlt/common/normalizers/json/relational.py`):

- a dict flattens into `parent__child` columns of the same row, one nesting level deeper;
- a list becomes a child table `table__key` with one row per element, one level deeper;
- a list inside a list passes through a row `{"list": inner}` of the child table;
- a scalar in a list becomes a row `{"value": scalar}`;
- once the level reaches 0 (or the column is typed `json`), dicts and lists stay whole.

pyarrow infers one struct type for the whole page in C++, so the walk costs one step per
field, not per value. Names and nesting decisions come from `ShredRules`, so this module
knows nothing of dlt. What it cannot shred exactly raises `ShredError`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.types as pat  # type: ignore[import-untyped]

from ._arrow_ids import arange

RowKind = Literal["record", "list", "value"]


class ShredError(Exception):
    """The page has a shape that cannot become Arrow columns that match dlt's."""


class ShredRules(Protocol):
    value_column: str

    def column_name(self, key: str) -> str: ...

    def table_fragment(self, key: str) -> str: ...

    def join(self, *fragments: str) -> str: ...

    def keeps_json(self, table: str, column: str, level: int) -> bool: ...


@dataclass
class Field:
    """One column of one table in a page: scalar values, or whole dicts/lists kept as JSON."""

    name: str
    raw_path: tuple[str, ...]
    array: Any
    is_json: bool


@dataclass
class Rows:
    """The rows one page gives one table, with their link to the parent table's rows."""

    fragments: tuple[str, ...]
    name: str
    level: int
    kind: RowKind
    length: int
    parent: Rows | None = None
    parent_index: Any = None
    list_index: Any = None
    list_path: tuple[str, ...] = ()
    fields: dict[str, Field] = field(default_factory=dict)

    def origin(self, row: int, records: list[Any]) -> Any:
        """The Python object dlt would flatten for `row`; only for the few rows that need it."""
        if self.parent is None:
            return records[row]
        container = dig(self.parent.origin(self.parent_index[row].as_py(), records), self.list_path)
        element = container[self.list_index[row].as_py()]
        if self.kind == "record":
            return element
        return {self.kind: element}


def dig(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def shred(records: list[Any], root_table: str, level: int, rules: ShredRules) -> list[Rows]:
    """All tables of the page, parents before children. The root table comes first."""
    try:
        page = pa.array(records)
    except (pa.ArrowException, OverflowError, TypeError, ValueError) as exc:
        raise ShredError(f"pyarrow cannot type the page: {exc}") from None
    if not pat.is_struct(page.type) or page.null_count:
        raise ShredError("every record must be a JSON object")
    root = Rows((root_table,), rules.join(root_table), level, "record", len(page))
    done: list[Rows] = []
    todo: deque[tuple[Rows, Any]] = deque([(root, page)])
    while todo:
        rows, values = todo.popleft()
        lists = _flatten(rows, values, rules)
        done.append(rows)
        children = (_child(rows, path, raw, array, rules) for path, raw, array in lists)
        todo.extend(child for child in children if child[0].length)  # no rows, no table
    names = [rows.name for rows in done]
    if len(set(names)) != len(names):
        raise ShredError(f"two lists map to one table among {sorted(names)}")
    return done


def _flatten(rows: Rows, values: Any, rules: ShredRules) -> list[tuple[tuple[str, ...], tuple[str, ...], Any]]:
    """Columns of `rows` from a struct array; returns the lists that become child tables."""
    if rows.kind == "value":
        rows.fields[rules.value_column] = Field(rules.value_column, ("value",), values, False)
        return []
    lists = []
    stack: list[tuple[Any, int, tuple[str, ...], tuple[str, ...]]] = [(values, rows.level, (), ())]
    while stack:
        struct, level, path, raw = stack.pop()
        for key, child in zip((f.name for f in struct.type), struct.flatten()):
            name = rules.column_name(key)
            column = rules.join(*path, name) if path else name
            nested = pat.is_struct(child.type) or pat.is_list(child.type) or pat.is_large_list(child.type)
            keep = nested and rules.keeps_json(rows.name, column, level)
            if nested and not keep and pat.is_struct(child.type):
                stack.append((child, level - 1, (*path, name), (*raw, key)))
            elif nested and not keep:
                lists.append(((*path, rules.table_fragment(key)), (*raw, key), child))
            elif column in rows.fields:
                raise ShredError(f"keys of table {rows.name!r} collide on column {column!r}")
            else:
                rows.fields[column] = Field(column, (*raw, key), child, keep)
    return lists


def _child(parent: Rows, path: tuple[str, ...], raw: tuple[str, ...], lists: Any, rules: ShredRules) -> tuple[Rows, Any]:
    elements = lists.flatten()
    parent_index = pc.list_parent_indices(lists).cast(pa.int64())
    lengths = lists.value_lengths().fill_null(0).cast(pa.int64())
    starts = pc.subtract(pc.cumulative_sum(lengths), lengths)  # first element of each list
    list_index = pc.subtract(arange(len(elements)), starts.take(parent_index))
    fragments = (*parent.fragments, *path)
    level, kind = parent.level - 1, _kind(elements.type)
    if kind == "list":
        # dlt wraps an inner list as {"list": inner} one level further down
        level, elements = level - 1, pa.StructArray.from_arrays([elements], names=["list"])
    rows = Rows(fragments, rules.join(*fragments), level, kind, len(elements), parent, parent_index, list_index, raw)
    return rows, elements


def _kind(element_type: Any) -> RowKind:
    if pat.is_struct(element_type):
        return "record"
    if pat.is_list(element_type) or pat.is_large_list(element_type):
        return "list"
    return "value"


def row_order(obj: Any, table: str, level: int, rules: ShredRules) -> list[str]:
    """The columns a row object gives, in the order dlt's `_flatten` emits them.

    dlt adds columns to a table in the order it first meets them, so this is how a new
    column finds its place among the others created by the same row."""
    if not isinstance(obj, dict):
        return []
    order: list[str] = []
    stack: list[tuple[dict[str, Any], int, tuple[str, ...]]] = [(obj, level, ())]
    while stack:
        current, lvl, path = stack.pop()
        for key, value in current.items():
            name = rules.column_name(key)
            column = rules.join(*path, name) if path else name
            nested = isinstance(value, (dict, list))
            if nested and not rules.keeps_json(table, column, lvl):
                if isinstance(value, dict):
                    stack.append((value, lvl - 1, (*path, name)))
                continue
            if value is not None:
                order.append(column)
    return order
