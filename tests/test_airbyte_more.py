"""More Airbyte constructs, each in a manifest of our own run by `manifest_source` through a
dlt pipeline into DuckDB against a loopback mock: the rows loaded and the requests sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dlt
import pytest
from aiohttp import web
from apis import Server
from test_airbyte_source import ids, manifest, paged, query, run

from sluice.airbyte import manifest_source


def epoch_api(unit: int, seen: list[dict[str, str]]) -> tuple[Server, list[dict[str, int]]]:
    """/events: one event every 5 hours over the last 5 days, `created` in epoch seconds
    (milliseconds when unit is 1000); `since` <= created < `until` in the same unit."""
    now = datetime.now(UTC).timestamp()
    events = [{"id": i, "created": int((now - 5 * 86400 + i * 5 * 3600) * unit)} for i in range(24)]

    async def handler(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        low, high = int(request.query["since"]), int(request.query["until"])
        return web.json_response({"events": [e for e in events if low <= e["created"] < high]})

    app = web.Application()
    app.router.add_get("/events", handler)
    return Server(app), events


@pytest.mark.parametrize(("fmt", "unit"), [("%s", 1), ("%ms", 1000)])
def test_epoch_cursor_walks_its_step_windows_up_to_now(tmp_path, fmt: str, unit: int) -> None:
    streams = f"""
    - type: DeclarativeStream
      name: events
      primary_key: [id]
      retriever:
        type: SimpleRetriever
        requester: {{$ref: "#/definitions/requester", path: /events}}
        record_selector: {{extractor: {{field_path: [events]}}}}
      incremental_sync:
        type: DatetimeBasedCursor
        cursor_field: created
        datetime_format: "{fmt}"
        cursor_datetime_formats: ["{fmt}"]
        start_datetime: {{datetime: "{{{{ config['start'] }}}}", datetime_format: "%Y-%m-%dT%H:%M:%SZ"}}
        step: P1D
        cursor_granularity: PT1S
        start_time_option: {{type: RequestOption, inject_into: request_parameter, field_name: since}}
        end_time_option: {{type: RequestOption, inject_into: request_parameter, field_name: until}}
    """
    start = (datetime.now(UTC) - timedelta(days=3, hours=2)).replace(microsecond=0)
    seen: list[dict[str, str]] = []
    server, events = epoch_api(unit, seen)
    with server:
        config = {"base": server.url, "start": start.strftime("%Y-%m-%dT%H:%M:%SZ")}
        file = run(manifest_source(manifest(streams), config), tmp_path)
    first = int(start.timestamp()) * unit
    assert ids(file, "events") == [e["id"] for e in events if e["created"] >= first]
    bounds = sorted((int(q["since"]), int(q["until"])) for q in seen)
    assert [low for low, _ in bounds] == [first + n * 86400 * unit for n in range(4)]
    # each full window ends one cursor_granularity (PT1S) before the next starts, as in the CDK
    assert [high for _, high in bounds[:3]] == [low - unit for low, _ in bounds[1:]]
    assert abs(bounds[-1][1] - datetime.now(UTC).timestamp() * unit) < 60 * unit


def test_a_null_property_schema_is_no_hint(api, tmp_path) -> None:
    """An InlineSchemaLoader property whose schema is null: the others still give their hints."""
    streams = """
    - type: DeclarativeStream
      name: items
      primary_key: [id]
      schema_loader:
        type: InlineSchemaLoader
        schema: {type: object, properties: {id: {type: integer}, name: {type: string}, group: null, updated: {type: [string, "null"]}}}
      retriever:
        type: SimpleRetriever
        requester: {$ref: "#/definitions/requester", path: /offset, request_parameters: {limit: 30}}
        record_selector: {extractor: {field_path: [data]}}
    """
    file = run(manifest_source(manifest(streams), {"base": api.origin}), tmp_path)
    assert ids(file, "items") == list(range(25))
    assert query(file, 'select name, "group" from data.items where id = 4') == [("item 4", 1)]
    assert [r.query for r in api.log] == [{"limit": "30"}]


def org_api(seen: list[str]) -> Server:
    """/orgs -> two orgs; /orgs/{org}/events -> two events each; /orgs/{org}/events/{event}/rules
    -> one rule, 404 for an event of another org."""
    events = {"o1": ["e1", "e2"], "o2": ["e3", "e4"]}

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        parts = request.path.strip("/").split("/")
        if parts == ["orgs"]:
            return web.json_response({"results": [{"slug": org} for org in events]})
        if len(parts) == 3:
            return web.json_response({"results": [{"slug": e, "org": parts[1]} for e in events[parts[1]]]})
        if parts[3] not in events[parts[1]]:
            return web.json_response({"detail": "not found"}, status=404)
        return web.json_response({"results": [{"id": f"{parts[1]}-{parts[3]}"}]})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return Server(app)


def test_grandparent_and_parent_partitions_read_from_one_parent_record(tmp_path) -> None:
    """[grandparent, parent] routers whose parent is a substream of the grandparent: each
    parent record with its own grandparent (the CDK would also pair it with the others)."""
    def router(stream: str, field: str) -> str:
        return f"{{type: SubstreamPartitionRouter, parent_stream_configs: [{{stream: {{$ref: '#/definitions/{stream}'}}, parent_key: slug, partition_field: {field}}}]}}"
    def retriever(path: str, routers: str = "") -> str:
        router = f", partition_router: {routers}" if routers else ""
        return (f'{{type: SimpleRetriever, requester: {{$ref: "#/definitions/requester", path: "{path}"}}, '
                f"record_selector: {{extractor: {{field_path: [results]}}}}{router}}}")
    definitions = f"""
    orgs: {{type: DeclarativeStream, name: orgs, primary_key: [slug], retriever: {retriever("/orgs")}}}
    events:
      type: DeclarativeStream
      name: events
      primary_key: [slug]
      retriever: {retriever("/orgs/{{ stream_partition.org }}/events", router("orgs", "org"))}
    """
    streams = f"""
    - $ref: "#/definitions/orgs"
    - $ref: "#/definitions/events"
    - type: DeclarativeStream
      name: rules
      primary_key: [id]
      retriever: {retriever("/orgs/{{ stream_partition.org }}/events/{{ stream_partition['event'] }}/rules",
                            f'[{router("orgs", "org")}, {router("events", "event")}]')}
    """
    seen: list[str] = []
    with org_api(seen) as server:
        file = run(manifest_source(manifest(streams, definitions), {"base": server.url}), tmp_path)
    assert sorted(r[0] for r in query(file, "select id from data.rules")) == ["o1-e1", "o1-e2", "o2-e3", "o2-e4"]
    assert sorted(r[0] for r in query(file, "select slug from data.events")) == ["e1", "e2", "e3", "e4"]
    columns = [r[0] for r in query(file, "select column_name from information_schema.columns where table_name = 'events'")]
    assert not any(c.startswith("_orgs") for c in columns)
    assert sorted(p for p in seen if p.endswith("/rules")) == [f"/orgs/{o}/events/{e}/rules" for o, e in
                                                                 [("o1", "e1"), ("o1", "e2"), ("o2", "e3"), ("o2", "e4")]]


def child(name: str, path: str, parent: str, field: str, option: str = "") -> str:
    """A stream at `path`, a substream of `parent` (at /<parent>) by its `id` as `field`."""
    return paged(name, path, "results", "{type: NoPagination}").rstrip() + f"""
        partition_router:
          type: SubstreamPartitionRouter
          parent_stream_configs:
          - parent_key: id
            partition_field: {field}
            {option}
            stream:
              type: DeclarativeStream
              name: {parent}
              retriever:
                type: SimpleRetriever
                requester: {{$ref: "#/definitions/requester", path: /{parent}}}
                record_selector: {{extractor: {{field_path: [results]}}}}"""


@pytest.mark.parametrize(("job", "expected"), [(None, ["/jobs/w1", "/jobs/w2"]), ("", ["/jobs/w1", "/jobs/w2"]), ("7", ["/jobs/7"])])
def test_config_or_partition_in_a_path(tmp_path, job: str | None, expected: list[str]) -> None:
    """`{{ config['job'] or stream_partition['workflow'] }}`: the config's value when set, else
    each parent's."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        if request.path == "/workflows":
            return web.json_response({"results": [{"id": "w1"}, {"id": "w2"}]})
        return web.json_response({"results": [{"id": request.path.rsplit("/", 1)[1]}]})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    streams = child("jobs", "\"/jobs/{{ config['job'] or stream_partition['workflow'] }}\"", "workflows", "workflow")
    with Server(app) as server:
        config = {"base": server.url, **({} if job is None else {"job": job})}
        file = run(manifest_source(manifest(streams), config), tmp_path)
    assert sorted(p for p in seen if p.startswith("/jobs")) == expected
    assert sorted(r[0] for r in query(file, "select id from data.jobs")) == [p.rsplit("/", 1)[1] for p in expected]


def test_lookback_on_a_per_parent_cursor_starts_each_parent_back_from_its_own_last_value(tmp_path) -> None:
    """A substream's cursor with a lookback_window: the next run asks each parent from its own
    last value less the lookback (never before the start)."""
    seen: list[tuple[str, str]] = []
    last_day = {"p1": 5, "p2": 3}

    async def handler(request: web.Request) -> web.Response:
        if request.path == "/parents":
            return web.json_response({"results": [{"id": p} for p in last_day]})
        parent, since = request.query["parent"], request.query["since"]
        seen.append((parent, since))
        rows = [{"id": f"{parent}-{d}", "updated": f"2024-01-{d:02d}T00:00:00Z"} for d in range(1, last_day[parent] + 1)]
        return web.json_response({"results": [r for r in rows if r["updated"] >= since]})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    option = "request_option: {type: RequestOption, inject_into: request_parameter, field_name: parent}"
    streams = child("children", "/children", "parents", "parent", option) + """
      incremental_sync:
        type: DatetimeBasedCursor
        cursor_field: updated
        datetime_format: "%Y-%m-%dT%H:%M:%SZ"
        start_datetime: "{{ config['start'] }}"
        lookback_window: P1D
        start_time_option: {type: RequestOption, inject_into: request_parameter, field_name: since}
    """
    pipeline = dlt.pipeline("lookback", destination=dlt.destinations.duckdb(str(tmp_path / "lb.duckdb")), dataset_name="data",
                            pipelines_dir=str(tmp_path / "pipes"))
    with Server(app) as server:
        config = {"base": server.url, "start": "2024-01-02T00:00:00Z"}
        pipeline.run(manifest_source(manifest(streams), config))
        assert sorted(seen) == [("p1", "2024-01-02T00:00:00Z"), ("p2", "2024-01-02T00:00:00Z")]
        seen.clear()
        last_day["p1"] = 6
        pipeline.run(manifest_source(manifest(streams), config))
    assert sorted(seen) == [("p1", "2024-01-04T00:00:00Z"), ("p2", "2024-01-02T00:00:00Z")]
    rows = query(tmp_path / "lb.duckdb", "select id from data.children")
    assert sorted({r[0] for r in rows}) == ["p1-2", "p1-3", "p1-4", "p1-5", "p1-6", "p2-2", "p2-3"]


def test_compact_date_cursor_walks_day_windows(tmp_path) -> None:
    """A `%Y%m%d` cursor with a step: windows written as the cursor is, up to tomorrow."""
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=n)).strftime("%Y%m%d") for n in range(6)]
    seen: list[tuple[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        low, high = request.query["from"], request.query["to"]
        seen.append((low, high))
        return web.json_response({"results": [{"id": d, "day": d} for d in days if low <= d <= high]})  # as the CDK: inclusive

    app = web.Application()
    app.router.add_get("/days", handler)
    streams = paged("days", "/days", "results", "{type: NoPagination}") + """
      incremental_sync:
        type: DatetimeBasedCursor
        cursor_field: day
        datetime_format: "%Y%m%d"
        cursor_datetime_formats: ["%Y%m%d"]
        start_datetime: {datetime: "{{ config['start'] }}", datetime_format: "%Y-%m-%dT%H:%M:%SZ"}
        step: P1D
        cursor_granularity: P1D
        start_time_option: {type: RequestOption, inject_into: request_parameter, field_name: from}
        end_time_option: {type: RequestOption, inject_into: request_parameter, field_name: to}
    """
    with Server(app) as server:
        config = {"base": server.url, "start": f"{today - timedelta(days=3)}T00:00:00Z"}
        file = run(manifest_source(manifest(streams), config), tmp_path)
    assert sorted(r[0] for r in query(file, "select day from data.days")) == sorted(days[:4])
    # one day a window: cursor_granularity P1D ends each window on its own day, as the CDK sends it
    assert sorted(seen) == [((today + timedelta(days=n)).strftime("%Y%m%d"),) * 2 for n in range(-3, 1)]


@pytest.mark.parametrize(("fmt", "lag"), [("%ms", 86_400_000.0), ("%s", 86_400.0), ("%Y-%m-%dT%H:%M:%SZ", 86_400.0), ("%Y-%m-%d", 1.0)])
def test_a_lookback_is_given_to_dlt_in_the_cursors_unit(fmt: str, lag: float) -> None:
    # dlt's lag counts days on a date cursor and raw units on a number: P1D is 86,400,000 on a %ms epoch
    from sluice.airbyte.convert import convert
    from sluice.airbyte.manifest import read_manifest

    streams = """
      - type: DeclarativeStream
        name: items
        primary_key: id
        $parameters: {path: /items, records: results}
        retriever: {type: SimpleRetriever, requester: {$ref: "#/definitions/requester"}, record_selector: {$ref: "#/definitions/selector"}}
        incremental_sync:
          type: DatetimeBasedCursor
          cursor_field: updated
          datetime_format: "%s"
          start_datetime: "{{ config['start'] }}"
          lookback_window: P1D
          start_time_option: {type: RequestOption, inject_into: request_parameter, field_name: since}
    """.replace('"%s"', f'"{fmt}"')
    converted = convert(read_manifest(manifest(streams)), {"base": "http://127.0.0.1:9", "start": "2024-01-01T00:00:00Z"})
    assert converted.config["resources"][0]["endpoint"]["incremental"]["lag"] == lag
