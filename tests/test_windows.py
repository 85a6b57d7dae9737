"""Date windows (`incremental.window`): [start, end) walked in windows, each its own chain.

Through the public API into DuckDB, against a loopback mock that logs every request and the
requests in flight: requests per window, concurrency observed at the mock, exact rows.
"""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dlt
import duckdb
import pytest
from aiohttp import web
from apis import Server

from sluice import ConfigError, rest_api_source
from sluice.engine.windows import Window, now_like, parse_step, walk

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class EventsAPI:
    """100 events, one every 6 hours from 2024-01-01; `since`/`until` (ISO) or `from`/`to` (seq)
    filter them, a cursor pages through 10 at a time. Each answer takes 20 ms."""

    def __init__(self) -> None:
        self.log: list[dict[str, str]] = []
        self.in_flight = 0
        self.peak = 0
        self.count = 100

    def events(self) -> list[dict[str, Any]]:
        return [{"id": i, "seq": i, "updated": (T0 + timedelta(hours=6 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")} for i in range(self.count)]

    async def handle(self, request: web.Request) -> web.Response:
        self.log.append(dict(request.query))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0.02)
            return web.json_response(self._page(dict(request.query)))
        finally:
            self.in_flight -= 1

    def _page(self, query: dict[str, str]) -> dict[str, Any]:
        found = [e for e in self.events() if self._within(e, query)]
        start = int(query.get("cursor", 0))
        nxt = str(start + 10) if start + 10 < len(found) else None
        return {"data": found[start:start + 10], "next": nxt}

    @staticmethod
    def _within(event: dict[str, Any], query: dict[str, str]) -> bool:
        if "from" in query and not int(query["from"]) <= event["seq"] < int(query["to"]):
            return False
        return query.get("since", "") <= event["updated"] and ("until" not in query or event["updated"] < query["until"])

    def windows(self) -> Counter[tuple[str, str]]:
        """Requests per window, by the bounds the window sent."""
        return Counter((q.get("since") or q.get("from", ""), q.get("until") or q.get("to", "")) for q in self.log)


@pytest.fixture()
def events() -> Iterator[EventsAPI]:
    api = EventsAPI()
    app = web.Application()
    app.router.add_get("/events", api.handle)
    with Server(app) as server:
        api.origin = server.url  # type: ignore[attr-defined]
        yield api


def config(api: EventsAPI, incremental: dict[str, Any], params: dict[str, Any] | None = None, concurrency: int | None = 3) -> dict[str, Any]:
    client = {"base_url": api.origin, **({"max_concurrency": concurrency} if concurrency else {})}  # type: ignore[attr-defined]
    return {"client": client,
            "resources": [{"name": "events", "primary_key": "id", "write_disposition": "merge", "endpoint": {
                "path": "events", "data_selector": "data", "params": params or {},
                "paginator": {"type": "cursor", "cursor_path": "next", "cursor_param": "cursor"},
                "incremental": {"cursor_path": "updated", **incremental}}}]}


def pipeline(tmp_path, name: str = "win") -> Any:
    return dlt.pipeline(name, destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
                        dataset_name="data", pipelines_dir=str(tmp_path / "pipes"))


def ids(tmp_path, name: str = "win") -> list[int]:
    con = duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True)
    try:
        return [r[0] for r in con.execute("select id from data.events order by id").fetchall()]
    finally:
        con.close()


def test_windows_are_concurrent_chains_with_their_own_bounds(events: EventsAPI, tmp_path) -> None:
    inc = {"initial_value": "2024-01-01T00:00:00Z", "end_value": "2024-01-29T00:00:00Z", "start_param": "since",
           "end_param": "until", "window": "P7D"}
    pipeline(tmp_path).run(rest_api_source(config(events, inc)))
    weeks = ["2024-01-01T00:00:00Z", "2024-01-08T00:00:00Z", "2024-01-15T00:00:00Z", "2024-01-22T00:00:00Z", "2024-01-29T00:00:00Z"]
    # 28 events a week (16 in the last), 10 a page; the bounds written as the start value is
    assert events.windows() == dict(zip(zip(weeks, weeks[1:], strict=False), [3, 3, 3, 2], strict=True))
    assert len(events.log) == 11
    assert 2 <= events.peak <= 3  # windows run concurrently, under the source's max_concurrency
    assert ids(tmp_path) == list(range(100))


def test_a_granularity_sends_each_full_windows_end_one_step_early(events: EventsAPI, tmp_path) -> None:
    """Airbyte's cursor_granularity: an API with an inclusive end must not see a boundary twice."""
    inc = {"initial_value": "2024-01-01T00:00:00Z", "end_value": "2024-01-20T00:00:00Z", "start_param": "since",
           "end_param": "until", "window": "P7D", "window_granularity": "PT1S"}
    pipeline(tmp_path).run(rest_api_source(config(events, inc)))
    assert set(events.windows()) == {("2024-01-01T00:00:00Z", "2024-01-07T23:59:59Z"),
                                     ("2024-01-08T00:00:00Z", "2024-01-14T23:59:59Z"),
                                     ("2024-01-15T00:00:00Z", "2024-01-20T00:00:00Z")}  # the last ends at the end
    assert ids(tmp_path) == list(range(76))


@pytest.mark.parametrize(("start", "end", "step", "granularity", "sent"), [
    ("2024-01-01", "2024-01-06", "P2D", "P1D", ["2024-01-02", "2024-01-04", "2024-01-06"]),
    (1000, 1250, 100, 1, [1099, 1199, 1250]),
    (1704067200, 1704240000, "P1D", "PT1S", [1704153599, 1704239999]),
])
def test_sent_ends_step_back_by_the_granularity(start: Any, end: Any, step: Any, granularity: Any, sent: list[Any]) -> None:
    step, granularity = parse_step(step), parse_step(granularity)
    assert [w.context(step, granularity)["incremental.end_value"] for w in walk(start, end, step)] == sent


def test_windows_load_what_one_dlt_chain_loads(events: EventsAPI, tmp_path) -> None:
    """dlt (no windows) as the oracle: the same rows, and the same cursor kept in the state."""
    from dlt.sources.rest_api import rest_api_source as dlt_source

    inc = {"initial_value": "2024-01-03T00:00:00Z", "start_param": "since"}
    theirs = pipeline(tmp_path, "dlt")
    theirs.run(dlt_source(config(events, copy.deepcopy(inc), concurrency=None)))
    ours = pipeline(tmp_path, "ours")
    ours.run(rest_api_source(config(events, {**inc, "window": "P10D"})))
    assert ids(tmp_path, "ours") == ids(tmp_path, "dlt") == list(range(8, 100))

    def last(p: Any) -> Any:
        return p.state["sources"]["rest_api"]["resources"]["events"]["incremental"]["updated"]["last_value"]

    assert last(ours) == last(theirs) == "2024-01-25T18:00:00Z"


def test_without_end_value_the_walk_ends_now_and_resumes_from_the_cursor(events: EventsAPI, tmp_path) -> None:
    inc = {"initial_value": "2024-01-01", "start_param": "since", "end_param": "until", "window": "P1Y"}
    p = pipeline(tmp_path)
    p.run(rest_api_source(config(events, inc)))
    bounds = sorted(events.windows())
    today = datetime.now(UTC).date()
    # a date-only start walks in date-only bounds; the last one is tomorrow (today's records are in)
    assert bounds[0] == ("2024-01-01", "2025-01-01")
    assert bounds[-1][1] == (today + timedelta(days=1)).isoformat()
    assert len(bounds) == today.year - 2024 + 1
    events.log.clear()
    p.run(rest_api_source(config(events, inc)))
    # the second run walks from dlt's cursor (the newest record), in that value's own form
    assert sorted(events.windows())[0][0] == "2024-01-25T18:00:00Z"
    assert ids(tmp_path) == list(range(100))


def test_numeric_window_through_placeholders(events: EventsAPI, tmp_path) -> None:
    inc = {"cursor_path": "seq", "initial_value": 0, "end_value": 100, "window": 25}
    pipeline(tmp_path).run(rest_api_source(config(events, inc, {"from": "{incremental.start_value}", "to": "{incremental.end_value}"})))
    assert events.windows() == {("0", "25"): 3, ("25", "50"): 3, ("50", "75"): 3, ("75", "100"): 3}
    assert ids(tmp_path) == list(range(100))


def test_open_chains_bound_the_windows_started(events: EventsAPI, tmp_path) -> None:
    """40 windows of a day, one request each: never more than the source allows at once."""
    events.count = 8
    inc = {"initial_value": "2024-01-01T00:00:00Z", "end_value": "2024-02-10T00:00:00Z", "start_param": "since",
           "end_param": "until", "window": "P1D"}
    pipeline(tmp_path).run(rest_api_source(config(events, inc, concurrency=4)))
    assert len(events.windows()) == 40 and len(events.log) == 40
    assert 2 <= events.peak <= 4
    assert ids(tmp_path) == list(range(8))


@pytest.mark.parametrize(("start", "end", "step", "expected"), [
    ("2024-01-31T00:00:00.000+02:00", "2024-04-01T00:00:00.000+02:00", "P1M",
     [("2024-01-31T00:00:00.000+02:00", "2024-02-29T00:00:00.000+02:00"), ("2024-02-29T00:00:00.000+02:00", "2024-03-31T00:00:00.000+02:00"),
      ("2024-03-31T00:00:00.000+02:00", "2024-04-01T00:00:00.000+02:00")]),
    ("2024-01-01 10:00", "2024-01-01 12:00", "PT1H", [("2024-01-01 10:00", "2024-01-01 11:00"), ("2024-01-01 11:00", "2024-01-01 12:00")]),
    (date(2024, 1, 1), date(2024, 1, 3), "P1D", [(date(2024, 1, 1), date(2024, 1, 2)), (date(2024, 1, 2), date(2024, 1, 3))]),
    (datetime(2024, 1, 1), datetime(2024, 1, 2), "PT12H",
     [(datetime(2024, 1, 1), datetime(2024, 1, 1, 12)), (datetime(2024, 1, 1, 12), datetime(2024, 1, 2))]),
    (0.5, 2, 1, [(0.5, 1.5), (1.5, 2)]),
    ("2024-01-02", "2024-01-01", "P1D", []),
    ("20240130", "20240302", "P1M", [("20240130", "20240229"), ("20240229", "20240302")]),
    (1704067200, 1704326400, "P1D", [(1704067200, 1704153600), (1704153600, 1704240000), (1704240000, 1704326400)]),
    (1704067200000, 1704200000000, "P1D", [(1704067200000, 1704153600000), (1704153600000, 1704200000000)]),
    (1704067200.5, 1704100000.0, "P1D", [(1704067200.5, 1704100000.0)]),
])
def test_bounds_keep_the_start_values_form(start: Any, end: Any, step: Any, expected: list[Any]) -> None:
    windows = list(walk(start, end, parse_step(step)))
    assert [(w.start, w.end) for w in windows] == expected
    assert all(type(w.start) is type(start) for w in windows)
    assert len({w.key for w in windows}) == len(windows)


@pytest.mark.parametrize(("start", "unit"), [(1704067200, 1), (1704067200000, 1000)])
def test_an_epoch_walk_ends_now_in_the_starts_unit(start: int, unit: int) -> None:
    before = datetime.now(UTC).timestamp() * unit
    end = now_like(start)
    assert isinstance(end, int) and before - unit <= end <= datetime.now(UTC).timestamp() * unit + unit
    assert list(walk(start, end, parse_step("P100Y"))) == [Window(start, end)]


@pytest.mark.parametrize(("start", "end", "step"), [("soon", "2024-01-02", "P1D"), (5, "2024-01-02", "P1D"), ("2024-01-01", 9, 1)])
def test_a_walk_between_values_it_cannot_place_says_so(start: Any, end: Any, step: Any) -> None:
    """A start value from the state that the window cannot walk from: an error naming it, no assert."""
    with pytest.raises(ValueError, match="window walks between"):
        list(walk(start, end, parse_step(step)))


@pytest.mark.parametrize(("incremental", "message"), [
    ({"initial_value": "2024-01-01", "window": "P7X"}, "incremental.window: expected an ISO-8601 duration"),
    ({"initial_value": 5, "window": 10}, "incremental.window: a numeric window needs an end_value"),
    ({"initial_value": "soon", "window": "P7D"}, "incremental.window: a duration needs a date, time or epoch initial_value"),
    ({"initial_value": 5, "window": "P7D", "end_value": "2024-01-02"}, "incremental.window: a duration needs a date, time or epoch"),
    ({"initial_value": "2024-01-01", "window": 7, "end_value": 9}, "incremental.window: a numeric window needs numeric"),
    ({"window": "P7D"}, "incremental.window: a window needs an initial_value"),
    ({"initial_value": "2024-01-01", "window": "PT6H"}, "incremental.window: a date cursor walks in whole days"),
    ({"initial_value": "2024-01-01", "window": "P1D", "last_value_func": "min"}, "incremental.window: windows walk forward: last_value_func must be max"),
    ({"initial_value": "2024-01-01", "per_parent": True}, "incremental.per_parent: needs a parent resource"),
    ({"initial_value": "2024-01-01", "window_granularity": "P1D"}, "incremental.window_granularity: steps back the end of each window: it needs a window"),
    ({"initial_value": "2024-01-01", "window": "P7D", "window_granularity": 1}, "incremental.window_granularity: must be a duration when window is one"),
    ({"initial_value": "2024-01-01", "window": "P7D", "window_granularity": "1s"}, "incremental.window_granularity: expected an ISO-8601 duration"),
])
def test_bad_windows_are_config_errors(incremental: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        rest_api_source({"client": {"base_url": "http://127.0.0.1:9"}, "resources": [
            {"name": "events", "endpoint": {"path": "events", "incremental": {"cursor_path": "updated", **incremental}}}]})
    assert f"resources[0].endpoint.{message}" in str(info.value)
