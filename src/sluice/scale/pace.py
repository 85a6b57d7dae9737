"""The source's learned pace, one for the whole cluster: a `SharedPace` actor and each shard's
`PaceLink` to it.

What the API says (a 429's cut of the learned rate, a `Retry-After` pause, a budget from
rate-limit headers) and the slow start are learned once for the source, by one `Pacer` on one
worker (a Dask actor: its methods run one at a time). While it has something to say, every
shard asks it before each request and tells it each answer, so a 429 seen by one shard slows
every shard, as it slows every chain locally.

While it has nothing to say (*calm*: no slow start, no learned rate, no budget, no pause), an
actor round trip per request would only cost time (~2-3 ms, and one actor thread answers the
whole cluster). A calm shard then starts its requests at once and tells the actor what
happened in batches, at most every `REFRESH` seconds, each answer of the actor refreshing the
shard's copy of its word. A shard never starts a request on a calm word it asked for more than
`STALE` seconds earlier (it waits for a fresh one), so once the actor hears the API speak,
other shards start requests for at most `STALE` seconds more (typically `REFRESH` and a round
trip); the shard that heard it stops at once. Anything the API says is sent at once, beside
the reports (their order matters less than its speed).

Stamps (when a request started) are on the actor's clock: an actor's answer carries its clock,
and a calm shard stamps its starts with its own clock plus the offset that answer shows (to
within half a round trip).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..http.pacing import Pacer

log = logging.getLogger("sluice")
ASK_TIMEOUT = 5.0  # seconds: an actor call takes milliseconds; one to a dead worker never returns
REFRESH = 0.05  # seconds between a calm shard's reports (and fresh copies of the actor's word)
STALE = 0.1  # seconds: the oldest calm word a shard starts a request on
Word = tuple[bool, float, float]  # the actor's word: calm, its clock, the learned spacing
Event = tuple[Any, ...]  # ("start", stamp), ("release",), ("accepted", stamp), ("refused", stamp, wait), ...


class SharedPace:
    """The source's learned pace on one worker of the cluster (a Dask actor), a `Pacer` whose
    clock every stamp it hands out and takes back is read on."""

    def __init__(self) -> None:
        self.pacer = Pacer()
        self.asked = 0  # requests started by asking (the API has something to say)
        self.reported = 0  # requests started calm, reported afterwards

    def try_start(self) -> tuple[float, float | None, Word]:
        """(seconds to wait, None) or (0, the start's stamp), and the word."""
        now = self.pacer.clock()
        delay = self.pacer.try_start(now)
        if delay is not None:
            return delay, None, self._word(now)
        self.asked += 1
        return 0.0, now, self._word(now)

    def report(self, events: list[Event]) -> Word:
        """A shard's events, in the order they happened to it; the word after them."""
        for name, *args in events:
            if name == "start":
                self._started(*args)
            else:
                getattr(self.pacer, name)(*args)
        return self._word(self.pacer.clock())

    def counts(self) -> tuple[int, int]:
        return self.asked, self.reported

    def _started(self, stamp: float) -> None:
        """A calm start, reported late."""
        self.pacer.started_elsewhere(stamp)
        self.reported += 1

    def _word(self, now: float) -> Word:
        return self.pacer.calm(now), now, self.pacer.spacing


class Gone(Exception):
    """The shared pace did not answer (its worker died): each worker learns alone from here."""


class PaceLink:
    """One shard's line to the `SharedPace`: `start()` before each request, `tell()` each answer.
    Asks run on `pool` (they block); reports on a thread of their own, so they arrive in order."""

    def __init__(self, pace: Any, pool: ThreadPoolExecutor, clock: Callable[[], float] = time.monotonic) -> None:
        self.pace = pace
        self.pool = pool
        self.clock = clock
        self.calm = False
        self.spacing = 0.0
        self.gone = False
        self._heard_at = float("-inf")  # when the word in hand was asked for (this process's clock)
        self._offset = 0.0  # the actor's clock less this process's
        self._events: list[Event] = []
        self._said_at = float("-inf")  # when the API last said something here: only a word asked after it is calm
        self._flushing: asyncio.Task[None] | None = None
        self._saying: set[asyncio.Task[None]] = set()
        self._teller = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sluice-pace")

    async def start(self) -> tuple[float, float | None]:
        """(0, the start's stamp), or (seconds to wait, None). Raises `Gone`."""
        while self.calm:
            if self.clock() - self._heard_at <= STALE:
                stamp = self.clock() + self._offset
                self.tell(("start", stamp))
                return 0.0, stamp
            await self._flush()  # a fresh word before this request
        sent = self.clock()
        delay, stamp, word = await self._call(self.pool, self.pace.try_start)
        self._heard(word, sent)
        return delay, stamp

    def tell(self, event: Event, said: bool = False) -> None:
        """An event for the actor; what the API `said` goes at once (not behind a report under
        way), and no calm start follows it."""
        if said:
            self.calm, self._said_at = False, self.clock()
            task = asyncio.get_running_loop().create_task(self._say(event))
            self._saying.add(task)
            task.add_done_callback(self._saying.discard)
            return
        self._events.append(event)
        if not self.calm or self.clock() - self._heard_at > REFRESH:
            self._kick()

    async def close(self) -> None:
        """Sends what is left to tell."""
        try:
            await asyncio.gather(*self._saying)
            while self._events and not self.gone:
                await self._flush()
        except Gone:
            pass
        finally:
            self._teller.shutdown(wait=False)

    def _kick(self) -> None:
        if self._flushing is None and not self.gone:
            self._flushing = asyncio.get_running_loop().create_task(self._send())

    async def _flush(self) -> None:
        self._kick()
        if self._flushing is not None:
            await asyncio.shield(self._flushing)
        if self.gone:
            raise Gone

    async def _say(self, event: Event) -> None:
        sent = self.clock()
        try:
            self._heard(await self._call(self.pool, self.pace.report, [event]), sent)
        except Gone:
            self.gone = True

    async def _send(self) -> None:
        """Reports until nothing is due: in calm, one report and its word; otherwise every event."""
        try:
            while True:
                events, self._events = self._events, []
                sent = self.clock()
                self._heard(await self._call(self._teller, self.pace.report, events), sent)
                if not self._events or self.calm:
                    return
        except Gone:
            self.gone = True
        finally:
            self._flushing = None

    def _heard(self, word: Word, sent: float) -> None:
        """The actor's word, unless a later one is in hand; not calm if asked before the API said something."""
        if sent < self._heard_at:
            return
        calm, their_clock, self.spacing = word
        self._offset = their_clock - (sent + self.clock()) / 2
        self._heard_at = sent
        self.calm = calm and sent > self._said_at

    async def _call(self, pool: ThreadPoolExecutor, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, lambda: method(*args).result(timeout=ASK_TIMEOUT))
        except Exception as exc:  # noqa: BLE001 - its worker died (or will not answer)
            log.warning("the shared rate limit is gone (%s): each worker learns the API's rate alone", type(exc).__name__)
            raise Gone from exc
