"""Pages cross from the engine's event loop thread to dlt's extraction thread here.

Each resource has its own queue; together they hold at most `capacity` pages. The bound is
soft in one case only: when dlt waits on a resource whose queue is empty, producers of
other resources may go past it. dlt pulls resources in turn, so without that a full queue
of a parent could block the very chain that would feed the child dlt is waiting for.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

_END = object()


class BridgeClosed(Exception):
    """The consumer went away: producers stop."""


class Bridge:
    def __init__(self, names: Iterable[str], capacity: int = 256) -> None:
        self._queues: dict[str, deque[list[Any]]] = {name: deque() for name in names}
        self._records: dict[str, int] = dict.fromkeys(self._queues, 0)
        self._since: dict[str, float] = dict.fromkeys(self._queues, 0.0)  # when the oldest queued page came
        self._finished: set[str] = set()
        self._abandoned: set[str] = set()
        self._consumed: set[str] = set()
        self._capacity = capacity
        self._size = 0
        self._starving = False
        self._closed = False
        self._error: BaseException | None = None
        self._cv = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._space: asyncio.Event | None = None

    # -- producer side: the engine's event loop -------------------------------------------
    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._space = asyncio.Event()

    async def put(self, resource: str, records: list[Any]) -> None:
        assert self._space is not None, "bind() the bridge to the engine's loop first"
        while True:
            with self._cv:
                if self._closed:
                    raise BridgeClosed()
                if resource in self._abandoned:
                    return  # dlt stopped reading this resource early: drop, do not block
                if self._size < self._capacity or self._starving:
                    if not self._queues[resource]:
                        self._since[resource] = time.monotonic()
                    self._queues[resource].append(records)
                    self._records[resource] += len(records)
                    self._size += 1
                    self._cv.notify_all()
                    return
                self._space.clear()
            await self._space.wait()

    def finish(self, resource: str) -> None:
        with self._cv:
            self._finished.add(resource)
            self._cv.notify_all()

    def fail(self, error: BaseException) -> None:
        with self._cv:
            self._error = error
            self._cv.notify_all()

    def finish_all(self) -> None:
        with self._cv:
            self._finished.update(self._queues)
            self._cv.notify_all()

    # -- consumer side: dlt's thread ------------------------------------------------------
    def get(self, resource: str, max_records: int, min_records: int = 1, linger: float = 0.0) -> list[Any] | None:
        """The next records of `resource` (pages coalesced), or None when it is complete.

        Waits up to `linger` seconds, from the first queued page, for `min_records` to gather:
        dlt pays milliseconds per item whatever its size, so fewer, bigger items are cheaper.
        It never waits on a full bridge (that would block the producers it waits for)."""
        with self._cv:
            queue = self._queues[resource]
            while not self._ready(resource, min_records, linger):
                if self._error is not None:
                    raise self._error
                if not queue and resource in self._finished:
                    self._consumed.add(resource)
                    return None
                self._set_starving(not queue)
                self._cv.wait(self._since[resource] + linger - time.monotonic() if queue else None)
            self._set_starving(False)
            records = queue.popleft()
            self._size -= 1
            if queue and len(records) + len(queue[0]) <= max_records:
                records = list(records)  # the engine still reads its page (child chains): a new list
                while queue and len(records) + len(queue[0]) <= max_records:
                    records.extend(queue.popleft())
                    self._size -= 1
            self._records[resource] -= len(records)
            self._wake()
            return records

    def _ready(self, resource: str, min_records: int, linger: float) -> bool:
        if not self._queues[resource]:
            return False
        return (self._records[resource] >= min_records or resource in self._finished or self._size >= self._capacity
                or self._error is not None or time.monotonic() >= self._since[resource] + linger)

    def abandon(self, resource: str) -> bool:
        """dlt stopped reading `resource` early; True when no resource is read any more."""
        with self._cv:
            self._abandoned.add(resource)
            self._size -= len(self._queues[resource])
            self._queues[resource].clear()
            self._records[resource] = 0
            remaining = set(self._queues) - self._abandoned - self._consumed
        self._wake()
        return not remaining and self._error is None

    def consumed_all(self) -> bool:
        """Every resource was read to its end (a slice of a checkpointed run is over)."""
        with self._cv:
            return self._consumed >= set(self._queues)

    def close(self) -> None:
        with self._cv:
            self._closed = True
            for queue in self._queues.values():
                queue.clear()
            self._records = dict.fromkeys(self._queues, 0)
            self._size = 0
        self._wake()

    def _set_starving(self, value: bool) -> None:
        if value and not self._starving:
            self._starving = True
            self._wake()
        self._starving = value

    def _wake(self) -> None:
        loop, space = self._loop, self._space
        if loop is not None and space is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(space.set)
            except RuntimeError:
                pass  # the loop has stopped: nobody is waiting
