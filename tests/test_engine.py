"""The engine against real HTTP servers on 127.0.0.1: stop rules, request counts, auth,
response actions, templated cursors, error_handler, children, selectors, JSON Schema."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from aiohttp import web
from apis import PagingAPI, Server
from difftools import load

from sluice import ResourceError, rest_api_source
from sluice.runner import unwrap


def run(config: dict[str, Any], tmp_path) -> dict[str, tuple[tuple[str, ...], int]]:
    try:
        return load(rest_api_source(config), tmp_path, "t")
    except Exception as exc:  # dlt wraps our errors; tests assert on ours
        raise unwrap(exc) from None


def counts(tables: dict[str, Any]) -> dict[str, int]:
    return {name: n for name, (_, n) in tables.items()}


@pytest.mark.parametrize("count,requests", [(0, 1), (1, 1), (9, 1), (10, 2), (11, 2), (30, 4), (31, 4)])
def test_page_number_with_limit_stops_on_short_page(api: PagingAPI, tmp_path, count: int, requests: int) -> None:
    api.count = count
    config = {"client": {"base_url": api.origin}, "resources": [{"name": "items", "endpoint": {
        "path": "page_number", "data_selector": "items",
        "paginator": {"type": "page_number", "limit": 10, "limit_param": "per_page"}}}]}
    tables = run(config, tmp_path)
    assert counts(tables).get("items", 0) == count
    assert api.hits("/page_number") == requests
    assert all(r.query["per_page"] == "10" for r in api.log)  # limit_param sent on every request
    assert api.log[0].query["page"] == "1"  # seed dialect starts at page 1


@pytest.mark.parametrize("count", [0, 1, 10, 25])
def test_offset_uses_total_and_fetches_pages_concurrently(api: PagingAPI, tmp_path, count: int) -> None:
    api.count = count
    config = {"client": {"base_url": api.origin}, "resources": [{"name": "items", "endpoint": {
        "path": "offset", "paginator": {"type": "offset", "limit": 10}}}]}
    assert counts(run(config, tmp_path)).get("items", 0) == count
    offsets = sorted(int(r.query["offset"]) for r in api.log)
    assert offsets == list(range(0, max(count, 1), 10))  # every page once, none wasted


def test_offset_without_total_stops_on_short_page(api: PagingAPI, tmp_path) -> None:
    api.count = 25
    config = {"client": {"base_url": api.origin}, "resources": [{"name": "items", "endpoint": {
        "path": "offset", "params": {"no_total": 1}, "paginator": {"type": "offset", "limit": 10}}}]}
    assert counts(run(config, tmp_path))["items"] == 25
    assert [r.query["offset"] for r in api.log] == ["0", "10", "20"]


def test_page_repeating_previous_page_ends_chain_without_duplicates(api: PagingAPI, tmp_path) -> None:
    api.count = 5
    # The API ignores 'pg': every page is the same; page size unknown, so only the repeat stops it.
    config = {"client": {"base_url": api.origin}, "resources": [{"name": "items", "endpoint": {
        "path": "offset", "params": {"no_total": 1, "limit": 5},
        "paginator": {"type": "page_number", "page_param": "pg", "total_path": None}}}]}
    assert counts(run(config, tmp_path))["items"] == 5
    assert api.hits("/offset") == 2


def test_templated_cursor_follows_absolute_next_urls(api: PagingAPI, tmp_path) -> None:
    api.count = 42
    config = {"client": {"base_url": api.origin}, "resources": [{"name": "jl", "endpoint": {
        "path": "/json_link", "data_selector": "data", "paginator": {
            "type": "cursor",
            "cursor_value": '{{ response.get("paging", {}).get("next", {}) }}',
            "stop_condition": '{{ not response.get("paging", {}).get("next", {}) }}'}}}]}
    assert counts(run(config, tmp_path))["jl"] == 42
    assert [r.query.get("p", "1") for r in api.log] == ["1", "2", "3", "4", "5"]


def test_templated_cursor_sees_headers_and_last_record(api: PagingAPI, tmp_path) -> None:
    api.count = 25
    config = {"client": {"base_url": api.origin}, "resources": [{"name": "links", "endpoint": {
        "path": "/links", "data_selector": "$", "paginator": {
            "type": "cursor", "cursor_value": "{{ headers.link.get('next', {}).get('url') }}",
            "stop_condition": "{{ last_page_size < 10 }}"}}}]}
    assert counts(run(config, tmp_path))["links"] == 25
    assert api.hits("/links") == 3


def test_repeated_cursor_is_a_loop_error(api: PagingAPI, tmp_path) -> None:
    config = {"client": {"base_url": api.origin}, "resources": [{"name": "c", "endpoint": {
        "path": "/cursor", "paginator": {"type": "cursor", "cursor_value": "{{ '10' }}"}}}]}
    with pytest.raises(ResourceError, match="already made"):
        run(config, tmp_path)


def test_children_404_are_skipped_and_counted(api: PagingAPI, tmp_path) -> None:
    api.count = 12
    source = rest_api_source({"client": {"base_url": api.origin}, "resources": [
        {"name": "parents", "endpoint": {"path": "offset", "paginator": {"type": "offset", "limit": 10}}},
        {"name": "kids", "endpoint": {"path": "parents/{resources.parents.id}/children"}, "include_from_parent": ["id"]}]})
    tables = load(source, tmp_path, "t")
    expected = sum(i % 3 for i in range(12) if i % 4 != 3)
    assert counts(tables)["kids"] == expected
    assert "_parents_id" in tables["kids"][0]
    stats = source.sluice_runtime.runs[-1].stats
    assert stats.of("kids").skipped_children == 3  # parents 3, 7, 11
    assert api.hits("/offset") == 2


def test_selecting_only_a_child_fetches_the_parent_once_without_loading_it(api: PagingAPI, tmp_path) -> None:
    api.count = 8
    source = rest_api_source({"client": {"base_url": api.origin}, "resources": [
        {"name": "parents", "endpoint": {"path": "offset", "paginator": {"type": "offset", "limit": 10}}},
        {"name": "kids", "endpoint": "parents/{resources.parents.id}/children"}]})
    tables = load(source.with_resources("kids"), tmp_path, "t")
    assert set(tables) == {"kids"}
    assert api.hits("/offset") == 1


def test_unselected_parent_feeds_children(api: PagingAPI, tmp_path) -> None:
    api.count = 8
    tables = run({"client": {"base_url": api.origin}, "resources": [
        {"name": "parents", "selected": False, "endpoint": {"path": "offset", "paginator": {"type": "offset", "limit": 10}}},
        {"name": "kids", "endpoint": "parents/{resources.parents.id}/children"}]}, tmp_path)
    assert set(tables) == {"kids"}


def test_error_handler_retries_extra_status_then_recovers(api: PagingAPI, tmp_path) -> None:
    api.count = 5
    api.fail["/offset"] = [403, 429, 503]
    config = {"client": {"base_url": api.origin, "max_retry_delay": 0.01}, "resources": [{"name": "items", "endpoint": {
        "path": "offset", "paginator": {"type": "offset", "limit": 10},
        "error_handler": {"retry_on_status_codes": [403], "max_retries": 3, "backoff_factor": 2}}}]}
    assert counts(run(config, tmp_path))["items"] == 5
    assert api.hits("/offset") == 4


def test_exhausted_retries_name_resource_url_status_and_attempts(api: PagingAPI, tmp_path) -> None:
    api.fail["/offset"] = [503] * 10
    config = {"client": {"base_url": api.origin, "max_retry_delay": 0.01}, "resources": [{"name": "items", "endpoint": {
        "path": "offset", "paginator": {"type": "offset", "limit": 10}, "error_handler": {"max_retries": 2}}}]}
    with pytest.raises(ResourceError) as raised:
        run(config, tmp_path)
    message = str(raised.value)
    assert "resource 'items'" in message and "/offset?" in message and "status: 503" in message and "attempts: 3" in message


def test_status_not_retried_fails_at_once(api: PagingAPI, tmp_path) -> None:
    api.fail["/offset"] = [400]
    config = {"client": {"base_url": api.origin}, "resources": [{"name": "items", "endpoint": {
        "path": "offset", "paginator": {"type": "offset", "limit": 10}}}]}
    with pytest.raises(ResourceError, match="status: 400"):
        run(config, tmp_path)
    assert api.hits("/offset") == 1


def test_response_action_ignore_by_content(api: PagingAPI, tmp_path) -> None:
    api.fail["/offset"] = [500] * 10
    config = {"client": {"base_url": api.origin, "max_retry_delay": 0.01}, "resources": [{"name": "items", "endpoint": {
        "path": "offset", "error_handler": {"max_retries": 0},
        "response_actions": [{"content": "injected", "action": "ignore"}]}}]}
    assert counts(run(config, tmp_path)).get("items", 0) == 0


def test_response_action_callable_can_rewrite_the_response(api: PagingAPI, tmp_path) -> None:
    def add_flag(response, *args, **kwargs):
        import json

        body = response.json()
        for row in body["data"]:
            row["flag"] = True
        response._content = json.dumps(body).encode()
        return response

    api.count = 3
    config = {"client": {"base_url": api.origin}, "resources": [{"name": "items", "endpoint": {
        "path": "offset", "params": {"limit": 10}, "paginator": "single_page",
        "response_actions": [{"status_code": 200, "action": add_flag}]}}]}
    assert "flag" in run(config, tmp_path)["items"][0]


def test_selector_matching_nothing_is_an_empty_page(api: PagingAPI, tmp_path) -> None:
    # dlt's meaning (Google-style APIs leave empty lists out); the run summary warns: see test_parity_selectors
    config = {"client": {"base_url": api.origin}, "resources": [{"name": "items", "endpoint": {
        "path": "offset", "data_selector": "dta", "paginator": "single_page"}}]}
    assert "items" not in run(config, tmp_path)


def test_single_object_selector_yields_one_record(api: PagingAPI, tmp_path) -> None:
    api.count = 3
    config = {"client": {"base_url": api.origin}, "resources": [{"name": "one", "endpoint": {
        "path": "offset", "data_selector": "data[0]", "paginator": "single_page"}}]}
    assert counts(run(config, tmp_path))["one"] == 1


def test_json_schema_becomes_column_hints(api: PagingAPI, tmp_path) -> None:
    api.count = 4
    schema = {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "integer"}, "name": {"type": ["null", "string"]},
        "updated": {"type": "string", "format": "date-time"}, "never_sent": {"type": ["null", "number"]}}}
    source = rest_api_source({"client": {"base_url": api.origin}, "resources": [{"name": "items", "json_schema": schema,
        "columns": {"name": {"data_type": "text", "nullable": False}},
        "endpoint": {"path": "offset", "paginator": {"type": "offset", "limit": 10}}}]})
    columns = source.resources["items"].compute_table_schema()["columns"]
    assert columns["id"]["data_type"] == "bigint" and columns["id"]["nullable"] is False
    assert columns["updated"]["data_type"] == "timestamp"
    assert columns["never_sent"]["data_type"] == "double"
    assert columns["name"]["nullable"] is False  # explicit columns win
    tables = load(source, tmp_path, "t")
    assert "never_sent" in tables["items"][0]


# -- auth ------------------------------------------------------------------------------------
SECRET = "zz-secret-value-42"


def auth_app(seen: list[dict[str, Any]]) -> web.Application:
    async def data(request: web.Request) -> web.Response:
        seen.append({"headers": dict(request.headers), "query": dict(request.query), "cookies": dict(request.cookies)})
        return web.json_response({"data": [{"id": 1}]})

    async def token(request: web.Request) -> web.Response:
        form = dict(await request.post())
        seen.append({"token_form": form, "headers": dict(request.headers)})
        basic = base64.b64encode(f"cid:{SECRET}".encode()).decode()
        in_form = form.get("client_id") == "cid" and form.get("client_secret") == SECRET
        if not (in_form or request.headers.get("Authorization") == f"Basic {basic}") or form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "bad client"}, status=401)
        return web.json_response({"access_token": "tok-" + SECRET, "expires_in": 3600})

    app = web.Application()
    app.router.add_get("/data", data)
    app.router.add_post("/token", token)
    return app


AUTHS = {
    "bearer": ({"type": "bearer", "token": SECRET}, lambda s: s["headers"]["Authorization"] == f"Bearer {SECRET}"),
    "token_only": ({"token": SECRET}, lambda s: s["headers"]["Authorization"] == f"Bearer {SECRET}"),
    "api_key_header": ({"type": "api_key", "name": "X-Key", "api_key": SECRET}, lambda s: s["headers"]["X-Key"] == SECRET),
    "api_key_query": ({"type": "api_key", "name": "key", "api_key": SECRET, "location": "query"}, lambda s: s["query"]["key"] == SECRET),
    "api_key_cookie": ({"type": "api_key", "name": "sid", "api_key": SECRET, "location": "cookie"}, lambda s: s["cookies"]["sid"] == SECRET),
    "http_basic": ({"type": "http_basic", "username": "u", "password": SECRET},
                   lambda s: s["headers"]["Authorization"] == "Basic " + base64.b64encode(f"u:{SECRET}".encode()).decode()),
    "basic_alias": ({"type": "basic", "username": SECRET, "password": SECRET},
                    lambda s: s["headers"]["Authorization"] == "Basic " + base64.b64encode(f"{SECRET}:{SECRET}".encode()).decode()),
    "oauth2": ({"type": "oauth2_client_credentials", "access_token_url": "TOKEN_URL", "client_id": "cid", "client_secret": SECRET},
               lambda s: s["headers"]["Authorization"] == f"Bearer tok-{SECRET}"),
    "oauth2_basic": ({"type": "oauth2_client_credentials", "access_token_url": "TOKEN_URL", "client_id": "cid",
                      "client_secret": SECRET, "client_auth": "basic"},
                     lambda s: s["headers"]["Authorization"] == f"Bearer tok-{SECRET}"),
}


def _token_request(config_auth: dict[str, Any], source: Any) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []
    with Server(auth_app(seen)) as server:
        auth = {**config_auth, "access_token_url": server.url + "/token"}
        config = {"client": {"base_url": server.url, "auth": auth},
                  "resources": [{"name": "data", "endpoint": {"path": "data", "paginator": "single_page"}}]}
        list(source(config).resources["data"])
    request = next(s for s in seen if "token_form" in s)
    return {"form": request["token_form"], "basic": request["headers"].get("Authorization", "").startswith("Basic ")}


def test_oauth2_client_credentials_go_in_the_form_as_dlt_sends_them() -> None:
    from dlt.sources.rest_api import rest_api_source as dlt_source

    from sluice import rest_api_source

    auth = {"type": "oauth2_client_credentials", "client_id": "cid", "client_secret": SECRET,
            "access_token_request_data": {"scope": "read"}}
    theirs, ours = _token_request(auth, dlt_source), _token_request(auth, rest_api_source)
    assert ours == theirs == {"form": {"client_id": "cid", "client_secret": SECRET, "grant_type": "client_credentials", "scope": "read"},
                              "basic": False}
    basic = _token_request({**auth, "client_auth": "basic"}, rest_api_source)
    assert basic == {"form": {"grant_type": "client_credentials", "scope": "read"}, "basic": True}


@pytest.mark.parametrize("kind", sorted(AUTHS))
def test_auth_types(kind: str, tmp_path) -> None:
    seen: list[dict[str, Any]] = []
    auth, check = AUTHS[kind]
    with Server(auth_app(seen)) as server:
        auth = {k: (server.url + "/token" if v == "TOKEN_URL" else v) for k, v in auth.items()}
        tables = run({"client": {"base_url": server.url, "auth": auth}, "resources": [
            {"name": "data", "endpoint": {"path": "data", "paginator": "single_page"}}]}, tmp_path)
    assert counts(tables)["data"] == 1
    data = [s for s in seen if "token_form" not in s]
    assert len(data) == 1 and check(data[0])


def test_dlt_auth_instance_is_accepted(tmp_path) -> None:
    from dlt.sources.helpers.rest_client.auth import BearerTokenAuth

    seen: list[dict[str, Any]] = []
    with Server(auth_app(seen)) as server:
        run({"client": {"base_url": server.url, "auth": BearerTokenAuth(SECRET)}, "resources": [
            {"name": "data", "endpoint": {"path": "data", "paginator": "single_page"}}]}, tmp_path)
    assert seen[0]["headers"]["Authorization"] == f"Bearer {SECRET}"


def test_dlt_paginator_instance_is_accepted(api: PagingAPI, tmp_path) -> None:
    from dlt.sources.helpers.rest_client.paginators import OffsetPaginator

    api.count = 23
    tables = run({"client": {"base_url": api.origin}, "resources": [{"name": "items", "endpoint": {
        "path": "offset", "paginator": OffsetPaginator(limit=10, total_path="total")}}]}, tmp_path)
    assert counts(tables)["items"] == 23


@pytest.mark.parametrize("count", [80, 95, 100, 157])
def test_long_page_number_chain_fetches_ahead_in_a_window(api: PagingAPI, tmp_path, count: int) -> None:
    api.count = count
    source = rest_api_source({"client": {"base_url": api.origin}, "resources": [{"name": "items", "endpoint": {
        "path": "page_number", "data_selector": "items",
        "paginator": {"type": "page_number", "limit": 5, "limit_param": "per_page"}}}]})
    assert counts(load(source, tmp_path, "t"))["items"] == count
    pages = [int(r.query["page"]) for r in api.log]
    assert len(pages) == len(set(pages)), "no page is requested twice"
    needed = count // 5 + 1
    assert set(range(1, needed + 1)) <= set(pages)
    stats = source.sluice_runtime.runs[-1].stats.of("items")
    assert stats.records == count
    assert len(pages) - needed <= 7  # at most the window, past the end


def echo_app(seen: list[dict[str, Any]]) -> web.Application:
    async def parents(request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": i, "slug": f"p{i}"} for i in range(3)]})

    async def search(request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        seen.append({"method": request.method, "json": body, "headers": dict(request.headers), "path": request.path})
        return web.json_response({"data": [{"found": body["parent"] if body else None}]})

    async def header_cursor(request: web.Request) -> web.Response:
        page = int(request.query.get("cursor", 0))
        headers = {"X-Next": str(page + 1)} if page < 3 else {}
        return web.json_response([{"n": page * 10 + i} for i in range(10)], headers=headers)

    app = web.Application()
    app.router.add_get("/parents", parents)
    app.router.add_route("*", "/search/{slug}", search)
    app.router.add_get("/hc", header_cursor)
    return app


def test_post_with_placeholders_in_json_body_and_headers(tmp_path) -> None:
    seen: list[dict[str, Any]] = []
    with Server(echo_app(seen)) as server:
        tables = run({"client": {"base_url": server.url}, "resources": [
            {"name": "parents", "endpoint": {"path": "parents", "paginator": "single_page"}},
            {"name": "hits", "endpoint": {"path": "search/{resources.parents.slug}", "method": "post",
                                          "json": {"parent": "{resources.parents.id}", "q": "x"},
                                          "headers": {"X-Parent": "{resources.parents.slug}"},
                                          "paginator": "single_page"}}]}, tmp_path)
    assert counts(tables)["hits"] == 3
    assert sorted((s["method"], s["path"], s["json"]["parent"], s["headers"]["X-Parent"]) for s in seen) == [
        ("POST", f"/search/p{i}", i, f"p{i}") for i in range(3)]  # a whole placeholder keeps its type in JSON (dlt)


def test_header_cursor_paginator(tmp_path) -> None:
    with Server(echo_app([])) as server:
        tables = run({"client": {"base_url": server.url}, "resources": [{"name": "hc", "endpoint": {
            "path": "hc", "paginator": {"type": "header_cursor", "cursor_key": "X-Next"}}}]}, tmp_path)
    assert counts(tables)["hc"] == 40
