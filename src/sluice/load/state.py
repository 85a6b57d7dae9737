"""Per-parent cursors kept in dlt's state: where a `per_parent` resource's cursors live between runs.

They live in the resource's own dlt state (`dlt.current.resource_state()`, under "per_parent"),
beside where dlt keeps its own incremental: written when the resource's last page has gone to
dlt, and so committed with the extraction dlt commits, discarded with one that fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt

from ..config.specs import ResourceSpec
from ..engine.cursors import ParentCursors

STATE_KEY = "per_parent"


def parent_cursors(spec: ResourceSpec) -> ParentCursors:
    """The resource's cursors as the last committed run left them (call it where dlt extracts)."""
    assert spec.endpoint.incremental is not None
    saved = dlt.current.resource_state(spec.name).setdefault(STATE_KEY, {})
    key = spec.hints.get("primary_key")
    primary_key = (key,) if isinstance(key, str) else tuple(key or ())
    return ParentCursors(spec.name, spec.endpoint.incremental, saved, primary_key)


def committing(stream: Iterator[Any], cursors: list[ParentCursors]) -> Iterator[Any]:
    """`stream`, then this run's cursors into the state, only once every page went through."""
    yield from stream
    for found in cursors:
        found.commit()
