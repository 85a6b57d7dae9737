"""Requests as dlt sends them: placeholders, static path params, escaped braces, JSON value
types, `convert`, and query/path encoding as the requests library does it.

Each differential test runs one configuration through dlt 1.31 (real requests) and through
sluice against a loopback mock that logs the raw request line and body, and compares both
the requests and the tables that land in DuckDB.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from apis import Server
from difftools import load

from sluice import rest_api_source
from sluice.errors import ConfigError
from sluice.model import PageRequest

PARENT = {"id": 7, "name": "a b", "f": 1.5, "flag": True}
PARENTS = {"name": "parents", "endpoint": {"path": "parents", "paginator": "single_page"}}


class Wire:
    """Answers every route with one page and logs what arrived, byte for byte."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, str, dict[str, str]]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = (await request.read()).decode()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        self.log.append((request.method, request.raw_path, body, headers))
        return web.json_response([PARENT] if request.path == "/parents" else [{"id": 1, "updated": 6}])

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


@pytest.fixture()
def wire(pipeline_dir: Path) -> Iterator[Wire]:
    mock = Wire()
    with Server(mock.app()) as server:
        mock.url = server.url
        yield mock


Config = Callable[[str], dict[str, Any]]


def both_sent(wire: Wire, make: Config, tmp: Path) -> tuple[list[Any], list[Any]]:
    """(what dlt sent, what sluice sent) for one configuration; their tables must agree."""
    from dlt.sources.rest_api import rest_api_source as dlt_source

    theirs = load(dlt_source(copy.deepcopy(make(wire.url))), tmp, "dlt")
    dlt_log, wire.log[:] = list(wire.log), []
    ours = load(rest_api_source(make(wire.url)), tmp, "sluice")
    assert ours == theirs
    return sorted(dlt_log), sorted(wire.log)


def lines(log: list[Any]) -> list[str]:
    return [f"{method} {path}" for method, path, _, _ in log]


def one(name: str, **endpoint: Any) -> Config:
    return lambda base: {"client": {"base_url": base}, "resources": [
        {"name": name, "endpoint": {"paginator": "single_page", **endpoint}}]}


def child(**endpoint: Any) -> Config:
    return lambda base: {"client": {"base_url": base}, "resources": [
        copy.deepcopy(PARENTS), {"name": "kids", "endpoint": {"paginator": "single_page", **endpoint}}]}


# -- 4. static params in the path; legacy resolve params --------------------------------------

def test_static_params_fill_the_path_and_leave_the_query(wire: Wire, tmp_path: Path) -> None:
    make = one("issues", path="repos/{owner}/{repo}/issues", params={"owner": "o w", "repo": "r", "state": "open"})
    theirs, ours = both_sent(wire, make, tmp_path)
    assert lines(ours) == lines(theirs) == ["GET /repos/o%20w/r/issues?state=open"]


def test_a_resolve_param_bound_in_the_path_is_not_also_a_query_parameter(wire: Wire, tmp_path: Path) -> None:
    make = child(path="c/{pid}", params={"pid": {"type": "resolve", "resource": "parents", "field": "id"}, "x": 1})
    theirs, ours = both_sent(wire, make, tmp_path)
    assert lines(ours) == lines(theirs) == ["GET /c/7?x=1", "GET /parents"]


# -- 5. {{ and }} are literal braces -------------------------------------------------------------

def test_doubled_braces_are_literal_in_params_json_data_and_headers(wire: Wire, tmp_path: Path) -> None:
    make = one("records", path="t", method="POST", params={"filterByFormula": "{{Status}}='Done'"},
               json={"query": "query {{ viewer {{ login }} }}", "{{key}}": ["{{x}}"]}, headers={"X-Filter": "{{a}}"})
    theirs, ours = both_sent(wire, lambda base: {**make(base), "client": {"base_url": base, "headers": {"X-Client": '{"a": 1}'}}}, tmp_path)
    assert lines(ours) == lines(theirs) == ["POST /t?filterByFormula=%7BStatus%7D%3D%27Done%27"]
    assert json.loads(ours[0][2]) == json.loads(theirs[0][2]) == {"query": "query { viewer { login } }", "{key}": ["{x}"]}
    assert ours[0][3]["X-Filter"] == theirs[0][3]["X-Filter"] == "{a}"
    assert ours[0][3]["X-Client"] == theirs[0][3]["X-Client"] == '{"a": 1}'  # client headers are not templates
    form = one("records", path="f", method="POST", data="{{raw}}")
    theirs, ours = both_sent(wire, form, tmp_path)
    assert ours[0][2] == theirs[0][2] == "{raw}"


def test_tripled_braces_wrap_a_parent_value(wire: Wire, tmp_path: Path) -> None:
    theirs, ours = both_sent(wire, child(path="c", params={"q": "{{{resources.parents.id}}}"}), tmp_path)
    assert lines(ours) == lines(theirs) == ["GET /c?q=%7B7%7D", "GET /parents"]


def test_doubled_braces_in_a_path_are_literal_where_dlt_fails(wire: Wire) -> None:
    # dlt 1.31 unescapes the path twice and fails with KeyError 'x'; sluice sends the braces.
    list(rest_api_source(one("t", path="t/{{x}}")(wire.url)))
    assert lines(wire.log) == ["GET /t/%7Bx%7D"]


# -- 6. JSON bodies keep value types --------------------------------------------------------------

def test_a_whole_placeholder_in_json_keeps_its_type_elsewhere_it_is_text(wire: Wire, tmp_path: Path) -> None:
    make = child(path="c", method="POST", params={"p": "{resources.parents.flag}"}, headers={"X-Id": "{resources.parents.id}"},
                 json={"id": "{resources.parents.id}", "f": "{resources.parents.f}", "flag": "{resources.parents.flag}",
                       "s": "id={resources.parents.id}", "l": ["{resources.parents.id}"]})
    theirs, ours = both_sent(wire, make, tmp_path)
    assert lines(ours) == lines(theirs) == ["GET /parents", "POST /c?p=True"]
    assert json.loads(ours[1][2]) == json.loads(theirs[1][2]) == {"id": 7, "f": 1.5, "flag": True, "s": "id=7", "l": [7]}
    assert ours[1][3]["X-Id"] == theirs[1][3]["X-Id"] == "7"


# -- 7. convert applies to the {incremental.*} placeholders ---------------------------------------

def test_convert_applies_to_incremental_placeholders(wire: Wire, tmp_path: Path) -> None:
    incremental = {"cursor_path": "updated", "initial_value": 5, "end_value": 9, "convert": lambda v: v * 10}
    make = one("events", path="e", method="POST", incremental=incremental,
               params={"since": "{incremental.start_value}", "until": "{incremental.end_value}"},
               json={"from": "{incremental.start_value}", "last": "{incremental.last_value}", "init": "{incremental.initial_value}"})
    theirs, ours = both_sent(wire, make, tmp_path)
    assert lines(ours) == lines(theirs) == ["POST /e?since=50&until=90"]
    assert json.loads(ours[0][2]) == json.loads(theirs[0][2]) == {"from": 50, "last": 50, "init": 50}


# -- 8. query and path encoding as requests does it -----------------------------------------------

def test_query_and_path_are_encoded_as_requests_encodes_them(wire: Wire, tmp_path: Path) -> None:
    params = {"properties": ["a", "b"], "t": True, "f": False, "n": None, "empty": [], "s": "a b/&=é", "fl": 1.5, "pair": ("p", None, "q")}
    theirs, ours = both_sent(wire, one("x", path="a b/é", params=params), tmp_path)
    expected = "GET /a%20b/%C3%A9?properties=a&properties=b&t=True&f=False&s=a+b%2F%26%3D%C3%A9&fl=1.5&pair=p&pair=q"
    assert lines(ours) == lines(theirs) == [expected]


def test_a_parent_value_in_the_path_is_percent_encoded(wire: Wire, tmp_path: Path) -> None:
    theirs, ours = both_sent(wire, child(path="c/{resources.parents.name}/items"), tmp_path)
    assert lines(ours) == lines(theirs) == ["GET /c/a%20b/items", "GET /parents"]


def test_a_param_replaces_the_same_parameter_in_the_path_query(wire: Wire) -> None:
    # Deliberate: requests would send `x=1&x=2`; replacing keeps query-string auth from
    # doubling on next URLs that already carry it.
    list(rest_api_source(one("q", path="q?x=1&y=a b", params={"x": 2})(wire.url)))
    assert lines(wire.log) == ["GET /q?y=a%20b&x=2"]


def test_loop_detection_compares_the_query_as_sent() -> None:
    base = "http://h/v1/a b"
    same = [PageRequest("GET", base, params={"p": ["x", "y"], "t": True, "n": None}),
            PageRequest("GET", "http://h/v1/a%20b?t=True&p=x&p=y")]
    assert same[0].identity() == same[1].identity()
    assert PageRequest("GET", base, params={"p": ["x", "y"]}).identity() != PageRequest("GET", base, params={"p": "['x', 'y']"}).identity()
    for request in [*same, PageRequest("GET", "http://h/i?a=1&b=%C3%A9&c", params={"a": 2, "d": "x y&z", "e": b"\xc3\xa9"})]:
        assert PageRequest("GET", request.sent_url()).identity() == request.identity()  # identity is the URL as sent


# -- typos in placeholders: configuration errors, all at once ---------------------------------------

def test_placeholder_typos_are_reported_together_with_did_you_mean() -> None:
    config = {"client": {"base_url": "https://api.example.com/"}, "resources": [
        {"name": "parent", "endpoint": "parent"},
        {"name": "kid", "endpoint": {"path": "p/{resources.parnet.id}", "params": {"since": "{incremental.start_vale}", "filter": '{"status": 1}'},
                                     "json": {"id": "{resource.parent.id}"}, "headers": {"X-A": "a}b"},
                                     "incremental": {"cursor_path": "updated"}}}]}
    with pytest.raises(ConfigError) as caught:
        rest_api_source(config)
    assert [str(issue) for issue in caught.value.issues] == [
        "resources[1].endpoint.path: placeholder '{resources.parnet.id}' refers to unknown resource 'parnet' (did you mean 'parent'?)",
        "resources[1].endpoint.params: unknown placeholder '{incremental.start_vale}' (did you mean 'start_value'?)",
        "resources[1].endpoint.params: unknown placeholder '{\"status\"}' (expected {resources.<resource>.<field>} or"
        " {incremental.start_value}; write {{ and }} for a literal brace)",
        "resources[1].endpoint.json: unknown placeholder '{resource.parent.id}' (did you mean 'resources'?)",
        "resources[1].endpoint.headers: Single '}' encountered in format string (write {{ and }} for a literal brace)",
    ]
