"""Properties, with hypothesis.

1. Any configuration, however wrong, either parses and builds or raises ConfigError: never
   another exception, never a changed input.
2. Every paginator, driven over a simulated API with any record count, page size and page
   sequence, fetches no page twice, stops, and collects every record exactly once.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice import ConfigError, rest_api_source, validate
from sluice.auth.schemes import KEYS as AUTH_KEYS
from sluice.config import keys
from sluice.model import Page, PageRequest, freeze
from sluice.pagination import (
    AutoPaginator,
    CursorPaginator,
    HeaderCursorPaginator,
    HeaderLinkPaginator,
    JSONLinkPaginator,
    OffsetPaginator,
    PageNumberPaginator,
)
from sluice.pagination.registry import KEYS as PAGINATOR_KEYS

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- 1. random configurations ---------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 200), st.floats(allow_nan=True), st.text(max_size=12),
                    st.sampled_from(["https://api.example.com/v1/", "http://127.0.0.1:9", "events", "/events/{id}",
                                     "{resources.events.id}", "{incremental.start_value}", "{{ response.next }}",
                                     "{{ response.__class__ }}", "{% include 'x' %}", "data[?", "$.data[*]", "merge",
                                     "append", "id", "GET", "post", "query", "header", "scd2"]))
junk = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=6)


def shaped(key_table: Any, extra: dict[str, st.SearchStrategy[Any]] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with keys mostly from a key table (plus typos and strangers), values from `extra` or junk."""
    names = st.one_of(st.sampled_from(sorted(key_table) or ["typo"]), st.sampled_from(["typo", "sesion", "base_uri", "paht"]))

    def value(name: str) -> st.SearchStrategy[Any]:
        return (extra or {}).get(name, junk)

    return st.lists(names, max_size=6, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({n: value(n) for n in chosen}))


paginators = st.one_of(
    st.sampled_from([*PAGINATOR_KEYS, "json_response", "offest", "pages"]),
    st.sampled_from(sorted(PAGINATOR_KEYS)).flatmap(
        lambda kind: shaped(PAGINATOR_KEYS[kind]).map(lambda d, kind=kind: {"type": kind, **d})),
    junk,
)
auths = st.one_of(
    st.sampled_from(sorted(AUTH_KEYS)).flatmap(lambda kind: shaped(AUTH_KEYS[kind]).map(lambda d, kind=kind: {"type": kind, **d})),
    st.fixed_dictionaries({"token": st.one_of(st.text(max_size=8), st.integers())}),
    junk,
)
endpoints = st.one_of(st.text(max_size=12), shaped(keys.ENDPOINT, {"paginator": paginators, "auth": auths,
                                                                   "path": st.sampled_from(["events", "/events/{id}/orders", "a/{resources.a.id}", "{x}", ""])}))
resources = st.one_of(
    st.sampled_from(["events", "orders", "a"]),
    shaped(keys.RESOURCE, {"name": st.sampled_from(["events", "orders", "a", "", "events"]), "endpoint": endpoints}),
    junk,
)
configs = st.one_of(
    junk,
    st.fixed_dictionaries(
        {"client": st.one_of(shaped(keys.CLIENT, {"base_url": scalars, "auth": auths, "paginator": paginators}), junk),
         "resources": st.one_of(st.lists(resources, max_size=4), junk)},
        optional={"resource_defaults": st.one_of(shaped(keys.RESOURCE, {"endpoint": endpoints}), junk), "extra": junk}),
)


VALID: list[dict[str, Any]] = [
    {"client": {"base_url": "https://api.example.com/v1/", "auth": {"type": "api_key", "name": "x-api-key", "api_key": "k"}},
     "resource_defaults": {"primary_key": "_id", "write_disposition": "merge"},
     "resources": [
         {"name": "events", "endpoint": {"path": "/events", "data_selector": "events", "paginator": {
             "type": "page_number", "page_param": "page", "limit_param": "pageSize", "limit": 100, "start_from_page": 1}}},
         {"name": "orders", "endpoint": {"path": "/events/{eventid}/orders", "data_selector": "orders"},
          "include_from_parent": ["_id"]}]},
    {"client": {"base_url": "https://api.example.com", "paginator": {"type": "offset", "limit": 100},
                "auth": {"type": "api_key", "name": "api_key", "api_key": "k", "location": "query"},
                "rate_limit": {"requests_per_second": 5, "burst": 2}, "error_handler": {"max_retries": 2}},
     "resources": ["tickets", {"name": "events", "primary_key": "id", "write_disposition": "append",
                               "endpoint": {"path": "/v1/events", "params": {"since": "{incremental.start_value}"},
                                            "incremental": {"cursor_path": "updated", "initial_value": "2024-01-01"}}}]},
    {"client": {"base_url": "https://api.example.com", "auth": {"type": "http_basic", "username": "u", "password": "p"}},
     "resources": [{"name": "alerts", "max_table_nesting": 1, "columns": {"id": {"data_type": "text"}},
                    "endpoint": {"path": "/v2/alerts", "paginator": {
                        "type": "cursor", "cursor_value": "{{ response.get('paging', {}).get('next') }}",
                        "stop_condition": "{{ not response.data }}"}}},
                   {"name": "notes", "endpoint": {"path": "/v2/alerts/{resources.alerts.id}/notes",
                                                  "response_actions": [{"status_code": 404, "action": "ignore"}]}}]},
]


def _slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of a nested config, to mutate one."""
    out: list[tuple[Any, Any]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        out.append((node, key))
        out.extend(_slots(value))
    return out


@st.composite
def mutated(draw: Any) -> dict[str, Any]:
    """A working configuration with 0-3 things broken: replaced, removed or added."""
    config = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(0, 3))):
        slots = _slots(config)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace" or isinstance(container, list) and action == "delete":
            container[key] = draw(junk)
        elif action == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[draw(st.sampled_from(["typo", "limit", "type", "auth", "path", "name", "params"]))] = draw(junk)
    return config


@PROPERTY
@given(st.one_of(configs, mutated()))
def test_random_configurations_raise_only_config_errors(config: Any) -> None:
    before = copy.deepcopy(config)
    try:
        validate(config)
    except ConfigError as exc:
        assert exc.issues and all(str(issue) for issue in exc.issues)
    else:
        try:
            rest_api_source(config)  # building the dlt source may find more, still as ConfigError
        except ConfigError:
            pass
    assert repr(config) == repr(before)  # never mutated (repr: NaN != NaN)


@PROPERTY
@given(st.sampled_from(sorted(PAGINATOR_KEYS)).flatmap(
    lambda kind: shaped(PAGINATOR_KEYS[kind]).map(lambda d, kind=kind: {"type": kind, **d})))
def test_random_paginator_configurations(paginator: dict[str, Any]) -> None:
    config = {"client": {"base_url": "https://api.example.com/"},
              "resources": [{"name": "x", "endpoint": {"path": "x", "paginator": paginator}}]}
    try:
        validate(config)
    except ConfigError:
        pass


# -- 2. paginators over simulated APIs ------------------------------------------------------------

BASE = "http://api.test/items"


def query(request: PageRequest) -> dict[str, str]:
    """The query as it would be sent: URL parameters, overridden by params."""
    sent = dict(parse_qsl(urlsplit(request.url).query))
    sent.update({k: str(v) for k, v in request.params.items() if v is not None})
    return sent


def page(request: PageRequest, body: Any, records: list[Any], headers: dict[str, str] | None = None) -> Page:
    url = request.url if not request.params else f"{request.url.split('?')[0]}?{urlencode(query(request))}"
    return Page(request, 200, url, freeze(headers or {}), body, records)


def drive(paginator: Any, api: Any, limit: int) -> list[Any]:
    """Follow `paginator` over `api` (request -> Page): every record, asserting no request twice."""
    request: PageRequest | None = paginator.first(PageRequest("GET", BASE))
    seen: set[bytes] = set()
    collected: list[Any] = []
    while request is not None:
        identity = request.identity()
        assert identity not in seen, f"fetched twice: {query(request)}"
        seen.add(identity)
        assert len(seen) <= limit, "did not stop"
        current = api(request)
        collected.extend(current.records)
        request = paginator.next(request, current)
    return collected


def split(records: list[int], sizes: list[int]) -> list[list[int]]:
    """Records cut into pages of the given sizes (cycled; zeros make empty pages mid-stream)."""
    pages, i, k = [], 0, 0
    while i < len(records):
        size = sizes[k % len(sizes)]
        pages.append(records[i:i + size])
        i, k = i + size, k + 1
        if k > 10 * len(records) + 10:
            break
    return pages


counts = st.integers(0, 300)
limits = st.integers(1, 40)


@PROPERTY
@given(counts, limits, st.booleans(), st.integers(0, 5))
def test_offset_paginator(count: int, limit: int, with_total: bool, start: int) -> None:
    records = list(range(count))

    def api(request: PageRequest) -> Page:
        sent = query(request)
        offset, size = int(sent["offset"]), int(sent["limit"])
        body: dict[str, Any] = {"data": records[offset:offset + size]}
        if with_total:
            body["total"] = count
        return page(request, body, body["data"])

    paginator = OffsetPaginator(limit=limit, offset=start)
    assert drive(paginator, api, count // limit + 3) == records[start:]


@PROPERTY
@given(counts, limits, st.sampled_from([0, 1]), st.sampled_from(["none", "pages", "limit"]))
def test_page_number_paginator(count: int, size: int, base: int, mode: str) -> None:
    records = list(range(count))

    def api(request: PageRequest) -> Page:
        number = int(query(request)["page"]) - base
        data = records[number * size:(number + 1) * size] if number >= 0 else []
        body: dict[str, Any] = {"items": data}
        if mode == "pages":
            body["total_pages"] = -(-count // size)
        return page(request, body, data)

    paginator = PageNumberPaginator(
        base_page=base,
        total_path="total_pages" if mode == "pages" else None, total_explicit=mode == "pages",
        limit=size if mode == "limit" else None,
    )
    assert drive(paginator, api, count // size + 3) == records


@PROPERTY
@given(counts, limits, st.sampled_from([0, 1]))
def test_planned_pages_cover_every_record_once(count: int, size: int, base: int) -> None:
    """The concurrent plan (a declared total): first page + plan = every page once."""
    records = list(range(count))

    def api(request: PageRequest) -> Page:
        number = int(query(request)["page"]) - base
        data = records[number * size:(number + 1) * size]
        return page(request, {"items": data, "total_pages": -(-count // size)}, data)

    paginator = PageNumberPaginator(base_page=base, total_path="total_pages", total_explicit=True)
    first = paginator.first(PageRequest("GET", BASE))
    first_page = api(first)
    planned = list(paginator.plan(first, first_page) or [])
    identities = [r.identity() for r in [first, *planned]]
    assert len(identities) == len(set(identities))
    collected = first_page.records + [r for request in planned for r in api(request).records]
    assert collected == records


sizes = st.lists(st.integers(0, 25), min_size=1, max_size=8).filter(lambda s: any(s))


@PROPERTY
@given(counts, sizes)
def test_cursor_paginator(count: int, page_sizes: list[int]) -> None:
    pages = split(list(range(count)), page_sizes)

    def api(request: PageRequest) -> Page:
        index = int(query(request).get("cursor", 0))
        data = pages[index] if index < len(pages) else []
        nxt = str(index + 1) if index + 1 < len(pages) else None
        return page(request, {"results": data, "cursors": {"next": nxt}}, data)

    assert drive(CursorPaginator(), api, len(pages) + 2) == list(range(count))


@PROPERTY
@given(counts, sizes, st.booleans())
def test_json_link_paginator(count: int, page_sizes: list[int], relative: bool) -> None:
    pages = split(list(range(count)), page_sizes)

    def api(request: PageRequest) -> Page:
        index = int(query(request).get("p", 0))
        data = pages[index] if index < len(pages) else []
        nxt = None
        if index + 1 < len(pages):
            nxt = f"items?p={index + 1}" if relative else f"{BASE}?p={index + 1}"
        return page(request, {"data": data, "paging": {"next": nxt}}, data)

    assert drive(JSONLinkPaginator("paging.next"), api, len(pages) + 2) == list(range(count))


@PROPERTY
@given(counts, sizes)
def test_header_link_paginator(count: int, page_sizes: list[int]) -> None:
    pages = split(list(range(count)), page_sizes)

    def api(request: PageRequest) -> Page:
        index = int(query(request).get("p", 0))
        data = pages[index] if index < len(pages) else []
        links = [f'<{BASE}?p=0>; rel="first"']
        if index + 1 < len(pages):
            links.append(f'<{BASE}?p={index + 1}&x=a,b>; rel="next"')  # a comma inside the URL
        return page(request, data, data, {"Link": ", ".join(links)})

    assert drive(HeaderLinkPaginator(), api, len(pages) + 2) == list(range(count))


@PROPERTY
@given(counts, sizes)
def test_header_cursor_paginator(count: int, page_sizes: list[int]) -> None:
    pages = split(list(range(count)), page_sizes)

    def api(request: PageRequest) -> Page:
        index = int(query(request).get("cursor", 0))
        data = pages[index] if index < len(pages) else []
        headers = {"next": str(index + 1)} if index + 1 < len(pages) else {}
        return page(request, data, data, headers)

    assert drive(HeaderCursorPaginator(), api, len(pages) + 2) == list(range(count))


@PROPERTY
@given(counts, sizes, st.sampled_from(["link", "json_link", "cursor"]))
def test_auto_paginator(count: int, page_sizes: list[int], style: str) -> None:
    pages = split(list(range(count)), page_sizes)

    def api(request: PageRequest) -> Page:
        index = int(query(request).get("p", query(request).get("cursor", 0)))
        data = pages[index] if index < len(pages) else []
        more = index + 1 < len(pages)
        if style == "link":
            return page(request, data, data, {"Link": f'<{BASE}?p={index + 1}>; rel="next"'} if more else {})
        if style == "json_link":
            return page(request, {"data": data, "next": f"{BASE}?p={index + 1}" if more else None}, data)
        return page(request, {"data": data, "next": str(index + 1) if more else None}, data)

    assert drive(AutoPaginator(), api, len(pages) + 2) == list(range(count))
