"""The global budget: the source's politeness held across every worker of the cluster.

Per-worker fractions of `max_concurrency` and `rate_limit` are not enough: shards finish
unevenly, and a worker left alone would run at its fraction while the API could take more,
or workers would add up past the API's limit. The budget lives on the Dask scheduler, as
two `distributed.Semaphore`s every worker's pacer takes a lease of before each request:
- `concurrency`: `max_concurrency` leases, each held while a request of the shard is under
  way. A shard keeps a lease between its requests (`Leases`) and returns it to the scheduler
  once it has lain unused `LINGER` seconds, or when the shard ends: a busy shard pays the
  scheduler's round trip once per lease, not once per request, and never holds more leases
  than it had requests in flight at once, so the cluster never exceeds `max_concurrency`;
- `rate` (with a `rate_limit`): `burst` leases, each held `burst / requests_per_second`
  seconds after its request started, so no window of that length ever starts more than
  `burst` requests anywhere in the cluster (at most `requests_per_second` on average).
The scheduler outlives workers: a dead worker's leases come back after the lease timeout.
What the API says is learned once for the whole source by a `SharedPace` (a Dask actor,
`pace.py`): each shard asks it before each request while it has something to say, and starts
at once (telling it afterwards, in batches) while it has not. If the actor's worker dies, the
workers fall back to learning on their own (logged).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..config.specs import RateLimitSpec
from ..http.headers import Budget as Said
from ..http.pacing import Pacer
from .pace import Gone, PaceLink

LINGER = 0.03  # seconds a shard keeps a concurrency lease no request of its own uses
_GONE: set[str] = set()  # budgets whose shared pace this worker process found gone


@dataclass(frozen=True)
class Budget:
    """What every worker needs to find the run's semaphores (picklable)."""

    name: str
    concurrency: int
    rate: RateLimitSpec | None = None
    pace: Any = field(default=None, compare=False)  # a `SharedPace` actor's handle (None: each worker learns alone)

    def pacer(self) -> GlobalPacer:
        return GlobalPacer(budget=self)


class Leases:
    """A shard's leases of the scheduler's `concurrency` semaphore, kept between its requests.
    Runs on the shard's event loop; the semaphore's blocking calls go to `pool`."""

    def __init__(self, semaphore: Any, pool: ThreadPoolExecutor) -> None:
        self.semaphore = semaphore
        self.pool = pool
        self.free: list[float] = []  # held and unused since (the newest last: taken first, so the oldest age out)
        self.taken = 0  # leases asked of the scheduler

    async def take(self) -> None:
        if self.free:
            self.free.pop()
            return
        await asyncio.get_running_loop().run_in_executor(self.pool, self.semaphore.acquire)
        self.taken += 1

    def give(self) -> None:
        self.free.append(time.monotonic())
        asyncio.get_running_loop().call_later(LINGER, self._return_idle)

    def _return_idle(self) -> None:
        idle_since = time.monotonic() - LINGER + 1e-3  # a timer may fire a hair early
        while self.free and self.free[0] <= idle_since:
            self.free.pop(0)
            self.pool.submit(self.semaphore.release)

    def close(self) -> None:
        for _ in self.free:
            self.pool.submit(self.semaphore.release)
        self.free = []


class GlobalPacer(Pacer):
    """A worker's pacer: the shared pace's word (or, without it, its own learned rate and
    pauses), then a lease of the global budget. The semaphores' and the actor's calls block,
    so they run on a small thread pool beside the event loop."""

    def __init__(self, budget: Budget) -> None:
        super().__init__()  # no local rate: the global one is the ceiling
        from distributed import Semaphore

        self.shared = budget
        self._pool = ThreadPoolExecutor(max_workers=budget.concurrency + 2, thread_name_prefix="sluice-budget")
        self._leases = Leases(Semaphore(max_leases=budget.concurrency, name=f"{budget.name}-concurrency"), self._pool)  # type: ignore[no-untyped-call]
        rate = budget.rate
        self._tokens = Semaphore(max_leases=rate.burst, name=f"{budget.name}-rate") if rate else None  # type: ignore[no-untyped-call]
        self._hold = rate.burst / rate.requests_per_second if rate else 0.0
        self._link = PaceLink(budget.pace, self._pool) if budget.pace is not None and budget.name not in _GONE else None

    async def acquire(self) -> float:
        """The leases first, the pace last: the pace's word is read just before the request goes."""
        await self._leases.take()
        try:
            if self._tokens is not None:
                await self._blocking(self._tokens.acquire)
                asyncio.get_running_loop().call_later(self._hold, self._pool.submit, self._tokens.release)
            stamp = await self._shared_start() if self._link is not None else None
            return stamp if stamp is not None else await super().acquire()
        except BaseException:  # cancelled while waiting: no request, its lease back
            self._leases.give()
            raise

    async def _shared_start(self) -> float | None:
        """The shared pace's start stamp, after the waits it asks for (and a pause this shard
        heard itself, which the actor may not have yet); None once it is gone."""
        waited = False
        try:
            while self._link is not None:
                delay = self.paused_until - self.clock()
                if delay <= 0:
                    try:
                        delay, stamp = await self._link.start()
                    except Gone:
                        _GONE.add(self.shared.name)
                        self._link = None
                        return None
                    if stamp is not None:
                        return stamp
                if not waited:
                    waited = True
                    self.waits.begin()
                await self.sleep(delay)
            return None
        finally:
            if waited:
                self.waits.end()

    def _tell(self, event: tuple[Any, ...], said: bool = False) -> bool:
        """Send an answer's word to the actor (not awaited); False without one."""
        link = self._link
        if link is None or link.gone:
            return False
        link.tell(event, said)
        return True

    @property
    def spacing(self) -> float:
        return self._link.spacing if self._link is not None else super().spacing

    def release(self) -> None:
        if not self._tell(("release",)):
            super().release()
        self._leases.give()

    def accepted(self, sent_at: float) -> None:
        if not self._tell(("accepted", sent_at)):
            super().accepted(sent_at)

    def refused(self, sent_at: float, wait: float | None = None) -> None:
        if wait is not None:
            super().pause(wait)  # this shard holds at once, whatever the actor's word in hand
        if not self._tell(("refused", sent_at, wait), said=True):
            super().refused(sent_at, wait)

    def budget(self, said: Said, sent_at: float) -> None:
        if not self._tell(("budget", said, sent_at), said=True):
            super().budget(said, sent_at)

    def pause(self, seconds: float) -> None:
        super().pause(seconds)
        self._tell(("pause", seconds), said=True)

    async def _blocking(self, call: Callable[[], Any]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def close(self) -> None:
        """Return every lease (the rate's after their hold, so the next shard keeps the pace)
        and tell the shared pace what is left."""
        if self._link is not None:
            await self._link.close()
        self._leases.close()
        await asyncio.sleep(self._hold + 0.05 if self._tokens is not None else 0.0)
        self._pool.shutdown(wait=True)
