"""Manifests of our own for the differential tests against airbyte-cdk, and the loopback API
they read (`PatternAPI`). Each manifest is complete for the CDK (version, check, spec) and
reads its API's address from the config's `base`.

Records are small but not flat: `{"id", "name", "updatedAt", "meta": {"kind", "score"},
"tags": [...]}`, so dlt's normalisation (snake_case names, `meta__kind` columns, a
`<table>__tags` child table) is part of every comparison.
"""

from __future__ import annotations

import copy
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
    new_issues: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (project, issue) added later
    queries: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # the events' and projects' queries
    fresh: int = 0  # events 1..fresh hours before `now`, for a second read
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(minute=0, second=0, microsecond=0))

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

    # -- date windows: events dated back from `now`, 7 hours apart --------------------------
    def event(self, i: int, moment: datetime | None = None) -> dict[str, Any]:
        moment = moment or self.now - (i + 1) * timedelta(hours=7)
        return {**item(i, moment), "ts": int(moment.timestamp()), "ms": int(moment.timestamp()) * 1000, "day": moment.strftime("%Y-%m-%d")}

    def all_events(self) -> list[dict[str, Any]]:
        fresh = [self.event(900 + k, self.now - timedelta(hours=k)) for k in range(1, self.fresh + 1)]
        return [*(self.event(i) for i in range(self.count)), *fresh]

    async def events(self, request: web.Request) -> web.Response:
        """`start_time` / `end_time` both inclusive, compared with the path's cursor field:
        `updatedAt` (ISO), `ts` (epoch seconds), `ms` (epoch milliseconds), `day` (a date);
        /events_all ignores them (the client filters)."""
        self._seen(request)
        self.queries.append((request.path, dict(request.query)))
        name = {"/events_epoch": "ts", "/events_ms": "ms", "/events_days": "day"}.get(request.path, "updatedAt")
        bounds = [request.query.get(k) for k in ("start_time", "end_time")] if request.path != "/events_all" else [None, None]
        low, high = (None if b is None else _bound(name, b) for b in bounds)
        found = [e for e in self.all_events() if (low is None or _bound(name, e[name]) >= low) and (high is None or _bound(name, e[name]) <= high)]
        return web.json_response({"data": found})

    # -- more ways to page ------------------------------------------------------------------
    async def linked(self, request: web.Request) -> web.Response:
        """A bare list, the next page in the Link header."""
        self._seen(request)
        page = int(request.query.get("p", 1))
        headers = {"Link": f'<{self.origin}/linked?p={page + 1}>; rel="next"'} if page * 9 < self.count else {}
        return web.json_response(self.records()[(page - 1) * 9:page * 9], headers=headers)

    async def relative(self, request: web.Request) -> web.Response:
        """The next page as a path relative to the host, in the body."""
        self._seen(request)
        page = int(request.query.get("page", 0))
        nxt = f"/relative?page={page + 1}" if (page + 1) * 11 < self.count else None
        return web.json_response({"data": self.records()[page * 11:(page + 1) * 11], "next": nxt})

    async def grouped(self, request: web.Request) -> web.Response:
        """Records nested in groups (`groups.*.members.*`) and keyed by id (`by_id.*`), one page."""
        self._seen(request)
        records = self.records()
        return web.json_response({"groups": [{"name": f"g{g}", "members": records[g::4]} for g in range(4)],
                                  "by_id": {str(r["id"]): r for r in records}})

    async def after_id(self, request: web.Request) -> web.Response:
        """Keyset paging: up to `limit` records with an id above `after_id`."""
        self._seen(request)
        after, limit = int(request.query.get("after_id", -1)), int(request.query.get("limit", 8))
        return web.json_response({"data": [r for r in self.records() if r["id"] > after][:limit]})

    async def zero_pages(self, request: web.Request) -> web.Response:
        """0-based pages of `size` in the JSON body (POST)."""
        self._seen(request)
        body = await request.json()
        page, size = int(body.get("page", 0)), int(body.get("size", 10))
        return web.json_response({"items": self.records()[page * size:(page + 1) * size]})

    async def search_events(self, request: web.Request) -> web.Response:
        """POST: the window in the JSON body (`range.gte` / `range.lte`), the project too."""
        self._seen(request)
        body = await request.json()
        self.bodies.append(body)
        low, high = (_bound("updatedAt", body[k]) for k in ("gte", "lte"))
        found = [e for e in self.all_events() if low <= _bound("updatedAt", e["updatedAt"]) <= high]
        return web.json_response({"data": [{**e, "project": body.get("project")} for e in found]})

    # -- parents and children ---------------------------------------------------------------
    def projects(self) -> list[dict[str, Any]]:
        bumped = {p for p, issue in self.new_issues if not issue.get("quiet")}
        return [{"id": p, "name": f"Project {p}", "updatedAt": stamp(START + timedelta(days=p + (40 if p in bumped else 0)))}
                for p in range(1, 5)]

    def issues(self, project: int) -> list[dict[str, Any]]:
        own = [{"id": project * 100 + j, "title": f"Issue {j}", "updatedAt": stamp(START + timedelta(days=project, hours=5 * j)),
                "labels": [{"name": f"l{j % 2}"}]} for j in range(project + 1)]
        return own + [issue for p, issue in self.new_issues if p == project]

    async def project_list(self, request: web.Request) -> web.Response:
        self._seen(request)
        self.queries.append((request.path, dict(request.query)))
        since = request.query.get("updated_since", "")
        return web.json_response({"projects": [p for p in self.projects() if p["updatedAt"] >= since]})

    async def project_issues(self, request: web.Request) -> web.Response:
        self._seen(request)
        since = request.query.get("since", "")
        found = [i for i in self.issues(int(request.match_info["id"])) if i["updatedAt"] >= since]
        return web.json_response({"issues": found})

    def add_issue(self, project: int, quiet: bool = False) -> None:
        """A new issue on `project`, for a second, incremental read: the project is updated
        with it, unless `quiet` (the issue then says so)."""
        n = len(self.new_issues)
        self.new_issues.append((project, {"id": 900 + n, "title": f"New {n}", "updatedAt": stamp(START + timedelta(days=40, hours=n)),
                                          "labels": [], **({"quiet": True} if quiet else {})}))

    async def stores(self, request: web.Request) -> web.Response:
        self._seen(request)
        region = request.query.get("region", "")
        return web.json_response({"stores": [{"id": f"{region}-{i}", "city": f"{region.title()} {i}"} for i in range(len(region))]})

    # -- errors and auth --------------------------------------------------------------------
    async def thing(self, request: web.Request) -> web.Response:
        """/things/2 is a 404, /things/3 a 403; the others two records each."""
        self._seen(request)
        n = int(request.match_info["id"])
        if n in (2, 3):
            return web.json_response({"error": "no"}, status={2: 404, 3: 403}[n])
        return web.json_response({"data": [{"id": n * 10 + j, "thing": n} for j in range(2)]})

    async def every_other(self, request: web.Request) -> web.Response:
        """Odd requests fail (/flaky: 500, /limited: 429 with Retry-After: 1), even ones answer:
        each reader's first request fails, its retry succeeds."""
        if self._seen(request) % 2:
            limited = request.path == "/limited"
            return web.json_response({"error": "later"}, status=429 if limited else 500, headers={"Retry-After": "1"} if limited else {})
        return web.json_response({"data": self.records()[:5]})

    async def broken(self, request: web.Request) -> web.Response:
        self._seen(request)
        return web.json_response({"error": "bad request"}, status=400)

    async def token(self, request: web.Request) -> web.Response:
        self._seen(request)
        self.bodies.append(dict(await request.post()))
        return web.json_response({"access_token": TOKEN, "expires_in": 3600})

    async def secure(self, request: web.Request) -> web.Response:
        self._seen(request)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"data": self.records()[:4]})

    # -- shapes, auth kinds, request options, a grandchild ----------------------------------
    async def shapes(self, request: web.Request) -> web.Response:
        """Names dlt rewrites, NULLs, a type that drifts, lists of lists, deep dicts, booleans."""
        self._seen(request)
        return web.json_response({"data": [
            {"User ID": i, "org-id": i % 2, "createdAt": stamp(START + i * STEP), "value": None if i % 3 == 0 else i,
             "amount": "12.50" if i % 2 else 12.5, "matrix": [[i, i + 1], [i + 2]], "flag": i % 4 == 0,
             "nested": {"deep": {"er": i, "list": [{"k": i}]}}, "ÜberFeld": f"x{i}"} for i in range(12)]})

    async def authed(self, request: web.Request) -> web.Response:
        """/auth/<kind>: answers only with the credential that kind sends."""
        self._seen(request)
        kind = request.match_info["kind"]
        wanted = {"basic": ("Authorization", "Basic dXNlcjpwdw=="), "key_header": ("X-Api-Key", "k-123"),
                  "session": ("X-Session", "sess-1"), "selective": ("X-Api-Key", "k-123"),
                  "bearer": ("Authorization", "Bearer k-123"), "client_credentials": ("Authorization", f"Bearer {TOKEN}")}
        ok = request.query.get("api_key") == "k-123" if kind == "key_query" else request.headers.get(wanted[kind][0]) == wanted[kind][1]
        if not ok:
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"data": [{"id": i, "kind": kind, "tenant": request.headers.get("X-Tenant")} for i in range(3)]})

    async def login(self, request: web.Request) -> web.Response:
        self._seen(request)
        self.bodies.append(await request.json())
        return web.json_response({"auth": {"token": "sess-1"}})

    async def form(self, request: web.Request) -> web.Response:
        """POST a form: the records echo what the form said."""
        self._seen(request)
        form = dict(await request.post())
        return web.json_response({"data": [{"id": i, **form} for i in range(int(form.get("n", 2)))]})

    async def orgs(self, request: web.Request) -> web.Response:
        self._seen(request)
        page = int(request.query.get("page", 1))
        return web.json_response({"orgs": [{"id": f"o{n}", "name": f"Org {n}"} for n in range(1, 4)][(page - 1) * 2:page * 2]})

    async def teams(self, request: web.Request) -> web.Response:
        """/teams?org=oN: two teams per org."""
        self._seen(request)
        org = request.query["org"]
        return web.json_response({"teams": [{"id": f"{org}-t{t}", "org": org} for t in range(2)]})

    async def members(self, request: web.Request) -> web.Response:
        """A team's members, under its own org only (another org's path is a 404)."""
        self._seen(request)
        org, team = request.match_info["org"], request.match_info["team"]
        if not team.startswith(f"{org}-"):
            return web.json_response({"error": "no such team in this org"}, status=404)
        return web.json_response({"members": [{"id": f"{team}-m{m}", "role": "admin" if m == 0 else "user"} for m in range(3)]})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/shapes", self.shapes)
        app.router.add_get("/auth/{kind}", self.authed)
        app.router.add_post("/form", self.form)
        app.router.add_post("/login", self.login)
        app.router.add_get("/orgs", self.orgs)
        app.router.add_get("/teams", self.teams)
        app.router.add_get("/orgs/{org}/teams/{team}/members", self.members)
        app.router.add_get("/things/{id}", self.thing)
        app.router.add_get("/flaky", self.every_other)
        app.router.add_get("/limited", self.every_other)
        app.router.add_get("/broken", self.broken)
        app.router.add_post("/oauth/token", self.token)
        app.router.add_get("/secure", self.secure)
        app.router.add_get("/cursor", self.cursor)
        app.router.add_get("/pages", self.pages)
        app.router.add_get("/offset", self.offset)
        app.router.add_get("/header_token", self.header_token)
        app.router.add_post("/search", self.search)
        for path in ("/events", "/events_epoch", "/events_ms", "/events_days", "/events_all"):
            app.router.add_get(path, self.events)
        app.router.add_get("/linked", self.linked)
        app.router.add_post("/search_events", self.search_events)
        app.router.add_get("/relative", self.relative)
        app.router.add_get("/grouped", self.grouped)
        app.router.add_get("/after_id", self.after_id)
        app.router.add_post("/zero_pages", self.zero_pages)
        app.router.add_get("/projects", self.project_list)
        app.router.add_get("/projects/{id}/issues", self.project_issues)
        app.router.add_get("/stores", self.stores)
        return app


def _bound(name: str, value: Any) -> Any:
    """A bound or a cursor value, comparable: epochs as numbers, dates and datetimes parsed."""
    if name in ("ts", "ms"):
        return int(value)
    return datetime.fromisoformat(value) if name == "updatedAt" else value


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

ISO = "%Y-%m-%dT%H:%M:%SZ"


def dated(name: str, path: str, cursor: str, *, extra: str = "") -> str:
    """A stream of `path` (records at `data`) with this DatetimeBasedCursor (YAML fields)."""
    return stream(name, path, "data", extra=f"incremental_sync:\n  type: DatetimeBasedCursor\n{_indent(cursor, 2)}{extra}")


WINDOWS = manifest(
    dated("events", "/events", f"""
        cursor_field: updatedAt
        datetime_format: "{ISO}"
        start_datetime: {{type: MinMaxDatetime, datetime: "{{{{ config['start'] }}}}", datetime_format: "{ISO}"}}
        end_datetime: {{type: MinMaxDatetime, datetime: "{{{{ now_utc().strftime('{ISO}') }}}}", datetime_format: "{ISO}"}}
        step: P2D
        cursor_granularity: PT1S
        lookback_window: P1D
        start_time_option: {{type: RequestOption, inject_into: request_parameter, field_name: start_time}}
        end_time_option: {{type: RequestOption, inject_into: request_parameter, field_name: end_time}}
    """)
    + dated("events_epoch", "/events_epoch", f"""
        cursor_field: ts
        datetime_format: "%s"
        start_datetime: {{type: MinMaxDatetime, datetime: "{{{{ config['start'] }}}}", datetime_format: "{ISO}"}}
        step: P3D
        cursor_granularity: PT1S
        start_time_option: {{type: RequestOption, inject_into: request_parameter, field_name: start_time}}
        end_time_option: {{type: RequestOption, inject_into: request_parameter, field_name: end_time}}
    """)
    + dated("events_all", "/events_all", f"""
        cursor_field: updatedAt
        datetime_format: "{ISO}"
        start_datetime: {{type: MinMaxDatetime, datetime: "{{{{ config['start'] }}}}", datetime_format: "{ISO}"}}
        is_client_side_incremental: true
    """),
    spec="start: {type: string}",
)


def _project_cursor(since: str) -> str:
    return f"""
        incremental_sync:
          type: DatetimeBasedCursor
          cursor_field: updatedAt
          datetime_format: "{ISO}"
          start_datetime: {{type: MinMaxDatetime, datetime: "{{{{ config['start'] }}}}", datetime_format: "{ISO}"}}
          start_time_option: {{type: RequestOption, inject_into: request_parameter, field_name: {since}}}
    """


def routed(raw: dict[str, Any], name: str, router: str) -> dict[str, Any]:
    """The manifest with this partition_router (YAML) on stream `name`."""
    for each in raw["streams"]:
        if each["name"] == name:
            each["retriever"]["partition_router"] = yaml.safe_load(textwrap.dedent(router))
    return raw


SUBSTREAMS = routed(manifest(
    stream("projects", "/projects", "projects", extra=_project_cursor("updated_since"))
    + stream("issues", '"/projects/{{ stream_partition.project_id }}/issues"', "issues", extra=_project_cursor("since") + """
        transformations:
          - {type: AddFields, fields: [{path: [project_id], value: "{{ stream_partition.project_id }}"}]}
    """), spec="start: {type: string}"), "issues", """
    type: SubstreamPartitionRouter
    parent_stream_configs:
      - {type: ParentStreamConfig, stream: {$ref: "#/streams/0"}, parent_key: id, partition_field: project_id, incremental_dependency: true}
    """)

LISTS = routed(manifest(stream("stores", "/stores", "stores", extra="""
    transformations:
      - {type: AddFields, fields: [{path: [region], value: "{{ stream_partition.region }}"}]}
    """)), "stores", """
    type: ListPartitionRouter
    cursor_field: region
    values: [north, south, east]
    request_option: {type: RequestOption, inject_into: request_parameter, field_name: region}
    """)


def _handler(filters: str, backoff: str = "") -> str:
    return f"error_handler: {{type: DefaultErrorHandler, max_retries: 3, response_filters: {filters}{backoff}}}"


ERRORS = routed(manifest(
    stream("ignored", '"/things/{{ stream_partition.thing }}"', "data",
           requester=_handler("[{type: HttpResponseFilter, action: IGNORE, http_codes: [404, 403]}]"))
    + stream("retried", "/flaky", "data", requester=_handler(
        "[{type: HttpResponseFilter, action: RETRY, http_codes: [500]}]",
        ", backoff_strategies: [{type: ConstantBackoffStrategy, backoff_time_in_seconds: 0.2}]"))
    + stream("limited", "/limited", "data", requester=_handler(
        "[{type: HttpResponseFilter, action: RATE_LIMITED, http_codes: [429]}]",
        ", backoff_strategies: [{type: WaitTimeFromHeader, header: Retry-After}]"))
), "ignored", """
    type: ListPartitionRouter
    cursor_field: thing
    values: ["1", "2", "3", "4"]
    """)

FAILING = manifest(stream("failing", "/broken", "data", requester=_handler(
    "[{type: HttpResponseFilter, action: FAIL, http_codes: [400], error_message: the API refused the request}]")))

OAUTH = manifest(stream("secured", "/secure", "data", requester="""
    authenticator:
      type: OAuthAuthenticator
      token_refresh_endpoint: "{{ config['base'] }}/oauth/token"
      client_id: "{{ config['client_id'] }}"
      client_secret: "{{ config['client_secret'] }}"
      refresh_token: "{{ config['refresh_token'] }}"
    """), spec="client_id: {type: string}\nclient_secret: {type: string, airbyte_secret: true}\n"
                "refresh_token: {type: string, airbyte_secret: true}")

SELECTED = manifest(stream("selected", "/offset", "data", requester="request_parameters: {limit: '30'}", extra="""
    transformations:
      - type: AddFields
        fields:
          - {path: [label], value: "{{ record['name'] | upper }}"}
          - {path: [origin, source], value: "{{ config['source'] }}"}
          - {path: [double], value: "{{ record.meta.score * 2 }}"}
      - type: RemoveFields
        field_pointers: [[tags], [meta, kind]]
    """).replace("field_path: [data]}}", """field_path: [data]},
                     record_filter: {type: RecordFilter, condition: "{{ record['meta']['kind'] == 'a' and record.id > 4 }}"}}"""),
    spec="source: {type: string}")
SELECTED["streams"] += manifest(stream("filtered_pages", "/pages", "items", """
    {type: DefaultPaginator, page_token_option: {type: RequestOption, inject_into: request_parameter, field_name: page},
     page_size_option: {type: RequestOption, inject_into: request_parameter, field_name: per_page},
     pagination_strategy: {type: PageIncrement, page_size: 7, start_from_page: 1}}""").replace("field_path: [items]}}", """field_path: [items]},
                   record_filter: {type: RecordFilter, condition: "{{ record.id % 3 == 0 }}"}}"""))["streams"]

# No stop_condition: on the last page `headers['link']['next']` is undefined and `['url']` of it
# is an error in the CDK (its Jinja is lenient one level deep only); sluice reads it as the end.
LINK_NO_STOP = manifest(stream("link_no_stop", "/linked", "", """
    {type: DefaultPaginator, page_token_option: {type: RequestPath},
     pagination_strategy: {type: CursorPagination, cursor_value: "{{ headers['link']['next']['url'] }}"}}"""))

MORE_PAGING = manifest(
    stream("link_header", "/linked", "", """
      {type: DefaultPaginator, page_token_option: {type: RequestPath},
       pagination_strategy: {type: CursorPagination, cursor_value: "{{ headers['link']['next']['url'] }}",
                             stop_condition: "{{ 'next' not in headers['link'] }}"}}""")
    + stream("relative_path", "/relative", "data", """
      {type: DefaultPaginator, page_token_option: {type: RequestPath},
       pagination_strategy: {type: CursorPagination, cursor_value: "{{ response.next }}", stop_condition: "{{ not response.next }}"}}""")
    + stream("wildcard_lists", "/grouped", "groups, '*', members, '*'")
    + stream("wildcard_dict", "/grouped", "by_id, '*'")
    + stream("keyset", "/after_id", "data", """
      {type: DefaultPaginator, page_token_option: {type: RequestOption, inject_into: request_parameter, field_name: after_id},
       page_size_option: {type: RequestOption, inject_into: request_parameter, field_name: limit},
       pagination_strategy: {type: CursorPagination, cursor_value: "{{ last_record['id'] }}", page_size: 8,
                             stop_condition: "{{ last_page_size < 8 }}"}}""")
    + stream("zero_based", "/zero_pages", "items", """
      {type: DefaultPaginator, page_token_option: {type: RequestOption, inject_into: body_json, field_name: page},
       page_size_option: {type: RequestOption, inject_into: body_json, field_name: size},
       pagination_strategy: {type: PageIncrement, page_size: 6, start_from_page: 0, inject_on_first_request: true}}""",
             requester="http_method: POST")
)

EPOCHS = manifest(
    dated("events_ms", "/events_ms", f"""
        cursor_field: ms
        datetime_format: "%ms"
        start_datetime: {{type: MinMaxDatetime, datetime: "{{{{ config['start'] }}}}", datetime_format: "{ISO}"}}
        start_time_option: {{type: RequestOption, inject_into: request_parameter, field_name: start_time}}
        end_time_option: {{type: RequestOption, inject_into: request_parameter, field_name: end_time}}
    """)
    + dated("events_days", "/events_days", f"""
        cursor_field: day
        datetime_format: "%Y-%m-%d"
        start_datetime: {{type: MinMaxDatetime, datetime: "{{{{ config['start'] }}}}", datetime_format: "{ISO}"}}
        start_time_option: {{type: RequestOption, inject_into: request_parameter, field_name: start_time}}
    """)
    + dated("events_reformatted", "/events", """
        cursor_field: updatedAt
        datetime_format: "%Y-%m-%dT%H:%M:%S.%fZ"
        cursor_datetime_formats: ["%Y-%m-%dT%H:%M:%SZ"]
        start_datetime: {type: MinMaxDatetime, datetime: "{{ config['start'] }}", datetime_format: "%Y-%m-%dT%H:%M:%SZ"}
        step: P4D
        cursor_granularity: PT0.000001S
        start_time_option: {type: RequestOption, inject_into: request_parameter, field_name: start_time}
        end_time_option: {type: RequestOption, inject_into: request_parameter, field_name: end_time}
    """),
    spec="start: {type: string}",
)

SHAPES = manifest(
    stream("shapes", "/shapes", "data").replace("primary_key: [id]", 'primary_key: ["org-id", "User ID"]')
    + stream("keyless", "/shapes", "data").replace("  primary_key: [id]\n", "")
    + stream("form_body", "/form", "data", requester="""
        http_method: POST
        request_body_data: {n: "{{ config['n'] }}", label: "{{ config['label'] }}"}
        request_headers: {X-Tenant: "{{ config['tenant'] }}"}
    """),
    spec="n: {type: string}\nlabel: {type: string}\ntenant: {type: string}",
)


def _auth(kind: str, authenticator: str) -> str:
    """A stream of /auth/<kind> with this authenticator (flow YAML, or a block)."""
    block = authenticator if "\n" not in authenticator else "\n" + _indent(authenticator, 2)
    return stream(kind, f"/auth/{kind}", "data", requester=f"request_headers: {{X-Tenant: acme}}\nauthenticator: {block}")


AUTHS = manifest(
    _auth("basic", "{type: BasicHttpAuthenticator, username: user, password: \"{{ config['password'] }}\"}")
    + _auth("key_header", "{type: ApiKeyAuthenticator, api_token: \"{{ config['key'] }}\", "
            "inject_into: {type: RequestOption, inject_into: header, field_name: X-Api-Key}}")
    + _auth("key_query", "{type: ApiKeyAuthenticator, api_token: \"{{ config['key'] }}\", "
            "inject_into: {type: RequestOption, inject_into: request_parameter, field_name: api_key}}")
    + _auth("bearer", "{type: BearerAuthenticator, api_token: \"{{ config['key'] }}\"}")
    + _auth("client_credentials", "{type: OAuthAuthenticator, grant_type: client_credentials, "
            "token_refresh_endpoint: \"{{ config['base'] }}/oauth/token\", client_id: cid, client_secret: \"{{ config['password'] }}\"}")
    + _auth("session", """
        type: SessionTokenAuthenticator
        login_requester:
          type: HttpRequester
          url_base: "{{ config['base'] }}"
          path: /login
          http_method: POST
          request_body_json: {user: "{{ config['user'] }}", password: "{{ config['password'] }}"}
        session_token_path: [auth, token]
        expiration_duration: PT1H
        request_authentication: {type: ApiKey, inject_into: {type: RequestOption, inject_into: header, field_name: X-Session}}
        """)
    + _auth("selective", """
        type: SelectiveAuthenticator
        authenticator_selection_path: [credentials, auth_type]
        authenticators:
          key: {type: ApiKeyAuthenticator, api_token: "{{ config['key'] }}", inject_into: {type: RequestOption, inject_into: header, field_name: X-Api-Key}}
          basic: {type: BasicHttpAuthenticator, username: user, password: "{{ config['password'] }}"}
        """),
    spec="password: {type: string, airbyte_secret: true}\nkey: {type: string, airbyte_secret: true}\nuser: {type: string}\n"
         "credentials: {type: object}",
)

GRANDCHILDREN = routed(routed(manifest(
    stream("orgs", "/orgs", "orgs", """
      {type: DefaultPaginator, page_token_option: {type: RequestOption, inject_into: request_parameter, field_name: page},
       pagination_strategy: {type: PageIncrement, page_size: 2, start_from_page: 1}}""")
    + stream("teams", "/teams", "teams")
    + stream("members", '"/orgs/{{ stream_partition.org }}/teams/{{ stream_partition.team }}/members"', "members",
             requester=_handler("[{type: HttpResponseFilter, action: IGNORE, http_codes: [404]}]"), extra="""
        transformations:
          - {type: AddFields, fields: [{path: [team], value: "{{ stream_partition.team }}"}]}
        """)
), "teams", """
    type: SubstreamPartitionRouter
    parent_stream_configs:
      - {type: ParentStreamConfig, stream: {$ref: "#/streams/0"}, parent_key: id, partition_field: org,
         request_option: {type: RequestOption, inject_into: request_parameter, field_name: org}}
    """), "members", """
    - type: SubstreamPartitionRouter
      parent_stream_configs: [{type: ParentStreamConfig, stream: {$ref: "#/streams/0"}, parent_key: id, partition_field: org}]
    - type: SubstreamPartitionRouter
      parent_stream_configs: [{type: ParentStreamConfig, stream: {$ref: "#/streams/1"}, parent_key: id, partition_field: team}]
    """)


PRODUCT = routed(manifest(
    stream("orgs", "/orgs", "orgs", """
      {type: DefaultPaginator, page_token_option: {type: RequestOption, inject_into: request_parameter, field_name: page},
       pagination_strategy: {type: PageIncrement, page_size: 2, start_from_page: 1}}""")
    + stream("org_admins", '"/orgs/{{ stream_partition.org }}/teams/{{ stream_partition.org }}-t0/members"', "members",
             extra="""
        transformations:
          - {type: AddFields, fields: [{path: [region], value: "{{ stream_partition.region }}"}]}
        """)
), "org_admins", """
    - type: ListPartitionRouter
      cursor_field: region
      values: [north, south]
      request_option: {type: RequestOption, inject_into: request_parameter, field_name: region}
    - type: SubstreamPartitionRouter
      parent_stream_configs: [{type: ParentStreamConfig, stream: {$ref: "#/streams/0"}, parent_key: id, partition_field: org}]
    """)
PRODUCT["streams"][1]["primary_key"] = ["id", "region"]  # the same members under each region


def independent(raw: dict[str, Any]) -> dict[str, Any]:
    """SUBSTREAMS with the child's `incremental_dependency` false (the CDK's default)."""
    copied = copy.deepcopy(raw)
    copied["streams"][1]["retriever"]["partition_router"]["parent_stream_configs"][0]["incremental_dependency"] = False
    return copied

BODY_WINDOWS = manifest(
    dated("events_in_body", "/search_events", f"""
        cursor_field: updatedAt
        datetime_format: "{ISO}"
        start_datetime: {{type: MinMaxDatetime, datetime: "{{{{ config['start'] }}}}", datetime_format: "{ISO}"}}
        end_datetime: {{type: MinMaxDatetime, datetime: "{{{{ now_utc().strftime('{ISO}') }}}}", datetime_format: "{ISO}"}}
        step: P1D
        cursor_granularity: PT1S
        start_time_option: {{type: RequestOption, inject_into: body_json, field_name: gte}}
        end_time_option: {{type: RequestOption, inject_into: body_json, field_name: lte}}
    """).replace("path: /search_events", "path: /search_events\n      http_method: POST\n      request_body_json: {project: p-1}"),
    spec="start: {type: string}",
)

# The CDK's windows end one `cursor_granularity` before the next starts (both bounds sent are
# inclusive); sluice's are [start, next start): an API that includes its end sends the
# boundary day twice.
DAY_WINDOWS = manifest(
    dated("day_windows", "/events_days", f"""
        cursor_field: day
        datetime_format: "%Y-%m-%d"
        start_datetime: {{type: MinMaxDatetime, datetime: "{{{{ config['start'] }}}}", datetime_format: "{ISO}"}}
        step: P2D
        cursor_granularity: P1D
        start_time_option: {{type: RequestOption, inject_into: request_parameter, field_name: start_time}}
        end_time_option: {{type: RequestOption, inject_into: request_parameter, field_name: end_time}}
    """),
    spec="start: {type: string}",
)
