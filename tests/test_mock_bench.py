"""The benchmark mock: generic paging styles, and fast enough never to be the bottleneck."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from typing import Any

import aiohttp
import pytest

from sluice.mock import Fault, MockServer


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def walk_pages(m: MockServer, path: str, per_page: int = 50) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    while not pages or len(pages[-1]) == per_page:
        status, body = get(f"{m.base_url}{path}?page={len(pages) + 1}&per_page={per_page}")
        assert status == 200
        pages.append(body["data"])
    return pages


@pytest.fixture(scope="module")
def small() -> Any:
    with MockServer("bench", counts={"flat": 120, "cursor": 101, "parents": 3, "children": 100}) as m:
        yield m


def test_flat_ends_only_with_a_short_page(small: MockServer) -> None:
    pages = walk_pages(small, "/flat")
    assert [len(p) for p in pages] == [50, 50, 20]
    assert [r for p in pages for r in p] == small.data("flat")
    assert get(f"{small.base_url}/flat?page=1")[1].keys() == {"data"}


def test_flat_total_adds_the_total(small: MockServer) -> None:
    body = get(f"{small.base_url}/flat_total?page=3&per_page=50")[1]
    assert (body["total"], len(body["data"])) == (120, 20)
    assert small.data("flat_total") == small.data("flat")


def test_records_have_nested_objects_arrays_and_nulls(small: MockServer) -> None:
    records = small.data("flat")
    assert all(len(r) >= 15 for r in records)
    assert all(isinstance(r["address"], dict) and len(r["tags"]) == 2 for r in records)
    assert any(r["note"] is None for r in records) and any(r["amount"] is None for r in records)
    assert len({r["id"] for r in records}) == len(records)


def test_parents_and_children(small: MockServer) -> None:
    parents = [r for p in walk_pages(small, "/parents") for r in p]
    assert [p["id"] for p in parents] == [1, 2, 3]
    children = [walk_pages(small, f"/parents/{p['id']}/children") for p in parents]
    assert [[len(page) for page in pages] for pages in children] == [[50, 50, 0]] * 3
    assert [r for pages in children for page in pages for r in page] == small.data("children")
    assert get(f"{small.base_url}/parents/4/children")[0] == 404


def test_cursor_walk(small: MockServer) -> None:
    url: str | None = f"{small.base_url}/cursor?limit=50&extra=1"
    records = []
    while url:
        status, body = get(url)
        assert status == 200
        records += body["data"]
        url = body["next"]
        assert url is None or ("extra=1" in url and url.startswith(small.origin))
    assert records == small.data("cursor") and len(records) == 101
    assert get(f"{small.base_url}/cursor?cursor=!!")[0] == 400


def test_optional_bearer_auth() -> None:
    with MockServer("bench", counts={"flat": 1}, options={"require_auth": True}) as m:
        assert get(f"{m.base_url}/flat")[0] == 401
        assert get(f"{m.base_url}/flat", {"Authorization": f"Bearer {m.api_key}"})[0] == 200


async def fetch_pages(base_url: str, pages: int, concurrency: int) -> list[int]:
    semaphore = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(page: int) -> int:
            async with semaphore, session.get(f"{base_url}/flat?page={page}&per_page=50") as response:
                await response.read()
                return response.status

        return await asyncio.gather(*(one(page) for page in range(1, pages + 1)))


def server_cpu(m: MockServer) -> float:
    thread = m._thread  # the server thread: its CPU clock is the server's cost
    assert thread is not None and thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def test_serves_1000_pages_at_concurrency_16_cheaply() -> None:
    with MockServer("bench", counts={"flat": 50_000}) as m:
        # (pages, CPU budget): cold (records generated and serialized), then from the cache
        for pages, budget in ((1000, 1.5), (200, 0.2)):
            before = server_cpu(m)
            statuses = asyncio.run(fetch_pages(m.base_url, pages, 16))
            spent = server_cpu(m) - before
            assert statuses == [200] * pages
            assert spent < budget, f"server spent {spent:.2f}s of CPU on {pages} pages"
        assert m.requests("flat") == 1200


def test_latency_lets_client_concurrency_show() -> None:
    with MockServer("bench", counts={"flat": 2000}, faults={"*": Fault(latency_ms=30)}) as m:
        asyncio.run(fetch_pages(m.base_url, 40, 16))
        assert m.max_in_flight == 16
