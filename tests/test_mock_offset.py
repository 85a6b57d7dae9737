"""The ticket data (001) and event management (002) mocks: query-key auth, offset/limit."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest

from sluice.mock import MockServer

UNAUTHORIZED = {"error": "unauthorized", "message": "Invalid or missing api_key"}
ROUTES = {"tickets": "/v1/tickets", "events": "/v1/events"}


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.headers["Content-Type"] == "application/json"
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def page(m: MockServer, query: str = "") -> tuple[int, Any]:
    return get(f"{m.base_url}{ROUTES[m.name]}?api_key={m.api_key}" + (f"&{query}" if query else ""))


def walk(m: MockServer, limit: int = 100) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    while not pages or len(pages[-1]) == limit:
        status, body = page(m, f"offset={sum(map(len, pages))}&limit={limit}")
        assert status == 200
        pages.append(body["data"])
    return pages


@pytest.fixture(scope="module", params=["tickets", "events"])
def default(request: pytest.FixtureRequest) -> Any:
    with MockServer(request.param) as m:
        yield m


@pytest.mark.parametrize("query", ["", "?api_key=wrong", "?apikey=x"])
def test_missing_or_wrong_key_is_401(default: MockServer, query: str) -> None:
    assert get(f"{default.base_url}{ROUTES[default.name]}{query}") == (401, UNAUTHORIZED)


def test_defaults_and_envelope(default: MockServer) -> None:
    status, body = page(default)
    assert status == 200
    assert list(body) == ["data", "total", "offset", "limit"]
    assert (len(body["data"]), body["offset"], body["limit"]) == (20, 0, 20)
    assert body["total"] == len(default.data(default.name)) == {"tickets": 250, "events": 130}[default.name]


def test_limit_is_capped_at_100(default: MockServer) -> None:
    body = page(default, "limit=1000")[1]
    assert (body["limit"], len(body["data"])) == (100, 100)


@pytest.mark.parametrize("query", ["offset=-1", "limit=0", "limit=abc"])
def test_bad_parameters_are_400(default: MockServer, query: str) -> None:
    status, body = page(default, query)
    assert status == 400 and body["error"] == "bad_request"


def test_past_the_end_is_an_empty_page(default: MockServer) -> None:
    status, body = page(default, "offset=100000&limit=100")
    assert (status, body["data"], body["total"]) == (200, [], len(default.data(default.name)))


def test_default_counts_page_into_100s(default: MockServer) -> None:
    sizes = [len(p) for p in walk(default)]
    assert sizes == {"tickets": [100, 100, 50], "events": [100, 30]}[default.name]


@pytest.mark.parametrize("name", ["tickets", "events"])
@pytest.mark.parametrize(("count", "sizes"), [(0, [0]), (1, [1]), (99, [99]), (100, [100, 0]), (101, [100, 1])])
def test_pages_for_edge_counts(name: str, count: int, sizes: list[int]) -> None:
    with MockServer(name, counts={name: count}) as m:
        pages = walk(m)
        assert [len(p) for p in pages] == sizes
        assert [r for p in pages for r in p] == m.data(name)
        assert m.requests(name) == len(sizes)


def test_drop_total() -> None:
    with MockServer("tickets", options={"drop_total": True}) as m:
        body = page(m)[1]
        assert "total" not in body and len(body["data"]) == 20


def test_short_page_lie_overstates_total() -> None:
    with MockServer("events", counts={"events": 150}, options={"short_page_lie": True}) as m:
        first, second, third = (page(m, f"offset={o}&limit=100")[1] for o in (0, 100, 200))
        assert (len(first["data"]), len(second["data"]), len(third["data"])) == (100, 50, 0)
        assert first["total"] == second["total"] == third["total"] == 225
        assert len(m.data("events")) == 150


def test_ticket_records() -> None:
    m = MockServer("tickets")  # the data exists before the server starts
    records = m.data("ticket_data")
    assert records == m.data("tickets")
    assert set(records[0]) == {
        "id",
        "event_name",
        "ticket_type",
        "customer_id",
        "price",
        "currency",
        "status",
        "purchased_at",
        "seat",
    }
    assert all(isinstance(r["id"], int) for r in records)
    assert {type(r["seat"]) for r in records} == {str, type(None)}


def test_event_records() -> None:
    records = MockServer("events").data("events")
    assert {"id", "event_name", "start_time", "end_time", "venue", "status", "capacity"} == set(records[0])
    assert any(r["end_time"] is None for r in records) and any(r["venue"] is None for r in records)
    offsets = {re.search(r"([+-]\d\d:\d\d)$", r["start_time"]).group(1) for r in records}  # type: ignore[union-attr]
    assert len(offsets) > 2 and "+00:00" in offsets
