"""Fault knobs, set per route (or for every route with the key `"*"`).

`Fault` is a frozen description; the server keeps one call counter per route (reset by
`set_fault`/`clear_faults`) and asks `Fault.outcome(call)` what to do with call number
`call` (1-based, counting only requests that passed authentication). Knobs that speak of
"the first n calls" overlap rather than queue up: with `drop_connection=1,
status_burst=(503, 2)`, call 1 is dropped, call 2 is a 503, call 3 succeeds. When several
apply to one call, the first in this order wins:

    persistent_status, drop_connection, truncated, malformed_json, empty_200, html_200,
    rate_limit_429, status_burst, transient_403, status_every

`latency_ms`/`jitter_ms` delay every call (asyncio.sleep, no CPU) before authentication;
`max_in_flight` is checked when a request arrives, against the requests in flight on the
route (on the whole server for a `"*"` fault), and answers 429 at once beyond it.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass


class Action(enum.Enum):
    STATUS = "status"  # the API's generic error body for `status`
    THROTTLE = "throttle"  # the API's real 429 (its rate-limit headers)
    FORBIDDEN = "forbidden"  # the API's real 403
    DROP = "drop"  # close the socket without answering
    TRUNCATE = "truncate"  # full Content-Length announced, half the body sent, socket closed
    MALFORMED = "malformed"  # 200, complete HTTP message, body is half of the JSON
    EMPTY = "empty"  # 200, Content-Length 0
    HTML = "html"  # 200, text/html maintenance page


@dataclass(frozen=True, slots=True)
class Outcome:
    action: Action
    status: int = 0
    retry_after_s: float = 0.0


@dataclass(frozen=True)
class Fault:
    """What goes wrong on a route. All knobs are optional and combine (see module doc).

    >>> Fault(latency_ms=20, jitter_ms=5, status_burst=(503, 2))
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    status_burst: tuple[int, int] | None = None  # (code, n): first n calls answer code
    status_every: tuple[int, int] | None = None  # (code, k): calls k, 2k, 3k... answer code
    rate_limit_429: tuple[int, float] | None = None  # (n, retry_after_s): first n calls 429
    transient_403: int = 0  # first k calls: the API's 403
    persistent_status: int | None = None  # every call answers this status
    drop_connection: int = 0
    truncated: int = 0
    malformed_json: int = 0
    empty_200: int = 0
    html_200: int = 0
    max_in_flight: int | None = None  # 429 (Retry-After 0) beyond this many in flight

    def __post_init__(self) -> None:
        problems = [*self._range_problems(), *self._pair_problems()]
        if problems:
            raise ValueError("invalid Fault: " + "; ".join(problems))

    def _range_problems(self) -> list[str]:
        counts = {
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "transient_403": self.transient_403,
            "drop_connection": self.drop_connection,
            "truncated": self.truncated,
            "malformed_json": self.malformed_json,
            "empty_200": self.empty_200,
            "html_200": self.html_200,
        }
        problems = [f"{name} must be >= 0, got {v!r}" for name, v in counts.items() if v < 0]
        if self.max_in_flight is not None and self.max_in_flight < 1:
            problems.append(f"max_in_flight must be >= 1, got {self.max_in_flight!r}")
        if self.persistent_status is not None and not _is_status(self.persistent_status):
            problems.append(f"persistent_status is not an HTTP status: {self.persistent_status!r}")
        return problems

    def _pair_problems(self) -> list[str]:
        problems = []
        for name in ("status_burst", "status_every"):
            pair = getattr(self, name)
            if pair is not None and (not _is_status(pair[0]) or pair[1] < 1):
                problems.append(f"{name} must be (http_status, n >= 1), got {pair!r}")
        if self.rate_limit_429 is not None and (self.rate_limit_429[0] < 0 or self.rate_limit_429[1] < 0):
            problems.append(f"rate_limit_429 must be (n >= 0, seconds >= 0), got {self.rate_limit_429!r}")
        return problems

    def delay_s(self, rng: random.Random) -> float:
        jitter = rng.random() * self.jitter_ms if self.jitter_ms else 0.0
        return (self.latency_ms + jitter) / 1000.0

    def outcome(self, call: int) -> Outcome | None:
        """What call number `call` (1-based) on this route gets; None: the real answer."""
        if self.persistent_status is not None:
            return Outcome(Action.STATUS, self.persistent_status)
        for count, action in self._first_n_actions():
            if call <= count:
                return Outcome(action, 200)
        return self._status_outcome(call)

    def _first_n_actions(self) -> tuple[tuple[int, Action], ...]:
        return (
            (self.drop_connection, Action.DROP),
            (self.truncated, Action.TRUNCATE),
            (self.malformed_json, Action.MALFORMED),
            (self.empty_200, Action.EMPTY),
            (self.html_200, Action.HTML),
        )

    def _status_outcome(self, call: int) -> Outcome | None:
        if self.rate_limit_429 is not None and call <= self.rate_limit_429[0]:
            return Outcome(Action.THROTTLE, 429, self.rate_limit_429[1])
        if self.status_burst is not None and call <= self.status_burst[1]:
            return Outcome(Action.STATUS, self.status_burst[0])
        if call <= self.transient_403:
            return Outcome(Action.FORBIDDEN, 403)
        if self.status_every is not None and call % self.status_every[1] == 0:
            return Outcome(Action.STATUS, self.status_every[0])
        return None


def _is_status(code: int) -> bool:
    return isinstance(code, int) and 100 <= code <= 599
