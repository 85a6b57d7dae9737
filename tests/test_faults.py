"""The fault matrix: every way an API misbehaves, over loopback, through dlt into DuckDB.

For each fault the run either recovers with every record loaded exactly once (append
disposition, so a duplicate would show as an extra row) or fails with a message that names
the resource, the sanitized URL, the status (when there is one) and the attempts. A failed
run loads nothing. The outcomes are the "Fault matrix" section of README.md.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from aiohttp import web
from apis import Server

from sluice import HTTPStatusError, ResourceError, RunOptions
from sluice.config import parse_source
from sluice.configfile import LoadedConfig
from sluice.engine.run import Engine
from sluice.mock import Fault, MockServer
from sluice.runner import Target, run

COUNT = 250  # 3 pages of 100: the first is fetched alone, the others concurrently (total is known)
FAST = RunOptions(max_retry_delay=0.01)
RESOURCE = "ticket_data"


def tickets_config(m: MockServer, **client: Any) -> dict[str, Any]:
    return {
        "client": {
            "base_url": m.base_url,
            "auth": {"type": "api_key", "name": "api_key", "api_key": m.api_key, "location": "query"},
            **client,
        },
        "resource_defaults": {"primary_key": "id", "write_disposition": "append"},
        "resources": [{"name": RESOURCE, "endpoint": {"path": "/v1/tickets", "data_selector": "data",
                                                       "paginator": {"type": "offset", "limit": 100}}}],
    }


class ListSink:
    """What the engine hands to dlt, kept in memory: every page, in delivery order."""

    def __init__(self) -> None:
        self.records: dict[str, list[Any]] = {}
        self.finished: list[str] = []

    async def put(self, resource: str, records: list[Any]) -> None:
        self.records.setdefault(resource, []).extend(records)

    def finish(self, resource: str) -> None:
        self.finished.append(resource)


def fetch(config: dict[str, Any], options: RunOptions = FAST) -> list[Any]:
    """Run the engine alone (no dlt: fast); the ids of the first resource, sorted, duplicates kept."""
    spec = parse_source(config)
    name = spec.resources[0].name
    sink = ListSink()
    asyncio.run(Engine(spec, {name}, sink, options=options).run())
    assert sink.finished == [name]
    return sorted(r["id"] for r in sink.records.get(name, []))


def load(config: dict[str, Any], tmp_path: Path, options: RunOptions = FAST) -> list[Any]:
    """Run into a fresh DuckDB file; the ids loaded, in id order (duplicates kept)."""
    target = Target("faults", duckdb_file=str(tmp_path / "faults.duckdb"), pipelines_dir=str(tmp_path / "pipelines"),
                    dataset_name="d")
    run(LoadedConfig(config), target, options)
    return loaded_ids(tmp_path, config["resources"][0]["name"])


def loaded_ids(tmp_path: Path, table: str = RESOURCE) -> list[Any]:
    file = tmp_path / "faults.duckdb"
    if not file.exists():
        return []
    with duckdb.connect(str(file), read_only=True) as con:
        tables = con.execute("select table_name from information_schema.tables where table_schema = 'd'").fetchall()
        if (table,) not in tables:
            return []
        return [row[0] for row in con.execute(f"select id from d.{table} order by id").fetchall()]


def successes_per_offset(m: MockServer) -> Counter[str]:
    return Counter(r.query.get("offset", "0") for r in m.log if r.route == "tickets" and r.status == 200)


# -- transient faults: the run recovers, every record once ---------------------------------

TRANSIENT = {  # fault, how many calls it spoils
    "429 + Retry-After": (Fault(rate_limit_429=(2, 0.02)), 2),
    "429 bare (no headers)": (Fault(status_burst=(429, 2)), 2),
    "500 burst": (Fault(status_burst=(500, 2)), 2),
    "502 burst": (Fault(status_burst=(502, 3)), 3),
    "503 every 2nd call (mid-run pages)": (Fault(status_every=(503, 2)), 2),
    "504 burst": (Fault(status_burst=(504, 4)), 4),  # 4 retries: exactly the default budget
    "dropped connection": (Fault(drop_connection=2), 2),
    "truncated body": (Fault(truncated=2), 2),
    "malformed JSON": (Fault(malformed_json=2), 2),
    "empty body with 200": (Fault(empty_200=2), 2),
    "HTML page with 200": (Fault(html_200=2), 2),
}


@pytest.mark.parametrize(("fault", "spoiled"), list(TRANSIENT.values()), ids=list(TRANSIENT))
def test_transient_fault_recovers_with_every_record_once(fault: Fault, spoiled: int) -> None:
    with MockServer("tickets", counts={"tickets": COUNT}, faults={"tickets": fault}) as m:
        ids = fetch(tickets_config(m))
        assert ids == sorted(r["id"] for r in m.data("tickets"))  # a page delivered twice would show here
        assert len(m.log) == 3 + spoiled  # each spoiled call retried once, no page fetched again
        assert {r.query["offset"] for r in m.log} == {"0", "100", "200"}
        if fault.status_burst or fault.status_every or fault.rate_limit_429:
            assert successes_per_offset(m) == {"0": 1, "100": 1, "200": 1}


def test_period_header_429_recovers() -> None:
    """The incident API's 429 carries X-RateLimit-Period-In-Sec and no Retry-After."""
    with MockServer("incidents", counts={"users": 120}, faults={"users": Fault(rate_limit_429=(2, 0.02))}) as m:
        config = {
            "client": {"base_url": m.base_url, "auth": {"type": "api_key", "name": "api_key", "api_key": m.api_key}},
            "resource_defaults": {"primary_key": "id", "write_disposition": "append"},
            "resources": [{"name": "users", "endpoint": {"path": "/v2/users", "data_selector": "data",
                                                          "params": {"limit": 100},
                                                          "paginator": {"type": "json_link", "next_url_path": "paging.next"}}}],
        }
        ids = fetch(config)
        assert ids == sorted(r["id"] for r in m.data("users"))
        assert [r.status for r in m.log][:2] == [429, 429]


# -- persistent faults: the run fails with a message that says where and why ---------------


@dataclass(frozen=True)
class Persistent:
    fault: Fault
    status: int | None  # what the message must name; None: no HTTP status (socket-level)
    cause: str  # a word of the cause the message must carry


PERSISTENT = {
    "429 forever": Persistent(Fault(rate_limit_429=(1000, 0.0)), 429, "status 429"),
    "500 forever": Persistent(Fault(persistent_status=500), 500, "status 500"),
    "502 forever": Persistent(Fault(persistent_status=502), 502, "status 502"),
    "503 forever": Persistent(Fault(persistent_status=503), 503, "status 503"),
    "504 forever": Persistent(Fault(persistent_status=504), 504, "status 504"),
    "dropped connection forever": Persistent(Fault(drop_connection=1000), None, "Disconnected"),
    "truncated body forever": Persistent(Fault(truncated=1000), None, "Payload"),
    "malformed JSON forever": Persistent(Fault(malformed_json=1000), 200, "not valid JSON"),
    "empty body with 200 forever": Persistent(Fault(empty_200=1000), 200, "empty body"),
    "HTML page with 200 forever": Persistent(Fault(html_200=1000), 200, "text/html"),
}


@pytest.mark.parametrize("case", list(PERSISTENT.values()), ids=list(PERSISTENT))
def test_persistent_fault_fails_naming_resource_url_status_attempts(case: Persistent) -> None:
    with MockServer("tickets", counts={"tickets": COUNT}, faults={"tickets": case.fault}) as m:
        with pytest.raises(HTTPStatusError) as caught:
            fetch(tickets_config(m))
        error = caught.value
        message = str(error)
        assert f"resource '{RESOURCE}'" in message
        assert f"url: {m.base_url}/v1/tickets?" in message and "offset=0" in message
        assert m.api_key not in message  # sanitized: the query key never shows
        assert "attempts: 5" in message and error.attempts == 5  # dlt's default: 5 attempts in all
        assert case.cause in message
        if case.status is not None:
            assert f"status: {case.status}" in message and error.status == case.status
        assert {r.query["offset"] for r in m.log} == {"0"}  # the first page only; nothing after it
        # aiohttp resends once, by itself, a request whose reused keep-alive connection was
        # closed under it (RFC 9112 9.3.1), so a dropped connection can cost 2 hits per attempt.
        assert 5 <= len(m.log) <= (10 if case.status is None else 5)


def test_a_failed_resource_is_never_reported_complete() -> None:
    """The sink (dlt's side) must not hear "complete" for a resource whose chain failed: it
    would end the resource as a success before the error arrived, and load a partial table."""
    with MockServer("tickets", counts={"tickets": COUNT}, faults={"tickets": Fault(status_every=(500, 2))}) as m:
        sink = ListSink()
        spec = parse_source(tickets_config(m, error_handler={"max_retries": 0}))
        with pytest.raises(HTTPStatusError):
            asyncio.run(Engine(spec, {RESOURCE}, sink, options=FAST).run())
    assert sink.finished == []


def test_non_retried_status_fails_at_once_with_the_body() -> None:
    with MockServer("tickets", counts={"tickets": COUNT}, faults={"tickets": Fault(persistent_status=400)}) as m:
        with pytest.raises(HTTPStatusError) as caught:
            fetch(tickets_config(m))
        message = str(caught.value)
        assert "status: 400" in message and "attempts: 1" in message and "bad_request" in message
        assert len(m.log) == 1


def test_retries_respect_a_configured_budget() -> None:
    with MockServer("tickets", counts={"tickets": COUNT}, faults={"tickets": Fault(persistent_status=503)}) as m:
        with pytest.raises(HTTPStatusError) as caught:
            fetch(tickets_config(m, error_handler={"max_retries": 1}))
        assert caught.value.attempts == 2 and len(m.log) == 2


def test_extra_retry_status_is_retried() -> None:
    with MockServer("tickets", counts={"tickets": COUNT}, faults={"tickets": Fault(status_burst=(409, 2))}) as m:
        ids = fetch(tickets_config(m, error_handler={"retry_on_status_codes": [409]}))
        assert len(ids) == COUNT and [r.status for r in m.log][:2] == [409, 409]


# -- read timeouts: a client timeout shorter than the API's latency ------------------------


def test_read_timeout_forever_fails_with_attempts() -> None:
    with MockServer("tickets", counts={"tickets": COUNT}, faults={"tickets": Fault(latency_ms=400)}) as m:
        with pytest.raises(HTTPStatusError) as caught:
            fetch(tickets_config(m, timeout=0.1, error_handler={"max_retries": 2}))
        message = str(caught.value)
        assert f"resource '{RESOURCE}'" in message and "attempts: 3" in message
        assert "timed out: no complete response within 0.1s (timeout)" in message
        assert m.api_key not in message


class SlowFirstCalls:
    """An offset API whose first `slow` calls answer after `delay` seconds."""

    def __init__(self, slow: int, delay: float, count: int = 45) -> None:
        self.slow, self.delay, self.count, self.calls = slow, delay, count, 0
        self.served: Counter[int] = Counter()

    async def items(self, request: web.Request) -> web.Response:
        self.calls += 1
        if self.calls <= self.slow:
            await asyncio.sleep(self.delay)
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        self.served[offset] += 1
        return web.json_response({"data": [{"id": i} for i in range(offset, min(offset + limit, self.count))]})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/items", self.items)
        return app


def test_read_timeout_then_recovery_loads_every_record_once() -> None:
    api = SlowFirstCalls(slow=2, delay=0.5)
    with Server(api.app()) as server:
        config = {
            "client": {"base_url": server.url, "timeout": 0.15},
            "resources": [{"name": "items", "write_disposition": "append",
                           "endpoint": {"path": "items", "paginator": {"type": "offset", "limit": 10}}}],
        }
        ids = fetch(config)
    assert ids == list(range(45))
    assert api.calls == 2 + 5  # two timed out, then 5 pages (10, 10, 10, 10, 5)


# -- rate-limit reset headers (an API our mocks do not imitate) ------------------------------


class ResetHeaderApi:
    """Answers its first call with 429 and one reset header, then a single page."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers, self.calls = headers, 0

    async def items(self, request: web.Request) -> web.Response:
        self.calls += 1
        if self.calls == 1:
            return web.json_response({"error": "slow down"}, status=429, headers=self.headers)
        return web.json_response([{"id": 1}, {"id": 2}])

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/items", self.items)
        return app


@pytest.mark.parametrize("headers", [
    {"X-RateLimit-Reset": "0.05"},  # seconds
    {"RateLimit-Reset": "0"},
    {"X-RateLimit-Period-In-Sec": "0.05"},
    {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},  # an HTTP date in the past: no wait
], ids=["x-ratelimit-reset", "ratelimit-reset", "period-in-sec", "retry-after-date"])
def test_429_with_reset_headers_recovers(headers: dict[str, str]) -> None:
    api = ResetHeaderApi(headers)
    with Server(api.app()) as server:
        config = {"client": {"base_url": server.url},
                  "resources": [{"name": "items", "write_disposition": "append", "endpoint": {"path": "items", "paginator": "single_page"}}]}
        assert fetch(config, RunOptions(max_retry_delay=1.0)) == [1, 2]
    assert api.calls == 2


# -- end to end through dlt: what reaches DuckDB -------------------------------------------


def test_mid_run_faults_through_dlt_load_every_record_once(tmp_path: Path) -> None:
    with MockServer("tickets", counts={"tickets": COUNT}, faults={"tickets": Fault(status_every=(503, 2))}) as m:
        assert load(tickets_config(m), tmp_path) == sorted(r["id"] for r in m.data("tickets"))


def test_persistent_fault_through_dlt_raises_the_sluice_error_and_loads_nothing(tmp_path: Path) -> None:
    """The error must reach the caller: a failed chain once let dlt load an empty run as a success."""
    with MockServer("tickets", counts={"tickets": COUNT}, faults={"tickets": Fault(html_200=1000)}) as m:
        with pytest.raises(ResourceError) as caught:
            load(tickets_config(m), tmp_path)
    assert caught.value.resource == RESOURCE and caught.value.attempts == 5
    assert loaded_ids(tmp_path) == []


def test_a_failed_page_after_good_pages_loads_nothing(tmp_path: Path) -> None:
    """Page 1 succeeds, page 2 fails for good: the run fails and commits none of page 1."""
    with MockServer("tickets", counts={"tickets": COUNT}, faults={"tickets": Fault(status_every=(500, 1))}) as m:
        m.set_fault("tickets", Fault(status_every=(500, 2)))  # calls 2, 4, 6, ...: one good call in two
        config = tickets_config(m, error_handler={"max_retries": 0})
        with pytest.raises(HTTPStatusError, match="status: 500"):
            load(config, tmp_path)
        assert 200 in [r.status for r in m.log]
        assert loaded_ids(tmp_path) == []
