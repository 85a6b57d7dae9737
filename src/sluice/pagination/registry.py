"""Paginator configurations -> paginator objects, keyed by the config's `type` string.

The key tables below are also what the dialect reference in the docs is generated from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..config.reader import Reader
from ..jsonpath import JSONPathSyntaxError, compile_path
from ..templates import Template, TemplateError, is_template
from .base import Paginator
from .cursors import CursorPaginator, HeaderCursorPaginator
from .links import HeaderLinkPaginator, JSONLinkPaginator, SinglePagePaginator
from .numeric import OffsetPaginator, PageNumberPaginator

_COMMON = {"type": "the paginator's name"}
KEYS: dict[str, dict[str, str]] = {
    "single_page": {},
    "auto": {},
    "header_link": {"links_next_key": "rel of the Link header entry to follow (default 'next')"},
    "json_link": {"next_url_path": "JSONPath of the next URL in the body (default 'next')"},
    "cursor": {
        "cursor_path": "JSONPath of the cursor in the body (default 'cursors.next')",
        "cursor_param": "query parameter that carries the cursor (default 'cursor')",
        "cursor_body_path": "dotted path in the JSON body that carries the cursor",
        "stop_after_empty_page": "stop on a page with no records (default false)",
        "has_more_path": "JSONPath of a boolean 'more pages' flag",
        "cursor_value": "sluice: Jinja expression computing the cursor (falsy: stop)",
        "stop_condition": "sluice: Jinja expression; truthy: stop",
    },
    "header_cursor": {
        "cursor_key": "response header holding the cursor (default 'next')",
        "cursor_param": "query parameter that carries it (default 'cursor')",
    },
    "offset": {
        "limit": "page size (required)", "offset": "first offset (default 0)",
        "offset_param": "default 'offset'", "limit_param": "default 'limit'",
        "offset_body_path": "put the offset in the JSON body", "limit_body_path": "put the limit in the JSON body",
        "total_path": "JSONPath of the total number of items (default 'total', optional)",
        "maximum_offset": "stop at this offset", "stop_after_empty_page": "default true",
        "has_more_path": "JSONPath of a boolean 'more pages' flag",
    },
    "page_number": {
        "base_page": "number of the API's first page (default 0; 1 in the seed dialect)",
        "start_from_page": "sluice: alias of base_page", "page": "first page to request",
        "page_param": "default 'page'", "page_body_path": "put the page number in the JSON body",
        "total_path": "JSONPath of the total number of pages (default 'total', optional)",
        "maximum_page": "stop at this page", "stop_after_empty_page": "default true",
        "has_more_path": "JSONPath of a boolean 'more pages' flag",
        "limit": "sluice: page size; a shorter page is the last", "limit_param": "sluice: query parameter for limit",
    },
}
ALIASES = {"json_response": "json_link"}
SEED_DIALECT_KEYS = ("limit", "limit_param", "start_from_page")


def parse_paginator(raw: Any, path: str, reader: Reader, seed_dialect: bool) -> Paginator | None:
    """A paginator from a string, a dict or an instance; None (with an issue) when invalid,
    and None for `auto`, as dlt's `create_paginator` answers: the caller falls back (an
    endpoint to the client's paginator, the client to detection)."""
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, Mapping):
        if hasattr(raw, "first") and hasattr(raw, "next"):
            return raw  # type: ignore[no-any-return]  # a sluice paginator instance
        if hasattr(raw, "update_state") and hasattr(raw, "update_request"):
            from ..load.dlt_compat import DltPaginatorAdapter  # dlt's own paginator instances

            return DltPaginatorAdapter(raw)
        reader.problem(path, f"expected a paginator name, a dict or a paginator instance, got {type(raw).__name__}")
        return None
    sub = Reader(raw, reader.at(path), reader.issues)
    kind = sub.kind("type", raw.get("type"), KEYS, ALIASES, "paginator")
    if kind is None:
        return None
    sub.check_keys([*_COMMON, *KEYS[kind]], f"a '{kind}' paginator")
    return _BUILDERS[kind](sub, seed_dialect)


def _path(sub: Reader, key: str, default: str | None) -> str | None:
    value = sub.str(key, default)
    if value is not None and value != default:
        try:
            compile_path(value)
        except JSONPathSyntaxError as exc:
            sub.problem(key, f"invalid JSONPath {value!r}: {exc}")
            return default
    return value if value is None else str(value)


def _total_path(sub: Reader, default: str | None) -> str | None:
    """An explicit `total_path: None` turns the implicit 'total' off, as in dlt."""
    if "total_path" in sub.raw and sub.raw["total_path"] is None:
        return None
    return _path(sub, "total_path", default)


def _template(sub: Reader, key: str) -> Template | None:
    value = sub.str(key)
    if value is None:
        return None
    if not is_template(value):
        value = "{{ " + value + " }}"
    try:
        return Template(value)
    except TemplateError as exc:
        sub.problem(key, str(exc))
        return None


def _one_of(sub: Reader, param: str, body: str, default: str) -> tuple[str | None, str | None]:
    p, b = sub.str(param), sub.str(body)
    if p and b:
        sub.problem(None, f"give either '{param}' or '{body}', not both")
    return (p if p or b else default), b


def _offset(sub: Reader, seed: bool) -> Paginator | None:
    limit = sub.int("limit", minimum=1)
    if limit is None and "limit" not in sub.raw:
        sub.problem("limit", "is required for an 'offset' paginator")
    offset_param, offset_body = _one_of(sub, "offset_param", "offset_body_path", "offset")
    limit_param, limit_body = _one_of(sub, "limit_param", "limit_body_path", "limit")
    if limit is None:
        return None
    return _stoppable(sub, "maximum_offset", OffsetPaginator(
        limit=limit, offset=sub.int("offset", 0, minimum=0) or 0,
        offset_param=offset_param, limit_param=limit_param,
        offset_body_path=offset_body, limit_body_path=limit_body,
        total_path=_total_path(sub, "total"), total_explicit=sub.raw.get("total_path") is not None,
        maximum_offset=sub.int("maximum_offset", minimum=1),
        stop_after_empty_page=sub.bool("stop_after_empty_page", True),
        has_more_path=_path(sub, "has_more_path", None),
    ))


def _page_number(sub: Reader, seed: bool) -> Paginator | None:
    base, start_from = sub.int("base_page", minimum=0), sub.int("start_from_page", minimum=0)
    if base is not None and start_from is not None and base != start_from:
        sub.problem("start_from_page", f"is an alias of base_page, but they differ ({start_from} != {base})")
    first = base if base is not None else start_from
    page_param, page_body = _one_of(sub, "page_param", "page_body_path", "page")
    # The seed dialect's `total` counts records, not pages: only an explicit total_path counts.
    total_default = None if seed else "total"
    return _stoppable(sub, "maximum_page", PageNumberPaginator(
        base_page=first if first is not None else (1 if seed else 0),
        page=sub.int("page", minimum=0),
        page_param=page_param, page_body_path=page_body,
        total_path=_total_path(sub, total_default), total_explicit=sub.raw.get("total_path") is not None,
        maximum_page=sub.int("maximum_page", minimum=1),
        stop_after_empty_page=sub.bool("stop_after_empty_page", True),
        has_more_path=_path(sub, "has_more_path", None),
        limit=sub.int("limit", minimum=1), limit_param=sub.str("limit_param"),
    ))


def _stoppable(sub: Reader, maximum: str, paginator: OffsetPaginator | PageNumberPaginator) -> Paginator | None:
    """dlt refuses a counting paginator that nothing can stop; so do we, before any request.
    The seed dialect's `limit` on page_number stops it too (on a short page)."""
    limit = paginator.limit if isinstance(paginator, PageNumberPaginator) else None
    stops = (paginator.total_path, sub.raw.get(maximum), paginator.has_more_path, limit)
    if paginator.stop_after_empty_page or any(stop is not None for stop in stops):
        return paginator
    sub.problem(None, f"nothing can stop this paginator: no total_path, {maximum} or has_more_path, "
                "and stop_after_empty_page is false", "set one of them; dlt refuses this paginator too")
    return None


def _cursor(sub: Reader, seed: bool) -> Paginator:
    cursor_param, cursor_body = _one_of(sub, "cursor_param", "cursor_body_path", "cursor")
    return CursorPaginator(
        cursor_path=_path(sub, "cursor_path", "cursors.next") or "cursors.next",
        cursor_param=cursor_param, cursor_body_path=cursor_body,
        stop_after_empty_page=sub.bool("stop_after_empty_page", False),
        has_more_path=_path(sub, "has_more_path", None),
        cursor_value=_template(sub, "cursor_value"), stop_condition=_template(sub, "stop_condition"),
    )


_BUILDERS: dict[str, Callable[[Reader, bool], Paginator | None]] = {
    "single_page": lambda sub, seed: SinglePagePaginator(),
    "auto": lambda sub, seed: None,
    "header_link": lambda sub, seed: HeaderLinkPaginator(sub.str("links_next_key", "next") or "next"),
    "json_link": lambda sub, seed: JSONLinkPaginator(_path(sub, "next_url_path", "next") or "next"),
    "cursor": _cursor,
    "header_cursor": lambda sub, seed: HeaderCursorPaginator(
        sub.str("cursor_key", "next") or "next", sub.str("cursor_param", "cursor") or "cursor"
    ),
    "offset": _offset,
    "page_number": _page_number,
}
