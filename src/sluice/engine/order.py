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
    """One chain's place in its resource's order; `parent` is the chain's parent record."""

    __slots__ = ("closed", "pages", "parent", "room")

    def __init__(self, parent: Any) -> None:
        self.parent = parent
        self.pages: deque[list[Any]] = deque()
        self.closed = False
        self.room = asyncio.Event()
        self.room.set()


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

    def open(self, parent: Any) -> Slot:
        slot = Slot(parent)
        self._slots.append(slot)
        return slot

    async def put(self, slot: Slot, records: list[Any]) -> None:
        slot.pages.append(records)
        await self._pump()
        while len(slot.pages) >= self._max and slot.pages:
            slot.room.clear()  # behind the head with a full buffer: wait until it drains
            await slot.room.wait()

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
            await self._release(head, head.pages.popleft())
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
