"""Politeness for a whole source: a token bucket and a shared pause.

When the API says slow down (429 with a wait, or `X-RateLimit-Remaining: 0`), every request
of the source waits, not just the one that was told: no thundering herd of retries.
The clock and sleep are injected so tests never wait on the wall clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..config.specs import RateLimitSpec

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Pacer:
    rate: RateLimitSpec | None = None
    clock: Clock = time.monotonic
    sleep: Sleep = asyncio.sleep
    paused_until: float = 0.0
    waited: float = 0.0  # seconds spent waiting for the rate limit or a pause
    spacing: float = 0.0  # after a 429: seconds between request starts, shrinking while the API accepts
    _next_start: float = field(default=0.0, init=False)
    _tokens: float = field(default=0.0, init=False)
    _stamp: float | None = field(default=None, init=False)

    async def acquire(self) -> None:
        """Wait until one request may start."""
        while True:
            now = self.clock()
            delay = max(self.paused_until - now, self._next_start - now, 0.0) or self._take(now)
            if delay <= 0:
                self._next_start = now + self.spacing
                return
            self.waited += delay
            await self.sleep(delay)

    def _take(self, now: float) -> float:
        if self.rate is None:
            return 0.0
        if self._stamp is None:
            self._tokens, self._stamp = float(self.rate.burst), now
        self._tokens = min(self.rate.burst, self._tokens + (now - self._stamp) * self.rate.requests_per_second)
        self._stamp = now
        # Refilling by `delay * rate` can land a hair under 1.0; without the tolerance the
        # next wait is a few ulps long, and a clock that cannot advance by so little spins.
        if self._tokens >= 1.0 - 1e-9:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate.requests_per_second

    def pause(self, seconds: float) -> None:
        """Hold every request of the source for `seconds` from now."""
        self.paused_until = max(self.paused_until, self.clock() + max(seconds, 0.0))

    def throttled(self, seconds: float) -> None:
        """The API refused a request for its rate: hold every request `seconds`, then let them
        start one at a time, at least `seconds` apart. A pause that ends with every waiting
        request at once is a herd the API refuses again (a token bucket has one token after
        its wait); a refusal of a request started after the pause means still too fast: the
        spacing doubles (refusals of requests already in flight do not count twice)."""
        spaced = self.clock() >= self.paused_until
        self.pause(seconds)
        self.spacing = min(max(seconds, self.spacing * 2 if spaced else self.spacing), 60.0)

    def accepted(self) -> None:
        """An answer within the API's rate: the spacing shrinks by a tenth, back to none. Slowly,
        so the source settles just under the API's rate instead of swinging into it again."""
        self.spacing = self.spacing * 0.9 if self.spacing > 0.001 else 0.0
