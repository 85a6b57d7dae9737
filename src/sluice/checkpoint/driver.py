"""`run(pipeline, source, ...)`: a source built by `rest_api_source`, loaded in checkpointed
slices, resumed from the last checkpoint the pipeline's state holds (see the package docstring)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..config.specs import SourceSpec
from ..load.runtime import Checkpoints, Run
from .frontier import VERSION, Snapshot, from_state, spec_hash, to_state
from .pending import prepare

log = logging.getLogger("sluice")
STATE_KEY = "sluice_checkpoint"
ORIGIN_KEYS = ("start_value", "last_value", "end_value", "initial_value", "unique_hashes")


@dataclass(frozen=True)
class Resumed:
    pipeline: str
    open_chains: int
    records: int

    def __str__(self) -> str:
        return f"resuming {self.pipeline}: {self.open_chains} open chains, {self.records} records already loaded"


@dataclass
class CheckpointResult:
    load_info: list[Any] = field(default_factory=list)  # one per slice (and one for a pending package)
    row_counts: dict[str, int] = field(default_factory=dict)  # rows normalized per table, every slice
    resumed: Resumed | None = None

    @property
    def slices(self) -> int:
        return len(self.load_info)


def run(pipeline: Any, source: Any, *, checkpoint_every: int = 50_000, checkpoint_seconds: float = 300.0,
        fresh: bool = False, on_resume: Callable[[Resumed], None] | None = None) -> CheckpointResult:
    """Load `source` (from `sluice.rest_api_source`) with `pipeline`, committing a checkpoint every
    `checkpoint_every` records or `checkpoint_seconds`, whichever comes first; resume from the
    pipeline's last checkpoint unless `fresh`. `checkpoint_every=0`: one load, as `pipeline.run`."""
    runtime = getattr(source, "sluice_runtime", None)
    if runtime is None:
        raise TypeError("sluice.run takes a source made by sluice.rest_api_source")
    result = CheckpointResult()
    if pipeline.has_pending_data and _load_pending(pipeline, result) and not fresh:
        saved = _saved(pipeline, source)
        if saved is None or saved.get("done"):
            return result  # the run's last slice (or a run without checkpoints): done, as dlt does
    # Off (0): one all-or-nothing load, which still clears an earlier run's frontier when it commits.
    resume, origins = _plan(pipeline, source, runtime.spec, fresh or checkpoint_every <= 0, result)
    if result.resumed is not None and on_resume is not None:
        on_resume(result.resumed)
    base = result.resumed.records if result.resumed else 0
    runtime.checkpoints = Checkpoints(max(checkpoint_every, 0), checkpoint_seconds, _writer(runtime.spec, base), resume, origins)
    try:
        with appending(source, runtime.spec, from_start=resume is not None) as switch_to_append:
            while True:
                _slice(pipeline, source, result)
                switch_to_append()
                if runtime.current is None or not runtime.current.paused:
                    return result
    finally:
        runtime.checkpoints = None


def _load_pending(pipeline: Any, result: CheckpointResult) -> bool:
    """Load what a killed run extracted; True when a package was loaded."""
    prepare(pipeline)
    info = pipeline.run()
    result.load_info.append(info)
    # dlt commits an extracted package before it saves the local state: a run killed between
    # the two leaves the slice's state in the package only. Loaded now, it is the newest.
    pipeline.sync_destination()
    return bool(getattr(info, "loads_ids", None))


def _slice(pipeline: Any, source: Any, result: CheckpointResult) -> None:
    result.load_info.append(pipeline.run(source))
    trace = pipeline.last_trace
    counts = trace.last_normalize_info.row_counts if trace and trace.last_normalize_info else {}
    for table, count in counts.items():
        if not table.startswith("_dlt"):
            result.row_counts[table] = result.row_counts.get(table, 0) + count


def _plan(pipeline: Any, source: Any, spec: SourceSpec, fresh: bool,
          result: CheckpointResult) -> tuple[Snapshot | None, dict[str, Any] | None]:
    saved = _saved(pipeline, source)
    if fresh or not saved or saved.get("version") != VERSION or saved.get("done"):
        return None, None
    snapshot = from_state(saved["frontier"], spec.secrets)
    stale = _stale(spec, saved.get("hashes", {}), snapshot.needed, _needed(source, spec))
    for name in sorted(stale):
        if name in snapshot.needed:
            log.warning("resource '%s': its configuration changed since the checkpoint: starting it fresh", name)
    snapshot.needed -= stale
    snapshot.chains = [p for p in snapshot.chains if p.resource in snapshot.needed]
    snapshot.walks = {k: v for k, v in snapshot.walks.items() if k in snapshot.needed}
    origins = {k: v for k, v in saved.get("origins", {}).items() if k in snapshot.needed}
    result.resumed = Resumed(pipeline.pipeline_name, len(snapshot.chains), int(saved.get("records", 0)))
    return snapshot, origins


def _saved(pipeline: Any, source: Any) -> Any:
    return saved_in_state(pipeline, source, STATE_KEY)


def saved_in_state(pipeline: Any, source: Any, key: str) -> Any:
    """What the pipeline's last committed run left under `key` in the source's state."""
    return pipeline.state.get("sources", {}).get(source.name, {}).get(key)


def _stale(spec: SourceSpec, hashes: Mapping[str, str], saved: set[str], needed: set[str]) -> set[str]:
    """Resources the frontier cannot restart: whole families (a root and its descendants) with
    a resource whose spec changed, or that this run needs and the checkpointed run did not."""
    stale: set[str] = set()
    for root in (r for r in spec.resources if r.parent is None):
        names = family(spec, root.name)
        changed = any(hashes.get(n) != _hash(spec, n) for n in names & saved)
        if changed or (names & needed) - saved:
            stale |= names
    return stale


def family(spec: SourceSpec, root: str) -> set[str]:
    names, todo = {root}, [root]
    while todo:
        for child in spec.children(todo.pop()):
            names.add(child.name)
            todo.append(child.name)
    return names


def _needed(source: Any, spec: SourceSpec) -> set[str]:
    names = {r.name for r in spec.resources}
    needed: set[str] = set()
    for name in (n for n in source.selected_resources if n in names):
        while name and name not in needed:
            needed.add(name)
            name = spec.resource(name).parent or ""
    return needed


def _hash(spec: SourceSpec, name: str) -> str:
    return spec_hash(spec.secrets, spec.resource(name), spec.base_url)


def resource_hashes(spec: SourceSpec, names: Iterable[str]) -> dict[str, str]:
    """Each resource's configuration hash: a frontier written under others is not applied."""
    return {name: _hash(spec, name) for name in names}


def origins(incremental: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The incremental values a run started from, per resource: where a resumed run restarts."""
    return {name: {k: v for k, v in values.items() if k in ORIGIN_KEYS} for name, values in incremental.items()}


def _writer(spec: SourceSpec, base: int) -> Callable[[Run], None]:
    """Writes the frontier (or its removal, once the run is over) into the source's dlt state,
    from inside the slice's extraction: committed with the slice's data, or not at all."""

    def write(run: Run) -> None:
        import dlt

        state = dlt.current.source_state()
        if not run.paused or run.frontier is None:
            state[STATE_KEY] = {"version": VERSION, "done": True}  # a pending last slice, loaded, ends the run
            return
        state[STATE_KEY] = {
            "version": VERSION,
            "frontier": to_state(run.frontier, spec.secrets),
            "hashes": resource_hashes(spec, run.frontier.needed),
            "origins": origins(run.incremental),
            "records": base + run.frontier_records,
        }

    return write


@contextmanager
def appending(source: Any, spec: SourceSpec, from_start: bool) -> Iterator[Callable[[], None]]:
    """Resources with `replace` load their later slices (and every slice of a resumed run) with
    `append`: a replace would truncate what the run's own earlier slices loaded."""
    replaced = [r.name for r in spec.resources if r.hints.get("write_disposition") == "replace" and r.name in source.resources]

    def switch() -> None:
        for name in replaced:
            source.resources[name].apply_hints(write_disposition="append")

    if from_start:
        switch()
    try:
        yield switch
    finally:
        for name in replaced:
            source.resources[name].apply_hints(write_disposition="replace")
