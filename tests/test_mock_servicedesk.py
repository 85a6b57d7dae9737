"""The service desk mock (seed 003): Basic auth, page/per_page, Link headers, children."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from email.message import Message
from typing import Any

import pytest

from sluice.mock import Fault, MockServer

UNAUTHORIZED = {"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}
FORBIDDEN = {"code": "access_denied", "message": "You are not authorized to perform this action."}
LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def basic(user: str, password: str = "X") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def get(url: str, headers: dict[str, str]) -> tuple[int, Message, Any]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, json.loads(error.read())


def fetch(m: MockServer, path: str, **headers: str) -> tuple[int, Message, Any]:
    return get(m.base_url + path, {**basic(m.api_key), **headers})


def follow(m: MockServer, path: str) -> list[tuple[Message, Any]]:
    """Every page, following Link rel=next like a client that trusts the header."""
    url: str | None = m.base_url + path
    pages = []
    while url:
        status, headers, body = get(url, basic(m.api_key))
        assert status == 200
        pages.append((headers, body))
        link = headers["Link"]
        url = LINK.match(link).group("url") if link else None  # type: ignore[union-attr]
    return pages


@pytest.fixture(scope="module")
def default() -> Any:
    with MockServer("servicedesk") as m:
        yield m


@pytest.mark.parametrize("password", ["X", "", "anything at all"])
def test_key_as_user_with_any_password(default: MockServer, password: str) -> None:
    assert get(default.base_url + "/agents", basic(default.api_key, password))[0] == 200


@pytest.mark.parametrize(
    "headers", [{}, basic("wrong"), {"Authorization": "Bearer sd_key"}, {"Authorization": "Basic %%%"}]
)
def test_bad_credentials_are_401(default: MockServer, headers: dict[str, str]) -> None:
    status, _, body = get(default.base_url + "/tickets", headers)
    assert (status, body) == (401, UNAUTHORIZED)


def test_default_per_page_and_link_header(default: MockServer) -> None:
    pages = follow(default, "/tickets")
    assert [len(body["tickets"]) for _, body in pages] == [30, 30, 30, 5]
    assert [list(body) for _, body in pages] == [["tickets"]] * 4
    first_link = pages[0][0]["Link"]
    assert first_link == f'<{default.origin}/api/v2/tickets?page=2&per_page=30>; rel="next"'
    assert pages[-1][0]["Link"] is None
    assert [t for _, body in pages for t in body["tickets"]] == default.data("tickets")


def test_link_uses_the_request_host_and_keeps_other_params(default: MockServer) -> None:
    since = "2024-01-01T00:00:00Z"
    _, headers, _ = fetch(default, f"/tickets?updated_since={since}&per_page=10", Host="desk.example.test:8443")
    url = LINK.match(headers["Link"]).group("url")  # type: ignore[union-attr]
    assert (
        url == "http://desk.example.test:8443/api/v2/tickets?page=2&per_page=10&updated_since=2024-01-01T00%3A00%3A00Z"
    )


def test_past_the_end_is_empty_without_link(default: MockServer) -> None:
    status, headers, body = fetch(default, "/tickets?page=5")
    assert (status, body, headers["Link"]) == (200, {"tickets": []}, None)


def test_per_page_capped_at_100(default: MockServer) -> None:
    assert len(fetch(default, "/assets?per_page=500")[2]["assets"]) == 100


@pytest.mark.parametrize("query", ["page=0", "page=two", "per_page=-1"])
def test_bad_paging_is_400(default: MockServer, query: str) -> None:
    status, _, body = fetch(default, f"/problems?{query}")
    assert status == 400 and body["description"] == "Validation failed"


@pytest.mark.parametrize(("count", "sizes"), [(0, [0]), (1, [1]), (29, [29]), (30, [30]), (31, [30, 1])])
def test_pages_for_edge_counts(count: int, sizes: list[int]) -> None:
    with MockServer("servicedesk", counts={"vendors": count, "tickets": count}) as m:
        for name in ("vendors", "tickets"):
            pages = follow(m, f"/{name}")
            assert [len(body[name]) for _, body in pages] == sizes
            assert m.requests(name) == len(sizes)


def test_default_page_counts(default: MockServer) -> None:
    expected = {"problems": 1, "changes": 2, "releases": 1, "requesters": 3, "agents": 1, "locations": 1,
                "products": 1, "vendors": 2, "assets": 5, "applications": 2, "purchase_orders": 1}  # fmt: skip
    assert {name: len(follow(default, f"/{name}")) for name in expected} == expected


def test_csat_response_for_some_tickets_404_for_others(default: MockServer) -> None:
    surveyed = {s["id"] for s in default.data("csat_response")}
    answers = {t["id"]: fetch(default, f"/tickets/{t['id']}/csat_response") for t in default.data("tickets")}
    ok = [body for status, _, body in answers.values() if status == 200]
    assert len(ok) == len(surveyed) == 19
    assert all(list(body) == ["csat_response"] and isinstance(body["csat_response"], dict) for body in ok)
    assert {status for status, _, _ in answers.values()} == {200, 404}
    assert default.data("satisfaction_survey_responses") == default.data("csat_response")


def test_csat_ignores_page(default: MockServer) -> None:
    ticket_id = next(
        t["id"] for t in default.data("tickets") if fetch(default, f"/tickets/{t['id']}/csat_response")[0] == 200
    )
    first, second = (fetch(default, f"/tickets/{ticket_id}/csat_response?page={n}")[2] for n in (1, 2))
    assert first == second


def test_requested_items_for_service_requests_only(default: MockServer) -> None:
    tickets = default.data("tickets")
    request = next(t for t in tickets if t["type"] == "Service Request")
    incident = next(t for t in tickets if t["type"] == "Incident")
    status, _, body = fetch(default, f"/tickets/{request['id']}/requested_items")
    assert status == 200 and isinstance(body["requested_items"], list) and body["requested_items"]
    assert fetch(default, f"/tickets/{request['id']}/requested_items?page=2")[2] == body
    status, _, body = fetch(default, f"/tickets/{incident['id']}/requested_items")
    assert (status, body["code"]) == (404, "not_found")
    assert fetch(default, "/tickets/123/requested_items")[0] == 404
    assert sum(t["type"] == "Service Request" for t in tickets) == 38


def test_disabled_module_is_persistently_403() -> None:
    with MockServer("servicedesk", options={"disabled_modules": {"assets"}}) as m:
        assert [fetch(m, "/assets")[::2] for _ in range(3)] == [(403, FORBIDDEN)] * 3
        assert fetch(m, "/agents")[0] == 200


def test_transient_403(default: MockServer) -> None:
    default.set_fault("problems", Fault(transient_403=2))
    try:
        answers = [fetch(default, "/problems")[::2] for _ in range(3)]
        assert answers[:2] == [(403, FORBIDDEN)] * 2 and answers[2][0] == 200
    finally:
        default.clear_faults()


def test_rate_limit_headers_on_every_answer(default: MockServer) -> None:
    for path in ("/tickets", "/tickets/1/csat_response", "/vendors?page=99"):
        headers = fetch(default, path)[1]
        assert int(headers["X-RateLimit-Total"]) == 5000
        assert int(headers["X-RateLimit-Remaining"]) < 5000
        assert headers["X-RateLimit-Used-CurrentRequest"] == "1"


def test_token_bucket_answers_429_past_the_budget() -> None:
    with MockServer("servicedesk", options={"rate_limit_per_minute": 3, "rate_window_s": 30}) as m:
        answers = [fetch(m, "/agents") for _ in range(4)]
        assert [status for status, _, _ in answers] == [200, 200, 200, 429]
        assert [h["X-RateLimit-Remaining"] for _, h, _ in answers[:3]] == ["2", "1", "0"]
        _, headers, body = answers[3]
        assert body["code"] == "rate_limit_exceeded"
        assert 9 < float(headers["Retry-After"]) <= 10
        assert (headers["X-RateLimit-Total"], headers["X-RateLimit-Used-CurrentRequest"]) == ("3", "0")


def test_rate_limit_fault_uses_the_same_429(default: MockServer) -> None:
    default.set_fault("agents", Fault(rate_limit_429=(1, 1)))
    try:
        status, headers, body = fetch(default, "/agents")
        assert (status, headers["Retry-After"], body["code"]) == (429, "1", "rate_limit_exceeded")
        assert "X-RateLimit-Remaining" in headers
    finally:
        default.clear_faults()


def test_updated_since_and_order(default: MockServer) -> None:
    tickets = default.data("tickets")
    since = sorted(t["updated_at"] for t in tickets)[50]
    filtered = [t for _, body in follow(default, f"/tickets?updated_since={since}") for t in body["tickets"]]
    assert filtered == [t for t in tickets if t["updated_at"] >= since]
    ascending = fetch(default, "/tickets?order_by=created_at&order_type=asc&per_page=100")[2]["tickets"]
    assert [t["id"] for t in ascending] == sorted(t["id"] for t in tickets)
    assert fetch(default, "/tickets?updated_since=yesterday")[0] == 400
    assert fetch(default, "/tickets?order_by=colour")[0] == 400


def test_record_shapes_and_type_drift(default: MockServer) -> None:
    ticket = default.data("tickets")[0]
    assert ticket["id"] > 18_000_000_000 and TIMESTAMP.match(ticket["created_at"])
    assert ticket["status"] in range(2, 6) and ticket["priority"] in range(1, 5)
    assert isinstance(ticket["custom_fields"], dict) and isinstance(ticket["cc_emails"], list)
    phones = [v["phone"] for v in default.data("vendors")]
    assert isinstance(phones[0], int) and isinstance(phones[2], str)
    assert {type(p) for p in phones} == {int, str}
    assert default.data("software") == default.data("applications")
