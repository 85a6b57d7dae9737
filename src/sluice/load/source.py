"""The one door to dlt: specs in, a `DltSource` out.

Every configured resource becomes a dlt resource with dlt's hints; its items are pages of
records fetched by the engine. dlt owns schemas, normalisation, state and loading.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dlt
from dlt.common.exceptions import DltException
from dlt.extract import DltResource, DltSource, Incremental

from ..config.specs import IncrementalSpec, ResourceSpec, SourceSpec
from ..engine.run import RunOptions
from ..errors import ConfigError, Issue
from .runtime import SourceRuntime

_LAST_VALUE_FUNCS = {"max": max, "min": min}


def build_source(spec: SourceSpec, *, name: str | None = None, section: str | None = None,
                 options: RunOptions | None = None, **source_kwargs: Any) -> DltSource:
    runtime = SourceRuntime(spec, options)
    resources = build_resources(spec, runtime)

    def rest_api() -> list[DltResource]:
        return resources

    kwargs = {**_source_kwargs(source_kwargs), **({"section": section} if section else {})}
    decorated = dlt.source(rest_api, name=name or "rest_api", **kwargs)
    source: DltSource = decorated()
    source.sluice_runtime = runtime
    return source


def build_resources(spec: SourceSpec, runtime: SourceRuntime) -> list[DltResource]:
    resources, issues = [], []
    for resource in spec.resources:
        try:
            resources.append(_resource(resource, runtime))
        except (ValueError, TypeError, DltException) as exc:
            # dlt checks some hints (merge strategy, column shapes) only when the resource is made:
            # still a configuration error, reported with the others, never a bare traceback.
            issues.append(Issue(f"resource '{resource.name}'", f"dlt rejects the resource hints: {exc}"))
    if issues:
        raise ConfigError(issues)
    return [*resources, *spec.extra_resources]


def _source_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    allowed = ("max_table_nesting", "root_key", "schema", "schema_contract", "parallelized")
    return {k: v for k, v in kwargs.items() if k in allowed and v is not None and k != "parallelized"}


def _resource(spec: ResourceSpec, runtime: SourceRuntime) -> DltResource:
    fetch = _fetch_function(spec, runtime)
    fetch.__name__ = spec.name
    fetch.__qualname__ = spec.name
    hints = dict(spec.hints)
    hints.setdefault("file_format", "parquet")  # dlt's insert_values path is slow; tables are the same
    resource = dlt.resource(fetch, name=spec.name, selected=spec.selected, **hints)
    for step in spec.processing_steps:
        kind, func = next(iter(step.items()))
        getattr(resource, f"add_{kind}")(func)
    return resource  # type: ignore[no-any-return]


def _fetch_function(spec: ResourceSpec, runtime: SourceRuntime) -> Any:
    """The resource function; it takes an `incremental` argument only when configured, so dlt
    binds the cursor state to it exactly as it does for its own rest_api resources."""
    default = _incremental(spec.endpoint.incremental)
    if default is None:

        def fetch() -> Iterator[list[Any]]:
            return runtime.register(spec.name, dict).stream(spec.name)

        return fetch

    def fetch_incremental(incremental: Incremental[Any] = default) -> Iterator[list[Any]]:
        # Read the cursor values when the run starts: dlt binds the incremental to the
        # resource's state after this call and before the first item is pulled.
        return runtime.register(spec.name, lambda: _incremental_values(incremental)).stream(spec.name)

    return fetch_incremental


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
    }
