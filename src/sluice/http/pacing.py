"""Politeness for a whole source: when the next request may start.

Every request of the source obeys every meter, so when the API says slow down the whole
source slows down (no thundering herd of retries):

- the configured `rate_limit`, a token bucket and a hard ceiling; the token is taken when the
  request is actually sent (inside its concurrency permit), so requests that queued for a
  permit cannot leave in a burst: no window of `w` seconds holds more than `burst + rate * w`;
- the API's budget, when its answers say what is left and when it is whole again (`Budget`):
  never more requests than it has left, then a wait for its reset, so no refusal at all;
- a rate learned from refusals when the API says nothing before it says no (AIMD): a 429 sets
  the rate a little under the rate the source was actually sending at, each accepted answer
  raises it again, so the source settles on the API's rate instead of a fixed spacing;
- a pause, for a wait the API announced (`Retry-After`): every request holds until then;
- a slow start while nothing is known (no `rate_limit`, no refusal, no budget) for at most half a
  second: one request in flight, half a request more for each answer (x1.5 every round trip),
  so the first requests of a source do not all meet a small bucket at once before the API
  could say anything.

The clock and sleep are injected so tests never wait on the wall clock.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..config.specs import RateLimitSpec
from ..engine.stats import WallTimer
from .headers import Budget

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

DECREASE = 0.7  # after a refusal: this share of the rate the source was sending at
HALVE = 0.5  # ... when not one request sent since the previous cut was accepted
RECOVER_TO = 0.9  # ... then quickly back to this share of where it was refused
RECOVER = 0.02  # per accepted answer below the refused rate: back to it in ~18 answers from 0.7 of it
PROBE = 0.005  # per accepted answer at the refused rate: a share of it, so the API can say where it is now
SEND_WINDOW = 1.0  # seconds of starts that make the observed send rate
MIN_SPAN = 0.1  # seconds: the shortest span a send rate is measured over
MIN_RATE = 0.01  # requests per second: the learned rate never stops the source altogether
POLL = 0.005  # seconds between looks at a budget that answers under way may renew
STALE = 1.0  # seconds after its reset that a budget with no newer answer is forgotten
SLOW_START = 1  # requests in flight before the first answer
SLOW_START_GROWTH = 0.5  # more in flight per answer: x1.5 per round trip
SLOW_START_DONE = 256  # in flight: past any client's concurrency, the slow start is over
SLOW_START_FOR = 0.5  # seconds from the first request: a slow first answer does not hold the source back longer


@dataclass
class _Bucket:
    """The configured ceiling: `burst` tokens, refilled at `requests_per_second`."""

    spec: RateLimitSpec
    tokens: float = 0.0
    stamp: float | None = None

    def delay(self, now: float) -> float:
        if self.stamp is None:
            self.tokens, self.stamp = float(self.spec.burst), now
        self.tokens = min(self.spec.burst, self.tokens + (now - self.stamp) * self.spec.requests_per_second)
        self.stamp = now
        # Refilling by `delay * rate` can land a hair under 1.0; without the tolerance the
        # next wait is a few ulps long, and a clock that cannot advance by so little spins.
        return 0.0 if self.tokens >= 1.0 - 1e-9 else (1.0 - self.tokens) / self.spec.requests_per_second

    def take(self) -> None:
        self.tokens -= 1.0


@dataclass
class _Allowance:
    """The API's last word on its budget: `remaining` after the request sent at `as_of`."""

    remaining: float
    as_of: float
    reset_at: float
    limit: float | None


@dataclass
class _Learned:
    """The API's rate as refusals reveal it; None until the first refusal (no limit known).

    A refusal cuts the rate to a share of the rate the source was sending at, and never above
    the rate the API accepted since the previous cut: far over the API's rate, that is the
    API's rate itself, so the source does not need a dozen refusals to get down to it."""

    rate: float | None = None
    refused_at: float = 0.0  # where the API refused: recover to it quickly, probe past it slowly
    since: float = float("-inf")  # the last cut: refusals of requests sent before it do not count
    through: int = 0  # requests sent since the last cut that the API accepted

    def refused(self, now: float, sent_rate: float) -> None:
        first = self.rate is None  # the first cut: nothing measured before it
        if self.rate is not None:  # the window may still hold a burst from before the last cut
            sent_rate = min(sent_rate, self.rate)
        accepted = self.through / (now - self.since) if self.through and not first and now > self.since else float("inf")
        cut = DECREASE if self.through or first else HALVE  # none accepted since the last cut: still far too fast
        self.rate = max(min(cut * sent_rate, accepted), MIN_RATE)
        # Recover towards the rate it refused at, not the rate it accepted since the last cut: one
        # answer between two refusals (in a Retry-After's shadow) read as 12/s on a 20/s API, and
        # the source crawled up from there. The first refusal ends a start too short to measure
        # a rate: no ceiling until a second one.
        self.refused_at = float("inf") if first else max(self.rate, RECOVER_TO * sent_rate)
        self.since, self.through = now, 0

    def accepted(self, sent_at: float) -> None:
        if sent_at > self.since:
            self.through += 1
        if self.rate is None:
            return
        if self.rate < self.refused_at:
            self.rate = min(self.rate * (1 + RECOVER), self.refused_at)
        else:
            self.rate += self.refused_at * PROBE


@dataclass
class Pacer:
    rate: RateLimitSpec | None = None
    clock: Clock = time.monotonic
    sleep: Sleep = asyncio.sleep
    paused_until: float = 0.0
    learned: _Learned = field(default_factory=_Learned)
    waits: WallTimer = field(init=False)
    _bucket: _Bucket | None = field(default=None, init=False)
    _allowance: _Allowance | None = field(default=None, init=False)
    _next: float = field(default=float("-inf"), init=False)
    _pending: int = field(default=0, init=False)  # requests started and not answered yet
    _starts: deque[float] = field(default_factory=lambda: deque(maxlen=1024), init=False)
    _window: float | None = field(default=SLOW_START, init=False)  # requests in flight allowed; None: no slow start

    def __post_init__(self) -> None:
        self.waits = WallTimer(self.clock)
        self._bucket = _Bucket(self.rate) if self.rate is not None else None
        if self.rate is not None:  # the user said what the API allows: no need to find out carefully
            self._window = None

    @property
    def waited(self) -> float:
        """Wall seconds during which any request waited (not a sum over concurrent requests)."""
        return self.waits.seconds

    @property
    def spacing(self) -> float:
        """Seconds between request starts at the learned rate (0: none learned)."""
        return 1.0 / self.learned.rate if self.learned.rate else 0.0

    async def acquire(self) -> float:
        """Wait until one request may start; the moment it starts. Call it just before sending."""
        now = self.clock()
        delay = self.try_start(now)
        if delay is not None:
            self.waits.begin()
            try:
                while delay is not None:
                    await self.sleep(delay)
                    now = self.clock()
                    delay = self.try_start(now)
            finally:
                self.waits.end()
        return now

    def try_start(self, now: float) -> float | None:
        """Start one request at `now` if every meter allows it (None), else the seconds to wait
        first. The non-blocking half of `acquire`, for a pace kept on behalf of others (a
        cluster's shared pace answers each shard's ask without sleeping)."""
        delay = self._delay(now)
        if delay > 0:
            return delay
        self._start(now)
        return None

    def calm(self, now: float) -> bool:
        """Nothing to pace by yet: no slow start, no learned rate, no budget, no pause. Another
        process may then start requests without asking first (see scale/pace.py)."""
        return (not self._slow_start(now) and self.learned.rate is None and self._allowance is None
                and self.paused_until <= now)

    def started_elsewhere(self, stamp: float) -> None:
        """A request started at `stamp` (on this clock) without `try_start`, reported late: it
        counts as a start in flight, kept in time order (a budget counts back from the newest)."""
        if len(self._starts) == self._starts.maxlen:
            self._starts.popleft()
        bisect.insort(self._starts, stamp)
        self._pending += 1

    def _delay(self, now: float) -> float:
        bucket = self._bucket.delay(now) if self._bucket is not None else 0.0
        starting = POLL if self._slow_start(now) and self._pending >= (self._window or 0) else 0.0
        return max(self.paused_until - now, self._next - now, self._budget_delay(now), bucket, starting)

    def _slow_start(self, now: float) -> bool:
        if self._window is not None and self._starts and now >= self._starts[0] + SLOW_START_FOR:
            self._window = None
        return self._window is not None

    def _start(self, now: float) -> None:
        if self._bucket is not None:
            self._bucket.take()
        spacing = self.spacing
        self._next = max(self._next, now - spacing / 2) + spacing  # a late wake-up is caught up, an idle spell is not
        self._starts.append(now)
        self._pending += 1

    def release(self) -> None:
        """The request started by `acquire` is answered (or failed)."""
        self._pending -= 1
        if self._window is not None:
            self._window = self._window + SLOW_START_GROWTH if self._window < SLOW_START_DONE else None

    def _left(self, allowance: _Allowance, now: float) -> float:
        """Requests the budget still allows: what the API said, less what it could not count yet.
        Once reset, the whole budget (one request when its size is unknown), less the requests
        sent since and those still under way."""
        if now < allowance.reset_at:
            return allowance.remaining - self._sent_with_or_after(allowance.as_of)
        return (allowance.limit or 1.0) - max(self._started_after(allowance.reset_at), self._pending)

    def _budget_delay(self, now: float) -> float:
        allowance = self._allowance
        if allowance is None:
            return 0.0
        whole = now >= allowance.reset_at
        if self._left(allowance, now) > 0:
            return 0.0
        if not whole:
            return allowance.reset_at - now
        if self._pending and now < allowance.reset_at + STALE:  # whole again, spent on requests under way: their answers tell more
            return POLL
        self._allowance = None  # no answer since: the budget is unknown again
        return 0.0

    def _started_after(self, moment: float, at_it: bool = False) -> int:
        count = 0
        for start in reversed(self._starts):
            if start < moment or (start == moment and not at_it):
                break
            count += 1
        return count

    def _sent_with_or_after(self, sent_at: float) -> int:
        """The requests the answer to the one sent at `sent_at` may not have counted: those sent
        after it, and those sent at the very same moment (on a coarse clock, or a virtual one,
        a whole wave shares one stamp, and each answer counts only itself and those before)."""
        return self._started_after(sent_at, at_it=True) - 1

    def pause(self, seconds: float) -> None:
        """Hold every request of the source for `seconds` from now."""
        self.paused_until = max(self.paused_until, self.clock() + max(seconds, 0.0))

    def budget(self, said: Budget, sent_at: float) -> None:
        """The answer to the request sent at `sent_at` told the API's budget. Requests sent
        since then may not be counted in it yet: they are taken off what it says is left."""
        now = self.clock()
        self._window = None  # the budget paces from here
        heard = _Allowance(said.remaining, sent_at, now + said.reset, said.limit)
        # The latest word is the one to trust; an answer that overtook another (sent before
        # it, heard after) is trusted only where it leaves less.
        old = self._allowance
        if old is None or now >= old.reset_at or sent_at > old.as_of or self._left(heard, now) < self._left(old, now):
            self._allowance = heard

    def refused(self, sent_at: float, wait: float | None = None) -> None:
        """The API refused the request sent at `sent_at` for its rate (429). An announced
        `wait` pauses every request; the learned rate drops to a share of the rate the source
        was sending at, once per refusal of a request sent since the last drop (the others
        were on their way before it). An API that states its budget is paced by that instead."""
        if wait is not None:
            self.pause(wait)
        self._window = None  # the learned rate paces from here
        if self._allowance is not None or sent_at <= self.learned.since:  # sent with the cut: before it took effect
            return
        self.learned.refused(self.clock(), self._send_rate(sent_at))

    def accepted(self, sent_at: float) -> None:
        """The API accepted the request sent at `sent_at`: the learned rate rises a little."""
        self.learned.accepted(sent_at)

    def _send_rate(self, now: float) -> float:
        """Requests per second the source started over the last `SEND_WINDOW` up to `now`; a
        burst at the start is spread over `MIN_SPAN`, or eight requests sent at once would
        read as thousands a second."""
        recent = [t for t in self._starts if now - SEND_WINDOW < t <= now]
        if not recent:
            return self.learned.rate or 1.0 / SEND_WINDOW
        return len(recent) / max(now - recent[0], MIN_SPAN)
