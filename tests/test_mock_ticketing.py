"""The ticketing mock (seed 000) behaves like the real API."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from email.message import Message
from typing import Any

import pytest

from sluice.mock import Fault, MockServer

UNAUTHORIZED = {"statusCode": 401, "error": "Unauthorized", "message": "Invalid API key"}
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, Message, Any]:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, json.loads(error.read())


def fetch(m: MockServer, path: str) -> tuple[int, Message, Any]:
    return get(m.base_url + path, {"x-api-key": m.api_key})


def walk(m: MockServer, path: str, key: str, size: int = 100) -> list[list[dict[str, Any]]]:
    """Pages until the first short one (what a client without `total` must do)."""
    pages: list[list[dict[str, Any]]] = []
    while not pages or len(pages[-1]) == size:
        sep = "&" if "?" in path else "?"
        status, _, body = fetch(m, f"{path}{sep}page={len(pages) + 1}&pageSize={size}")
        assert status == 200
        pages.append(body[key])
    return pages


@pytest.fixture(scope="module")
def default() -> Any:
    with MockServer("ticketing") as m:
        yield m


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "tk_live_wrong"}, {"Authorization": "tk_live_4f9a"}])
def test_missing_or_wrong_key_is_401(default: MockServer, headers: dict[str, str]) -> None:
    status, response_headers, body = get(default.base_url + "events", headers)
    assert (status, body) == (401, UNAUTHORIZED)
    assert response_headers["Content-Type"] == "application/json"


def test_header_name_is_case_insensitive(default: MockServer) -> None:
    assert get(default.base_url + "tags", {"X-API-KEY": default.api_key})[0] == 200


def test_envelope_and_defaults(default: MockServer) -> None:
    status, headers, body = fetch(default, "events")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert list(body) == ["total", "page", "pageSize", "events"]
    assert (body["total"], body["page"], body["pageSize"], len(body["events"])) == (150, 1, 100, 100)


def test_page_size_is_capped_at_100(default: MockServer) -> None:
    body = fetch(default, "events?pageSize=500")[2]
    assert (body["pageSize"], len(body["events"])) == (100, 100)


@pytest.mark.parametrize("query", ["page=0", "page=x", "pageSize=0", "pageSize=-3"])
def test_bad_paging_parameters_are_400(default: MockServer, query: str) -> None:
    status, _, body = fetch(default, f"events?{query}")
    assert status == 400 and body["statusCode"] == 400 and body["error"] == "Bad Request"


@pytest.mark.parametrize(("count", "sizes"), [(0, [0]), (1, [1]), (99, [99]), (100, [100, 0]), (101, [100, 1])])
def test_pages_for_edge_counts(count: int, sizes: list[int]) -> None:
    with MockServer("ticketing", counts={"events": count, "tags": count}) as m:
        for key in ("events", "tags"):
            pages = walk(m, key, key)
            assert [len(p) for p in pages] == sizes
            assert [r for p in pages for r in p] == m.data(key)
        assert fetch(m, "tags?page=9")[2] == {"total": count, "page": 9, "pageSize": 100, "tags": []}
        assert m.requests("events") == len(sizes)


def test_total_counts_records_not_pages(default: MockServer) -> None:
    assert fetch(default, "tags?pageSize=5&page=2")[2]["total"] == 12


def test_one_duplicate_id_on_two_pages(default: MockServer) -> None:
    first, second = walk(default, "events", "events")[:2]
    shared = {e["_id"] for e in first} & {e["_id"] for e in second}
    assert len(shared) == 1
    assert len(default.data("events")) == 150
    assert len(default.unique_ids("events")) == 149


def test_duplicate_can_be_switched_off() -> None:
    with MockServer("ticketing", counts={"events": 120}, options={"duplicate": False}) as m:
        assert len(m.unique_ids("events")) == 120


def test_children_per_event_vary_by_default(default: MockServer) -> None:
    orders = default.data("orders")
    per_event = [sum(o["eventId"] == event_id for o in orders) for event_id in default.unique_ids("events")]
    assert 0 in per_event and max(per_event) == 130 and per_event[2] == 130
    headliner = default.unique_ids("events")[2]
    assert [len(p) for p in walk(default, f"events/{headliner}/orders", "orders")] == [100, 30]
    quiet = default.unique_ids("events")[per_event.index(0)]
    assert fetch(default, f"events/{quiet}/orders")[2] == {"total": 0, "page": 1, "pageSize": 100, "orders": []}


def test_children_counts_are_exact_when_set() -> None:
    with MockServer("ticketing", counts={"events": 3, "orders": 101, "tickets": 1}) as m:
        event_id = m.unique_ids("events")[1]
        assert [len(p) for p in walk(m, f"events/{event_id}/orders", "orders")] == [100, 1]
        tickets = walk(m, f"events/{event_id}/tickets", "tickets")
        assert [len(p) for p in tickets] == [1]
        assert tickets[0][0]["eventId"] == event_id
        assert len(m.data("orders")) == 2 * 101  # three records, two distinct events


def test_unknown_event_is_404(default: MockServer) -> None:
    status, _, body = fetch(default, "events/0123456789abcdef01234567/orders")
    assert (status, body["statusCode"], body["message"]) == (404, 404, "Event not found")


def test_record_shapes(default: MockServer) -> None:
    event, order, ticket = default.data("events")[0], default.data("orders")[0], default.data("tickets")[0]
    assert OBJECT_ID.match(event["_id"]) and TIMESTAMP.match(event["createdAt"])
    assert isinstance(event["dates"], list) and isinstance(event["ticketTypes"], list)
    events = default.data("events")
    located = next(e for e in events if e["eventLocation"])
    assert len(located["eventLocation"]["latLng"]) == 2 and located["eventLocation"]["addressComponents"]
    assert any(e["eventLocation"] is None for e in events)
    assert len(order["totals"]) == 25 and "platformFee" in order["totals"]
    assert {"firstName", "lastName", "email", "mobile", "notes"} <= set(order)
    assert any(o["mobile"] is None for o in default.data("orders"))
    assert {"eventId", "orderId", "ticketTypeId"} <= set(ticket)
    assert ticket["totalsV2"]["fees"]["platform"].keys() == {"amount", "tax"}


def test_children_belong_to_their_event(default: MockServer) -> None:
    event_id = default.unique_ids("events")[2]
    orders = fetch(default, f"events/{event_id}/orders")[2]["orders"]
    assert {o["eventId"] for o in orders} == {event_id}


def test_rate_limit_answers_429_with_retry_after(default: MockServer) -> None:
    default.set_fault("events", Fault(rate_limit_429=(1, 3)))
    try:
        status, headers, body = fetch(default, "events")
        assert (status, headers["Retry-After"], body["statusCode"]) == (429, "3", 429)
    finally:
        default.clear_faults()


def test_children_do_not_depend_on_the_order_of_requests() -> None:
    with (
        MockServer("ticketing", counts={"events": 6}) as forward,
        MockServer("ticketing", counts={"events": 6}) as backward,
    ):
        for event_id in reversed(backward.unique_ids("events")):
            fetch(backward, f"events/{event_id}/tickets")
        assert backward.data("tickets") == forward.data("tickets")
        assert backward.data("orders") == forward.data("orders")
