"""Checkpoints on Dask: the shards a failed run did not finish, kept in the pipeline's state.

A shard is a checkpointable unit (a top-level resource whole, chains of parent records, a range
of pages, a run of windows), so with checkpoints on (`sluice.run(..., executor=...)` with
`checkpoint_every` > 0, its default) a run whose shard fails for good still loads the shards
that finished, in its one load, and writes into the source's dlt state, from inside that load's
extraction (committed with it, or not at all):
- the shards it did not finish: the one that failed, those cancelled with it, and the root
  shards of families none of whose shards finished (their children were never cut);
- the incremental values the run started from (`origins`): the load advanced dlt's cursors to
  the finished shards' newest records; the rerun's requests and dlt's filter start where the
  failed run started, so the unfinished shards' older records are not dropped;
- a hash of each resource's configuration: a changed configuration discards the frontier
  (with a warning) and the run starts fresh.
Then the run fails with the shard's error. The next run on Dask (unless `fresh`) fetches only
those shards (and the shards cut from them), loads them with `append` where the configuration
says `replace` (a replace would drop what the failed run loaded), and clears the frontier in
the load that completes it. Only Dask reads it: resume a Dask run on Dask.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..checkpoint.driver import origins, resource_hashes, saved_in_state
from ..checkpoint.frontier import masked, unmasked
from ..config.specs import SourceSpec
from .shards import Shard

log = logging.getLogger("sluice")
STATE_KEY = "sluice_dask_frontier"
VERSION = 1


@dataclass(frozen=True)
class Frontier:
    shards: list[Shard]
    origins: dict[str, dict[str, Any]]  # resource -> the incremental values the failed run started from


def saved(pipeline: Any, source: Any, spec: SourceSpec) -> Frontier | None:
    """The frontier the pipeline's last Dask run left (None: none, or for another configuration)."""
    state = saved_in_state(pipeline, source, STATE_KEY)
    if not state or state.get("version") != VERSION:
        return None
    if state.get("hashes") != _hashes(spec):
        log.warning("the configuration changed since the Dask run that failed: starting it fresh")
        return None
    shards = [_shard(unmasked(s, spec.secrets)) for s in state["shards"]]
    return Frontier(shards, unmasked(dict(state.get("origins", {})), spec.secrets))


def write(unfinished: Sequence[Shard], incremental: Mapping[str, Mapping[str, Any]], spec: SourceSpec) -> None:
    """In dlt's extraction: the run's unfinished shards into the source's state (none: cleared)."""
    import dlt

    state = dlt.current.source_state()
    if not unfinished:
        state.pop(STATE_KEY, None)
        return
    state[STATE_KEY] = {"version": VERSION, "hashes": _hashes(spec),
                        "shards": [masked(_plain(s), spec.secrets) for s in unfinished],
                        "origins": masked(origins(incremental), spec.secrets)}


def _hashes(spec: SourceSpec) -> dict[str, str]:
    return resource_hashes(spec, (r.name for r in spec.resources))


def _plain(shard: Shard) -> dict[str, Any]:
    return {"key": shard.key, "resource": shard.resource, "stages": sorted(shard.stages), "lists": sorted(shard.lists),
            "parents": list(shard.parents), "head": shard.head, "pages": list(shard.pages) if shard.pages else None,
            "windows": [list(w) for w in shard.windows]}


def _shard(plain: Mapping[str, Any]) -> Shard:
    pages = plain.get("pages")
    return Shard(plain["key"], plain["resource"], frozenset(plain["stages"]), frozenset(plain["lists"]),
                 tuple(plain["parents"]), bool(plain["head"]), (pages[0], pages[1]) if pages else None,
                 tuple((w[0], w[1]) for w in plain["windows"]))
