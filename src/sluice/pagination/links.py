"""Paginators that follow a next URL given by the API: `header_link`, `json_link`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from ..jsonpath import find_first
from ..model import Page, PageRequest


def follow(request: PageRequest, page: Page, target: Any) -> PageRequest | None:
    """The request for a next URL (relative URLs resolve against the page's URL)."""
    if not target or not isinstance(target, str):
        return None
    return request.with_url(urljoin(page.url, target))


@dataclass(frozen=True)
class HeaderLinkPaginator:
    """Follows the `Link: <url>; rel="next"` header."""

    links_next_key: str = "next"

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        return follow(request, page, page.links().get(self.links_next_key, {}).get("url"))


@dataclass(frozen=True)
class JSONLinkPaginator:
    """Follows a next URL found at `next_url_path` in the body."""

    next_url_path: str = "next"

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        return follow(request, page, find_first(self.next_url_path, page.body))


@dataclass(frozen=True)
class SinglePagePaginator:
    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        return None
