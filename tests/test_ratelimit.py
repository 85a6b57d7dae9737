"""Rate limits: the configured budget is never exceeded, and when the API says slow down the
whole source slows down (no thundering herd of retries).

`Pacer` is tested on an injected clock. Runs against APIs are checked with upper bounds only
(requests counted in windows of the server's own log): a slow machine can only make them
pass more easily, never fail them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web
from apis import ListSink, Server

from sluice import RunOptions
from sluice.config import parse_source
from sluice.config.specs import RateLimitSpec
from sluice.engine.run import Engine
from sluice.http.headers import announced_wait, exhausted
from sluice.http.pacing import Pacer
from sluice.mock import Fault, MockServer

# -- Pacer on an injected clock -----------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def most_in_any_window(stamps: list[float], width: float) -> int:
    """The largest number of stamps in a half-open window [t, t + width) starting at a stamp."""
    stamps = sorted(stamps)
    best, j = 0, 0
    for i, start in enumerate(stamps):
        while j < len(stamps) and stamps[j] < start + width - 1e-9:
            j += 1
        best = max(best, j - i)
    return best


@pytest.mark.parametrize(("rps", "burst"), [(10.0, 1), (10.0, 5), (2.5, 3), (100.0, 20)])
def test_pacer_never_exceeds_rate_plus_burst(rps: float, burst: int) -> None:
    fake = FakeTime()
    pacer = Pacer(RateLimitSpec(rps, burst), clock=fake.clock, sleep=fake.sleep)

    async def go() -> list[float]:
        stamps = []
        for _ in range(200):
            await pacer.acquire()
            stamps.append(fake.now)
        return stamps

    stamps = asyncio.run(go())
    for width in (0.5, 1.0, 3.0):
        assert most_in_any_window(stamps, width) <= burst + rps * width + 1e-6
    # and it is not slower than asked: 200 requests take (200 - burst) / rps seconds
    assert stamps[-1] - stamps[0] == pytest.approx((200 - burst) / rps, rel=0.01)


def test_pacer_burst_is_available_at_once_then_paced() -> None:
    fake = FakeTime()
    pacer = Pacer(RateLimitSpec(4.0, 3), clock=fake.clock, sleep=fake.sleep)

    async def go() -> list[float]:
        stamps = []
        for _ in range(5):
            await pacer.acquire()
            stamps.append(fake.now - 1000.0)
        return stamps

    assert asyncio.run(go()) == pytest.approx([0.0, 0.0, 0.0, 0.25, 0.5])


def test_pause_holds_every_request_and_only_lengthens() -> None:
    fake = FakeTime()
    pacer = Pacer(None, clock=fake.clock, sleep=fake.sleep)
    pacer.pause(2.0)
    pacer.pause(0.5)  # a shorter pause announced later does not cut the longer one

    async def go() -> list[float]:
        stamps = []
        for _ in range(3):
            await pacer.acquire()
            stamps.append(fake.now - 1000.0)
            pacer.release()  # answered at once (a pacer with nothing known starts one request at a time)
        return stamps

    assert asyncio.run(go()) == [2.0, 2.0, 2.0]
    assert pacer.waited == pytest.approx(2.0)


def test_pause_and_rate_combine() -> None:
    fake = FakeTime()
    pacer = Pacer(RateLimitSpec(1.0, 1), clock=fake.clock, sleep=fake.sleep)

    async def go() -> list[float]:
        await pacer.acquire()
        pacer.pause(3.0)
        stamps = []
        for _ in range(2):
            await pacer.acquire()
            stamps.append(fake.now - 1000.0)
        return stamps

    assert asyncio.run(go()) == pytest.approx([3.0, 4.0])


def test_a_refusal_paces_the_source_near_the_rate_it_was_sending_at_not_by_the_wait() -> None:
    """Was: after a 429 every start was spaced by the whole Retry-After (doubling on the next
    refusal). Now the wait pauses the source once; the spacing after it is the learned rate's,
    a share of the rate the source was actually sending at."""
    fake = FakeTime()
    pacer = Pacer(None, clock=fake.clock, sleep=fake.sleep)

    async def starts(n: int, every: float = 0.0) -> list[float]:
        stamps = []
        for _ in range(n):
            stamps.append(round(await pacer.acquire() - 1000.0, 6))
            pacer.release()
            fake.now += every
        return stamps

    asyncio.run(starts(50, 0.01))  # 100 requests a second for half a second
    sent = fake.now
    pacer.refused(sent, wait=0.5)
    pacer.refused(sent - 0.2, wait=0.5)  # a request on its way before the cut: no second cut
    assert pacer.spacing == pytest.approx(1 / 70, rel=0.05)
    after = asyncio.run(starts(11))
    assert after[0] == pytest.approx(sent - 1000.0 + 0.5)  # the announced wait holds everything
    assert 9 / 70 <= after[10] - after[0] <= 10 / 70 + 1e-6  # then 70 a second, not one per 0.5 s
    for _ in range(200):
        pacer.accepted(fake.now)
    assert pacer.learned.rate is not None and pacer.learned.rate > 100  # recovered, and probing past it


def test_concurrent_waiters_share_one_bucket() -> None:
    """50 tasks at once on a real loop, a fake clock: the bucket hands out one token at a time."""
    fake = FakeTime()
    pacer = Pacer(RateLimitSpec(10.0, 2), clock=fake.clock, sleep=fake.sleep)
    stamps: list[float] = []

    async def one() -> None:
        await pacer.acquire()
        stamps.append(fake.now)

    async def go() -> None:
        await asyncio.gather(*(one() for _ in range(50)))

    asyncio.run(go())
    assert len(stamps) == 50
    assert most_in_any_window(stamps, 1.0) <= 2 + 10


# -- announced waits ----------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "wait"), [
    ({"Retry-After": "3"}, 3.0),
    ({"Retry-After": "0.25"}, 0.25),
    ({"retry-after": "2"}, None),  # a plain dict is case-sensitive; aiohttp's headers are not (next test)
    ({"X-RateLimit-Reset": "5"}, 5.0),
    ({"X-RateLimit-Reset": str(1_700_000_010)}, 10.0),  # an epoch
    ({"RateLimit-Reset": "7"}, 7.0),
    ({"X-RateLimit-Period-In-Sec": "1"}, 1.0),
    ({"Retry-After": format_datetime(datetime.fromtimestamp(1_700_000_030, UTC), usegmt=True)}, 30.0),
    ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # in the past: no wait, never negative
    ({"Retry-After": "soon"}, None),
    ({}, None),
])
def test_announced_wait(headers: dict[str, str], wait: float | None) -> None:
    got = announced_wait(headers, now=1_700_000_000.0)
    assert got == (pytest.approx(wait) if wait is not None else None)


def test_announced_wait_reads_headers_case_insensitively() -> None:
    from multidict import CIMultiDict

    assert announced_wait(CIMultiDict({"retry-after": "2"}), now=0.0) == 2.0
    assert exhausted(CIMultiDict({"x-ratelimit-remaining": "0"}))
    assert not exhausted(CIMultiDict({"X-RateLimit-Remaining": "12"}))


# -- against a token-bucket API -----------------------------------------------------------------


@dataclass
class BucketAPI:
    """Pages of 10 records on several routes behind one token bucket (rate, burst); past it,
    429 with the exact Retry-After. Every arrival is logged with its time."""

    rate: float
    burst: int
    routes: int = 4
    pages: int = 6
    log: list[tuple[float, str, int]] = field(default_factory=list)
    retry_after: bool = True

    def __post_init__(self) -> None:
        self._tokens, self._at = float(self.burst), time.monotonic()

    def _take(self, now: float) -> float:
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    async def items(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        wait = self._take(now)
        route = request.match_info["route"]
        if wait:
            self.log.append((now, route, 429))
            headers = {"Retry-After": f"{wait:.3f}"} if self.retry_after else {}
            return web.json_response({"error": "slow down"}, status=429, headers=headers)
        self.log.append((now, route, 200))
        page = int(request.query.get("page", 1))
        data = [{"id": f"{route}-{page}-{i}"} for i in range(10)] if page <= self.pages else []
        return web.json_response({"data": data})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/r/{route}", self.items)
        return app

    def stamps(self, status: int | None = None) -> list[float]:
        return [t for t, _, s in self.log if status is None or s == status]


def bucket_config(url: str, routes: int, **client: Any) -> dict[str, Any]:
    return {"client": {"base_url": url, **client},
            "resources": [{"name": f"r{i}", "endpoint": {"path": f"r/r{i}", "data_selector": "data",
                                                          "paginator": {"type": "page_number", "base_page": 1, "limit": 10}}}
                          for i in range(routes)]}


def run_engine(cfg: dict[str, Any], options: RunOptions | None = None) -> ListSink:
    spec = parse_source(cfg)
    sink = ListSink()
    asyncio.run(Engine(spec, {r.name for r in spec.resources}, sink, options=options).run())
    return sink


def test_configured_rate_limit_is_never_exceeded_and_the_run_finishes() -> None:
    api = BucketAPI(rate=20.0, burst=4)
    with Server(api.app()) as server:
        sink = run_engine(bucket_config(server.url, api.routes, max_concurrency=8,
                                        rate_limit={"requests_per_second": 15, "burst": 3}))
    assert len(sink.records) == api.routes * api.pages * 10 == len({r["id"] for r in sink.records})
    stamps = api.stamps()
    # each page once, plus the empty page that ends each chain (and any fetched ahead past it)
    assert len(stamps) >= api.routes * (api.pages + 1)
    assert api.stamps(429) == []  # within the API's own budget: never refused
    for width in (0.25, 0.5, 1.0):
        assert most_in_any_window(stamps, width) <= 3 + 15 * width + 1  # +1: arrival jitter on loopback


def test_an_api_that_says_slow_down_slows_the_whole_source() -> None:
    """No rate limit configured, 8 requests in flight, 4 resources: after a 429 with
    Retry-After, the other chains wait too: few 429s, and no burst into a pause."""
    api = BucketAPI(rate=20.0, burst=3)
    with Server(api.app()) as server:
        sink = run_engine(bucket_config(server.url, api.routes, max_concurrency=8), RunOptions(max_retry_delay=2.0))
    assert len(sink.records) == api.routes * api.pages * 10 == len({r["id"] for r in sink.records})
    refused = api.stamps(429)
    assert refused, "the test needs the API to refuse some requests"
    answered = len(api.stamps(200))
    assert answered >= api.routes * (api.pages + 1)
    # A herd would retry each refused request on its own schedule and hit the bucket again and
    # again; a shared pause lets only the requests already in flight be refused.
    assert len(refused) <= 8 + answered // 4
    for width in (0.5, 1.0):
        assert most_in_any_window(api.stamps(), width) <= 3 + 20 * width + 8  # + what was in flight


def test_servicedesk_token_bucket_with_a_polite_client_is_never_refused() -> None:
    """The service desk mock's per-minute bucket, scaled down: 6 requests per 0.5 s window
    (12/s, burst 6). With client rate_limit under it, no 429, every record once."""
    resources = ["tickets", "assets", "requesters", "vendors"]
    with MockServer("servicedesk", options={"rate_limit_per_minute": 6, "rate_window_s": 0.5}) as m:
        cfg = {
            "client": {"base_url": m.base_url, "auth": {"type": "http_basic", "username": m.api_key, "password": "X"},
                       "rate_limit": {"requests_per_second": 10, "burst": 4}, "max_concurrency": 8},
            "resources": [{"name": r, "endpoint": {"path": f"/{r}", "data_selector": r, "params": {"per_page": 30},
                                                   "paginator": "header_link"}} for r in resources],
        }
        sink = run_engine(cfg)
        statuses = [r.status for r in m.log]
        assert 429 not in statuses
        expected = sum(len(m.data(r)) for r in resources)
        assert len(sink.records) == expected


def test_servicedesk_token_bucket_without_client_limit_finishes_politely() -> None:
    resources = ["tickets", "assets", "requesters", "vendors"]
    with MockServer("servicedesk", options={"rate_limit_per_minute": 6, "rate_window_s": 0.5}) as m:
        cfg = {
            "client": {"base_url": m.base_url, "auth": {"type": "http_basic", "username": m.api_key, "password": "X"},
                       "max_concurrency": 8},
            "resources": [{"name": r, "endpoint": {"path": f"/{r}", "data_selector": r, "params": {"per_page": 30},
                                                   "paginator": "header_link"}} for r in resources],
        }
        sink = run_engine(cfg, RunOptions(max_retry_delay=2.0))
        answered = [r for r in m.log if r.status == 200]
        refused = [r for r in m.log if r.status == 429]
        assert len(sink.records) == sum(len(m.data(r)) for r in resources)
        assert len(refused) <= 8 + len(answered) // 2


def test_remaining_zero_pauses_the_source_until_the_reset() -> None:
    """`X-RateLimit-Remaining: 0` with a reset: the next request waits, without a 429 first."""
    arrivals: list[float] = []

    async def items(request: web.Request) -> web.Response:
        arrivals.append(time.monotonic())
        page = int(request.query.get("page", 1))
        headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0.4"} if page == 1 else {"X-RateLimit-Remaining": "9"}
        data = [{"id": page * 10 + i} for i in range(10)] if page <= 3 else []
        return web.json_response({"data": data}, headers=headers)

    app = web.Application()
    app.router.add_get("/items", items)
    with Server(app) as server:
        sink = run_engine({"client": {"base_url": server.url}, "resources": [
            {"name": "items", "endpoint": {"path": "items", "paginator": {"type": "page_number", "base_page": 1}}}]})
    assert len(sink.records) == 30
    assert arrivals[1] - arrivals[0] >= 0.35


def test_period_header_wait_is_honoured() -> None:
    """The incident API: 429 with X-RateLimit-Period-In-Sec (a duration), no Retry-After."""
    with MockServer("incidents", counts={"teams": 5}, faults={"teams": Fault(rate_limit_429=(1, 0.4))}) as m:
        cfg = {"client": {"base_url": m.base_url, "auth": {"type": "api_key", "name": "api_key", "api_key": m.api_key}},
               "resources": [{"name": "teams", "endpoint": {"path": "/v2/teams", "data_selector": "data", "paginator": "single_page"}}]}
        started = time.monotonic()
        sink = run_engine(cfg, RunOptions(max_retry_delay=5.0))
        assert time.monotonic() - started >= 0.35
        assert len(sink.records) == 5 and [r.status for r in m.log] == [429, 200]


def test_retry_after_longer_than_the_cap_is_capped() -> None:
    """Documented: a wait the API announces is capped by max_retry_delay (default 60 s)."""
    with MockServer("tickets", counts={"tickets": 5}, faults={"tickets": Fault(rate_limit_429=(1, 30.0))}) as m:
        cfg = {"client": {"base_url": m.base_url, "auth": {"type": "api_key", "name": "api_key", "api_key": m.api_key, "location": "query"}},
               "resources": [{"name": "t", "endpoint": {"path": "/v1/tickets", "data_selector": "data", "paginator": {"type": "offset", "limit": 10}}}]}
        started = time.monotonic()
        sink = run_engine(cfg, RunOptions(max_retry_delay=0.2))
        assert time.monotonic() - started < 10
        assert len(sink.records) == 5


def test_retry_after_as_http_date_is_honoured() -> None:
    calls: list[float] = []

    async def items(request: web.Request) -> web.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            when = datetime.now(UTC) + timedelta(seconds=1.5)
            return web.json_response({}, status=429, headers={"Retry-After": format_datetime(when, usegmt=True)})
        return web.json_response([{"id": 1}])

    app = web.Application()
    app.router.add_get("/items", items)
    with Server(app) as server:
        sink = run_engine({"client": {"base_url": server.url},
                           "resources": [{"name": "items", "endpoint": {"path": "items", "paginator": "single_page"}}]},
                          RunOptions(max_retry_delay=5.0))
    assert len(sink.records) == 1
    assert calls[1] - calls[0] >= 0.4  # the date has whole seconds: at least part of the 1.5 s remains
