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
Learned rates and `Retry-After` pauses stay per worker (each learns from its own refusals).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..config.specs import RateLimitSpec
from ..http.pacing import Pacer


@dataclass(frozen=True)
class Budget:
    """What every worker needs to find the run's semaphores (picklable)."""

    name: str
    concurrency: int
    rate: RateLimitSpec | None = None

    def pacer(self) -> GlobalPacer:
        return GlobalPacer(budget=self)


class GlobalPacer(Pacer):
    """A worker's pacer: its own learned rate and pauses, then a lease of the global budget.
    The semaphores' calls block, so they run on a small thread pool beside the event loop."""

    def __init__(self, budget: Budget) -> None:
        super().__init__()  # no local rate: the global one is the ceiling
        from distributed import Semaphore

        self.shared = budget
        self._pool = ThreadPoolExecutor(max_workers=budget.concurrency + 2, thread_name_prefix="sluice-budget")
        self._leases = Semaphore(max_leases=budget.concurrency, name=f"{budget.name}-concurrency")  # type: ignore[no-untyped-call]
        rate = budget.rate
        self._tokens = Semaphore(max_leases=rate.burst, name=f"{budget.name}-rate") if rate else None  # type: ignore[no-untyped-call]
        self._hold = rate.burst / rate.requests_per_second if rate else 0.0

    async def acquire(self) -> float:
        await super().acquire()
        await self._blocking(self._leases.acquire)
        if self._tokens is not None:
            await self._blocking(self._tokens.acquire)
            asyncio.get_running_loop().call_later(self._hold, self._pool.submit, self._tokens.release)
        return self.clock()

    def release(self) -> None:
        super().release()
        self._pool.submit(self._leases.release)

    async def _blocking(self, call: Callable[[], Any]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def close(self) -> None:
        """Return every lease: the rate's after their hold, so the next shard keeps the pace."""
        await asyncio.sleep(self._hold + 0.05 if self._tokens is not None else 0.0)
        self._pool.shutdown(wait=True)
