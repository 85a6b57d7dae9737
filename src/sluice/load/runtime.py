"""One extraction of a source: the engine on its own thread, dlt pulling from the bridge.

dlt calls every selected resource function before it pulls the first item; each call
registers the resource (and its bound incremental) with the current run. The first pull
starts the engine for exactly the registered resources, so parents needed by several
children are fetched once.

With checkpoints (`SourceRuntime.checkpoints`, set by sluice.checkpoint) one run spans several
extractions, its slices: when enough records went to dlt, the engine pauses (see
`Engine.pause`), every stream of the slice ends, and dlt commits it; the next extraction of
the same source re-attaches to the run. The engine does not wait for that: it goes on into the
next slice's bridge while dlt normalizes and loads the last one (one slice ahead at most).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from ..checkpoint.frontier import Snapshot
from ..config.specs import SourceSpec
from ..engine.run import Engine, RunOptions
from ..engine.stats import RunStats
from .bridge import Bridge, BridgeClosed
from .destination import hold_during_this_run
from .run_end import at_end_of_this_run, current_traced_pipeline

log = logging.getLogger("sluice")
MAX_RECORDS_PER_ITEM = 20000
# dlt spends a few ms on every item whatever its size (and so does the Arrow writer): wait up to
# LINGER_S for this many records before handing an item over. Flat 100k at 0 ms: ~130 items of
# ~800 records, 7.06 s (median of 3); 10 items of 10,000, 6.26 s.
MIN_RECORDS_PER_ITEM = 10000
LINGER_S = 1.0


@dataclass(frozen=True)
class Checkpoints:
    """When a run commits a slice: after `every` records went to dlt or `seconds` passed,
    whichever comes first. `on_end(run)` is called in dlt's extraction once a slice's streams
    have ended (where the frontier is written into dlt's state)."""

    every: int
    seconds: float
    on_end: Callable[[Run], None]
    resume: Snapshot | None = None
    origins: Mapping[str, Mapping[str, Any]] | None = None  # a resumed run's incremental values at its start


@dataclass
class _Slice:
    """One extraction's share of a checkpointed run: the bridge its pages cross, and where the
    run stood when it ended at a checkpoint (no frontier: it ends with the run)."""

    bridge: Bridge
    frontier: Snapshot | None = None
    delivered: int = 0  # records handed to dlt, every slice, up to that frontier


class _Slices:
    """The engine's sink across slices: forwards to the current slice's bridge, counts what went
    through, and asks for a checkpoint when one is due."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.finished: set[str] = set()
        self.records = 0  # in this slice
        self.started = time.monotonic()
        self.pausing = False

    async def put(self, resource: str, records: list[Any]) -> None:
        assert self.run._writing is not None
        await self.run._writing.bridge.put(resource, records)
        self.records += len(records)
        self.run.delivered += len(records)
        policy = self.run.checkpoints
        if policy is not None and not self.pausing and policy.every and self._due(policy):
            self.pausing = True
            asyncio.get_running_loop().create_task(self.run._checkpoint())

    def _due(self, policy: Checkpoints) -> bool:
        return self.records >= policy.every or time.monotonic() - self.started >= policy.seconds

    def finish(self, resource: str) -> None:
        self.finished.add(resource)
        assert self.run._writing is not None
        self.run._writing.bridge.finish(resource)


class Run:
    def __init__(self, spec: SourceSpec, options: RunOptions, checkpoints: Checkpoints | None = None) -> None:
        self.spec = spec
        self.options = options
        self.checkpoints = checkpoints
        self.slices = 0
        self.delivered = 0  # records handed to dlt, every slice
        self.incremental: dict[str, Mapping[str, Any]] = {}
        self._incremental_getters: dict[str, Callable[[], Mapping[str, Any]]] = {}
        self.stats = RunStats()
        self.started = False
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._writing: _Slice | None = None  # the slice the engine fills
        self._reading: _Slice | None = None  # ... and the one dlt reads: the same one, or the one before
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self.engine: Engine | None = None
        self._sink = _Slices(self)
        # dlt calls every resource function of an extraction before its first pull: a call while
        # paused is the next slice's (a first pull while paused may still be the current one's).
        self._next_slice = False
        self._ended = False  # the engine thread is over

    @property
    def paused(self) -> bool:
        """The slice dlt reads ended at a checkpoint: another one follows."""
        return self._reading is not None and self._reading.frontier is not None

    @property
    def frontier(self) -> Snapshot | None:
        """Where the run stood when the slice dlt reads ended at a checkpoint."""
        return self._reading.frontier if self._reading is not None else None

    @property
    def frontier_records(self) -> int:
        """Records handed to dlt, every slice, up to that frontier (not those fetched since)."""
        return self._reading.delivered if self._reading is not None else 0

    def register(self, name: str, incremental: Callable[[], Mapping[str, Any]]) -> None:
        with self._lock:
            self._incremental_getters[name] = incremental
            self._next_slice = self._next_slice or self.paused

    def stream(self, name: str) -> Generator[list[Any], None, None]:
        """The records of one resource, in pages coalesced up to MAX_RECORDS_PER_ITEM."""
        self.start()
        assert self._reading is not None
        bridge = self._reading.bridge
        complete = False
        try:
            while (records := bridge.get(name, MAX_RECORDS_PER_ITEM, MIN_RECORDS_PER_ITEM, LINGER_S)) is not None:
                yield records
            complete = True
        finally:
            if not complete and bridge.abandon(name):
                self._stop()
        if self.checkpoints is not None and bridge.consumed_all():
            self._slice_ended()

    def _slice_ended(self) -> None:
        # The last stream of the slice: the engine has paused, or it is finishing (every resource
        # dlt reads is complete); in dlt's extraction still, so the state written commits with it.
        if not self.paused and self._thread is not None:
            self._thread.join(30.0)
        assert self.checkpoints is not None
        self.checkpoints.on_end(self)

    def start(self) -> None:
        with self._lock:
            if self.started:
                if self.paused and self._next_slice:
                    self._resume_slice()
                return
            self.started = True
            self.incremental = {name: get() for name, get in self._incremental_getters.items()}
            if self.checkpoints is not None and self.checkpoints.origins:
                self.incremental.update({k: v for k, v in self.checkpoints.origins.items() if k in self.incremental})
            self._writing = self._reading = _Slice(Bridge(self.incremental))
            self._thread = threading.Thread(target=self._main, name="sluice-engine", daemon=True)
            _FROZEN.enter()
            self._thread.start()
        self._until_loaded()

    @staticmethod
    def _until_loaded() -> None:
        """What a run sets for the engine lasts until dlt's run has loaded too: the DuckDB
        database held open, the collector's setting (see _GcFreeze). Taken while the engine
        fetches its first pages."""
        pipeline = current_traced_pipeline()
        if pipeline is None:
            return
        hold_during_this_run(pipeline)
        _FROZEN.enter()
        if not at_end_of_this_run(pipeline, _FROZEN.leave):
            _FROZEN.leave()

    def _resume_slice(self) -> None:
        """The next slice's first pull: dlt reads what the engine fetched since the checkpoint.
        When that slice has ended at a checkpoint too, the engine waited for dlt: it goes on."""
        self._next_slice = False
        self.slices += 1
        self._reading = self._writing
        if self.paused:
            self._open_next()

    async def _checkpoint(self) -> None:
        """Pause the engine, keep its frontier, and end the slice's streams (dlt commits it).
        The engine goes on into the next slice while dlt commits this one, unless dlt has not
        started reading this one yet: it is then one slice ahead, and waits."""
        assert self.engine is not None
        snapshot = await self.engine.pause(self._task)
        if self._task is None or self._task.done():
            self.engine.proceed()
            return
        with self._lock:
            ending = self._writing
            assert ending is not None
            ending.frontier, ending.delivered = snapshot, self.delivered
            ending.bridge.finish_all()
            if ending is self._reading:
                self._open_next()

    def _open_next(self) -> None:
        """A new slice for the engine to fill, which goes on (from either thread; lock held). An
        engine that ended meanwhile (its last chains closed while paused) gives it the end."""
        assert self._loop is not None and self.engine is not None
        bridge = Bridge(self.incremental)
        bridge.bind(self._loop)
        for name in self._sink.finished:
            bridge.finish(name)
        self._writing = _Slice(bridge)
        self._sink.records, self._sink.started, self._sink.pausing = 0, time.monotonic(), False
        if self._ended:
            self._end(bridge)
        else:
            self._loop.call_soon_threadsafe(self.engine.proceed)

    def _main(self) -> None:
        try:
            asyncio.run(self._engine())
        except BridgeClosed:
            pass  # dlt stopped reading: nobody waits for an end
        except BaseException as exc:  # the consumer thread re-raises it where dlt can see it
            self.error = exc
        finally:
            with self._lock:  # the slice the engine fills gets the end (dlt reads it next)
                self._ended = True
                assert self._writing is not None
                self._end(self._writing.bridge)
            _FROZEN.leave()

    def _end(self, bridge: Bridge) -> None:
        if self.error is not None:
            bridge.fail(self.error)
        else:
            bridge.finish_all()

    async def _engine(self) -> None:
        assert self._writing is not None
        self._loop = asyncio.get_running_loop()
        self._writing.bridge.bind(self._loop)
        resume = self.checkpoints.resume if self.checkpoints is not None else None
        self.engine = engine = Engine(self.spec, set(self.incremental), self._sink, stats=self.stats,
                                       incremental=self.incremental, options=self.options, resume=resume)
        self._task = asyncio.current_task()
        await engine.run()

    def _stop(self) -> None:
        # dlt closed every stream early (add_limit, an error elsewhere): stop fetching for nobody.
        assert self._writing is not None and self._reading is not None
        self._reading.bridge.close()
        self._writing.bridge.close()
        if self._loop is not None and self._task is not None:
            try:
                self._loop.call_soon_threadsafe(self._task.cancel)
            except RuntimeError:
                pass

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


RUN_GC_THRESHOLD = 100_000  # containers, net of those freed (see _GcFreeze)


class _GcFreeze:
    """Objects that exist when a run starts (dlt, pyarrow, the pipeline: a large heap) are moved
    out of the garbage collector's sight while runs fetch, and put back after the last one.

    Each full collection walked that whole heap; the parsed pages trigger a dozen of them.
    Flat 100k at 0 ms, in one process: collector time 3.0 -> 2.4 s, wall 6.1 -> 5.5 s. New
    objects are collected as usual, so memory stays flat. A process that froze objects itself
    is left alone.

    The first generation's threshold is raised too (`RUN_GC_THRESHOLD`): it counts containers
    allocated less those freed, so pages freed by reference counting do not add up, while the
    pages waiting in the bridge (tens of thousands of dicts) did trigger ~800 collections that
    walked them again and again (flat 100k at 0 ms: collector time 0.5 -> 0.05 s). Cyclic
    garbage still triggers a collection once that many containers of it pile up: memory stays
    bounded. A process that raised the threshold itself is left alone.

    Inside a dlt run both last until dlt has loaded too (`Run._until_loaded`): put back when the
    engine ended, the default threshold made the next collection walk every object still young,
    pages dlt had not yet written among them (~50 ms at 100k flat records)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs = 0
        self._mine = False
        self._threshold: tuple[int, int, int] | None = None  # the process's own, while ours is set

    def enter(self) -> None:
        with self._lock:
            self._runs += 1
            if self._runs == 1 and gc.get_freeze_count() == 0:
                gc.freeze()
                self._mine = True
            if self._runs == 1 and gc.get_threshold()[0] < RUN_GC_THRESHOLD:
                self._threshold = gc.get_threshold()
                gc.set_threshold(RUN_GC_THRESHOLD, *self._threshold[1:])

    def leave(self) -> None:
        with self._lock:
            self._runs -= 1
            if self._runs == 0 and self._mine:
                gc.unfreeze()
                self._mine = False
            if self._runs == 0 and self._threshold is not None:
                gc.set_threshold(*self._threshold)
                self._threshold = None


_FROZEN = _GcFreeze()


class SourceRuntime:
    """Hands each extraction of a source its own `Run`."""

    def __init__(self, spec: SourceSpec, options: RunOptions | None = None) -> None:
        self.spec = spec
        self.options = options or RunOptions()
        self._lock = threading.Lock()
        self.current: Run | None = None
        self.runs: list[Run] = []
        self.checkpoints: Checkpoints | None = None  # set for a checkpointed run (sluice.checkpoint)

    def register(self, name: str, incremental: Callable[[], Mapping[str, Any]]) -> Run:
        with self._lock:
            paused = self.current is not None and self.current.paused
            if self.current is None or (self.current.started and not paused):
                self.current = Run(self.spec, self.options, self.checkpoints)
                self.runs.append(self.current)
            self.current.register(name, incremental)
            return self.current
