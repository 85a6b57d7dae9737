"""Reading the waits that APIs announce in their headers."""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

# An epoch is a number this large; anything smaller is a duration in seconds.
_EPOCH_THRESHOLD = 1_000_000_000


def announced_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from Retry-After, RateLimit-Reset, X-RateLimit-Reset or a period header."""
    now = time.time() if now is None else now
    for name in ("Retry-After", "RateLimit-Reset", "X-RateLimit-Reset", "X-RateLimit-Period-In-Sec"):
        value = headers.get(name)
        if value is None:
            continue
        seconds = _seconds(value.strip(), now)
        if seconds is not None:
            return max(seconds, 0.0)
    return None


def _seconds(value: str, now: float) -> float | None:
    try:
        number = float(value)
    except ValueError:
        try:
            return parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
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
