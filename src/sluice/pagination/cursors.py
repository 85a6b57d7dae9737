"""Cursor paginators: `cursor` (JSON path or templated) and `header_cursor`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ResponseError
from ..jsonpath import find_first
from ..model import Page, PageRequest
from ..templates import CaseInsensitiveHeaders, Template, TemplateError
from .base import put_value, read_has_more


@dataclass(frozen=True)
class CursorPaginator:
    """A cursor from the body, sent back as `cursor_param` or at `cursor_body_path`.

    With templates (`cursor_value`, `stop_condition`), the cursor is computed by a sandboxed
    Jinja expression after every response; `stop_condition` is evaluated first. A computed
    `cursor_value` that is an absolute http(s) URL is the next request's URL as is; every other
    cursor is a parameter, even one that starts with '/' or 'http' (base64 tokens do).
    """

    cursor_path: str = "cursors.next"
    cursor_param: str | None = "cursor"
    cursor_body_path: str | None = None
    stop_after_empty_page: bool = False
    has_more_path: str | None = None
    cursor_value: Template | None = None
    stop_condition: Template | None = None
    config: Any = None

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        if self.stop_after_empty_page and not page.records:
            return None
        if self.has_more_path and not read_has_more(page, self.has_more_path):
            return None
        cursor = self._cursor(page)
        if cursor is None:
            return None
        if self.cursor_value is not None and _is_url(cursor):
            return request.with_url(cursor)
        return put_value(request, self.cursor_param, self.cursor_body_path, cursor)

    def _cursor(self, page: Page) -> Any:
        if self.cursor_value is None and self.stop_condition is None:
            value = find_first(self.cursor_path, page.body)
            return value if value else None
        context = self._context(page)
        try:
            if self.stop_condition is not None and self.stop_condition.evaluate(context):
                return None
            value = self.cursor_value.evaluate(context) if self.cursor_value else find_first(self.cursor_path, page.body)
        except TemplateError as exc:
            raise ResponseError(str(exc)) from None
        return value if value else None

    def _context(self, page: Page) -> dict[str, Any]:
        records = page.records
        return {
            "response": page.body,
            "headers": CaseInsensitiveHeaders(page.headers, page.links()),
            "last_record": records[-1] if records else None,
            "last_page_size": len(records),
            "config": self.config,
        }


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


@dataclass(frozen=True)
class HeaderCursorPaginator:
    """A cursor read from a response header, sent back as a query parameter."""

    cursor_key: str = "next"
    cursor_param: str = "cursor"

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        value = page.headers.get(self.cursor_key)
        return request.with_params(**{self.cursor_param: value}) if value else None
