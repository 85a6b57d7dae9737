"""`auto`: detect the paginator from the first response, rule for rule as dlt 1.31 does.

dlt tries, in order: a `Link` header with rel="next"; a body key that *starts with* "next"
(`next`, `next_page`, `nextPage`, `next_url`, `nextLink`; a dict value gives its
`href`/`url`) holding a URL; a key named `total_pages`/`pages`/`totalpages` holding an
integer (page numbers); that same "next" key holding anything else (a cursor); a single page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..model import Page, PageRequest
from .base import Paginator
from .cursors import CursorPaginator
from .links import HeaderLinkPaginator, JSONLinkPaginator, SinglePagePaginator
from .numeric import PageNumberPaginator

# dlt's patterns, matched with `re.match` on the lowercased key: a prefix unless anchored.
NEXT_KEYS = ("next",)
NEXT_DICT_KEYS = ("href", "url")
TOTAL_PAGES_KEYS = ("^total_pages$", "^pages$", "^totalpages$")
_SCALAR = (str, int, float)

Found = tuple[tuple[str, ...], Any]


@dataclass(frozen=True)
class AutoPaginator:
    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        chosen: Paginator | None = request.state.get("auto")
        if chosen is None:
            chosen = detect(page)
            request = request.with_state(auto=chosen)
        return chosen.next(request, page)


def detect(page: Page) -> Paginator:
    if page.links().get("next"):
        return HeaderLinkPaginator()
    following = find_next(page.body)
    if following and isinstance(following[1], str) and following[1].startswith(("http", "/")):
        return JSONLinkPaginator(next_url_path=".".join(following[0]))
    pages = find_total_pages(page.body)
    if pages and _is_int(pages[1]):
        return PageNumberPaginator(total_path=".".join(pages[0]), total_explicit=True)
    if following:
        return CursorPaginator(cursor_path=".".join(following[0]))
    return SinglePagePaginator()


def matches(key: str, patterns: Iterable[str]) -> bool:
    return any(re.match(pattern, key.lower()) for pattern in patterns)


def find_next(doc: Any, path: tuple[str, ...] = ()) -> Found | None:
    """The first "next" reference, depth first in the body's order (dlt's `find_next_page_path`)."""
    if not isinstance(doc, dict):
        return None
    for key, value in doc.items():
        found = _next_value((*path, key), value) if matches(key, NEXT_KEYS) else None
        if found is None and isinstance(value, dict):
            # A "next" dict without href/url is searched like any other dict.
            found = find_next(value, (*path, key))
        if found is not None:
            return found
    return None


def _next_value(path: tuple[str, ...], value: Any) -> Found | None:
    if not isinstance(value, dict):
        return (path, value) if isinstance(value, _SCALAR) else None
    for key, sub in value.items():
        if matches(key, NEXT_DICT_KEYS) and isinstance(sub, _SCALAR):
            return (*path, key), sub
    return None


def find_total_pages(doc: Any, path: tuple[str, ...] = ()) -> Found | None:
    """The first total-pages key with a scalar value, depth first. Its value is not checked
    here: a first match that is no integer ends the search, as in dlt."""
    if not isinstance(doc, dict):
        return None
    for key, value in doc.items():
        if matches(key, TOTAL_PAGES_KEYS) and isinstance(value, _SCALAR):
            return (*path, key), value
        found = find_total_pages(value, (*path, key)) if isinstance(value, dict) else None
        if found is not None:
            return found
    return None


def _is_int(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return True
