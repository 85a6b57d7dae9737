"""Pages that repeat: an API that ignores its paging parameter answers the same page again.

Whole pages are compared by a digest of their records (keys sorted, so a key order that
changes between answers does not hide a repeat). Serializing every page for it cost ~60 us
a page of 100 records, a tenth of the engine's time per page; so a page in sequence is first
told apart from the previous one by its length and its first and last records (~1 us), and
only pages alike in those are digested whole. The previous page is then read again from the
text it was parsed from: its records may have been changed in place since it was delivered
(include_from_parent, a map step), the text cannot.

Example: `pages.sequential(records, text, "data")` -> True when `records` are the previous
page's records again; `pages.planned(records)` -> True when they are any earlier page's.
"""

from __future__ import annotations

from typing import Any

import orjson

from .fingerprints import Fingerprints, fingerprint
from .selector import select

_Signature = tuple[int, int]


class PageRepeats:
    """One chain's memory of its pages: the previous page (its signature, and its text to read
    it again), and the digests of the pages fetched from a plan."""

    __slots__ = ("_planned", "_previous", "_previous_digest")

    def __init__(self) -> None:
        self._previous: tuple[_Signature, bytes | str, str] | None = None
        self._previous_digest: int | None = None
        self._planned = Fingerprints()

    def sequential(self, records: list[Any], text: bytes | str, selector: str) -> bool:
        """The same records as the previous page (an empty page repeats nothing)."""
        if not records:
            return False
        previous, signature = self._previous, _signature(records)
        self._previous, self._previous_digest = (signature, text, selector), None
        if previous is None or previous[0] != signature:
            return False
        self._previous_digest = digest(records)
        return self._previous_digest == digest(_read_again(previous))

    def planned(self, records: list[Any]) -> bool:
        """A page whose request was known in advance (a declared total): the same records as
        any earlier planned page, or as the sequential page before the plan."""
        if not records:
            return False
        page = digest(records)
        return page == self._last_digest() or not self._planned.add(page)

    def _last_digest(self) -> int | None:
        if self._previous_digest is None and self._previous is not None:
            self._previous_digest = digest(_read_again(self._previous))
        return self._previous_digest


def digest(records: list[Any]) -> int:
    return fingerprint(orjson.dumps(records, option=orjson.OPT_SORT_KEYS))


def _signature(records: list[Any]) -> _Signature:
    # equal pages have equal signatures: a different one proves the pages differ
    return len(records), fingerprint(orjson.dumps((records[0], records[-1]), option=orjson.OPT_SORT_KEYS))


def _read_again(previous: tuple[_Signature, bytes | str, str]) -> list[Any]:
    _, text, selector = previous
    return select(orjson.loads(text), selector)
