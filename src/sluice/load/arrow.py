"""The Arrow fast path: pages of JSON records become Arrow tables that load through dlt into
exactly the tables dlt's own normalizer would have made from the same records.

dlt's JSON normalizer walks every value in Python; Arrow items skip it. The writer does its
work per column instead (see `_arrow_shred`, `_arrow_plan`), keeps a private copy of the
schema so that type inference across pages matches dlt's, and fills dlt's own columns
(`_dlt_id`, `_dlt_load_id`, `_dlt_parent_id`, `_dlt_list_idx`, `_dlt_root_id`).

Example (inside a `@dlt.resource`)::

    writer = ArrowPageWriter("events", TableHints(write_disposition="merge", primary_key=("id",)))
    for page in pages:
        try:
            yield from writer.items(page)
        except ArrowUnsupported:
            yield page  # from here on the whole resource goes the dict path

When a page cannot be written exactly (a type drift that needs a variant column, keys that
collide after normalization, ints beyond 64 bits, ...) `items` raises `ArrowUnsupported` and
so does every later call: a resource never goes back to Arrow once it yielded dicts. Arrow
pages followed by dict pages load correctly, because the Arrow pages left dlt's schema
exactly as dlt's normalizer would have left it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dlt
import pyarrow as pa  # type: ignore[import-untyped]
from dlt.common.normalizers.json import helpers
from dlt.common.normalizers.json.relational import DataItemNormalizer
from dlt.common.normalizers.utils import DLT_ID_LENGTH_BYTES
from dlt.common.schema import Schema, utils
from dlt.common.schema.typing import TColumnSchema, TPartialTableSchema

from . import _arrow_dlt as dltx
from ._arrow_ids import random_ids
from ._arrow_plan import TablePlan, plan_table
from ._arrow_shred import Rows, ShredError, shred
from ._arrow_types import ARROW_TYPES, TypeRefused

__all__ = ["ArrowPageWriter", "ArrowUnsupported", "Extraction", "Marks", "Shaped", "TableHints"]

_EVOLVE = {"tables": "evolve", "columns": "evolve", "data_type": "evolve"}


class ArrowUnsupported(Exception):
    """This page (and so the rest of the resource) must go to dlt as dicts."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TableHints:
    """The resource hints that change what dlt's normalizer makes of the records; the same
    values the resource itself is given (the writer computes the root table from them
    with dlt, exactly as the extractor will).

    `write_disposition` is dlt's string or dict form (pass the dict whole: the strategy
    decides the row keys, and upsert, scd2, ... go the dict path). `max_table_nesting` None
    is dlt's default; `columns` are dlt column hints; `root_key` mirrors the source's
    `root_key`; a `schema_contract` other than evolve goes the dict path.
    """

    write_disposition: str | Mapping[str, Any] = "append"
    primary_key: Sequence[str] = ()
    merge_key: Sequence[str] = ()
    max_table_nesting: int | None = None
    columns: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    root_key: bool = False
    schema_contract: str | Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Extraction:
    """What a writer takes from the dlt extraction its tables are for. `current()` reads the
    one running in this thread; a Dask worker is handed the coordinator's (picklable), shapes
    with `tables` and leaves the marking to the coordinator's running resource (`Marks`)."""

    schema: Schema
    load_id: str
    add_dlt_id: bool
    no_nested: str | None  # why nested tables cannot go the Arrow way, if they cannot
    capabilities: Any = None  # the destination's (None: the container's)

    @classmethod
    def current(cls) -> Extraction:
        load_id = dltx.load_id()
        if load_id is None:
            raise _Refused("not inside a dlt extraction: no load id")
        parquet = dltx.parquet_normalizer()
        blocker = _nested_blocker(dltx.current_resource(), parquet.add_dlt_load_id)
        return cls(dltx.live_schema(), load_id, parquet.add_dlt_id, blocker, dltx.capabilities())

    def __reduce__(self) -> Any:
        # to a Dask worker: a dlt Schema as its dict (the live schema's clone does not pickle)
        stored = self.schema.to_dict()
        return _extraction, (stored, self.load_id, self.add_dlt_id, self.no_nested, self.capabilities)


def _extraction(stored: Any, load_id: str, add_dlt_id: bool, no_nested: str | None, capabilities: Any) -> Extraction:
    return Extraction(Schema.from_dict(stored), load_id, add_dlt_id, no_nested, capabilities)


@dataclass(frozen=True)
class Shaped:
    """One table of a page: its rows and the dlt schema of each column written."""

    name: str
    parent: str | None
    table: Any  # pyarrow.Table
    columns: dict[str, TColumnSchema]


class Marks:
    """Shaped tables as items of the running dlt resource (a nested table's variant is
    declared once, on its first rows)."""

    def __init__(self, resource: Any, root: str) -> None:
        self.resource = resource
        self.root = root
        self.declared: set[str] = set()

    def __call__(self, shaped: Shaped) -> Any:
        hints = _beyond_arrow(shaped.columns)
        if shaped.parent is None:
            return dltx.root_item(shaped.table, hints)
        if shaped.name not in self.declared:
            dltx.declare_nested_table(self.resource, shaped.name, shaped.parent, self.root)
            self.declared.add(shaped.name)
        return dltx.child_item(shaped.table, shaped.name, hints)


class ArrowPageWriter:
    """Turns the pages of one resource into Arrow items; one writer per resource and run."""

    def __init__(self, table_name: str, hints: TableHints, extraction: Extraction | None = None) -> None:
        self.table_name = table_name
        self.hints = hints
        self.extraction = extraction  # None: the running extraction's
        self._session: _Session | None = None
        self._fallback: str | None = None

    @property
    def fallback_reason(self) -> str | None:
        """Why this resource went to the dict path, or None while it is on Arrow."""
        return self._fallback

    def items(self, records: list[Any]) -> list[Any]:
        """Arrow items to yield for `records` (root table first, then nested tables).

        Raises `ArrowUnsupported` when the page must go to dlt as dicts, and from then on
        for every page: nothing of the refused page has been yielded."""
        shaped = self.tables(records)
        return [self._session.marks(table) for table in shaped] if self._session else []

    def tables(self, records: list[Any]) -> list[Shaped]:
        """`items` before dlt's marks (root table first): what a Dask worker stages."""
        if self._fallback is not None:
            raise ArrowUnsupported(self._fallback)
        if not records:
            return []
        try:
            if self._session is None:
                self._session = _Session.start(self.table_name, self.hints, self.extraction)
            return self._session.tables(records)
        except (ShredError, TypeRefused, _Refused, pa.ArrowException) as exc:
            self._fallback = str(exc)
            raise ArrowUnsupported(self._fallback) from None


class _Refused(Exception):
    pass


class _Session:
    """What the writer knows during one extraction: its copy of the schema and the ids."""

    def __init__(self, schema: Schema, root: str, load_id: str, resource: Any, no_nested: str | None) -> None:
        self.schema = schema
        self.rules = dltx.SchemaRules(schema)
        self.root = root
        self.load_id = load_id
        self.no_nested = no_nested  # why nested tables cannot go the Arrow way, if they cannot
        max_nesting = DataItemNormalizer.get_normalizer_config(schema).get("max_nesting")
        self.level = helpers.get_table_nesting_level(schema, root, 1000 if max_nesting is None else max_nesting) or 0
        self.names = _LinkNames(schema)
        self.marks = Marks(resource, root)

    @classmethod
    def start(cls, table_name: str, hints: TableHints, extraction: Extraction | None) -> _Session:
        context = extraction or Extraction.current()
        if context.add_dlt_id:
            raise _Refused("normalize.parquet_normalizer.add_dlt_id would replace the row keys")
        schema = context.schema.clone()
        if hints.root_key:
            DataItemNormalizer.update_normalizer_config(schema, {"root_key_propagation": True})
            schema = schema.clone()  # the relational normalizer reads its config when made
        root = dltx.resource_table(_hints_resource(table_name, hints), schema)
        schema.update_table(root, normalize_identifiers=False)
        session = cls(schema, str(root["name"]), context.load_id, dltx.current_resource(), context.no_nested)
        session.check()
        return session

    def check(self) -> None:
        """Settings under which dlt's normalizer does more than this writer reproduces."""
        if self.schema._compiled_excludes:
            raise _Refused("the schema has column filters (excludes)")
        if self.schema.resolve_contract_settings_for_table(self.root) != _EVOLVE:
            raise _Refused("a schema contract other than evolve")
        if helpers.get_root_row_id_type(self.schema, self.root) != "random":
            raise _Refused("a merge strategy with deterministic row keys (upsert, scd2, ...)")
        propagation = DataItemNormalizer.get_normalizer_config(self.schema).get("propagation") or {}
        mine = (propagation.get("tables") or {}).get(self.root)
        if propagation.get("root") or mine not in (None, {self.names.row: self.names.root}):
            raise _Refused(f"custom propagation of columns to nested tables: {propagation}")

    @property
    def root_key(self) -> bool:
        propagation = DataItemNormalizer.get_normalizer_config(self.schema).get("propagation") or {}
        return self.root in (propagation.get("tables") or {})

    def tables(self, records: list[Any]) -> list[Shaped]:
        tables = shred(records, self.root, self.level, self.rules)
        if len(tables) > 1 and self.no_nested:
            raise _Refused(self.no_nested)
        links = self._links(tables)
        plans = [plan_table(self.schema, self.rules, rows, links[rows.name], records) for rows in tables]
        for plan in plans:
            self._commit(plan)
        return [self._shaped(plan) for plan in plans]

    def _links(self, tables: list[Rows]) -> dict[str, dict[str, Any]]:
        """dlt's own columns of every table, in the order dlt appends them to a row."""
        names, ids, roots = self.names, {}, {}
        out: dict[str, dict[str, Any]] = {}
        for rows in tables:
            ids[rows.name] = random_ids(rows.length, DLT_ID_LENGTH_BYTES)
            if rows.parent is None:
                roots[rows.name] = pa.array(range(rows.length), pa.int64())
                load_ids = pa.repeat(pa.scalar(self.load_id, pa.string()), rows.length)
                out[rows.name] = {names.load: load_ids, names.row: ids[rows.name]}
                continue
            index = rows.parent_index
            roots[rows.name] = roots[rows.parent.name].take(index)
            link = {names.root: ids[self.root].take(roots[rows.name])} if self.root_key else {}
            link[names.parent] = ids[rows.parent.name].take(index)
            link[names.index] = rows.list_index
            link[names.row] = ids[rows.name]
            out[rows.name] = link
        return out

    def _commit(self, plan: TablePlan) -> None:
        rows = plan.rows
        partial: TPartialTableSchema = {"name": rows.name, "columns": plan.new_columns}
        if rows.name not in self.schema.tables:
            # a new table, exactly as dlt's normalizer makes it
            partial = utils.new_table(rows.name, rows.parent.name if rows.parent else None)  # type: ignore[arg-type]
            partial["columns"] = plan.new_columns
        elif not plan.new_columns:
            return
        self.schema.update_table(partial, normalize_identifiers=False)

    def _shaped(self, plan: TablePlan) -> Shaped:
        rows = plan.rows
        columns = _written_columns(self.schema.tables[rows.name]["columns"], plan.arrays)
        table = _arrow_table(columns, plan.arrays, rows.length)
        return Shaped(rows.name, rows.parent.name if rows.parent else None, table, columns)


def _nested_blocker(resource: Any, adds_load_id: bool) -> str | None:
    if resource is None:
        return "nested tables need the running dlt resource (dlt.current.resource())"
    if adds_load_id:
        return "normalize.parquet_normalizer.add_dlt_load_id would add _dlt_load_id to nested tables"
    if not dltx.enable_nested_table_metrics():
        return "this dlt version cannot group metrics of nested tables fed at extract"
    return None


class _LinkNames:
    def __init__(self, schema: Schema) -> None:
        name = schema.naming.normalize_identifier
        self.row, self.load = name("_dlt_id"), name("_dlt_load_id")
        self.root, self.parent = name(DataItemNormalizer.C_DLT_ROOT_ID), name(DataItemNormalizer.C_DLT_PARENT_ID)
        self.index = name(DataItemNormalizer.C_DLT_LIST_IDX)


def _hints_resource(table_name: str, hints: TableHints) -> Any:
    """A resource with the user's hints, so dlt itself computes the root table from them."""
    disposition = hints.write_disposition
    options: dict[str, Any] = {
        "name": table_name,
        "table_name": table_name,
        "write_disposition": dict(disposition) if isinstance(disposition, Mapping) else disposition,
        "primary_key": list(hints.primary_key) or None,
        "merge_key": list(hints.merge_key) or None,
        "columns": dict(hints.columns) or None,
        "max_table_nesting": hints.max_table_nesting,
        "schema_contract": hints.schema_contract,
    }
    return dlt.resource([], **options)


def _written_columns(known: Mapping[str, TColumnSchema], arrays: Mapping[str, Any]) -> dict[str, TColumnSchema]:
    """Complete columns in schema order: those with values, and the nullable others as nulls,
    so a table created by this page gets dlt's column order."""
    out = {}
    for name, column in known.items():
        typed = utils.is_complete_column(column) and column.get("data_type") in ARROW_TYPES
        if name in arrays or (typed and column.get("nullable", True)):
            out[name] = dict(column)
    return out  # type: ignore[return-value]


def _beyond_arrow(columns: Mapping[str, TColumnSchema]) -> dict[str, TColumnSchema]:
    """What dlt cannot read from the Arrow fields (name, type, nullability): key hints and
    the json type. Only these go as hints: dlt validates every hinted column per item."""
    hints = {}
    for name, column in columns.items():
        extra = {k: v for k, v in column.items() if k not in ("name", "data_type", "nullable")}
        if column.get("data_type") == "json":
            extra["data_type"] = "json"
        if extra:
            hints[name] = {"name": name, **extra}
    return hints  # type: ignore[return-value]


def _arrow_table(columns: Mapping[str, TColumnSchema], arrays: Mapping[str, Any], length: int) -> Any:
    fields, data = [], []
    for name, column in columns.items():
        arrow_type = ARROW_TYPES[str(column["data_type"])]
        fields.append(pa.field(name, arrow_type, nullable=column.get("nullable", True)))
        data.append(arrays[name] if name in arrays else pa.nulls(length, arrow_type))
    return pa.Table.from_arrays(data, schema=pa.schema(fields))
