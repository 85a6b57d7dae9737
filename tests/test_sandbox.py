"""Templated cursors run in a sandbox: no dunder or private attributes, no imports, no files,
no network, no unbounded memory.

What can be seen in the source is a configuration error before the first request; what only
shows when evaluated (names built at run time, str.format tricks) is a clear error that
fails the resource, never a value.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from apis import ListSink, Server

from sluice import ConfigError, ResponseError, validate
from sluice.config import parse_source
from sluice.engine.run import Engine
from sluice.templates import Template, TemplateError

CONTEXT = {"response": {"next": "abc", "items": [1, 2]}, "headers": {}, "last_record": {"_id": 7, "id": 1},
           "last_page_size": 2, "config": None}


def cursor_config(value: str, key: str = "cursor_value", base_url: str = "https://api.example.com/") -> dict[str, Any]:
    return {"client": {"base_url": base_url},
            "resources": [{"name": "items", "endpoint": {"path": "items", "paginator": {"type": "cursor", key: value}}}]}


# -- known escapes: configuration errors before any request ---------------------------------

STATIC_ESCAPES = [
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ range.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ response.__class__ }}",
    "{{ response['__class__'] }}",
    "{{ response|attr('__class__') }}",
    "{{ config.__dict__ }}",
    "{{ last_record.__getitem__('id') }}",
    "{% import 'os' as os %}{{ os.environ }}",
    "{% from 'os' import environ %}{{ environ }}",
    "{% include '/etc/passwd' %}",
    "{% extends '/etc/passwd' %}",
    "{{ response.next }}{% include 'http://169.254.169.254/latest/meta-data/' %}",
]


@pytest.mark.parametrize("source", STATIC_ESCAPES)
@pytest.mark.parametrize("key", ["cursor_value", "stop_condition"])
def test_known_escape_is_a_configuration_error(source: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(cursor_config(source, key))
    [issue] = caught.value.issues
    assert issue.path == f"resources[0].endpoint.paginator.{key}"
    assert issue.message.startswith(f"template {source!r} is not allowed: ")


# -- what only shows at run time: a clear TemplateError, never a value ------------------------

RUNTIME_ESCAPES = {
    "name built at run time": ("{{ response|attr('__cla' ~ 'ss__') }}", "is not allowed"),
    "str.format field": ("{{ '{0.__class__.__mro__}'.format(response) }}", "is not allowed"),
    "str.format_map field": ("{{ '{r.__class__}'.format_map({'r': response}) }}", "is not allowed"),
    "format filter": ("{{ '%s'|format(response.__len__) }}", None),  # statically refused: see below
    "single underscore on an object": ("{{ last_page_size._secret }}", "has no attribute '_secret'"),
    "dict mutation": ("{{ response.update({'next': 'x'}) }}", "is not allowed"),
    "list mutation": ("{{ response['items'].append(3) }}", "is not allowed"),
    "open() is not there": ("{{ open('/etc/passwd').read() }}", "'open' is undefined"),
    "no cycler": ("{{ cycler(1, 2) }}", "'cycler' is undefined"),
    "no lipsum": ("{{ lipsum() }}", "'lipsum' is undefined"),
    "no urlopen": ("{{ urlopen('http://example.com') }}", "'urlopen' is undefined"),
    "no __import__": ("{{ __import__('os') }}", "undefined"),
    "huge range": ("{{ range(10**9)|list|length }}", "MAX_RANGE"),
    "huge repeat": ("{{ 'x' * 10**10 }}", "is not allowed"),
    "huge list repeat": ("{{ [0] * 10**9 }}", "is not allowed"),
    "huge exponent": ("{{ 10 ** (10**9) }}", "is not allowed"),
}


@pytest.mark.parametrize(("source", "expected"), list(RUNTIME_ESCAPES.values()), ids=list(RUNTIME_ESCAPES))
def test_runtime_escape_is_a_clear_template_error(source: str, expected: str | None) -> None:
    try:
        template = Template(source)
    except TemplateError as exc:
        assert expected is None or "is not allowed" in str(exc)
        return
    assert expected is not None, f"{source!r} should have been refused at compile time"
    with pytest.raises(TemplateError) as caught:
        template.evaluate(CONTEXT)
    assert expected in str(caught.value)
    assert str(caught.value).startswith(f"template {source!r}")


def test_legitimate_templates_still_work() -> None:
    assert Template("{{ last_record._id }}").evaluate(CONTEXT) == 7  # a JSON key with one underscore
    assert Template("{{ response.next }}").evaluate(CONTEXT) == "abc"
    assert Template("{{ response.get('paging', {}).get('next', {}) }}").evaluate(CONTEXT) == {}
    assert Template("{{ not response.get('paging') }}").evaluate(CONTEXT) is True
    assert Template("{{ range(3)|list }}").evaluate(CONTEXT) == [0, 1, 2]
    assert Template("{{ 'ab' * 3 }}").evaluate(CONTEXT) == "ababab"
    assert Template("{{ 2 ** 10 }}").evaluate(CONTEXT) == 1024
    assert Template("{{ '%s-%s'|format(1, 2) }}").evaluate(CONTEXT) == "1-2"
    assert Template("?page={{ last_page_size }}").evaluate(CONTEXT) == "?page=2"


def test_a_template_cannot_change_the_response_the_engine_reads() -> None:
    body = {"next": "abc", "items": [1]}
    with pytest.raises(TemplateError):
        Template("{{ response.pop('next') }}").evaluate({**CONTEXT, "response": body})
    assert body == {"next": "abc", "items": [1]}


# -- through the engine: a refused template fails its resource, after one request --------------


class OnePage:
    def __init__(self) -> None:
        self.calls = 0

    async def items(self, request: web.Request) -> web.Response:
        self.calls += 1
        return web.json_response({"data": [{"id": 1}], "next": "page2"})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/items", self.items)
        return app


@pytest.mark.parametrize("source", [
    "{{ response|attr('__cla' ~ 'ss__') }}",
    "{{ '{0.__class__.__base__}'.format(response) }}",
    "{{ open('/etc/passwd') }}",
])
def test_a_refused_template_fails_the_resource_with_a_clear_error(source: str) -> None:
    api = OnePage()
    with Server(api.app()) as server:
        spec = parse_source(cursor_config(source, base_url=server.url))
        with pytest.raises(ResponseError) as caught:
            asyncio.run(Engine(spec, {"items"}, ListSink()).run())
    message = str(caught.value)
    assert message.startswith("resource 'items': template ")
    assert "is not allowed" in message or "undefined" in message
    assert api.calls == 1  # no second request with whatever the template might have produced
