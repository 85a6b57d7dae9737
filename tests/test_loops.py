"""APIs that never end: repeated next URLs and cursors, lying totals, pages that never shrink.

Every chain ends: with a LoopError that names the resource and the URL, or (an API that
ignores the paging parameter) with a warning and its records loaded once. `max_pages`
caps a chain, sequential or planned.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from apis import ListSink, Server

from sluice import FatalError, HTTPStatusError, LoopError, RunOptions
from sluice.config import parse_source
from sluice.configfile import LoadedConfig
from sluice.engine.run import Engine
from sluice.mock import MockServer
from sluice.runner import Target, run


class LoopingAPI:
    """Routes that misbehave in every way a paging API can loop."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def _hit(self, request: web.Request) -> None:
        self.calls[request.path] += 1

    async def next_cycle(self, request: web.Request) -> web.Response:
        """json_link: page p links to page (p + 1) % 3, so page 0 comes back after page 2."""
        self._hit(request)
        page = int(request.query.get("p", 0))
        nxt = f"http://{request.host}/next_cycle?p={(page + 1) % 3}"
        return web.json_response({"data": [{"id": page}], "next": nxt})

    async def cursor_same(self, request: web.Request) -> web.Response:
        """cursor: always hands back the same cursor."""
        self._hit(request)
        return web.json_response({"data": [{"id": request.query.get("cursor", "first")}], "cursors": {"next": "abc"}})

    async def cursor_cycle(self, request: web.Request) -> web.Response:
        """cursor: a -> b -> c -> a."""
        self._hit(request)
        current = request.query.get("cursor", "a")
        return web.json_response({"data": [{"id": current}], "cursors": {"next": {"a": "b", "b": "c", "c": "a"}[current]}})

    async def link_self(self, request: web.Request) -> web.Response:
        """header_link: the next link is the page itself."""
        self._hit(request)
        return web.json_response([{"id": 1}], headers={"Link": f'<http://{request.host}{request.path_qs}>; rel="next"'})

    async def header_cursor_same(self, request: web.Request) -> web.Response:
        self._hit(request)
        return web.json_response([{"id": request.query.get("cursor", "first")}], headers={"next": "again"})

    async def ignores_page(self, request: web.Request) -> web.Response:
        """page_number: the page parameter is ignored; no total."""
        self._hit(request)
        return web.json_response({"items": [{"id": i} for i in range(10)]})

    async def lying_total(self, request: web.Request) -> web.Response:
        """offset: ignores the offset and declares a million records."""
        self._hit(request)
        return web.json_response({"data": [{"id": i} for i in range(10)], "total": 1_000_000})

    async def total_overstated(self, request: web.Request) -> web.Response:
        """offset: honest pages of 25 records in all, but a total of a billion."""
        self._hit(request)
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        return web.json_response({"data": [{"id": i} for i in range(offset, min(offset + limit, 25))], "total": 10**9})

    async def endless(self, request: web.Request) -> web.Response:
        """page_number: every page is full of new records, forever."""
        self._hit(request)
        page = int(request.query.get("page", 0))
        return web.json_response({"items": [{"id": page * 10 + i} for i in range(10)]})

    async def endless_total(self, request: web.Request) -> web.Response:
        """page_number with a total of 1000 pages, every one full and new."""
        self._hit(request)
        page = int(request.query.get("page", 0))
        return web.json_response({"items": [{"id": page * 10 + i} for i in range(10)], "total": 1000})

    def app(self) -> web.Application:
        app = web.Application()
        for name in ("next_cycle", "cursor_same", "cursor_cycle", "link_self", "header_cursor_same", "ignores_page",
                     "lying_total", "total_overstated", "endless", "endless_total"):
            app.router.add_get(f"/{name}", getattr(self, name))
        return app


@pytest.fixture()
def looping() -> Any:
    api = LoopingAPI()
    with Server(api.app()) as server:
        api.url = server.url  # type: ignore[attr-defined]
        yield api


def config(api: Any, path: str, paginator: Any, **endpoint: Any) -> dict[str, Any]:
    return {"client": {"base_url": api.url, "max_concurrency": 4},
            "resources": [{"name": "things", "endpoint": {"path": path, "paginator": paginator, **endpoint}}]}


def fetch(cfg: dict[str, Any], options: RunOptions | None = None) -> tuple[ListSink, BaseException | None]:
    sink = ListSink()
    try:
        asyncio.run(Engine(parse_source(cfg), {"things"}, sink, options=options).run())
    except FatalError as exc:
        return sink, exc
    return sink, None


def ids(sink: ListSink) -> list[Any]:
    return [r["id"] for r in sink.records]


# -- repeated requests: LoopError --------------------------------------------------------------


def test_next_url_back_to_the_first_page_is_a_loop(looping: Any) -> None:
    sink, error = fetch(config(looping, "next_cycle", {"type": "json_link", "next_url_path": "next"}, params={"p": 0}))
    assert isinstance(error, LoopError)
    assert str(error).startswith("resource 'things': the API sent the chain back to a request it already made")
    assert f"url: {looping.url}/next_cycle?p=0" in str(error)
    assert looping.calls["/next_cycle"] == 3 and ids(sink) == [0, 1, 2]  # page 0 is not fetched nor loaded again


def test_repeated_cursor_is_a_loop(looping: Any) -> None:
    sink, error = fetch(config(looping, "cursor_same", {"type": "cursor"}))
    assert isinstance(error, LoopError) and error.resource == "things"
    assert looping.calls["/cursor_same"] == 2 and ids(sink) == ["first", "abc"]


def test_cursor_cycle_is_a_loop(looping: Any) -> None:
    sink, error = fetch(config(looping, "cursor_cycle", {"type": "cursor"}, params={"cursor": "a"}))
    assert isinstance(error, LoopError)
    assert looping.calls["/cursor_cycle"] == 3 and ids(sink) == ["a", "b", "c"]


def test_templated_cursor_cycle_is_a_loop(looping: Any) -> None:
    paginator = {"type": "cursor", "cursor_value": "{{ response.cursors.next }}", "stop_condition": "{{ not response.data }}"}
    sink, error = fetch(config(looping, "cursor_cycle", paginator, params={"cursor": "a"}))
    assert isinstance(error, LoopError) and ids(sink) == ["a", "b", "c"]


def test_link_header_to_itself_is_a_loop(looping: Any) -> None:
    sink, error = fetch(config(looping, "link_self", "header_link"))
    assert isinstance(error, LoopError) and looping.calls["/link_self"] == 1 and ids(sink) == [1]


def test_repeated_header_cursor_is_a_loop(looping: Any) -> None:
    sink, error = fetch(config(looping, "header_cursor_same", {"type": "header_cursor"}))
    assert isinstance(error, LoopError) and looping.calls["/header_cursor_same"] == 2


# -- the API ignores the paging parameter: stop, warn, load once --------------------------------


def test_page_parameter_ignored_stops_with_a_warning(looping: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="sluice.engine"):
        sink, error = fetch(config(looping, "ignores_page", {"type": "page_number"}))
    assert error is None
    assert ids(sink) == list(range(10)) and looping.calls["/ignores_page"] == 2
    assert "page repeats an earlier page's records" in caplog.text and "page_param" in caplog.text


def test_lying_total_with_ignored_offset_costs_a_window_not_a_million(looping: Any) -> None:
    sink, error = fetch(config(looping, "lying_total", {"type": "offset", "limit": 10}))
    assert error is None
    assert ids(sink) == list(range(10))  # loaded once
    assert looping.calls["/lying_total"] <= 1 + 2 * 4 + 4  # the first page, a window ahead, those in flight


def test_overstated_total_stops_at_the_first_empty_page(looping: Any) -> None:
    sink, error = fetch(config(looping, "total_overstated", {"type": "offset", "limit": 10}))
    assert error is None
    assert sorted(ids(sink)) == list(range(25))
    assert looping.calls["/total_overstated"] <= 3 + 2 * 4 + 4


def test_short_page_while_total_says_more_ends(tmp_path: Path) -> None:
    """The event API's knob: total overstates the data by half; the engine must end, once each."""
    with MockServer("events", counts={"events": 130}, options={"short_page_lie": True}) as m:
        cfg = {"client": {"base_url": m.base_url, "auth": {"type": "api_key", "name": "api_key", "api_key": m.api_key, "location": "query"}},
               "resources": [{"name": "things", "endpoint": {"path": "/v1/events", "data_selector": "data",
                                                              "paginator": {"type": "offset", "limit": 50}}}]}
        sink, error = fetch(cfg)
        assert error is None
        assert sorted(ids(sink)) == sorted(r["id"] for r in m.data("events"))
        assert m.requests("events") <= 6


# -- pages that never end: max_pages ------------------------------------------------------------


def test_max_pages_caps_an_endless_chain(looping: Any) -> None:
    sink, error = fetch(config(looping, "endless", {"type": "page_number"}), RunOptions(max_pages=5))
    assert isinstance(error, LoopError)
    assert "more than max_pages=5 pages in one chain" in str(error) and error.resource == "things"
    assert looping.calls["/endless"] == 5 and ids(sink) == list(range(50))


def test_max_pages_caps_a_planned_chain(looping: Any) -> None:
    paginator = {"type": "page_number", "total_path": "total"}
    sink, error = fetch(config(looping, "endless_total", paginator), RunOptions(max_pages=20))
    assert isinstance(error, LoopError) and "max_pages=20" in str(error)
    assert looping.calls["/endless_total"] <= 20 + 2 * 4
    assert len(ids(sink)) == len(set(ids(sink)))


def test_without_a_cap_an_endless_chain_runs_on(looping: Any) -> None:
    """Documented: an API that always sends a full page of new records is followed until
    max_pages; without it, the chain runs on. Here, 60 pages in, nothing has stopped it."""
    sink, error = fetch(config(looping, "endless", {"type": "page_number", "maximum_page": 60}))
    assert error is None and looping.calls["/endless"] == 60


def test_offset_cap_is_surfaced_not_looped() -> None:
    """The incident API answers 422 past its offset cap: a clear error, not a loop or a silent stop."""
    with MockServer("incidents", counts={"users": 300}, options={"offset_cap": 100}) as m:
        cfg = {"client": {"base_url": m.base_url, "auth": {"type": "api_key", "name": "api_key", "api_key": m.api_key}},
               "resources": [{"name": "things", "endpoint": {"path": "/v2/users", "data_selector": "data",
                                                              "paginator": {"type": "offset", "limit": 50}}}]}
        sink, error = fetch(cfg)
    assert isinstance(error, HTTPStatusError) and error.status == 422 and error.attempts == 1
    assert "resource 'things'" in str(error) and "offset=100" in str(error)


def test_a_loop_reaches_the_caller_through_dlt(looping: Any, tmp_path: Path) -> None:
    target = Target("loops", duckdb_file=str(tmp_path / "loops.duckdb"), pipelines_dir=str(tmp_path / "pipelines"))
    with pytest.raises(LoopError, match="resource 'things'"):
        run(LoadedConfig(config(looping, "cursor_same", {"type": "cursor"})), target, RunOptions())


def test_the_loop_detector_keeps_at_most_64_bytes_per_page() -> None:
    # Issue 13: a 1M-page cursor chain kept ~4 KB per page (every request's identity) = 4 GB.
    import tracemalloc

    from sluice.config.specs import EndpointSpec, ResourceSpec
    from sluice.engine.order import Slot
    from sluice.engine.run import _Chain
    from sluice.model import PageRequest

    resource = ResourceSpec("r", EndpointSpec("items"))
    chain = _Chain(None, Slot(None))
    base = PageRequest("GET", "http://127.0.0.1/items", headers={"Accept": "application/json"})
    pages = 50_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(pages):
            request = base.with_params(cursor=f"eyJpZCI6{n:012d}fQ==", limit=100)
            chain.check(request, resource, None)
            records = [{"id": n, "name": f"item {n}"}]
            chain.repeats(records, orjson.dumps(records))
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert chain.count == pages
    assert kept / pages <= 64, f"{kept / pages:.0f} bytes per page"


def test_fingerprints_add_discard_and_grow() -> None:
    from sluice.engine.fingerprints import Fingerprints, fingerprint

    seen = Fingerprints(4)
    fps = [fingerprint(b"%d" % i) for i in range(2000)]
    assert all(seen.add(fp) for fp in fps) and len(seen) == 2000
    assert not seen.add(fps[7])
    for fp in fps[::2]:
        seen.discard(fp)  # the engine forgets requests fetched ahead that the chain did not take
    assert [fp in seen for fp in fps[:6]] == [False, True] * 3 and len(seen) == 1000
    for _ in range(3):  # tombstones never fill the table
        assert all(seen.add(fp) for fp in fps[::2])
        for fp in fps[::2]:
            seen.discard(fp)
    assert len(seen) == 1000


def test_a_page_token_in_a_header_makes_another_request():
    """Airbyte's `inject_into: header` page tokens: the header is part of what a request is."""
    from sluice.model import PageRequest, freeze

    first = PageRequest("GET", "http://127.0.0.1/items", headers=freeze({"X-Page": "1"}))
    assert first.identity() != PageRequest("GET", "http://127.0.0.1/items", headers=freeze({"x-page": "2"})).identity()
    assert first.identity() == PageRequest("GET", "http://127.0.0.1/items", headers=freeze({"x-page": "1"})).identity()
