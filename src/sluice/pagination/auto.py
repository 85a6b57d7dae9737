"""`auto`: detect the paginator from the first response, as dlt does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..model import Page, PageRequest
from .base import Paginator
from .cursors import CursorPaginator
from .links import HeaderLinkPaginator, JSONLinkPaginator, SinglePagePaginator
from .numeric import PageNumberPaginator

_TOTAL_PAGES = re.compile(r"^(total_pages|pages|totalpages)$")


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
    path, value = _find_next(page.body)
    if path and isinstance(value, str) and value.startswith(("http", "/")):
        return JSONLinkPaginator(next_url_path=".".join(path))
    total_path = _find_total_pages(page.body)
    if total_path:
        return PageNumberPaginator(total_path=".".join(total_path), total_explicit=True)
    if path:
        return CursorPaginator(cursor_path=".".join(path))
    return SinglePagePaginator()


def _find_next(doc: Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...] | None, Any]:
    if not isinstance(doc, dict):
        return None, None
    for key, value in doc.items():
        if key.lower() == "next":
            if isinstance(value, dict):
                for sub, sub_value in value.items():
                    if sub.lower() in ("href", "url") and isinstance(sub_value, (str, int, float)):
                        return (*path, key, sub), sub_value
            elif isinstance(value, (str, int, float)):
                return (*path, key), value
        if isinstance(value, dict):
            found = _find_next(value, (*path, key))
            if found[0]:
                return found
    return None, None


def _find_total_pages(doc: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    if not isinstance(doc, dict):
        return None
    for key, value in doc.items():
        if _TOTAL_PAGES.match(key.lower()) and isinstance(value, (str, int, float)):
            try:
                int(value)
            except ValueError:
                return None
            return (*path, key)
        if isinstance(value, dict):
            found = _find_total_pages(value, (*path, key))
            if found:
                return found
    return None
