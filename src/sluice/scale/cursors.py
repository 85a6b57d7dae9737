"""Per-parent cursors (`incremental.per_parent`) across shards.

A local run keeps one `ParentCursors` per such resource: each parent's children start from that
parent's own last value (what the last committed run left in the resource's dlt state), and the
values its children advance are written to the state once the resource's last page has gone to
dlt. On Dask the coordinator reads the state as a local run does (dlt's extraction calls the
resource's getter), and:
- each shard gets cursors of its own (`for_shard`): the last values of the parents it fetches
  the children of (not the whole state: a million parents' cursors need not travel with every
  shard), and nothing advanced yet (an attempt retried starts as the first did);
- each shard returns the values it advanced (`advanced`), and the coordinator merges them into
  the run's cursors (`merge`), which dlt's extraction commits once, with the load.
A parent's children are fetched by one shard, so the merge is the local run's cursors; only
parents that share a key (the same placeholder values) may be split, and merge as they advance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config.specs import SourceSpec
from ..engine.cursors import ParentCursors, key
from ..engine.requests import parent_context
from ..errors import ResponseError
from .shards import Shard

Incremental = Mapping[str, Mapping[str, Any]]  # resource -> its incremental values
Advanced = dict[str, dict[str, list[Any]]]  # resource -> parent key -> [last value, hashes at it]


def for_shard(incremental: Incremental, spec: SourceSpec, shard: Shard) -> Incremental:
    """`incremental` with fresh per-parent cursors; those of a child shard's resource hold only its parents'."""
    out = dict(incremental)
    for name, values in incremental.items():
        cursors = values.get("per_parent")
        if isinstance(cursors, ParentCursors):
            saved = cursors.saved
            keys = _keys(spec, shard) if name == shard.resource and shard.parents else None
            saved = saved if keys is None else {k: saved[k] for k in keys if k in saved}
            out[name] = {**values, "per_parent": ParentCursors(cursors.resource, cursors.spec, saved, cursors.primary_key)}
    return out


def _keys(spec: SourceSpec, shard: Shard) -> list[str] | None:
    """The keys of a child shard's parents (None: a parent lacks a placeholder's field, which
    the shard's fetching reports as a local run does)."""
    resource = spec.resource(shard.resource)
    try:
        return [key(parent_context(resource, record)) for record in shard.parents]
    except ResponseError:
        return None


def advanced(incremental: Incremental) -> Advanced:
    """What a shard's fetching advanced, per resource and parent (not committed: the coordinator's to merge)."""
    return {name: values["per_parent"].advanced() for name, values in incremental.items()
            if isinstance(values.get("per_parent"), ParentCursors)}


def merge(incremental: Incremental, found: Advanced) -> None:
    """A shard's advanced cursors into the run's, which dlt's extraction commits."""
    for name, entries in found.items():
        cursors: ParentCursors = incremental[name]["per_parent"]
        for parent, entry in entries.items():
            cursors.merge(parent, entry)
