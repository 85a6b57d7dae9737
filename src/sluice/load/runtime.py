"""One extraction of a source: the engine on its own thread, dlt pulling from the bridge.

dlt calls every selected resource function before it pulls the first item; each call
registers the resource (and its bound incremental) with the current run. The first pull
starts the engine for exactly the registered resources, so parents needed by several
children are fetched once.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..config.specs import SourceSpec
from ..engine.run import Engine, RunOptions
from ..engine.stats import RunStats
from .bridge import Bridge, BridgeClosed

log = logging.getLogger("sluice")
MAX_RECORDS_PER_ITEM = 20000
# dlt spends a few ms on every item whatever its size (and so does the Arrow writer): wait up to
# LINGER_S for this many records before handing an item over. Flat 100k at 0 ms: ~130 items of
# ~800 records, 7.06 s (median of 3); 10 items of 10,000, 6.26 s.
MIN_RECORDS_PER_ITEM = 10000
LINGER_S = 1.0


class Run:
    def __init__(self, spec: SourceSpec, options: RunOptions) -> None:
        self.spec = spec
        self.options = options
        self.incremental: dict[str, Mapping[str, Any]] = {}
        self._incremental_getters: dict[str, Callable[[], Mapping[str, Any]]] = {}
        self.stats = RunStats()
        self.started = False
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._bridge: Bridge | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None

    def register(self, name: str, incremental: Callable[[], Mapping[str, Any]]) -> None:
        self._incremental_getters[name] = incremental

    def stream(self, name: str) -> Iterator[list[Any]]:
        """The records of one resource, in pages coalesced up to MAX_RECORDS_PER_ITEM."""
        self.start()
        assert self._bridge is not None
        complete = False
        try:
            while (records := self._bridge.get(name, MAX_RECORDS_PER_ITEM, MIN_RECORDS_PER_ITEM, LINGER_S)) is not None:
                yield records
            complete = True
        finally:
            if not complete and self._bridge.abandon(name):
                self._stop()

    def start(self) -> None:
        with self._lock:
            if self.started:
                return
            self.started = True
            self.incremental = {name: get() for name, get in self._incremental_getters.items()}
            self._bridge = Bridge(self.incremental)
            self._thread = threading.Thread(target=self._main, name="sluice-engine", daemon=True)
            _FROZEN.enter()
            self._thread.start()

    def _main(self) -> None:
        assert self._bridge is not None
        try:
            asyncio.run(self._engine())
        except BridgeClosed:
            pass
        except BaseException as exc:  # the consumer thread re-raises it where dlt can see it
            self.error = exc
            self._bridge.fail(exc)
        else:
            self._bridge.finish_all()
        finally:
            _FROZEN.leave()

    async def _engine(self) -> None:
        assert self._bridge is not None
        self._loop = asyncio.get_running_loop()
        self._bridge.bind(self._loop)
        engine = Engine(self.spec, set(self.incremental), self._bridge, stats=self.stats,
                        incremental=self.incremental, options=self.options)
        self._task = asyncio.current_task()
        await engine.run()

    def _stop(self) -> None:
        # dlt closed every stream early (add_limit, an error elsewhere): stop fetching for nobody.
        assert self._bridge is not None
        self._bridge.close()
        if self._loop is not None and self._task is not None:
            try:
                self._loop.call_soon_threadsafe(self._task.cancel)
            except RuntimeError:
                pass

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


class _GcFreeze:
    """Objects that exist when a run starts (dlt, pyarrow, the pipeline: a large heap) are moved
    out of the garbage collector's sight while runs fetch, and put back after the last one.

    Each full collection walked that whole heap; the parsed pages trigger a dozen of them.
    Flat 100k at 0 ms, in one process: collector time 3.0 -> 2.4 s, wall 6.1 -> 5.5 s. New
    objects are collected as usual, so memory stays flat. A process that froze objects itself
    is left alone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs = 0
        self._mine = False

    def enter(self) -> None:
        with self._lock:
            self._runs += 1
            if self._runs == 1 and gc.get_freeze_count() == 0:
                gc.freeze()
                self._mine = True

    def leave(self) -> None:
        with self._lock:
            self._runs -= 1
            if self._runs == 0 and self._mine:
                gc.unfreeze()
                self._mine = False


_FROZEN = _GcFreeze()


class SourceRuntime:
    """Hands each extraction of a source its own `Run`."""

    def __init__(self, spec: SourceSpec, options: RunOptions | None = None) -> None:
        self.spec = spec
        self.options = options or RunOptions()
        self._lock = threading.Lock()
        self.current: Run | None = None
        self.runs: list[Run] = []

    def register(self, name: str, incremental: Callable[[], Mapping[str, Any]]) -> Run:
        with self._lock:
            if self.current is None or self.current.started:
                self.current = Run(self.spec, self.options)
                self.runs.append(self.current)
            self.current.register(name, incremental)
            return self.current
