"""The one door to dlt: specs in, a `DltSource` out.

Every configured resource becomes a dlt resource with dlt's hints; its items are pages of
records fetched by the engine. dlt owns schemas, normalisation, state and loading.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import dlt
from dlt.common.exceptions import DltException
from dlt.extract import DltResource, DltSource, Incremental

from ..config.specs import IncrementalSpec, ResourceSpec, SourceSpec
from ..engine.cursors import ParentCursors
from ..engine.run import RunOptions
from ..errors import ConfigError, Issue
from .runtime import SourceRuntime
from .state import committing, parent_cursors

_LAST_VALUE_FUNCS = {"max": max, "min": min}
log = logging.getLogger("sluice.load")


def build_source(spec: SourceSpec, *, name: str | None = None, section: str | None = None,
                 options: RunOptions | None = None, **source_kwargs: Any) -> DltSource:
    runtime = SourceRuntime(spec, options)
    resources = build_resources(spec, runtime, source_kwargs)

    def rest_api() -> list[DltResource]:
        return resources

    kwargs = {**_source_kwargs(source_kwargs), **({"section": section} if section else {})}
    decorated = dlt.source(rest_api, name=name or "rest_api", **kwargs)
    source: DltSource = decorated()
    source.sluice_runtime = runtime
    source.sluice_hints = dict(source_kwargs)  # rest_api_source's max_table_nesting, root_key, ...: for a Dask run
    return source


def build_resources(spec: SourceSpec, runtime: SourceRuntime, source_hints: Mapping[str, Any] | None = None) -> list[DltResource]:
    resources, issues = [], []
    for resource in spec.resources:
        try:
            resources.append(_resource(resource, runtime, source_hints or {}))
        except (ValueError, TypeError, KeyError, AttributeError, DltException) as exc:
            # dlt checks some hints (merge strategy, column shapes) only when the resource is made:
            # still a configuration error, reported with the others, never a bare traceback.
            issues.append(Issue(f"resource '{resource.name}'", f"dlt rejects the resource hints: {exc}"))
    if issues:
        raise ConfigError(issues)
    return [*resources, *spec.extra_resources]


def _source_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    allowed = ("max_table_nesting", "root_key", "schema", "schema_contract", "parallelized")
    return {k: v for k, v in kwargs.items() if k in allowed and v is not None and k != "parallelized"}


def _resource(spec: ResourceSpec, runtime: SourceRuntime, source_hints: Mapping[str, Any]) -> DltResource:
    fetch = _fetch_function(spec, runtime, source_hints)
    fetch.__name__ = spec.name
    fetch.__qualname__ = spec.name
    hints = copy.deepcopy(dict(spec.hints))  # dlt writes into column dicts: never into the user's config
    resource = dlt.resource(fetch, name=spec.name, selected=spec.selected, **hints)
    for step in () if spec.steps_in_engine else spec.processing_steps:
        kind, func = next(iter(step.items()))
        getattr(resource, f"add_{kind}")(func)
    return resource  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Ready:
    """Items made elsewhere, handed to dlt as they are: a Dask worker's Arrow tables marked
    by the coordinator, or a page that must reach dlt as dicts (see sluice.scale)."""

    items: list[Any]


def lands_as_arrow(spec: ResourceSpec, options: RunOptions, resource: Any) -> bool:
    """Whether the pages of the running dlt `resource` go to dlt as Arrow tables: where dlt
    would write its dicts as parquet anyway. Decided when dlt pulls the first page: only then
    are the destination and the run's file format known."""
    from . import _arrow_dlt as dltx

    if resource is None:
        return False
    dltx.prefer_parquet(resource)
    return _arrow_eligible(spec, options) and dltx.dict_file_format(resource) == "parquet"


def _arrow_eligible(spec: ResourceSpec, options: RunOptions) -> bool:
    """Arrow items when nothing downstream expects dicts: no incremental (dlt filters, and then
    runs the steps, record by record; without one the engine runs the steps), a plain table name."""
    if not options.arrow or os.environ.get("SLUICE_ARROW", "1") == "0":
        return False
    hints = spec.hints
    return spec.endpoint.incremental is None and isinstance(hints.get("table_name", spec.name), str) and "nested_hints" not in hints


def _to_dlt(stream: Iterator[list[Any]], spec: ResourceSpec, runtime: SourceRuntime, source_hints: Mapping[str, Any],
            start: Callable[[], None] | None = None) -> Iterator[Any]:
    """The pages, as Arrow tables where they land exactly as dlt's dicts would. `start` starts
    the stream's engine without waiting for a page."""
    from . import _arrow_dlt as dltx

    # dlt writes Arrow as parquet (or csv): where it would write dicts in another format (jsonl
    # on the filesystem, insert_values in PostgreSQL) dicts land as dlt's do. Incremental
    # resources stay dicts too: dlt filters them record by record.
    if lands_as_arrow(spec, runtime.options, dltx.current_resource()):
        if start is not None:
            # the engine fetches while this thread imports pyarrow (0.3-0.4 s in a fresh
            # process); not on a thread of its own: dlt reads `sys.modules["pyarrow"]` as is
            start()
        yield from _as_arrow(stream, spec, source_hints)
    else:
        yield from stream


def _as_arrow(stream: Iterator[list[Any]], spec: ResourceSpec, source_hints: Mapping[str, Any]) -> Iterator[Any]:
    from .arrow import ArrowPageWriter, ArrowUnsupported

    writer: ArrowPageWriter | None = ArrowPageWriter(spec.hints.get("table_name", spec.name), table_hints(spec, source_hints))
    for records in stream:
        if isinstance(records, Ready):  # shaped on a Dask worker (the run decided as `lands_as_arrow`)
            yield from records.items
            continue
        if writer is not None:
            try:
                yield from writer.items(records)
                continue
            except ArrowUnsupported as exc:
                log.info("resource '%s' goes to dlt as dicts: %s", spec.name, exc.reason)
                writer = None
        yield records


def table_hints(spec: ResourceSpec, source_hints: Mapping[str, Any]) -> Any:
    """The `TableHints` an Arrow writer of the resource is given (a local run's or a Dask worker's)."""
    from .arrow import TableHints  # pyarrow is imported only where Arrow is used

    hints = spec.hints
    columns = hints.get("columns")
    return TableHints(
        write_disposition=hints.get("write_disposition", "append"),
        schema_contract=hints.get("schema_contract", source_hints.get("schema_contract")),
        primary_key=_columns(hints.get("primary_key")), merge_key=_columns(hints.get("merge_key")),
        max_table_nesting=hints.get("max_table_nesting", source_hints.get("max_table_nesting")),
        columns=columns if isinstance(columns, Mapping) else {},
        root_key=bool(source_hints.get("root_key")),
    )


def _columns(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _fetch_function(spec: ResourceSpec, runtime: SourceRuntime, source_hints: Mapping[str, Any]) -> Any:
    """The resource function; it takes an `incremental` argument only when configured, so dlt
    binds the cursor state to it exactly as it does for its own rest_api resources."""
    if spec.endpoint.incremental is not None and spec.endpoint.incremental.per_parent:
        return _per_parent_fetch(spec, runtime, source_hints)
    default = _incremental(spec.endpoint.incremental)
    if default is None:

        def fetch() -> Iterator[Any]:
            run = runtime.register(spec.name, dict)
            return _named(_to_dlt(run.stream(spec.name), spec, runtime, source_hints, run.start), spec.name)

        return fetch

    def fetch_incremental(incremental: Incremental[Any] = default) -> Iterator[list[Any]]:
        # Read the cursor values when the run starts: dlt binds the incremental to the
        # resource's state after this call and before the first item is pulled.
        run = runtime.register(spec.name, lambda: _incremental_values(incremental))
        stream = _from_run_start(run.stream(spec.name), incremental, run, spec.name)
        return _named(_to_dlt(stream, spec, runtime, source_hints), spec.name)

    return fetch_incremental


def _per_parent_fetch(spec: ResourceSpec, runtime: SourceRuntime, source_hints: Mapping[str, Any]) -> Any:
    """A `per_parent` resource has no dlt incremental: its one cursor would filter every parent's
    children by the highest value any parent reached. The engine keeps a cursor per parent,
    stored in the resource's state when its last page has gone to dlt."""
    incremental = spec.endpoint.incremental
    assert incremental is not None

    def fetch() -> Iterator[Any]:
        found: list[ParentCursors] = []

        def values() -> dict[str, Any]:
            found.append(parent_cursors(spec))
            return {"initial_value": incremental.initial_value, "start_value": incremental.initial_value,
                    "end_value": incremental.end_value, "per_parent": found[-1]}

        stream = runtime.register(spec.name, values).stream(spec.name)
        return _named(_to_dlt(committing(stream, found), spec, runtime, source_hints), spec.name)

    return fetch


def _named(generator: Iterator[Any], name: str) -> Iterator[Any]:
    """dlt's errors name the generator that raised: the resource's name, not our plumbing's."""
    generator.__name__ = generator.__qualname__ = name  # type: ignore[attr-defined]
    return generator


def _incremental(spec: IncrementalSpec | None) -> Incremental[Any] | None:
    if spec is None:
        return None
    func = _LAST_VALUE_FUNCS.get(spec.last_value_func, spec.last_value_func) if spec.last_value_func else max
    kwargs: dict[str, Any] = {
        "cursor_path": spec.cursor_path, "initial_value": spec.initial_value, "end_value": spec.end_value,
        "last_value_func": func, "on_cursor_value_missing": spec.on_cursor_value_missing,
    }
    if spec.lag is not None:
        kwargs["lag"] = spec.lag
    if spec.range_start:
        kwargs["range_start"] = spec.range_start
    if spec.range_end:
        kwargs["range_end"] = spec.range_end
    return dlt.sources.incremental(**kwargs)


def _incremental_values(incremental: Incremental[Any] | None) -> dict[str, Any]:
    if incremental is None:
        return {}
    return {
        "start_value": incremental.start_value,
        "last_value": incremental.last_value,
        "end_value": incremental.end_value,
        "initial_value": incremental.initial_value,
        "unique_hashes": list(incremental.get_state().get("unique_hashes") or ()),
    }


def _from_run_start(stream: Generator[list[Any], None, None], incremental: Incremental[Any], run: Any, name: str) -> Iterator[list[Any]]:
    """`stream`, filtered by dlt from where the run started, not from the last slice's cursor.

    A checkpointed run loads in slices, and dlt binds the incremental of each slice to the
    state the one before committed: an API that does not sort by the cursor would have the
    records of slice 2 older than slice 1's last value dropped. The first slice's start value
    (and the hashes dlt dedups it with) stay the filter's start; the last value, committed
    with each slice, only advances."""
    try:
        first = next(stream, None)
        if first is None:
            return
        origin = run.incremental.get(name)
        if origin is not None and run.checkpoints is not None and origin.get("start_value") != incremental.start_value:
            _start_filter_at(incremental, origin)
        yield first
        yield from stream
    finally:
        stream.close()  # dlt closed us early: the stream tells the run (see Run.stream)


def _start_filter_at(incremental: Incremental[Any], origin: Mapping[str, Any]) -> None:
    from dlt.extract.incremental.transform import JsonIncremental

    committed = incremental.get_state()
    incremental.start_value = origin["start_value"]
    transformer = incremental._make_or_get_transformer(JsonIncremental)
    transformer.last_value = committed.get("last_value")
    transformer.start_unique_hashes = set(origin.get("unique_hashes") or ())
    transformer.seen_data = True  # start and last value differ on purpose: no tz re-alignment

