"""The incident management mock (seed 004): header key, offset paging with absolute next URLs."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from sluice.mock import Fault, MockServer

PATHS = {"users": "/v2/users", "services": "/v1/services", "incidents": "/v1/incidents", "alerts": "/v2/alerts"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def get(url: str, headers: dict[str, str]) -> tuple[int, Message, Any]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, json.loads(error.read())


def fetch(m: MockServer, path: str, **headers: str) -> tuple[int, Message, Any]:
    return get(m.base_url + path, {"api_key": m.api_key, **headers})


def follow(m: MockServer, path: str) -> list[Any]:
    """Bodies of every page, following `paging.next` until it is absent."""
    url: str | None = m.base_url + path
    bodies = []
    while url:
        status, _, body = get(url, {"api_key": m.api_key})
        assert status == 200, body
        bodies.append(body)
        url = body.get("paging", {}).get("next")
    return bodies


@pytest.fixture(scope="module")
def default() -> Any:
    with MockServer("incidents") as m:
        yield m


def test_key_in_api_key_or_authorization_header(default: MockServer) -> None:
    assert get(default.base_url + "/v2/users", {"api_key": default.api_key})[0] == 200
    assert get(default.base_url + "/v2/users", {"Authorization": default.api_key})[0] == 200


@pytest.mark.parametrize("headers", [{}, {"api_key": "wrong"}, {"Authorization": "Bearer x"}])
def test_missing_or_wrong_key_is_401(default: MockServer, headers: dict[str, str]) -> None:
    assert get(default.base_url + "/v1/incidents", headers)[::2] == (401, {"message": "Could not authenticate"})


def test_envelope(default: MockServer) -> None:
    status, headers, body = fetch(default, "/v2/users")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert list(body) == ["data", "paging", "took", "requestId"]
    assert len(body["data"]) == 20 and UUID.match(body["requestId"]) and isinstance(body["took"], float)
    assert set(body["paging"]) == {"first", "next", "last"}


def test_next_is_absolute_from_host_and_keeps_params(default: MockServer) -> None:
    body = fetch(default, "/v2/alerts?query=status%3Aopen&limit=10", Host="ops.example.test")[2]
    parts = urlsplit(body["paging"]["next"])
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "ops.example.test", "/v2/alerts")
    # the request's params in their order (limit replaced in place), then offset and defaults
    assert parse_qsl(parts.query) == [
        ("query", "status:open"),
        ("limit", "10"),
        ("offset", "10"),
        ("sort", "createdAt"),
        ("order", "desc"),
    ]
    assert dict(parse_qsl(urlsplit(body["paging"]["last"]).query))["offset"] == "130"


@pytest.mark.parametrize(("name", "pages"), [("users", 3), ("services", 2), ("incidents", 3), ("alerts", 7)])
def test_following_next_yields_everything(default: MockServer, name: str, pages: int) -> None:
    bodies = follow(default, PATHS[name])
    assert len(bodies) == pages
    assert "next" not in bodies[-1]["paging"] and {"first", "last"} <= set(bodies[-1]["paging"])
    assert [r for b in bodies for r in b["data"]] == default.data(name)


@pytest.mark.parametrize("path", ["/v2/teams", "/v2/integrations?offset=5&limit=1"])
def test_unpaged_routes_answer_everything_without_paging(default: MockServer, path: str) -> None:
    body = fetch(default, path)[2]
    assert "paging" not in body
    assert body["data"] == default.data(path.split("/")[2].split("?")[0])


@pytest.mark.parametrize(("count", "sizes"), [(0, [0]), (1, [1]), (19, [19]), (20, [20]), (21, [20, 1])])
def test_pages_for_edge_counts(count: int, sizes: list[int]) -> None:
    with MockServer("incidents", counts={"incidents": count}) as m:
        assert [len(b["data"]) for b in follow(m, "/v1/incidents")] == sizes
        assert m.requests("incidents") == len(sizes)


def test_offset_cap_answers_422() -> None:
    with MockServer("incidents", options={"offset_cap": 50}) as m:
        status, _, body = fetch(m, "/v2/alerts?offset=40&limit=20")
        assert status == 422 and body["message"] == "Offset + limit should not exceed 50"
        assert fetch(m, "/v2/alerts?offset=30&limit=20")[0] == 200
        next_url = fetch(m, "/v2/alerts?offset=20&limit=20")[2]["paging"]["next"]
        assert get(next_url, {"api_key": m.api_key})[0] == 422


def test_429_headers(default: MockServer) -> None:
    default.set_fault("users", Fault(rate_limit_429=(1, 1)))
    try:
        status, headers, _ = fetch(default, "/v2/users")
        assert (status, headers["X-RateLimit-State"], headers["X-RateLimit-Period-In-Sec"]) == (429, "THROTTLED", "1")
        assert headers["Retry-After"] is None
    finally:
        default.clear_faults()


def test_retry_after_option() -> None:
    with MockServer("incidents", options={"retry_after": True}, faults={"users": Fault(rate_limit_429=(1, 2))}) as m:
        assert fetch(m, "/v2/users")[1]["Retry-After"] == "2"


def test_duplicate_alert_id_on_two_pages(default: MockServer) -> None:
    pages = [{a["id"] for a in body["data"]} for body in follow(default, "/v2/alerts")]
    assert sum(len(a & b) for i, a in enumerate(pages) for b in pages[i + 1 :]) == 1
    assert len(default.unique_ids("alerts")) == len(default.data("alerts")) - 1


def test_sort_and_bad_values(default: MockServer) -> None:
    body = fetch(default, "/v1/incidents?sort=tinyId&order=asc&limit=100")[2]
    assert [int(i["tinyId"]) for i in body["data"]] == list(range(1, 61))
    assert fetch(default, "/v1/incidents?sort=colour")[0] == 422
    assert fetch(default, "/v1/incidents?limit=zero")[0] == 422


def test_record_shapes(default: MockServer) -> None:
    alerts = default.data("alerts")
    stamps = [a["createdAt"] for a in alerts] + [i["createdAt"] for i in default.data("incidents")]
    assert any(re.search(r"\.\d\dZ$", s) for s in stamps)
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$", s) for s in stamps)
    assert all(UUID.match(a["id"]) and a["tinyId"].isdigit() for a in alerts)
    assert {a["priority"] for a in alerts} <= {"P1", "P2", "P3", "P4", "P5"}
    assert all(isinstance(a["responders"], list) and isinstance(a["report"], dict) for a in alerts)
