"""Pagination with dlt 1.31's meaning: `auto` detection rule for rule, plain cursors as
parameters, `has_more_path` deciding, several `Link` lines, endpoint `auto` falling back to
the client's paginator, and counting paginators that can never stop refused up front.

Where dlt can run the same configuration, the test runs it too and compares (dlt is the
oracle); detector units call dlt's own detector on the same body.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from aiohttp import web
from apis import Server
from difftools import both, load
from dlt.common.jsonpath import compile_path as dlt_compile_path
from dlt.common.utils import str2bool
from dlt.sources.helpers.rest_client import paginators as dlt_paginators
from dlt.sources.helpers.rest_client.detector import PaginatorFactory, find_response_page_data
from multidict import CIMultiDict, CIMultiDictProxy
from requests.structures import CaseInsensitiveDict

from sluice import ConfigError, rest_api_source
from sluice.engine.selector import detect as detect_records
from sluice.errors import ResponseError
from sluice.model import Page, PageRequest, freeze
from sluice.pagination import OffsetPaginator
from sluice.pagination.auto import detect as detect_paginator

PAGES, SIZE = 25, 2


def token(n: int, prefix: str = "") -> str:
    """An opaque cursor for page `n` (base64, as real APIs send them)."""
    return prefix + base64.b64encode(f"page {n}".encode()).decode()


def page_of(request: web.Request) -> int:
    raw = request.query.get("cursor")
    if raw is None or raw.isdigit():
        return int(raw or request.query.get("page", 0))
    return int(base64.b64decode(raw.lstrip("/").removeprefix("http")).decode().split()[1])


class ParityAPI:
    """Routes shaped like real APIs' paging conventions; `log` keeps every query."""

    def __init__(self) -> None:
        self.log: list[tuple[str, dict[str, str]]] = []
        self.origin = ""

    def records(self, n: int) -> list[dict[str, Any]]:
        return [{"id": n * SIZE + i, "page": n} for i in range(SIZE)]

    def queries(self, path: str) -> list[dict[str, str]]:
        return [query for logged, query in self.log if logged == path]

    async def next_key(self, request: web.Request) -> web.Response:
        """{"data": [...], <key>: <reference or null>}: `key` and the reference's kind vary."""
        self.log.append((request.path, dict(request.query)))
        key, n = request.match_info["key"], page_of(request)
        more = n + 1 < PAGES
        body: dict[str, Any] = {"data": self.records(n) if n < PAGES else []}
        if key == "nextPage":  # an opaque cursor (Google, Notion style)
            body[key] = token(n + 1) if more else None
        elif key == "next_page":  # a page number as cursor
            body[key] = n + 1 if more else None
        elif key == "next_url":  # an absolute URL
            body[key] = f"{self.origin}{request.path}?page={n + 1}" if more else None
        else:  # "nextLink" in a links object, relative (Microsoft, HAL style)
            body["links"] = {key: {"href": f"{request.path}?page={n + 1}"} if more else None}
        return web.json_response(body)

    async def tokens(self, request: web.Request) -> web.Response:
        """A cursor that starts with '/' or 'http': still a token, sent back as a parameter."""
        self.log.append((request.path, dict(request.query)))
        n = page_of(request)
        prefix = "/" if (n + 1) % 2 else "http"
        nxt = token(n + 1, prefix) if n + 1 < PAGES else None
        return web.json_response({"items": self.records(n), "next_token": nxt})

    async def capped(self, request: web.Request) -> web.Response:
        """Serves at most 3 records whatever the limit asks, says `has_more` (Stripe style)."""
        self.log.append((request.path, dict(request.query)))
        total = PAGES * SIZE
        if "offset" in request.query:
            start = int(request.query["offset"])
            rows = list(range(start, min(start + 3, total, start + int(request.query["limit"]))))
        else:
            start = (int(request.query["page"]) - 1) * 3
            rows = list(range(start, min(start + 3, total)))
        more = rows[-1] + 1 < total if rows else False
        flag: Any = {"bool": more, "str": "T" if more else "n"}[request.match_info["flag"]]
        return web.json_response({"data": [{"id": i} for i in rows], "has_more": flag})

    async def two_links(self, request: web.Request) -> web.Response:
        """The next link on a second `Link` header line (GitHub-style proxies split them)."""
        self.log.append((request.path, dict(request.query)))
        n = int(request.query.get("page", 0))
        headers: CIMultiDict[str] = CIMultiDict()
        headers.add("Link", f'<{self.origin}{request.path}?page=0>; rel="first"')
        if n + 1 < PAGES:
            headers.add("Link", f'<{self.origin}{request.path}?page={n + 1}>; rel="next"')
        return web.json_response(self.records(n), headers=headers)

    async def offset(self, request: web.Request) -> web.Response:
        self.log.append((request.path, dict(request.query)))
        start, limit = int(request.query.get("offset", 0)), int(request.query.get("limit", 10))
        rows = [{"id": i} for i in range(start, min(start + limit, PAGES))]
        return web.json_response({"data": rows, "total": PAGES})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/next/{key}", self.next_key)
        app.router.add_get("/tokens", self.tokens)
        app.router.add_get("/capped/{flag}", self.capped)
        app.router.add_get("/two_links", self.two_links)
        app.router.add_get("/offset", self.offset)
        return app


@pytest.fixture()
def parity() -> Iterator[ParityAPI]:
    api = ParityAPI()
    with Server(api.app()) as server:
        api.origin = server.url
        yield api


def one(api: ParityAPI, endpoint: dict[str, Any], client: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"client": {"base_url": api.origin, **(client or {})}, "resources": [{"name": "items", "endpoint": endpoint}]}


def rows(tables: dict[str, Any]) -> int:
    return int(tables["items"][1])


# -- 1. auto detection ------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["nextPage", "next_page", "next_url", "nextLink"])
def test_auto_follows_next_keys_by_prefix_like_dlt(parity: ParityAPI, tmp_path, key: str) -> None:
    theirs, ours = both(one(parity, {"path": f"next/{key}"}), tmp_path)
    assert rows(ours) == rows(theirs) == PAGES * SIZE
    assert ours == theirs


BODIES: list[Any] = [
    {"data": [1], "next": "http://api.test/items?page=2"},
    {"data": [1], "next": "/items?page=2"},
    {"items": [1], "nextPage": "abc"},
    {"results": [1], "next_url": "https://api.test/items?after=x"},
    {"value": [1], "@odata.nextLink": "https://api.test/items?$skip=2"},
    {"data": [1], "paging": {"next": {"href": "http://api.test/items?p=2"}}},
    {"data": [1], "links": {"Next": {"URL": "/items?p=2"}}},
    {"data": [1], "next": {"cursor": "abc"}},
    {"data": [1], "next": {"nextCursor": "abc"}},
    {"data": [1], "next": None, "total_pages": 3},
    {"data": [1], "totalPages": "4"},
    {"data": [1], "pages": "many", "meta": {"total_pages": 3}},
    {"data": [1], "meta": {"pages": 2.5}},
    {"data": [1], "meta": {"pages": "x"}, "info": {"total_pages": 3}},
    {"data": [1], "total_pages": [1, 2]},
    {"data": [1], "next_page": 2},
    {"data": [1], "next": True},
    {"data": [1], "next": ""},
    {"data": [1], "has_next": True},
    {"data": [1], "pagination": {"nextToken": "t"}, "total_pages": 5},
    {"a": {"b": {"c": {"d": {"next": "http://deep/x"}}}}},
    {"next": ["http://api.test/a"], "nextPageToken": "tok"},
    [{"id": 1}],
    {},
]


def dlt_response(body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code, response.url, response.encoding = 200, "http://api.test/items", "utf-8"
    response._content = json.dumps(body).encode()
    response.headers = CaseInsensitiveDict(headers or {})
    return response


def described(paginator: Any) -> tuple[str, str]:
    """(kind, path) of a dlt or a sluice paginator, paths in dlt's compiled form."""
    names = {"JSONResponseCursorPaginator": "CursorPaginator"}
    kind = names.get(type(paginator).__name__, type(paginator).__name__)
    for attr in ("next_url_path", "total_path", "cursor_path"):
        path = getattr(paginator, attr, None)
        if path is not None and kind in ("JSONLinkPaginator", "PageNumberPaginator", "CursorPaginator"):
            return kind, str(dlt_compile_path(path) if isinstance(path, str) else path)
    return kind, ""


@pytest.mark.parametrize("body", BODIES, ids=lambda b: json.dumps(b)[:60])
def test_detector_matches_dlt(body: Any) -> None:
    theirs, _ = PaginatorFactory().create_paginator(dlt_response(body))
    ours = detect_paginator(Page(PageRequest("GET", "http://api.test/items"), 200, "http://api.test/items", freeze({}), body))
    assert described(ours) == described(theirs)


@pytest.mark.parametrize("link", ['<http://api.test/2>; rel="next"', '<http://api.test/0>; rel="prev"'])
def test_header_link_detection_matches_dlt(link: str) -> None:
    body = {"data": [1], "next": "http://api.test/from-body"}
    theirs, _ = PaginatorFactory().create_paginator(dlt_response(body, {"Link": link}))
    page = Page(PageRequest("GET", "http://api.test/items"), 200, "http://api.test/items", freeze({"Link": link}), body)
    assert described(detect_paginator(page)) == described(theirs)


RECORD_BODIES: list[Any] = [
    {"data": [1], "meta": {"items": []}},
    {"meta": {"tags": [1]}, "results": [2]},
    {"foo": [1], "bar": [2]},
    {"a": {"b": {"c": {"items": [1]}}}},
    {"a": {"b": {"items": [1]}}},
    {"links": [1], "x": [2]},
    {"Data": [1], "other": [2]},
    {"meta": {"data": [1]}, "rows": [2]},
    {"pagination": {"next": "x"}, "entities": [], "payload": [1]},
    {"id": 1, "name": "one"},
    [1, 2],
    "text",
    {},
]


@pytest.mark.parametrize("body", RECORD_BODIES, ids=lambda b: json.dumps(b)[:60])
def test_record_list_detection_matches_dlt(body: Any) -> None:
    path, _ = find_response_page_data(body)
    assert detect_records(body) == ".".join(path)


# -- 9. plain cursor_path values are parameters -----------------------------------------------


def test_plain_cursor_starting_with_slash_or_http_is_a_parameter(parity: ParityAPI, tmp_path) -> None:
    endpoint = {"path": "tokens", "data_selector": "items",
                "paginator": {"type": "cursor", "cursor_path": "next_token", "cursor_param": "cursor"}}
    theirs, ours = both(one(parity, endpoint), tmp_path)
    assert rows(ours) == rows(theirs) == PAGES * SIZE
    sent = [q.get("cursor") for q in parity.queries("/tokens")]
    assert sent[:3] == [None, token(1, "/"), token(2, "http")]  # dlt's requests come first
    assert sent.count(token(1, "/")) == 2  # sent by dlt and by sluice, both as a parameter


def test_templated_relative_value_is_a_parameter_too(parity: ParityAPI, tmp_path) -> None:
    endpoint = {"path": "tokens", "data_selector": "items",
                "paginator": {"type": "cursor", "cursor_value": "{{ response.next_token }}"}}
    assert rows(load(rest_api_source(one(parity, endpoint)), tmp_path, "t")) == PAGES * SIZE
    assert {q.get("cursor") for q in parity.queries("/tokens")} >= {token(1, "/"), token(2, "http")}


# -- 10. has_more_path decides ----------------------------------------------------------------


@pytest.mark.parametrize("flag", ["bool", "str"])
def test_offset_short_page_does_not_stop_while_has_more(parity: ParityAPI, tmp_path, flag: str) -> None:
    endpoint = {"path": f"capped/{flag}", "data_selector": "data", "paginator": {
        "type": "offset", "limit": 10, "total_path": None, "has_more_path": "has_more"}}
    theirs, ours = both(one(parity, endpoint), tmp_path)
    assert rows(ours) == rows(theirs) == 15  # offsets 0, 10, ..., 40: 3 records each


def test_page_number_limit_does_not_stop_while_has_more(parity: ParityAPI, tmp_path) -> None:
    # The seed dialect's `limit` stops on a short page, unless has_more says there is more.
    endpoint = {"path": "capped/bool", "data_selector": "data", "paginator": {
        "type": "page_number", "limit": 10, "limit_param": "size", "has_more_path": "has_more"}}
    source = rest_api_source(one(parity, endpoint))
    assert rows(load(source, tmp_path, "t")) == PAGES * SIZE
    pages = [int(q["page"]) for q in parity.queries("/capped/bool")]
    assert pages == list(range(1, 18))  # 50 records, 3 a page; never a page fetched ahead
    assert source.sluice_runtime.runs[-1].stats.of("items").wasted_requests == 0


HAS_MORE_VALUES: list[Any] = [
    True, False, "true", "False", "TRUE", "yes", "No", "t", "F", "y", "n", "1", "0",
    "", " true", "ja", "2", "on", 1, 0, 1.0, None, [], {},
]


def dlt_has_next(value: Any) -> bool | str:
    paginator = dlt_paginators.OffsetPaginator(limit=1, total_path=None, has_more_path="has_more")
    paginator._has_next_page = True
    try:
        paginator.update_state(dlt_response({"data": [1], "has_more": value}), [1])
    except ValueError:
        return "error"
    return bool(paginator.has_next_page)


def sluice_has_next(value: Any) -> bool | str:
    paginator = OffsetPaginator(limit=1, total_path=None, has_more_path="has_more")
    request = paginator.first(PageRequest("GET", "http://api.test/items"))
    page = Page(request, 200, request.url, freeze({}), {"data": [1], "has_more": value}, [1])
    try:
        return paginator.next(request, page) is not None
    except ResponseError:
        return "error"


@pytest.mark.parametrize("value", HAS_MORE_VALUES, ids=repr)
def test_has_more_values_read_as_dlt_reads_them(value: Any) -> None:
    assert sluice_has_next(value) == dlt_has_next(value)


def test_has_more_strings_are_dlts_str2bool() -> None:
    for text in ("yes", "true", "t", "y", "1", "no", "false", "f", "n", "0", "Y", "oN", "nope"):
        try:
            expected: bool | str = str2bool(text)
        except ValueError:
            expected = "error"
        assert sluice_has_next(text) == expected, text


# -- 11. several Link lines are one header ----------------------------------------------------


def test_link_lines_are_one_header() -> None:
    headers = CIMultiDictProxy(CIMultiDict([("Link", '<http://a/0>; rel="first"'), ("link", '<http://a/2>; rel="next"')]))
    page = Page(PageRequest("GET", "http://a/1"), 200, "http://a/1", headers, [])
    assert {rel: entry["url"] for rel, entry in page.links().items()} == {"first": "http://a/0", "next": "http://a/2"}


@pytest.mark.parametrize("paginator", ["header_link", "auto"])
def test_next_link_on_a_second_link_line_is_followed(parity: ParityAPI, tmp_path, paginator: str) -> None:
    theirs, ours = both(one(parity, {"path": "two_links", "paginator": paginator}), tmp_path)
    assert rows(ours) == rows(theirs) == PAGES * SIZE


# -- 12. endpoint auto/None falls back to the client's paginator ------------------------------


@pytest.mark.parametrize("endpoint_paginator", [None, "auto", {"type": "auto"}], ids=repr)
def test_endpoint_auto_uses_the_clients_paginator(parity: ParityAPI, tmp_path, endpoint_paginator: Any) -> None:
    config = one(parity, {"path": "offset", "data_selector": "data", "paginator": endpoint_paginator},
                 client={"paginator": {"type": "offset", "limit": 10}})
    theirs, ours = both(config, tmp_path)
    assert rows(ours) == rows(theirs) == PAGES


def test_endpoint_paginator_still_wins_over_the_clients(parity: ParityAPI, tmp_path) -> None:
    config = one(parity, {"path": "offset", "data_selector": "data", "paginator": "single_page"},
                 client={"paginator": {"type": "offset", "limit": 10}})
    theirs, ours = both(config, tmp_path)
    assert rows(ours) == rows(theirs) == 10


# -- bad input: a counting paginator that can never stop --------------------------------------

NEVER_STOPS = [
    ("page_number", {"type": "page_number", "total_path": None, "stop_after_empty_page": False}, "maximum_page"),
    ("offset", {"type": "offset", "limit": 10, "total_path": None, "stop_after_empty_page": False}, "maximum_offset"),
]


@pytest.mark.parametrize("kind,paginator,maximum", NEVER_STOPS, ids=[c[0] for c in NEVER_STOPS])
def test_paginator_that_never_stops_is_refused_before_any_request(
        parity: ParityAPI, kind: str, paginator: dict[str, Any], maximum: str) -> None:
    from dlt.sources.rest_api import rest_api_source as dlt_source

    config = one(parity, {"path": "offset", "paginator": paginator})
    with pytest.raises(ValueError, match="must be provided"):
        dlt_source(json.loads(json.dumps(config)))
    with pytest.raises(ConfigError) as caught:
        rest_api_source(config)
    assert [str(issue) for issue in caught.value.issues] == [
        f"resources[0].endpoint.paginator: nothing can stop this paginator: no total_path, {maximum} or "
        "has_more_path, and stop_after_empty_page is false (set one of them; dlt refuses this paginator too)"]
    assert parity.log == []


@pytest.mark.parametrize("extra", [{"maximum_page": 3}, {"has_more_path": "more"}, {"total_path": "pages"},
                                   {"limit": 10}, {"stop_after_empty_page": True}], ids=repr)
def test_page_number_with_one_way_to_stop_is_accepted(parity: ParityAPI, extra: dict[str, Any]) -> None:
    paginator = {"type": "page_number", "total_path": None, "stop_after_empty_page": False, **extra}
    spec = rest_api_source(one(parity, {"path": "offset", "paginator": paginator}))
    assert spec is not None
