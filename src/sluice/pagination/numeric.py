"""Paginators that count: `offset` and `page_number`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import ResponseError
from ..model import Page, PageRequest
from .base import put_value, read_has_more, read_int


@dataclass(frozen=True)
class OffsetPaginator:
    """`offset`/`limit` paging. Stops on an empty page, on `offset >= total`, at
    `maximum_offset`, when `has_more_path` is false, or - with neither a total in the
    response nor a `has_more_path` - on a page shorter than `limit`."""

    limit: int
    offset: int = 0
    offset_param: str | None = "offset"
    limit_param: str | None = "limit"
    offset_body_path: str | None = None
    limit_body_path: str | None = None
    total_path: str | None = "total"
    total_explicit: bool = False
    maximum_offset: int | None = None
    stop_after_empty_page: bool = True
    has_more_path: str | None = None

    def first(self, request: PageRequest) -> PageRequest:
        request = put_value(request, self.limit_param, self.limit_body_path, self.limit)
        return put_value(request, self.offset_param, self.offset_body_path, self.offset).with_state(offset=self.offset)

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        count = len(page.records)
        if self.stop_after_empty_page and count == 0:
            return None
        total = _total(page, self.total_path, self.total_explicit, "items")
        offset = int(request.state.get("offset", self.offset)) + self.limit
        if total is not None and offset >= total:
            return None
        if total is None and not self.has_more_path and count < self.limit:
            return None  # nothing else to trust: a short page is the last one
        if self.maximum_offset is not None and offset >= self.maximum_offset:
            return None
        if self.has_more_path and not read_has_more(page, self.has_more_path):
            return None
        return put_value(request, self.offset_param, self.offset_body_path, offset).with_state(offset=offset)

    def speculate(self, request: PageRequest) -> PageRequest | None:
        """The request after `request` if the chain goes on (fetched ahead, in a window)."""
        if self.has_more_path or not self.stop_after_empty_page:
            return None
        offset = int(request.state.get("offset", self.offset)) + self.limit
        if self.maximum_offset is not None and offset >= self.maximum_offset:
            return None
        return put_value(request, self.offset_param, self.offset_body_path, offset).with_state(offset=offset)

    def plan(self, request: PageRequest, page: Page) -> Iterator[PageRequest] | None:
        """Every remaining request when the response declares a total (fetched concurrently).
        Lazy: a total that lies by millions must not build millions of requests."""
        total = _total(page, self.total_path, self.total_explicit, "items")
        if total is None or self.has_more_path or not page.records:
            return None
        end = total if self.maximum_offset is None else min(total, self.maximum_offset)
        start = int(request.state.get("offset", self.offset)) + self.limit
        return (
            put_value(request, self.offset_param, self.offset_body_path, o).with_state(offset=o, planned=True)
            for o in range(start, end, self.limit)
        )


@dataclass(frozen=True)
class PageNumberPaginator:
    """`page` paging. Stops on an empty page, the total number of pages (from an explicit
    `total_path`, or dlt's implicit `total` in plain dlt configurations), `maximum_page`,
    `has_more_path` false, or - without a `has_more_path` - a page shorter than a declared
    `limit`."""

    base_page: int = 0
    page: int | None = None
    page_param: str | None = "page"
    page_body_path: str | None = None
    total_path: str | None = "total"
    total_explicit: bool = False
    maximum_page: int | None = None
    stop_after_empty_page: bool = True
    has_more_path: str | None = None
    limit: int | None = None
    limit_param: str | None = None

    @property
    def start(self) -> int:
        return self.page if self.page is not None else self.base_page

    def first(self, request: PageRequest) -> PageRequest:
        if self.limit_param and self.limit is not None:
            request = request.with_params(**{self.limit_param: self.limit})
        return put_value(request, self.page_param, self.page_body_path, self.start).with_state(page=self.start)

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        count = len(page.records)
        if self.stop_after_empty_page and count == 0:
            return None
        if self.limit is not None and not self.has_more_path and count < self.limit:
            return None  # has_more, when given, decides: APIs may cap a page below `limit`
        number = int(request.state.get("page", self.start)) + 1
        total = _total(page, self.total_path, self.total_explicit, "pages")
        if total is not None and number >= total + self.base_page:
            return None
        if self.maximum_page is not None and number >= self.maximum_page:
            return None
        if self.has_more_path and not read_has_more(page, self.has_more_path):
            return None
        return put_value(request, self.page_param, self.page_body_path, number).with_state(page=number)

    def speculate(self, request: PageRequest) -> PageRequest | None:
        if self.has_more_path or not self.stop_after_empty_page:
            return None
        number = int(request.state.get("page", self.start)) + 1
        if self.maximum_page is not None and number >= self.maximum_page:
            return None
        return put_value(request, self.page_param, self.page_body_path, number).with_state(page=number)

    def plan(self, request: PageRequest, page: Page) -> Iterator[PageRequest] | None:
        total = _total(page, self.total_path, self.total_explicit, "pages")
        if total is None or self.has_more_path or not page.records:
            return None
        if self.limit is not None and len(page.records) < self.limit:
            return None
        end = total + self.base_page
        if self.maximum_page is not None:
            end = min(end, self.maximum_page)
        first = int(request.state.get("page", self.start)) + 1
        return (
            put_value(request, self.page_param, self.page_body_path, n).with_state(page=n, planned=True)
            for n in range(first, end)
        )


def _total(page: Page, path: str | None, explicit: bool, what: str) -> int | None:
    if not path:
        return None
    try:
        total = read_int(page, path, f"total {what}")
    except ResponseError:
        if explicit:
            raise
        return None  # an implicit 'total' that is not a number is not ours to trust
    if total is None and explicit:
        raise ResponseError(f"total_path '{path}' is missing from the response")
    return total
