"""Manifests of our own for the differential tests against airbyte-cdk, and the loopback API
they read (`PatternAPI`). Each manifest is complete for the CDK (version, check, spec) and
reads its API's address from the config's `base`.

Records are small but not flat: `{"id", "name", "updatedAt", "meta": {"kind", "score"},
"tags": [...]}`, so dlt's normalisation (snake_case names, `meta__kind` columns, a
`<table>__tags` child table) is part of every comparison.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from aiohttp import web

START = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(hours=13)
TOKEN = "access-from-refresh"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def item(i: int, moment: datetime | None = None) -> dict[str, Any]:
    """One record: `updatedAt` 13 hours apart from 2024-01-01 (30 of them span 16 days)."""
    return {"id": i, "name": f"Item {i}", "updatedAt": stamp(moment or START + i * STEP),
            "meta": {"kind": "ab"[i % 2], "score": i * 1.5}, "tags": [f"t{i % 3}", "x"][: 1 + i % 2]}


@dataclass
class PatternAPI:
    """The routes every pattern reads; `hits` counts requests per path, `bodies` the JSON bodies."""

    count: int = 30
    origin: str = ""
    hits: Counter[str] = field(default_factory=Counter)
    bodies: list[Any] = field(default_factory=list)
    extra: list[dict[str, Any]] = field(default_factory=list)  # records added after a first read

    def records(self) -> list[dict[str, Any]]:
        return [item(i) for i in range(self.count)] + self.extra

    def _seen(self, request: web.Request) -> int:
        self.hits[request.path] += 1
        return self.hits[request.path]

    async def cursor(self, request: web.Request) -> web.Response:
        """`after` / `limit`: the next page as a full URL (`links.next`) and as a token."""
        self._seen(request)
        after, limit = int(request.query.get("after", 0)), int(request.query.get("limit", 7))
        more = after + limit < self.count
        nxt = f"{self.origin}/cursor?after={after + limit}&limit={limit}" if more else None
        return web.json_response({"data": self.records()[after:after + limit], "links": {"next": nxt},
                                  "next_cursor": str(after + limit) if more else None, "has_more": more})

    async def pages(self, request: web.Request) -> web.Response:
        self._seen(request)
        page, size = int(request.query.get("page", 1)), int(request.query.get("per_page", 10))
        return web.json_response({"items": self.records()[(page - 1) * size:page * size]})

    async def offset(self, request: web.Request) -> web.Response:
        self._seen(request)
        offset, limit = int(request.query.get("offset", 0)), int(request.query.get("limit", 10))
        return web.json_response({"data": self.records()[offset:offset + limit]})

    async def header_token(self, request: web.Request) -> web.Response:
        """The page token travels in the `X-Page` request header; the next one in the body."""
        self._seen(request)
        start = int(request.headers.get("X-Page", "0"))
        end = start + 8
        return web.json_response({"rows": self.records()[start:end], "next_page": str(end) if end < self.count else None})

    async def search(self, request: web.Request) -> web.Response:
        """POST, JSON body `{"kind": ..., "size": k, "cursor": n}`: a body token."""
        self._seen(request)
        body = await request.json()
        self.bodies.append(body)
        start, size = int(body.get("cursor") or 0), int(body.get("size") or 5)
        wanted = [r for r in self.records() if r["meta"]["kind"] == body.get("kind", r["meta"]["kind"])]
        end = start + size
        return web.json_response({"results": wanted[start:end], "next": end if end < len(wanted) else None})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cursor", self.cursor)
        app.router.add_get("/pages", self.pages)
        app.router.add_get("/offset", self.offset)
        app.router.add_get("/header_token", self.header_token)
        app.router.add_post("/search", self.search)
        return app


def manifest(streams: str, definitions: str = "", spec: str = "") -> dict[str, Any]:
    """A complete manifest (the CDK checks `version`, `check` and `spec`) around these streams
    (YAML, a list); `#/definitions/requester` points at the config's `base`."""
    text = textwrap.dedent("""
        version: 6.0.0
        type: DeclarativeSource
        check: {type: CheckStream, stream_names: [%s]}
        definitions:
          requester: {type: HttpRequester, url_base: "{{ config['base'] }}", http_method: GET, authenticator: {type: NoAuth}}
          schema: {type: InlineSchemaLoader, schema: {type: object, $schema: "http://json-schema.org/schema#", properties: {}}}
        %s
        streams:
        %s
        spec:
          type: Spec
          connection_specification:
            type: object
            $schema: http://json-schema.org/draft-07/schema#
            required: [base]
            properties:
              base: {type: string}
        %s
        """)
    streams = textwrap.dedent(streams)
    first = yaml.safe_load(streams)[0]["name"]
    return yaml.safe_load(text % (first, _indent(definitions, 2), _indent(streams, 2), _indent(spec, 6)))  # type: ignore[no-any-return]


def _indent(text: str, spaces: int) -> str:
    return textwrap.indent(textwrap.dedent(text), " " * spaces)


def stream(name: str, path: str, records: str, paginator: str = "{type: NoPagination}", *, extra: str = "",
           requester: str = "") -> str:
    """One stream (YAML) of `path` with records at `records`; `extra` adds stream-level YAML
    (incremental_sync, transformations), `requester` the requester's own fields."""
    return f"""
- type: DeclarativeStream
  name: {name}
  primary_key: [id]
  schema_loader: {{$ref: "#/definitions/schema"}}
  retriever:
    type: SimpleRetriever
    requester:
      $ref: "#/definitions/requester"
      path: {path}
{_indent(requester, 6)}
    record_selector: {{type: RecordSelector, extractor: {{type: DpathExtractor, field_path: [{records}]}}}}
    paginator: {" ".join(paginator.split())}
{_indent(extra, 2)}
"""


PAGINATORS = manifest(
    stream("next_url", "/cursor", "data", """
      {type: DefaultPaginator, page_token_option: {type: RequestPath},
       pagination_strategy: {type: CursorPagination, cursor_value: "{{ response.links.next }}",
                             stop_condition: "{{ response.links.next is none }}"}}""", requester="request_parameters: {limit: '6'}")
    + stream("token_param", "/cursor", "data", """
      {type: DefaultPaginator, page_token_option: {type: RequestOption, inject_into: request_parameter, field_name: after},
       page_size_option: {type: RequestOption, inject_into: request_parameter, field_name: limit},
       pagination_strategy: {type: CursorPagination, cursor_value: "{{ response.next_cursor }}", page_size: 8,
                             stop_condition: "{{ not response.has_more }}"}}""")
    + stream("page_increment", "/pages", "items", """
      {type: DefaultPaginator, page_token_option: {type: RequestOption, inject_into: request_parameter, field_name: page},
       page_size_option: {type: RequestOption, inject_into: request_parameter, field_name: per_page},
       pagination_strategy: {type: PageIncrement, page_size: 7, start_from_page: 1}}""")
    + stream("offset_increment", "/offset", "data", """
      {type: DefaultPaginator, page_token_option: {type: RequestOption, inject_into: request_parameter, field_name: offset},
       page_size_option: {type: RequestOption, inject_into: request_parameter, field_name: limit},
       pagination_strategy: {type: OffsetIncrement, page_size: 9}}""")
    + stream("body_token", "/search", "results", """
      {type: DefaultPaginator, page_token_option: {type: RequestOption, inject_into: body_json, field_name: cursor},
       pagination_strategy: {type: CursorPagination, cursor_value: "{{ response.next }}",
                             stop_condition: "{{ response.next is none }}"}}""",
             requester="http_method: POST\nrequest_body_json: {kind: a, size: 4}"))

HEADER_TOKEN = manifest(stream("header_token", "/header_token", "rows", """
    {type: DefaultPaginator, page_token_option: {type: RequestOption, inject_into: header, field_name: X-Page},
     pagination_strategy: {type: CursorPagination, cursor_value: "{{ response.next_page }}"}}"""))
