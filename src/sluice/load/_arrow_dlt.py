"""What the Arrow path needs from dlt 1.31, in one place.

Facts found by reading dlt's source and by running it (see `tests/test_arrow_*.py`):

- Arrow items skip the JSON normalizer: dlt adds neither `_dlt_id` nor `_dlt_load_id`
  (`normalize.parquet_normalizer.add_dlt_id/add_dlt_load_id` are off), infers column types
  from the Arrow schema, and does not apply the schema's default hints (`row_key`,
  `parent_key`, `root_key`, `unique`, not-null) to the columns. So the writer fills those
  columns itself and declares every column schema explicitly, as hints.
- Rows for a nested table can be sent at extract time only through a table variant
  (`create_table_variant=True`) whose table has a `parent`; dlt refuses a `resource` on
  nested tables. A variant starts as a copy of the resource's hints (its columns, primary
  key, nested hints), so it is created and emptied first with `apply_hints` on the running
  resource; the rows then carry their column schemas with `with_hints`. What cannot be
  emptied stays on the nested table in the schema, harmless as it equals the root's:
  `write_disposition`, `x-normalizer.max_nesting`, and the `variant_name` dlt adds. (Declaring them as
  the root's `nested_hints` does not work with Arrow: dlt 1.31's Arrow extractor gives every
  nested table of the hints the root item's Arrow columns.)
- dlt 1.31 then fails after extraction while it groups metrics by resource: it reads
  `schema.get_table(name)["resource"]` for every table with files, and nested tables have
  none. `enable_nested_table_metrics()` makes that lookup fall back to the root table.
"""

from __future__ import annotations

import functools
from typing import Any

import dlt
from dlt.common.configuration import known_sections, resolve_configuration
from dlt.common.configuration.container import Container
from dlt.common.configuration.exceptions import ContextDefaultCannotBeCreated
from dlt.common.destination.capabilities import (
    DestinationCapabilitiesContext,
    adjust_column_schema_to_capabilities,
)
from dlt.common.exceptions import DltException
from dlt.common.normalizers.json import helpers
from dlt.common.normalizers.json.relational import DataItemNormalizer
from dlt.common.schema import Schema, utils
from dlt.common.schema.typing import TColumnSchema, TTableSchema
from dlt.normalize.configuration import ItemsNormalizerConfiguration

_EMPTY_KEY = DataItemNormalizer.EMPTY_KEY_IDENTIFIER
# nested table -> its root table, for every nested table the writers sent rows to
_ROOTS: dict[str, str] = {}


class SchemaRules:
    """Names and nesting decisions of dlt's relational normalizer, read from a schema."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        naming = schema.naming
        self.value_column = naming.normalize_identifier(DataItemNormalizer.C_VALUE)
        self.column_name = functools.lru_cache(maxsize=None)(self._column_name)
        self.table_fragment = functools.lru_cache(maxsize=None)(
            functools.partial(helpers.normalize_table_identifier, schema, naming)
        )
        self.join = functools.lru_cache(maxsize=None)(naming.shorten_fragments)

    def _column_name(self, key: str) -> str:
        if not key or key.isspace():
            return _EMPTY_KEY
        return helpers.normalize_identifier(self.schema, self.schema.naming, key)

    def keeps_json(self, table: str, column: str, level: int) -> bool:
        return helpers.is_nested_type(self.schema, table, column, level)


def live_schema() -> Schema:
    """A private copy of the schema dlt is extracting into, or a fresh default schema."""
    try:
        return dlt.current.source_schema().clone()
    except DltException:  # outside of an extraction: nothing is known yet
        return Schema("sluice")


def load_id() -> str | None:
    """The id of the load package being extracted, present only inside an extraction."""
    try:
        return str(dlt.current.load_package_state()["load_id"])
    except DltException:
        return None


def capabilities() -> DestinationCapabilitiesContext:
    try:
        return Container()[DestinationCapabilitiesContext]
    except ContextDefaultCannotBeCreated:
        return DestinationCapabilitiesContext.generic_capabilities()


def parquet_normalizer() -> ItemsNormalizerConfiguration:
    """dlt's settings for Arrow items: `add_dlt_id` would overwrite our row keys (and break
    every parent link); `add_dlt_load_id` puts `_dlt_load_id` on nested tables too."""
    return resolve_configuration(ItemsNormalizerConfiguration(), sections=(known_sections.NORMALIZE, "parquet_normalizer"))


def resource_table(resource: Any, schema: Schema) -> TTableSchema:
    """The root table as dlt computes it from a resource's hints, with normalized names."""
    table = resource.compute_table_schema()
    table.pop("resource", None)
    return utils.normalize_table_identifiers(table, schema.naming)


def infer_column(schema: Schema, name: str, data_type: str) -> TColumnSchema:
    """The column dlt's JSON normalizer creates when it first sees a value (`_infer_column`)."""
    column: TColumnSchema = {"name": name, "data_type": data_type, "nullable": not schema._infer_hint("not_null", name)}  # type: ignore[typeddict-item]
    for hint in schema._compiled_hints:
        if hint == "not_null":
            continue
        prop = utils.hint_to_column_prop(hint)
        value = schema._infer_hint(hint, name)
        if not utils.has_default_column_prop_value(prop, value):
            column[prop] = value
    return adjust_column_schema_to_capabilities(column, capabilities())


def enable_nested_table_metrics() -> bool:
    """Let dlt group extract metrics of nested tables under their root table's resource.

    Returns False when dlt's internals changed: nested tables then take the dict path."""
    from dlt.extract import extract as extract_module

    aggregate = getattr(extract_module, "aggregate_job_metrics", None)
    if aggregate is None:
        return False
    if getattr(aggregate, "_sluice_nested_tables", False):
        return True

    @functools.wraps(aggregate)
    def aggregate_with_nested(job_metrics: Any, key: Any) -> Any:
        def key_or_root(job_key: Any) -> Any:
            try:
                return key(job_key)
            except KeyError:
                # only the resource lookup raises: a nested table's root owns its rows
                if isinstance(job_key, str) and job_key in _ROOTS:
                    return key(_ROOTS[job_key])
                raise

        return aggregate(job_metrics, key_or_root)

    aggregate_with_nested._sluice_nested_tables = True  # type: ignore[attr-defined]
    extract_module.aggregate_job_metrics = aggregate_with_nested  # type: ignore[attr-defined]
    return True


def current_resource() -> Any:
    """The resource whose generator is running, or None outside of an extraction."""
    try:
        return dlt.current.resource()
    except (DltException, LookupError):
        return None


def declare_nested_table(resource: Any, name: str, parent: str, root: str) -> None:
    """Create the table variant for a nested table, emptied of what it copied from the
    resource: its columns, keys and nested hints belong to the root table only."""
    resource.apply_hints(
        table_name=name,
        parent_table_name=parent,
        columns={},
        primary_key="",
        merge_key="",
        nested_hints={},
        file_format="",
        table_format="",
        create_table_variant=True,
    )
    _ROOTS[name] = root


def root_item(table: Any, columns: dict[str, TColumnSchema]) -> Any:
    """The root table's rows, with every column schema declared (Arrow alone says less)."""
    return dlt.mark.with_hints(table, dlt.mark.make_hints(columns=columns))


def child_item(table: Any, name: str, columns: dict[str, TColumnSchema]) -> Any:
    """A nested table's rows, for its variant declared by `declare_nested_table`."""
    hints = dlt.mark.make_hints(table_name=name, columns=columns)
    return dlt.mark.with_hints(table, hints, create_table_variant=True)


def dict_file_format(resource: Any) -> str | None:
    """The file format dlt's normalizer will write this resource's dicts in, for the
    destination being loaded (dlt's `_get_items_normalizer`): the table's `file_format` hint
    when the destination takes it, else the destination's preferred format."""
    caps = capabilities()
    table = resource.compute_table_schema()
    preferred, supported = caps.preferred_loader_file_format, caps.supported_loader_file_formats or []
    if caps.loader_file_format_selector is not None:
        preferred, supported = caps.loader_file_format_selector(preferred, list(supported), table_schema=table)
    wanted = table.get("file_format")
    wanted = preferred if wanted == "preferred" else wanted
    return wanted if wanted in supported else preferred


def prefer_parquet(resource: Any) -> None:
    """Parquet instead of insert_values where that is known to give the same tables: DuckDB
    (no format selector, loads parquet natively) when nobody asked for a format. Elsewhere
    the format is what lands (filesystem: jsonl by default) or changes what lands (PostgreSQL
    loads parquet only through ADBC, into `json` columns instead of `jsonb`): dlt decides."""
    caps = capabilities()
    plain_database = caps.loader_file_format_selector is None and caps.preferred_loader_file_format == "insert_values"
    if plain_database and "parquet" in (caps.supported_loader_file_formats or []) and not resource.compute_table_schema().get("file_format"):
        resource.apply_hints(file_format="parquet")
