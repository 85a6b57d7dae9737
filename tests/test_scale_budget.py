"""The global budget's parts without a cluster: a shard's concurrency leases kept between its
requests, and its link to the shared pace (calm: no round trip per request; the API's word: at
once). The actor is a `SharedPace` in this process, behind the same call-and-wait interface."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from sluice.http.headers import Budget as Said
from sluice.http.pacing import SLOW_START_FOR
from sluice.scale.budget import LINGER, Leases
from sluice.scale.pace import STALE, PaceLink, SharedPace


class CountingSemaphore:
    """`distributed.Semaphore`'s two calls, counting the leases out at the scheduler."""

    def __init__(self) -> None:
        self.out = self.acquired = 0
        self.lock = threading.Lock()

    def acquire(self) -> None:
        with self.lock:
            self.out += 1
            self.acquired += 1

    def release(self) -> None:
        with self.lock:
            self.out -= 1


class Actor:
    """A Dask actor's handle on `SharedPace`: each call returns something with `.result()`."""

    def __init__(self) -> None:
        self.pace = SharedPace()
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> Future[Any]:
            self.calls.append(name)
            future: Future[Any] = Future()
            future.set_result(getattr(self.pace, name)(*args))
            return future
        return call


def test_a_busy_shard_takes_a_lease_once_and_returns_it_when_idle() -> None:
    semaphore = CountingSemaphore()

    async def requests(leases: Leases, lanes: int, each: int) -> int:
        most = 0

        async def lane() -> None:
            nonlocal most
            for _ in range(each):
                await leases.take()
                most = max(most, semaphore.out)
                await asyncio.sleep(0)
                leases.give()

        await asyncio.gather(*(lane() for _ in range(lanes)))
        return most

    async def run() -> None:
        with ThreadPoolExecutor(2) as pool:
            leases = Leases(semaphore, pool)
            assert await requests(leases, lanes=3, each=100) == 3  # never more than were in flight at once
            assert semaphore.acquired == 3  # not 300: each lease served a hundred requests
            await asyncio.sleep(LINGER * 3)
            assert semaphore.out == 0 and leases.free == []  # idle leases went back to the scheduler
            await requests(leases, lanes=1, each=5)
            leases.close()
        assert semaphore.out == 0 and semaphore.acquired == 4

    asyncio.run(run())


def test_a_calm_link_starts_without_asking_and_reports_in_batches() -> None:
    actor = Actor()
    now = [0.0]
    actor.pace.pacer.clock = lambda: now[0]

    async def run() -> None:
        with ThreadPoolExecutor(2) as pool:
            link = PaceLink(actor, pool, clock=lambda: now[0])
            assert (await link.start())[1] == 0.0 and not link.calm  # the slow start: asked
            link.tell(("release",))
            link.tell(("accepted", 0.0))
            now[0] = SLOW_START_FOR + 0.01
            await link.start()
            await asyncio.sleep(0.01)
            assert link.calm and actor.calls.count("try_start") == 2
            for _ in range(100):
                stamp = (await link.start())[1]
                link.tell(("release",))
                link.tell(("accepted", stamp))
            await link.close()
        assert actor.calls.count("try_start") == 2  # no round trip per request once calm
        assert actor.calls.count("report") <= 3  # ... and the starts and answers told in batches
        assert actor.pace.counts() == (2, 100) and actor.pace.pacer._pending == 1  # every one of them told

    asyncio.run(run())


def test_what_the_api_says_reaches_the_actor_at_once_and_ends_the_calm() -> None:
    actor = Actor()
    now = [100.0]
    actor.pace.pacer.clock = lambda: now[0]
    actor.pace.pacer._window = None  # past the slow start

    async def run() -> None:
        with ThreadPoolExecutor(2) as pool:
            link = PaceLink(actor, pool, clock=lambda: now[0])
            stamp = (await link.start())[1]
            await asyncio.sleep(0.01)
            assert link.calm
            link.tell(("budget", Said(remaining=0, reset=5.0, limit=10.0), stamp), said=True)
            assert not link.calm  # no calm start after it, whatever the word in hand says
            await asyncio.sleep(0.01)
            assert actor.calls[-1] == "report" and actor.pace.pacer._allowance is not None  # sent at once
            assert await link.start() == (5.0, None)  # the actor's wait, asked for
            await link.close()

    asyncio.run(run())


def test_a_calm_word_too_old_is_asked_again_before_a_request() -> None:
    actor = Actor()
    now = [100.0]
    actor.pace.pacer.clock = lambda: now[0]
    actor.pace.pacer._window = None

    async def run() -> None:
        with ThreadPoolExecutor(2) as pool:
            link = PaceLink(actor, pool, clock=lambda: now[0])
            await link.start()
            assert link.calm
            actor.pace.pacer.pause(10.0)  # another shard's news, not yet in this shard's word
            now[0] += STALE / 2
            assert (await link.start())[1] is not None  # a word this fresh is trusted
            now[0] += STALE
            assert await link.start() == (pytest.approx(10.0 - 1.5 * STALE), None)  # too old: a fresh word first
            await link.close()

    asyncio.run(run())
