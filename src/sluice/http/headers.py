"""Reading what APIs announce about their rate in headers: waits and budgets.

Three families say the same things under different names:

    X-RateLimit-Limit: 100   X-RateLimit-Remaining: 50   X-RateLimit-Reset: 5   (or an epoch, s or ms)
    RateLimit: limit=100, remaining=50, reset=5                                 (IETF draft, older)
    RateLimit: "default";r=50;t=5   RateLimit-Policy: "default";q=100;w=60      (IETF draft, structured)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

# An epoch is a number this large; anything smaller is a duration in seconds, anything larger
# than the millisecond threshold an epoch in milliseconds (seconds reach it in the year 5138).
_EPOCH_THRESHOLD = 1_000_000_000
_EPOCH_MS_THRESHOLD = 100_000_000_000


@dataclass(frozen=True)
class Budget:
    """Requests the API will still accept, and in how many seconds it is whole again."""

    remaining: float
    reset: float  # seconds from now
    limit: float | None = None  # requests in a whole budget, when the API says


def announced_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from Retry-After, a reset header (any family) or a period header."""
    now = time.time() if now is None else now
    for found in (_header_seconds(headers, ("Retry-After",), now), announced_reset(headers, now),
                  _header_seconds(headers, ("X-RateLimit-Period-In-Sec",), now)):
        if found is not None:
            return found
    return None


def budget(headers: Mapping[str, str], now: float | None = None) -> Budget | None:
    """The API's budget after this answer, when it says both what is left and when it resets."""
    remaining = _first_number(headers, ("X-RateLimit-Remaining", "RateLimit-Remaining"))
    if remaining is None:
        remaining = _field(headers.get("RateLimit"), ("r", "remaining"))
    reset = announced_reset(headers, now)
    if remaining is None or reset is None:
        return None
    return Budget(max(remaining, 0.0), reset, _limit(headers))


def announced_reset(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds until the API's budget is whole again, from a reset header of any family."""
    now = time.time() if now is None else now
    found = _header_seconds(headers, ("RateLimit-Reset", "X-RateLimit-Reset"), now)
    if found is not None:
        return found
    reset = _field(headers.get("RateLimit"), ("t", "reset"))
    return None if reset is None else max(_from_number(reset, now), 0.0)


def _header_seconds(headers: Mapping[str, str], names: tuple[str, ...], now: float) -> float | None:
    for name in names:
        value = headers.get(name)
        seconds = _seconds(value.strip(), now) if value is not None else None
        if seconds is not None:
            return max(seconds, 0.0)
    return None


def _limit(headers: Mapping[str, str]) -> float | None:
    found = _first_number(headers, ("X-RateLimit-Limit", "RateLimit-Limit"))
    if found is None:
        found = _field(headers.get("RateLimit"), ("limit",))
    if found is None:
        found = _field(headers.get("RateLimit-Policy"), ("q",), leading=True)
    return found


def _first_number(headers: Mapping[str, str], names: tuple[str, ...]) -> float | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            return _number(value.split(",")[0])  # `100, 100;w=60`: the first is the one that applies now
    return None


def _field(value: str | None, keys: tuple[str, ...], leading: bool = False) -> float | None:
    """A number from a structured header: `limit=100, remaining=50` or `"default";r=50;t=5`;
    with `leading`, also the bare first item of the older policy form `100;w=60`."""
    if value is None:
        return None
    for item in value.replace(",", ";").split(";"):
        key, sep, raw = item.strip().partition("=")
        if sep and key.strip().lower() in keys:
            return _number(raw)
        if leading and not sep and (number := _number(key)) is not None:
            return number
    return None


def _number(raw: str) -> float | None:
    try:
        return float(raw.strip().strip('"'))
    except ValueError:
        return None


def _seconds(value: str, now: float) -> float | None:
    try:
        number = float(value)
    except ValueError:
        try:
            return parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
    return _from_number(number, now)


def _from_number(number: float, now: float) -> float:
    if number > _EPOCH_MS_THRESHOLD:
        return number / 1000 - now
    return number - now if number > _EPOCH_THRESHOLD else number


def exhausted(headers: Mapping[str, str]) -> bool:
    """True when the API says the budget is spent (the next request would be refused)."""
    for name in ("X-RateLimit-Remaining", "RateLimit-Remaining"):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value) <= 0
            except ValueError:
                return False
    return False
