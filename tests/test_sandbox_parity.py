"""A template's value is data, never the template's own internals.

`{{ self }}` once sent `<TemplateReference None>` to the API as a cursor. What can be seen in
the source (`self`, a bare `loop`, `range` or `dict` not called) is a configuration error
before the first request; what only shows when evaluated (a method, a macro, a generator)
fails the resource on the first response, before a second request is made with it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from apis import ListSink, Server

from sluice import ConfigError, ResponseError, rest_api_source
from sluice.config import parse_source
from sluice.engine.run import Engine
from sluice.templates import Template, TemplateError


class Cursors:
    """Two pages; the first names the second in `next`, and has a key called `items`."""

    def __init__(self) -> None:
        self.cursors: list[str | None] = []

    async def items(self, request: web.Request) -> web.Response:
        cursor = request.query.get("cursor")
        self.cursors.append(cursor)
        if cursor is None:
            return web.json_response({"data": [{"id": 1}], "next": "p2", "items": "p2"})
        return web.json_response({"data": [{"id": 2}], "next": None, "items": None})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/items", self.items)
        return app


def config(base_url: str, value: str, key: str = "cursor_value") -> dict[str, Any]:
    paginator = {"type": "cursor", "cursor_param": "cursor", key: value}
    if key == "stop_condition":
        paginator["cursor_path"] = "next"
    return {"client": {"base_url": base_url},
            "resources": [{"name": "items", "endpoint": {"path": "items", "data_selector": "data", "paginator": paginator}}]}


def run(api: Cursors, value: str, key: str = "cursor_value") -> list[Any]:
    with Server(api.app()) as server:
        sink = ListSink()
        asyncio.run(Engine(parse_source(config(server.url, value, key)), {"items"}, sink).run())
    return api.cursors


STATIC = {
    "self": "{{ self }}",
    "self in text": "p{{ self }}",
    "self's attribute": "{{ self.items }}",
    "super": "{{ super() }}",
    "bare loop": "{% for r in response.data %}{{ loop }}{% endfor %}",
    "function": "{{ range }}",
    "function through set": "{% set f = dict %}{{ f }}",
    "function through a filter": "{{ len|string }}",
}


@pytest.mark.parametrize("key", ["cursor_value", "stop_condition"])
@pytest.mark.parametrize("source", list(STATIC.values()), ids=list(STATIC))
def test_internals_seen_in_the_source_are_a_configuration_error(source: str, key: str) -> None:
    # Port 9 (discard) on loopback: a request would be a connection error, not a ConfigError.
    with pytest.raises(ConfigError) as caught:
        rest_api_source(config("http://127.0.0.1:9/", source, key))
    [issue] = caught.value.issues
    assert issue.path == f"resources[0].endpoint.paginator.{key}"
    assert issue.message.startswith(f"template {source!r} is not allowed: ")
    assert issue.message.endswith(", not data")


RUNTIME = {
    "a method": ("{{ response.get }}", "not data"),
    "a method in text": ("p{{ response.next.upper }}", "not data"),
    "a method via attr": ("{{ response|attr('keys') }}", "not data"),
    "a macro": ("{% macro m() %}x{% endmacro %}{{ m }}", "not data"),
    "a generator": ("{{ response.data|map(attribute='id') }}", "not data (add |list)"),
    "a method in a list": ("{{ [response.get] }}", "not data"),
    "dict keys view": ("{{ response.keys() }}", "not data (add |list)"),
}


@pytest.mark.parametrize(("source", "expected"), list(RUNTIME.values()), ids=list(RUNTIME))
def test_internals_seen_on_the_first_response_fail_before_the_second_request(source: str, expected: str) -> None:
    api = Cursors()
    with pytest.raises(ResponseError) as caught:
        run(api, source)
    assert str(caught.value).startswith(f"resource 'items': template {source!r} is not allowed: it evaluates to ")
    assert expected in str(caught.value)
    assert api.cursors == [None]  # nothing was sent with what the template produced


def test_a_json_key_named_like_a_method_is_the_key() -> None:
    # Jinja reads `a.b` as an attribute first: `response.items` was the dict's method.
    assert run(Cursors(), "{{ response.items }}") == [None, "p2"]
    assert run(Cursors(), "{{ response.items or '' }}") == [None, "p2"]
    assert Template("n={{ response.items }}").evaluate({"response": {"items": 3}}) == "n=3"
    assert Template("{{ response.get('next') }}").evaluate({"response": {"next": 4}}) == 4  # no key 'get': the method


def test_data_in_every_shape_still_passes() -> None:
    context = {"response": {"data": [{"id": 1, "at": "2024"}], "n": 1.5, "ok": True}, "last_record": None}
    assert Template("{{ response.data }}").evaluate(context) == [{"id": 1, "at": "2024"}]
    assert Template("{{ response.data|map(attribute='id')|list }}").evaluate(context) == [1]
    assert Template("{{ (response.n, response.ok, last_record) }}").evaluate(context) == (1.5, True, None)
    assert Template("{{ range(2) }}").evaluate(context) == range(2)
    assert Template("{% for r in response.data %}{{ loop.index }}:{{ r.id }}{% endfor %}").evaluate(context) == "1:1"
    assert Template("{{ dict(a=len(response.data)) }}").evaluate(context) == {"a": 1}


def test_a_refused_value_is_a_template_error_naming_the_template() -> None:
    with pytest.raises(TemplateError, match=r"^template '\{\{ response.get \}\}' is not allowed: it evaluates to builtin_function_or_method, not data$"):
        Template("{{ response.get }}").evaluate({"response": {}})
