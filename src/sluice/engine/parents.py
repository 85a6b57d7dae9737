"""What a resource hands on: to dlt (its table) and to its children (their parent records).

dlt feeds a child from its parent *after* the parent's pipe: the incremental filter first,
then `processing_steps` (filter, map, yield_map) in order. So a parent record that a filter
drops, or that an incremental has already seen, starts no child chain, and a map's fields are
what `{resources.<parent>.<field>}` reads.

Where the steps run: with no incremental, here, once, before the records go anywhere - dlt
then loads records that are already processed (and they may take the Arrow path). With an
incremental, dlt's own order (incremental, then steps) is kept for the table, and the children
get the same view from a copy: the incremental's filter for this run, then the steps.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..config.specs import IncrementalSpec, ResourceSpec
from ..errors import ResponseError
from ..jsonpath import find_first
from .cursors import in_range, last_value_func

log = logging.getLogger("sluice.engine")


def run_steps(steps: tuple[Mapping[str, Any], ...], records: list[Any], resource: str) -> list[Any]:
    """`records` through filter / map / yield_map steps, in order, as dlt applies them per item."""
    for step in steps:
        kind, func = next(iter(step.items()))
        try:
            records = list(_step(kind, func, records))
        except Exception as exc:
            name = getattr(func, "__name__", kind)
            raise ResponseError(f"processing step {kind} '{name}' failed: {type(exc).__name__}: {exc}", resource=resource) from exc
    return records


def _step(kind: str, func: Callable[[Any], Any], records: list[Any]) -> Iterator[Any]:
    for record in records:
        if kind == "filter":
            if func(record):
                yield record
        elif kind == "map":
            yield func(record)
        else:
            yield from func(record)


class ParentFeed:
    """One resource's pages -> what dlt loads and what its children read."""

    def __init__(self, resource: ResourceSpec, incremental: Mapping[str, Any]) -> None:
        self.resource = resource
        spec = resource.endpoint.incremental
        self.window = _Window(spec, incremental) if spec is not None else None

    def loaded(self, records: list[Any]) -> list[Any]:
        """The records dlt gets: processed here unless an incremental must filter first."""
        if self.window is None and self.resource.processing_steps:
            return run_steps(self.resource.processing_steps, records, self.resource.name)
        return records

    def for_children(self, records: list[Any]) -> list[Any]:
        """The parent records children start from (`records` as `loaded` returned them)."""
        if self.window is None:
            return records
        kept = [r for r in records if self.window.keeps(r)]
        if not self.resource.processing_steps:
            return kept
        return run_steps(self.resource.processing_steps, copy.deepcopy(kept), self.resource.name)


class _Window:
    """dlt's incremental filter for one run, without its state (see `cursors.in_range`).
    Records exactly at the start value are kept (dlt drops those it loaded last run, by hash)."""

    def __init__(self, spec: IncrementalSpec, values: Mapping[str, Any]) -> None:
        self.spec = spec
        self.func = last_value_func(spec)
        self.start = values.get("start_value", spec.initial_value)
        self.end = values.get("end_value", spec.end_value)

    def keeps(self, record: Any) -> bool:
        value = find_first(self.spec.cursor_path, record)
        if value is None:
            return self.spec.on_cursor_value_missing != "exclude"
        try:
            return in_range(self.spec, self.func, value, self.start, self.end)
        except Exception:  # values dlt cannot compare either: dlt raises on the parent's own table
            return True
