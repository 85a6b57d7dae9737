"""Airbyte manifests of our own, run by `sluice.airbyte.manifest_source` through a dlt
pipeline into DuckDB against the loopback PagingAPI: each paginator kind, substreams,
list partitions, auth, filters, transformations, error handlers, a date cursor."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
import yaml
from aiohttp import web
from apis import Server

from sluice import ConfigError
from sluice.airbyte import manifest_source

_runs = itertools.count()


def manifest(streams: str, definitions: str = "") -> dict[str, Any]:
    """A manifest whose `requester` definition points at the config's `base`."""
    text = textwrap.dedent("""
        version: 6.0.0
        type: DeclarativeSource
        definitions:
          requester:
            type: HttpRequester
            url_base: "{{ config['base'] }}"
            authenticator: {type: NoAuth}
          selector:
            type: RecordSelector
            extractor: {type: DpathExtractor, field_path: ["{{ parameters.records }}"]}
        %s
        streams:
        %s
        spec:
          connection_specification:
            properties:
              base: {type: string}
              token: {type: string, airbyte_secret: true}
              start: {type: string, default: "2024-01-10T00:00:00Z"}
        """) % (textwrap.indent(textwrap.dedent(definitions), "  "), textwrap.indent(textwrap.dedent(streams), "  "))
    return yaml.safe_load(text)  # type: ignore[no-any-return]


def run(source: Any, tmp: Path) -> Path:
    n = next(_runs)
    file = tmp / f"ab{n}.duckdb"
    pipeline = dlt.pipeline(f"ab{n}", destination=dlt.destinations.duckdb(str(file)), dataset_name="data",
                            pipelines_dir=str(tmp / f"pipes{n}"))
    pipeline.run(source)
    return file


def query(file: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(file), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def ids(file: Path, table: str) -> list[int]:
    return [r[0] for r in query(file, f"select id from data.{table} order by id")]


PAGES = """
- type: DeclarativeStream
  name: pages
  primary_key: [id]
  $parameters: {records: items}
  retriever:
    type: SimpleRetriever
    requester: {$ref: "#/definitions/requester", path: /page_number}
    record_selector: {$ref: "#/definitions/selector"}
    paginator:
      type: DefaultPaginator
      page_token_option: {type: RequestOption, inject_into: request_parameter, field_name: page}
      page_size_option: {inject_into: request_parameter, field_name: per_page}
      pagination_strategy: {type: PageIncrement, page_size: 10, start_from_page: 1}
"""


def test_page_increment_with_parameters_and_refs(api, tmp_path):
    file = run(manifest_source(manifest(PAGES), {"base": api.origin}), tmp_path)
    assert ids(file, "pages") == list(range(25))
    assert [r.query for r in api.log] == [{"per_page": "10", "page": str(p)} for p in (1, 2, 3)]


def test_offset_increment(api, tmp_path):
    streams = """
    - type: DeclarativeStream
      name: offsets
      primary_key: id
      retriever:
        type: SimpleRetriever
        requester: {$ref: "#/definitions/requester", path: /offset}
        record_selector: {extractor: {field_path: [data]}}
        paginator:
          type: DefaultPaginator
          page_token_option: {type: RequestOption, inject_into: request_parameter, field_name: offset}
          page_size_option: {type: RequestOption, inject_into: request_parameter, field_name: limit}
          pagination_strategy: {type: OffsetIncrement, page_size: "{{ config.get('size', 7) }}"}
    """
    file = run(manifest_source(manifest(streams), {"base": api.origin}), tmp_path)
    assert ids(file, "offsets") == list(range(25))
    assert [r.query["offset"] for r in api.log] == ["0", "7", "14", "21"]


def paged(name: str, path: str, records: str, paginator: str) -> str:
    """One stream of the requester at `path`, its records at `records`, with this paginator."""
    return f"""
    - type: DeclarativeStream
      name: {name}
      primary_key: [id]
      retriever:
        type: SimpleRetriever
        requester: {{$ref: "#/definitions/requester", path: {path}}}
        record_selector: {{extractor: {{field_path: [{records}]}}}}
        paginator: {" ".join(paginator.split())}
    """


def test_cursor_pagination_token_and_stop_condition(api, tmp_path):
    streams = paged("cursored", "/cursor", "results", """
      {type: DefaultPaginator, page_token_option: {type: RequestOption, inject_into: request_parameter, field_name: cursor},
       pagination_strategy: {type: CursorPagination, cursor_value: "{{ response.cursors.next }}",
                             stop_condition: "{{ not response.cursors.next }}"}}""")
    file = run(manifest_source(manifest(streams), {"base": api.origin}), tmp_path)
    assert ids(file, "cursored") == list(range(25))
    assert [r.query.get("cursor") for r in api.log] == [None, "10", "20"]


def test_cursor_pagination_next_url_as_request_path(api, tmp_path):
    streams = paged("linked", "/json_link", "data", """
      {type: DefaultPaginator, page_token_option: {type: RequestPath},
       pagination_strategy: {type: CursorPagination, cursor_value: "{{ response.paging.next }}"}}""")
    file = run(manifest_source(manifest(streams), {"base": api.origin}), tmp_path)
    assert ids(file, "linked") == list(range(25))
    assert [r.query.get("p") for r in api.log] == [None, "2", "3"]


def test_cursor_from_the_link_header_stops_where_the_link_ends(api, tmp_path):
    # no stop_condition: on the last page `headers['link']['next']` is undefined, which the
    # CDK's lenient Jinja reads as empty (the end), not as an error
    streams = paged("linked", "/links", "", """
      {type: DefaultPaginator, page_token_option: {type: RequestPath},
       pagination_strategy: {type: CursorPagination, cursor_value: "{{ headers['link']['next']['url'] }}"}}""")
    file = run(manifest_source(manifest(streams), {"base": api.origin}), tmp_path)
    assert ids(file, "linked") == list(range(25))
    assert [r.query.get("p") for r in api.log] == [None, "2", "3"]


CHILDREN = PAGES + """
- type: DeclarativeStream
  name: children
  retriever:
    type: SimpleRetriever
    requester:
      $ref: "#/definitions/requester"
      path: "/parents/{{ stream_partition.parent_id }}/children"
      error_handler:
        type: DefaultErrorHandler
        response_filters: [{type: HttpResponseFilter, action: IGNORE, http_codes: [404]}]
    record_selector: {extractor: {field_path: [data]}}
    partition_router:
      type: SubstreamPartitionRouter
      parent_stream_configs:
        - {type: ParentStreamConfig, parent_key: id, partition_field: parent_id, stream: {$ref: "#/streams/0"}}
  transformations:
    - type: AddFields
      fields: [{path: [owner], value: "{{ stream_partition.parent_id }}"}, {path: [tag, label], value: "c{{ record.child }}"}]
    - type: RemoveFields
      field_pointers: [[parent]]
"""


def test_substream_with_added_parent_key_and_ignored_404(api, tmp_path):
    file = run(manifest_source(manifest(CHILDREN), {"base": api.origin}), tmp_path)
    expected = sorted((p, j) for p in range(25) if p % 4 != 3 for j in range(p % 3))
    assert query(file, "select owner, child from data.children order by 1, 2") == expected
    columns = {r[0] for r in query(file, "select column_name from information_schema.columns where table_name = 'children'")}
    assert {"owner", "tag__label", "child"} <= columns and not {"parent", "_pages_id"} & columns


def test_hidden_parent_is_fetched_not_loaded(api, tmp_path):
    raw = manifest(CHILDREN)
    raw["definitions"]["pages"] = raw["streams"][0]
    raw["streams"] = [{**raw["streams"][1]}]
    raw["streams"][0]["retriever"]["partition_router"]["parent_stream_configs"][0]["stream"] = {"$ref": "#/definitions/pages"}
    file = run(manifest_source(raw, {"base": api.origin}), tmp_path)
    tables = {r[0] for r in query(file, "select table_name from information_schema.tables where table_schema = 'data'")}
    assert "children" in tables and "pages" not in tables


def test_list_partitions_write_one_table(api, tmp_path):
    streams = """
    - type: DeclarativeStream
      name: kinds
      retriever:
        type: SimpleRetriever
        requester: {$ref: "#/definitions/requester", path: /offset}
        record_selector:
          extractor: {field_path: [data]}
          record_filter: {condition: "{{ record.group == 1 }}"}
        partition_router:
          type: ListPartitionRouter
          cursor_field: kind
          values: ["a", "b"]
          request_option: {type: RequestOption, inject_into: request_parameter, field_name: kind}
        paginator:
          type: DefaultPaginator
          page_token_option: {type: RequestOption, inject_into: request_parameter, field_name: offset}
          pagination_strategy: {type: OffsetIncrement, page_size: 10}
      transformations:
        - {type: AddFields, fields: [{path: [kind], value: "{{ stream_partition.kind }}"}]}
    """
    file = run(manifest_source(manifest(streams), {"base": api.origin}), tmp_path)
    rows = query(file, "select kind, id from data.kinds order by 1, 2")
    group_one = [i for i in range(25) if i % 3 == 1]
    assert rows == [("a", i) for i in group_one] + [("b", i) for i in group_one]
    assert {r.query["kind"] for r in api.log} == {"a", "b"}


def test_a_product_of_two_lists_is_every_pair(api, tmp_path):
    streams = """
    - type: DeclarativeStream
      name: kinds
      primary_key: [id, kind, size]
      retriever:
        type: SimpleRetriever
        requester: {$ref: "#/definitions/requester", path: /offset}
        record_selector: {extractor: {field_path: [data]}}
        partition_router:
          - {type: ListPartitionRouter, cursor_field: kind, values: ["a", "b"],
             request_option: {type: RequestOption, inject_into: request_parameter, field_name: kind}}
          - {type: ListPartitionRouter, cursor_field: size, values: ["s", "m", "l"],
             request_option: {type: RequestOption, inject_into: request_parameter, field_name: size}}
        paginator:
          type: DefaultPaginator
          page_token_option: {type: RequestOption, inject_into: request_parameter, field_name: offset}
          pagination_strategy: {type: OffsetIncrement, page_size: 10}
      transformations:
        - {type: AddFields, fields: [{path: [kind], value: "{{ stream_partition.kind }}"}, {path: [size], value: "{{ stream_partition.size }}"}]}
    """
    file = run(manifest_source(manifest(streams), {"base": api.origin}), tmp_path)
    pairs = [(k, s) for k in "ab" for s in "sml"]
    assert sorted(query(file, "select kind, size, count(*) from data.kinds group by 1, 2")) == sorted((k, s, 25) for k, s in pairs)
    assert {(r.query["kind"], r.query["size"]) for r in api.log} == set(pairs)


@pytest.mark.parametrize("authenticator", [
    "{type: BearerAuthenticator, api_token: \"{{ config['token'] }}\"}",
    "{type: ApiKeyAuthenticator, api_token: \"{{ config.token }}\", inject_into: {type: RequestOption, inject_into: request_parameter, field_name: key}}",
])
def test_authenticators(api, tmp_path, authenticator):
    streams = f"""
    - type: DeclarativeStream
      name: secured
      retriever:
        type: SimpleRetriever
        requester: {{type: HttpRequester, url_base: "{{{{ config.base }}}}", path: /secured, authenticator: {authenticator}}}
        record_selector: {{extractor: {{field_path: [data]}}}}
    """
    file = run(manifest_source(manifest(streams), {"base": api.origin, "token": api.token}), tmp_path)
    assert ids(file, "secured") == [0, 1, 2]


def test_retry_action_retries_its_status(api, tmp_path):
    streams = """
    - type: DeclarativeStream
      name: flaky
      retriever:
        type: SimpleRetriever
        requester:
          $ref: "#/definitions/requester"
          path: /offset
          request_parameters: {limit: 30}
          error_handler:
            type: CompositeErrorHandler
            error_handlers:
              - {type: DefaultErrorHandler, max_retries: 3, backoff_strategies: [{type: ConstantBackoffStrategy, backoff_time_in_seconds: 0.01}],
                 response_filters: [{type: HttpResponseFilter, action: RETRY, http_codes: [409]}]}
        record_selector: {extractor: {field_path: [data]}}
    """
    api.fail["/offset"] = [409, 409]
    file = run(manifest_source(manifest(streams), {"base": api.origin}), tmp_path)
    assert len(ids(file, "flaky")) == 25 and api.hits("/offset") == 3


def test_date_cursor_sends_its_start_and_keeps_state(api, tmp_path):
    streams = """
    - type: DeclarativeStream
      name: dated
      primary_key: [id]
      retriever:
        type: SimpleRetriever
        requester: {$ref: "#/definitions/requester", path: /offset, request_parameters: {limit: 30}}
        record_selector: {extractor: {field_path: [data]}}
      incremental_sync:
        type: DatetimeBasedCursor
        cursor_field: updated
        datetime_format: "%Y-%m-%d"
        cursor_datetime_formats: ["%Y-%m-%dT%H:%M:%SZ"]
        start_datetime: {type: MinMaxDatetime, datetime: "{{ config['start'] }}", datetime_format: "%Y-%m-%dT%H:%M:%SZ"}
        start_time_option: {type: RequestOption, inject_into: request_parameter, field_name: since}
    """
    file = run(manifest_source(manifest(streams), {"base": api.origin}), tmp_path)
    expected = sorted(r["id"] for r in api.records() if r["updated"] >= "2024-01-10")
    assert ids(file, "dated") == expected
    assert api.log[0].query["since"] == "2024-01-10"


def test_unsupported_components_are_all_reported_before_any_request(api):
    streams = """
    - type: DeclarativeStream
      name: custom
      retriever:
        type: SimpleRetriever
        requester: {$ref: "#/definitions/requester", path: /offset}
        record_selector: {extractor: {type: CustomRecordExtractor, class_name: x.Y}}
    - type: DeclarativeStream
      name: xml
      retriever:
        type: SimpleRetriever
        requester: {$ref: "#/definitions/requester", path: "/offset?next={{ next_page_token.token }}"}
        record_selector: {extractor: {field_path: []}}
        decoder: {type: XmlDecoder}
    """
    with pytest.raises(ConfigError) as caught:
        manifest_source(manifest(streams), {"base": api.origin})
    text = str(caught.value)
    assert "streams[0].retriever.record_selector.extractor: CustomRecordExtractor is not supported" in text
    assert "streams[1].retriever.decoder: XmlDecoder is not supported" in text
    assert "streams[1].retriever.requester.path: reads next_page_token" in text
    assert api.log == []


def login_api(path: str, answer: dict[str, Any], header: str, value: str, seen: list[Any]) -> Server:
    """An API whose `path` (POST) hands out a credential and whose /data wants `header: value`."""
    async def login(request: web.Request) -> web.Response:
        seen.append((request.headers.get("Authorization"), dict(await request.post()) if request.content_type.endswith("form-urlencoded")
                     else await request.json()))
        return web.json_response(answer)

    async def data(request: web.Request) -> web.Response:
        if request.headers.get(header) != value:
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"rows": [{"id": 1}, {"id": 2}]})

    app = web.Application()
    app.router.add_post(path, login)
    app.router.add_get("/data", data)
    return Server(app)


def authenticated(authenticator: str) -> str:
    """One stream of /data (records at `rows`) with this authenticator (YAML, indented 10)."""
    return f"""
    - type: DeclarativeStream
      name: rows
      retriever:
        type: SimpleRetriever
        requester:
          type: HttpRequester
          url_base: "{{{{ config.base }}}}"
          path: /data
          authenticator:
{textwrap.indent(textwrap.dedent(authenticator), " " * 12)}
        record_selector: {{extractor: {{field_path: [rows]}}}}
    """


def test_oauth_refresh_token_grant(tmp_path):
    forms: list[Any] = []
    streams = authenticated("""
        type: OAuthAuthenticator
        token_refresh_endpoint: "{{ config.base }}/token"
        client_id: "{{ config.client_id }}"
        client_secret: "{{ config.client_secret }}"
        refresh_token: "{{ config.refresh_token }}"
        access_token_name: token
        expires_in_name: ttl
    """)
    with login_api("/token", {"token": "fresh", "ttl": 600}, "Authorization", "Bearer fresh", forms) as server:
        config = {"base": server.url, "client_id": "cid", "client_secret": "cs", "refresh_token": "r1"}
        file = run(manifest_source(manifest(streams), config), tmp_path)
    assert ids(file, "rows") == [1, 2]
    assert forms == [(None, {"grant_type": "refresh_token", "client_id": "cid", "client_secret": "cs", "refresh_token": "r1"})]


def test_session_token_login(tmp_path):
    logins: list[Any] = []
    streams = authenticated("""
        type: SessionTokenAuthenticator
        login_requester:
          url_base: "{{ config.base }}"
          path: login
          http_method: POST
          authenticator: {type: BasicHttpAuthenticator, username: u, password: "{{ config.token }}"}
          request_body_json: {user: u}
        session_token_path: [auth, token]
        expiration_duration: PT1H
        request_authentication: {type: ApiKey, inject_into: {type: RequestOption, inject_into: header, field_name: X-Session}}
    """)
    with login_api("/login", {"auth": {"token": "t1"}}, "X-Session", "t1", logins) as server:
        file = run(manifest_source(manifest(streams), {"base": server.url, "token": "pw"}), tmp_path)
    assert ids(file, "rows") == [1, 2]
    assert logins == [("Basic dTpwdw==", {"user": "u"})]
