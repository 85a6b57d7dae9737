"""What a chain covers: the placeholder values its requests render with, and its windows.

A chain's values are its resource's incremental, narrowed to the parent record's own cursor
(`per_parent`) and to the chain's window; a windowed resource's range, [start, end_value or
now), is cut into windows, a chain each. Pure functions of the specs and the run's
incremental values (`values`: one resource's), so a probe can render a parent's windows
without running anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..config.placeholders import INCREMENTAL_FIELDS
from ..config.specs import ResourceSpec
from ..errors import ResponseError
from .requests import parent_context
from .windows import Window, now_like, walk


def chain_context(resource: ResourceSpec, values: Mapping[str, Any], parent_record: Any,
                  window: Window | None = None) -> dict[str, Any]:
    """A chain's placeholder values: the resource's incremental, narrowed to the parent's own
    cursor (`per_parent`) and to the chain's window."""
    context = {f"incremental.{k}": v for k, v in values.items() if k in INCREMENTAL_FIELDS}
    if parent_record is not None:
        placeholders = parent_context(resource, parent_record)
        context.update(placeholders)
        if values.get("per_parent") is not None:
            context.update(values["per_parent"].context(placeholders))
    if window is not None and (spec := resource.endpoint.incremental) is not None:
        context.update(window.context(spec.window, spec.window_granularity))
    return context


def windows(resource: ResourceSpec, values: Mapping[str, Any], parent_record: Any) -> Iterable[Window | None]:
    """The windows of one chain's range, [start, end_value or now); [None] when not windowed."""
    spec = resource.endpoint.incremental
    if spec is None or spec.window is None:
        return [None]
    return walk_from(resource, *span(resource, values, parent_record))


def walk_from(resource: ResourceSpec, start: Any, end: Any) -> Iterable[Window]:
    spec = resource.endpoint.incremental
    assert spec is not None
    try:
        return list(walk(start, end, spec.window))
    except ValueError as exc:
        raise ResponseError(str(exc), resource=resource.name) from None


def span(resource: ResourceSpec, values: Mapping[str, Any], parent_record: Any) -> tuple[Any, Any]:
    context = chain_context(resource, values, parent_record)
    start = context.get("incremental.start_value")
    end = context.get("incremental.end_value")
    return start, end if end is not None else now_like(start)


def windowed(resource: ResourceSpec) -> bool:
    return resource.endpoint.incremental is not None and resource.endpoint.incremental.window is not None
