"""The mock server's generic machinery: lifecycle, log, counters, fault knobs, CLI."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from email.message import Message
from typing import Any

import pytest

from sluice.mock import MOCK_NAMES, Fault, LoggedRequest, MockServer
from sluice.mock.__main__ import parse_args


def get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def tickets_url(m: MockServer, query: str = "") -> str:
    return f"{m.origin}/v1/tickets?api_key={m.api_key}" + (f"&{query}" if query else "")


@pytest.fixture
def tickets() -> Any:
    with MockServer("tickets", counts={"tickets": 30}) as m:
        yield m


# -- lifecycle and identity -------------------------------------------------------------------


def test_mock_names() -> None:
    assert MOCK_NAMES == ("ticketing", "tickets", "events", "servicedesk", "incidents", "bench")


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("ticketing", "/v1/"),
        ("tickets", ""),
        ("events", ""),
        ("servicedesk", "/api/v2"),
        ("incidents", ""),
        ("bench", ""),
    ],
)
def test_base_url_mirrors_the_seed_path(name: str, suffix: str) -> None:
    with MockServer(name, counts={}) as m:
        assert m.origin.startswith("http://127.0.0.1:")
        assert m.base_url == m.origin + suffix
        assert m.port > 0


def test_api_keys_are_fixed_and_distinct() -> None:
    keys = {name: MockServer(name).api_key for name in MOCK_NAMES}
    assert len(set(keys.values())) == len(MOCK_NAMES)
    assert keys["ticketing"].startswith("tk_live_")
    assert MockServer("ticketing").api_key == keys["ticketing"]


def test_stop_frees_the_port_and_is_idempotent() -> None:
    m = MockServer("tickets").start()
    port = m.port
    m.stop()
    m.stop()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    with MockServer("tickets", port=port) as again:
        assert again.port == port
        assert get(tickets_url(again))[0] == 200


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown mock 'nope'"):
        MockServer("nope")
    with pytest.raises(ValueError, match="unknown count"):
        MockServer("tickets", counts={"tikets": 3})
    with pytest.raises(ValueError, match="integers >= 0"):
        MockServer("tickets", counts={"tickets": -1})
    with pytest.raises(ValueError, match="unknown option"):
        MockServer("tickets", options={"drop_totl": True})
    with pytest.raises(ValueError, match="no route 'orders'"):
        MockServer("tickets", faults={"orders": Fault()})
    with pytest.raises(ValueError, match="status_burst"):
        Fault(status_burst=(99, 2))
    with pytest.raises(ValueError, match="drop_connection must be >= 0"):
        Fault(drop_connection=-1)


def test_data_is_deterministic_per_seed_and_a_fresh_copy() -> None:
    a, b, c = (MockServer("events", seed=s) for s in (1, 1, 2))
    assert a.data("events") == b.data("events") != c.data("events")
    a.data("events")[0]["id"] = "changed"
    assert a.data("events")[0]["id"] != "changed"
    with pytest.raises(KeyError, match="no resource"):
        a.data("nope")


def test_changing_one_count_leaves_other_resources_alone() -> None:
    small = MockServer("servicedesk", counts={"assets": 3})
    default = MockServer("servicedesk")
    assert small.data("vendors") == default.data("vendors")
    assert len(small.data("assets")) == 3


# -- log and counters -------------------------------------------------------------------------


def test_log_keeps_raw_query_status_and_route(tickets: MockServer) -> None:
    get(tickets_url(tickets, "offset=10&limit=5"))
    get(f"{tickets.origin}/v1/tickets?api_key=wrong")
    get(f"{tickets.origin}/nowhere")
    assert tickets.log == [
        LoggedRequest("GET", "/v1/tickets", {"api_key": tickets.api_key, "offset": "10", "limit": "5"}, 200, "tickets"),
        LoggedRequest("GET", "/v1/tickets", {"api_key": "wrong"}, 401, "tickets"),
        LoggedRequest("GET", "/nowhere", {}, 404, "-"),
    ]
    assert tickets.requests("tickets") == 2
    assert tickets.requests("-") == 1
    tickets.reset_log()
    assert tickets.log == [] and tickets.requests("tickets") == 0 and tickets.max_in_flight == 0


def test_unknown_path_answers_json_404(tickets: MockServer) -> None:
    status, headers, body = get(f"{tickets.origin}/v2/tickets?api_key={tickets.api_key}")
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"] == "not_found"


def test_max_in_flight_counts_concurrent_requests(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(latency_ms=150))
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: get(tickets_url(tickets))[0], range(6)))
    assert statuses == [200] * 6
    assert tickets.max_in_flight == 6
    assert tickets.max_in_flight_route("tickets") == 6
    assert tickets.max_in_flight_route("other") == 0


def test_fault_max_in_flight_answers_429_beyond_the_limit(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(latency_ms=150, max_in_flight=2))
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: get(tickets_url(tickets)), range(5)))
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200, 200, 429, 429, 429]
    assert all(h["Retry-After"] == "0" for s, h, _ in answers if s == 429)


def test_without_latency_handlers_complete_one_at_a_time(tickets: MockServer) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: get(tickets_url(tickets)), range(8)))
    assert tickets.requests("tickets") == 8
    assert 1 <= tickets.max_in_flight <= 4


# -- fault knobs --------------------------------------------------------------------------------


def statuses(m: MockServer, n: int) -> list[int]:
    return [get(tickets_url(m))[0] for _ in range(n)]


def test_status_burst_then_recovery(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(status_burst=(503, 2)))
    assert statuses(tickets, 4) == [503, 503, 200, 200]


def test_status_every_kth_call(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(status_every=(500, 3)))
    assert statuses(tickets, 7) == [200, 200, 500, 200, 200, 500, 200]


def test_persistent_status(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(persistent_status=502))
    assert statuses(tickets, 3) == [502] * 3


def test_authentication_failures_do_not_consume_fault_calls(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(status_burst=(500, 1)))
    assert get(f"{tickets.origin}/v1/tickets")[0] == 401
    assert statuses(tickets, 2) == [500, 200]


def test_rate_limit_429_carries_retry_after(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(rate_limit_429=(1, 2)))
    status, headers, body = get(tickets_url(tickets))
    assert (status, headers["Retry-After"]) == (429, "2")
    assert json.loads(body)["error"] == "rate_limited"
    assert get(tickets_url(tickets))[0] == 200


def test_fractional_retry_after_for_fast_tests(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(rate_limit_429=(1, 0.05)))
    assert get(tickets_url(tickets))[1]["Retry-After"] == "0.05"


def test_transient_403(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(transient_403=2))
    assert statuses(tickets, 3) == [403, 403, 200]


def test_drop_connection_closes_without_answer(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(drop_connection=1))
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        get(tickets_url(tickets))
    assert get(tickets_url(tickets))[0] == 200
    assert [entry.status for entry in tickets.log] == [0, 200]


def test_truncated_body_is_cut_short(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(truncated=1))
    with pytest.raises(http.client.IncompleteRead):
        get(tickets_url(tickets))
    status, _, body = get(tickets_url(tickets))
    assert status == 200 and json.loads(body)["data"]


def test_malformed_json_is_a_complete_http_answer(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(malformed_json=1))
    status, headers, body = get(tickets_url(tickets))
    assert status == 200 and headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_empty_and_html_200(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(empty_200=1, html_200=2))
    first, second = get(tickets_url(tickets)), get(tickets_url(tickets))
    assert (first[0], first[2]) == (200, b"")
    assert second[0] == 200 and second[1]["Content-Type"].startswith("text/html")
    assert second[2].startswith(b"<!DOCTYPE html>")
    assert json.loads(get(tickets_url(tickets))[2])["data"]


def test_latency_delays_the_answer(tickets: MockServer) -> None:
    tickets.set_fault("tickets", Fault(latency_ms=80, jitter_ms=10))
    started = time.perf_counter()
    get(tickets_url(tickets))
    assert time.perf_counter() - started >= 0.08


def test_wildcard_fault_and_reset_of_call_counts() -> None:
    with MockServer("ticketing", counts={"events": 2, "tags": 2}, faults={"*": Fault(status_burst=(504, 1))}) as m:
        headers = {"x-api-key": m.api_key}
        assert get(m.base_url + "events", headers)[0] == 504
        assert get(m.base_url + "tags", headers)[0] == 200  # one count shared by "*" routes
        m.set_fault("tags", Fault(status_burst=(500, 1)))
        assert get(m.base_url + "tags", headers)[0] == 500
        m.set_fault("tags", Fault(status_burst=(500, 1)))
        assert get(m.base_url + "tags", headers)[0] == 500  # set_fault restarts the count
        m.clear_faults()
        assert get(m.base_url + "events", headers)[0] == 200
        assert m.errors == []


# -- command line -------------------------------------------------------------------------------


def test_cli_arguments() -> None:
    args = parse_args(
        ["bench", "--port", "0", "--count", "flat=10", "--latency-ms", "5", "--option", "require_auth=true"]
    )
    assert (args.name, args.port, args.count, args.latency_ms, args.option) == (
        "bench",
        0,
        ["flat=10"],
        5.0,
        ["require_auth=true"],
    )


def test_python_dash_m_serves_until_interrupted() -> None:
    command = [sys.executable, "-m", "sluice.mock", "tickets", "--port", "0", "--count", "tickets=3"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            lines = [process.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
            base_url = lines[1].split("base_url:")[1].strip()
            api_key = lines[2].split("api_key:")[1].strip()
            status, _, body = get(f"{base_url}/v1/tickets?api_key={api_key}")
            assert status == 200 and len(json.loads(body)["data"]) == 3
        finally:
            process.terminate()
            process.wait(5)
