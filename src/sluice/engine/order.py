"""Delivery in dlt's order, whatever order concurrent chains finish in.

dlt reads a resource sequentially: parent record after parent record, page after page. Its
tables' column order (first seen, first placed) and row order follow from that. sluice fetches
chains concurrently, so it puts them back in that order here: each resource has one `Sequence`
of chains in the order they were started, and only the head chain's pages go through; the
pages of chains behind it wait in their slot until every chain before them is released.
The same run twice gives the same tables, column order included.

Memory stays bounded: a slot keeps its place in the resource's open-chain budget (and so
holds back new chains) until it is released, and a chain behind the head stops fetching once
`max_buffered` of its pages wait. Each resource has its own budget, so the head chain of a
resource can always start the chains of its children: it never waits on slots held by its
own siblings.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

Release = Callable[["Slot", list[Any]], Awaitable[None]]


class Slot:
    """One chain's place in its resource's order; `parent` is the chain's parent record.

    For checkpoints, a slot knows where its chain would restart: the request of its first
    page not yet released (each buffered page keeps the request that made it), else `next`,
    the request the chain is about to make (None: its first request)."""

    __slots__ = ("closed", "first", "next", "pages", "parent", "released", "room", "window")

    def __init__(self, parent: Any, window: Any = None) -> None:
        self.parent = parent
        self.window = window
        self.pages: deque[tuple[list[Any], Any]] = deque()
        self.closed = False
        self.next: Any = None
        self.first: Any = None  # the chain's first request, as the configuration renders it
        self.released: Any = None  # the request of the page released last
        self.room = asyncio.Event()
        self.room.set()

    def restart(self) -> tuple[bool, Any, bool]:
        """(open, request, skip): whether the chain still has pages for the sink, where it
        resumes, and whether that request's page already went to the sink (the chain stopped
        in its own release, before it could ask the paginator for the next request: refetch
        it for the paginator, drop its records)."""
        if self.pages:
            return True, self.pages[0][1], False
        if self.closed:
            return False, None, False
        return True, self.next, self.next is not None and self.next is self.released


class Sequence:
    """The chains of one resource, released to `release` strictly in the order they opened.

    Example: `slot = seq.open(parent)`; the chain calls `await seq.put(slot, records)` per
    page and `await seq.close(slot)` when it ends; `on_released(slot)` runs once the slot's
    last page went through.
    """

    def __init__(self, release: Release, on_released: Callable[[Slot], None], max_buffered: int = 8) -> None:
        self._release = release
        self._on_released = on_released
        self._max = max_buffered
        self._slots: deque[Slot] = deque()
        self._pumping = False
        self.waiting = 0  # chains waiting for room: idle, for a checkpoint's quiescence

    def open(self, parent: Any, window: Any = None) -> Slot:
        slot = Slot(parent, window)
        self._slots.append(slot)
        return slot

    def slots(self) -> list[Slot]:
        """The unreleased chains, in order (a checkpoint's view)."""
        return list(self._slots)

    async def put(self, slot: Slot, records: list[Any], request: Any = None) -> None:
        slot.pages.append((records, request))
        await self._pump()
        while len(slot.pages) >= self._max and slot.pages:
            slot.room.clear()  # behind the head with a full buffer: wait until it drains
            self.waiting += 1
            try:
                await slot.room.wait()
            finally:
                self.waiting -= 1

    async def close(self, slot: Slot) -> None:
        slot.closed = True
        await self._pump()

    async def _pump(self) -> None:
        # One pump at a time: the task that finds the head ready delivers for everyone, so two
        # pages never race into the sink out of order.
        if self._pumping:
            return
        self._pumping = True
        try:
            while self._slots and await self._step(self._slots[0]):
                pass
        finally:
            self._pumping = False

    async def _step(self, head: Slot) -> bool:
        if head.pages:
            records, head.released = head.pages.popleft()
            await self._release(head, records)
            if len(head.pages) < self._max:
                head.room.set()
            return True
        if head.closed:
            self._slots.popleft()
            self._on_released(head)
            if self._slots:
                self._slots[0].room.set()
            return True
        head.room.set()  # the head never waits on its own buffer: the pump it triggers drains it
        return False
