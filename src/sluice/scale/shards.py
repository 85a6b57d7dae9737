"""Shards: what one worker task fetches.

A shard is a restartable unit of the engine, the same thing as a checkpoint's chains:
- a top-level resource, whole (with the children it lists for, if any: `lists`);
- a child resource for a range of its parent's records (a resume `Snapshot` of chains
  `child x parent record [x window]`), with its own descendants fetched inside the shard;
- a range of pages of a top-level resource whose API declares a total (`pages.py`): its root
  shard is then the head, the first page, whose total the coordinator cuts into ranges;
- a run of consecutive windows of a windowed top-level resource (`incremental.window`) that no
  child needs records of: the coordinator walks the windows once (one `now` for every shard).
A parent is fetched once, by its root shard; its children are fetched once, by the child
shards cut from the parent records that shard returned. Shards are planned in the order a
single-machine run delivers pages, so importing them in plan order keeps that order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..checkpoint.driver import family as subtree  # a resource and its descendants
from ..config.specs import SourceSpec
from ..errors import ResourceError
from .pages import ranges, splits


class ShardError(ResourceError):
    """A shard failed for good (after Dask's retries): nothing of the run is loaded."""

    def __init__(self, shard: str, resource: str, why: str) -> None:
        super().__init__(f"shard '{shard}' failed: {why}", resource=resource)
        self.shard = shard


@dataclass(frozen=True)
class Shard:
    key: str  # unique in a run, e.g. "issues" or "comments[200:300]"
    resource: str  # the resource the shard starts from
    stages: frozenset[str]  # resources whose pages it stages for the load
    lists: frozenset[str] = frozenset()  # children it keeps the resource's records for
    parents: tuple[Any, ...] = field(default=(), compare=False)  # a child shard's parent records
    head: bool = False  # the first page only: its declared total is cut into page ranges
    pages: tuple[int, int] | None = None  # a range of pages (or offsets) of a top-level resource
    windows: tuple[tuple[Any, Any], ...] = ()  # (start, end) of each window of a window shard


def root_shards(spec: SourceSpec, needed: set[str], targets: set[str]) -> list[Shard]:
    """One shard per top-level resource the run needs, in configuration order."""
    shards = []
    for r in spec.resources:
        if r.parent is None and r.name in needed:
            lists = _needed_children(spec, r.name, needed)
            shards.append(Shard(r.name, r.name, frozenset({r.name} & targets), lists, head=splits(r, lists)))
    return shards


def range_shards(spec: SourceSpec, head: Shard, total: int, count: int) -> list[Shard]:
    """The pages after a head shard's, in `count` shards at most."""
    return [Shard(f"{head.resource}[pages {lo}:{hi}]", head.resource, head.stages, pages=(lo, hi))
            for lo, hi in ranges(spec.resource(head.resource), total, count)]


def window_shards(shard: Shard, windows: Sequence[tuple[Any, Any]], count: int) -> list[Shard]:
    """A windowed root shard as up to `count` runs of consecutive windows, in window order."""
    size = max(-(-len(windows) // max(count, 1)), 1)
    return [Shard(f"{shard.resource}[windows {lo}:{hi}]", shard.resource, shard.stages, windows=tuple(windows[lo:hi]))
            for lo, hi in _ranges(len(windows), size)]


def child_shards(spec: SourceSpec, shard: Shard, records: Sequence[Any], size: int, targets: set[str]) -> list[Shard]:
    """The shards of `shard`'s children: each child's chains for `size` parent records at a time."""
    shards = []
    for child in sorted(shard.lists, key=[r.name for r in spec.resources].index):
        stages = frozenset(subtree(spec, child) & targets)
        for lo, hi in _ranges(len(records), size):
            shards.append(Shard(f"{child}[{lo}:{hi}]", child, stages, parents=tuple(records[lo:hi])))
    return shards


def _needed_children(spec: SourceSpec, name: str, needed: set[str]) -> frozenset[str]:
    return frozenset(c.name for c in spec.children(name) if c.name in needed)


def _ranges(total: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, total, max(size, 1)):
        yield lo, min(lo + size, total)
