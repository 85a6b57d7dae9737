"""The global budget: the source's politeness held across every worker of the cluster.

Per-worker fractions of `max_concurrency` and `rate_limit` are not enough: shards finish
unevenly, and a worker left alone would run at its fraction while the API could take more,
or workers would add up past the API's limit. The budget lives on the Dask scheduler, as
two `distributed.Semaphore`s every worker's pacer takes a lease of before each request:
- `concurrency`: `max_concurrency` leases, each held for one exchange;
- `rate` (with a `rate_limit`): `burst` leases, each held `burst / requests_per_second`
  seconds after its request started, so no window of that length ever starts more than
  `burst` requests anywhere in the cluster (at most `requests_per_second` on average).
The scheduler outlives workers: a dead worker's leases come back after the lease timeout.
- `pace` (`SharedPace`, a Dask actor): what the API says, learned once for the whole source: a
  refusal's cut of the learned rate, a `Retry-After` pause, a budget from rate-limit headers,
  the slow start. Every worker asks it before each request (one round trip) and tells it each
  answer, so a 429 seen by one worker slows every worker, as it slows every chain locally. If
  the actor's worker dies, the workers fall back to learning on their own (logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..config.specs import RateLimitSpec
from ..http.headers import Budget as Said
from ..http.pacing import Pacer

log = logging.getLogger("sluice")
ASK_TIMEOUT = 5.0  # seconds: an actor call takes milliseconds; one to a dead worker never returns
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


class SharedPace:
    """The source's learned pace on one worker of the cluster (a Dask actor: its methods run
    one at a time), a `Pacer` whose clock every stamp it hands out and takes back is read on."""

    def __init__(self) -> None:
        self.pacer = Pacer()

    def try_start(self) -> tuple[float, float | None, float]:
        """(seconds to wait, None) or (0, the start's stamp), and the learned spacing."""
        now = self.pacer.clock()
        delay = self.pacer._delay(now)
        if delay > 0:
            return delay, None, self.pacer.spacing
        self.pacer._start(now)
        return 0.0, now, self.pacer.spacing

    def release(self) -> None:
        self.pacer.release()

    def accepted(self, sent_at: float) -> None:
        self.pacer.accepted(sent_at)

    def refused(self, sent_at: float, wait: float | None) -> None:
        self.pacer.refused(sent_at, wait)

    def budget(self, said: Said, sent_at: float) -> None:
        self.pacer.budget(said, sent_at)

    def pause(self, seconds: float) -> None:
        self.pacer.pause(seconds)


class GlobalPacer(Pacer):
    """A worker's pacer: the shared pace's word (or, without it, its own learned rate and
    pauses), then a lease of the global budget. The semaphores' and the actor's calls block,
    so they run on a small thread pool beside the event loop."""

    def __init__(self, budget: Budget) -> None:
        super().__init__()  # no local rate: the global one is the ceiling
        from distributed import Semaphore

        self.shared = budget
        self._pool = ThreadPoolExecutor(max_workers=budget.concurrency + 2, thread_name_prefix="sluice-budget")
        self._leases = Semaphore(max_leases=budget.concurrency, name=f"{budget.name}-concurrency")  # type: ignore[no-untyped-call]
        rate = budget.rate
        self._tokens = Semaphore(max_leases=rate.burst, name=f"{budget.name}-rate") if rate else None  # type: ignore[no-untyped-call]
        self._hold = rate.burst / rate.requests_per_second if rate else 0.0
        self._pace = budget.pace if budget.name not in _GONE else None
        self._spacing = 0.0

    async def acquire(self) -> float:
        stamp = await self._shared_start() if self._pace is not None else None
        if stamp is None:
            stamp = await super().acquire()
        await self._blocking(self._leases.acquire)
        if self._tokens is not None:
            await self._blocking(self._tokens.acquire)
            asyncio.get_running_loop().call_later(self._hold, self._pool.submit, self._tokens.release)
        return stamp

    async def _shared_start(self) -> float | None:
        """The actor's start stamp, after the waits it asks for; None once it is gone."""
        waited = False
        try:
            while self._pace is not None:
                try:
                    delay, stamp, self._spacing = await self._ask(self._pace.try_start)
                except Exception as exc:  # noqa: BLE001 - its worker died: learn alone from here
                    log.warning("the shared rate limit is gone (%s): each worker learns the API's rate alone",
                                type(exc).__name__)
                    _GONE.add(self.shared.name)
                    self._pace = None
                    return None
                if stamp is not None:
                    return float(stamp)
                if not waited:
                    waited = True
                    self.waits.begin()
                await self.sleep(delay)
            return None
        finally:
            if waited:
                self.waits.end()

    async def _ask(self, method: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, lambda: method(*args).result(timeout=ASK_TIMEOUT))

    def _tell(self, name: str, *args: Any) -> bool:
        """Send an answer's word to the actor (not awaited); False without one."""
        pace = self._pace
        if pace is None:
            return False
        self._pool.submit(lambda: getattr(pace, name)(*args).result(timeout=ASK_TIMEOUT))
        return True

    @property
    def spacing(self) -> float:
        return self._spacing if self._pace is not None else super().spacing

    def release(self) -> None:
        if not self._tell("release"):
            super().release()
        self._pool.submit(self._leases.release)

    def accepted(self, sent_at: float) -> None:
        if not self._tell("accepted", sent_at):
            super().accepted(sent_at)

    def refused(self, sent_at: float, wait: float | None = None) -> None:
        if not self._tell("refused", sent_at, wait):
            super().refused(sent_at, wait)

    def budget(self, said: Said, sent_at: float) -> None:
        if not self._tell("budget", said, sent_at):
            super().budget(said, sent_at)

    def pause(self, seconds: float) -> None:
        if not self._tell("pause", seconds):
            super().pause(seconds)

    async def _blocking(self, call: Callable[[], Any]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def close(self) -> None:
        """Return every lease: the rate's after their hold, so the next shard keeps the pace."""
        await asyncio.sleep(self._hold + 0.05 if self._tokens is not None else 0.0)
        self._pool.shutdown(wait=True)
