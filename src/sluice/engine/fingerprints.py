"""A compact set of 64-bit fingerprints: what a chain remembers of every request it made.

A Python set of ints costs ~75-110 bytes per member (the int object and a sparse table); a
1M-page cursor chain would keep 100 MB for its loop detector alone. Here members live in one
open-addressing table of unsigned 64-bit slots, at most half full: 16-32 bytes per member.
"""

from __future__ import annotations

from array import array

_EMPTY, _GONE = 0, 1  # fingerprints always have bit 1 set, so they are never 0 or 1
_BITS = (1 << 64) - 1


def fingerprint(data: bytes) -> int:
    """64 bits of Python's own bytes hash (SipHash, keyed per process: a 1-in-10^19 chance that
    two different values collide). Fingerprints live only as long as the process; a page of
    records (~40 KB) hashes in ~8 us here, against ~42 us with blake2b, on every page."""
    return hash(data) & _BITS | 2


class Fingerprints:
    """`add` answers whether the fingerprint was new; `discard` forgets one."""

    __slots__ = ("_count", "_table", "_used")

    def __init__(self, size: int = 64) -> None:
        self._table = array("Q", bytes(8 * size))
        self._count = 0
        self._used = 0  # members and tombstones: what fills the table

    def __len__(self) -> int:
        return self._count

    def __contains__(self, fp: int) -> bool:
        return self._find(fp) is not None

    def add(self, fp: int) -> bool:
        if self._find(fp) is not None:
            return False
        if 2 * (self._used + 1) > len(self._table):
            self._grow()
        self._put(fp)
        self._count += 1
        self._used += 1
        return True

    def discard(self, fp: int) -> None:
        slot = self._find(fp)
        if slot is not None:
            self._table[slot] = _GONE  # a tombstone keeps later members of the probe reachable
            self._count -= 1

    def _find(self, fp: int) -> int | None:
        table, mask = self._table, len(self._table) - 1
        slot = fp & mask
        while (value := table[slot]) != _EMPTY:
            if value == fp:
                return slot
            slot = (slot + 1) & mask
        return None

    def _put(self, fp: int) -> None:
        table, mask = self._table, len(self._table) - 1
        slot = fp & mask
        while table[slot] not in (_EMPTY, _GONE):
            slot = (slot + 1) & mask
        table[slot] = fp

    def _grow(self) -> None:
        old = self._table
        size = len(old) * (2 if 4 * self._count > len(old) else 1)  # mostly tombstones: rebuild in place
        self._table = array("Q", bytes(8 * size))
        self._used = self._count
        for value in old:
            if value not in (_EMPTY, _GONE):
                self._put(value)
