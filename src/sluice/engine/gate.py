"""The checkpoint gate: every chain passes it before a request, and it counts who is busy.

A checkpoint needs the run quiet: no request in flight, no page on its way to the sink.
The gate closes, and the run is quiet once every task it counts (`running`) waits at the
gate, on a budget (`acquire`), or for room behind its resource's head (the caller's
`waiting`). Open, the gate costs a chain one check per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Gate:
    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self.alive = 0  # chain, walk and resume tasks running
        self.idle = 0  # ... of them waiting at the gate or on a budget (Sequence.waiting: on room)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Counts a task as alive while it runs."""
        self.alive += 1
        try:
            yield
        finally:
            self.alive -= 1

    async def passed(self) -> None:
        if self._open.is_set():
            return
        self.idle += 1
        try:
            await self._open.wait()
        finally:
            self.idle -= 1

    async def acquire(self, *budgets: asyncio.Semaphore) -> None:
        """Each budget in turn, counted idle while waiting."""
        for budget in budgets:
            if not budget.locked():
                await budget.acquire()  # free: returns without suspending
                continue
            self.idle += 1
            try:
                await budget.acquire()
            finally:
                self.idle -= 1

    async def close(self, waiting: Callable[[], int], done: asyncio.Future[Any] | asyncio.Task[Any] | None = None) -> None:
        """Stop requests starting and return once the run is quiet (or `done` is)."""
        self._open.clear()
        while self.alive > self.idle + waiting():
            if done is not None and done.done():
                break
            await asyncio.sleep(0.002)

    def open(self) -> None:
        self._open.set()
