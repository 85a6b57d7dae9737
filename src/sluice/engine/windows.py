"""Date windows: an incremental's `[start, end)` cut into consecutive windows, one chain each.

Owns the walk and the form of its bounds. Every bound keeps the form of the start value: an
ISO string stays an ISO string written the same way ('2024-01-01T00:00:00Z' ->
'2024-01-08T00:00:00Z', '2024-01-01' -> '2024-01-08', '20240101' -> '20240108'), a date stays a date, a datetime a
datetime, a number a number. The first bound is the start as given, the last the end as given
(`end_value`, or now in the start's form). A duration on a number walks it as epoch time:
seconds, or milliseconds from 10**11 on (in seconds that would be the year 5138), so an
epoch cursor ends now as a time cursor does. A window's `key` is its bounds as sent: the same
window has the same key in every run, so a finished window can be recorded as a unit.

Example: `list(walk("2024-01-01", "2024-01-10", parse_step("P7D")))` ->
`[Window('2024-01-01', '2024-01-08'), Window('2024-01-08', '2024-01-10')]`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import pendulum

# RFC 3339 and its common relatives: date only, ' ' for 'T', no seconds, any fraction, no zone.
_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})(?:([T ])(\d{2}:\d{2})(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?")
_BASIC = re.compile(r"\d{8}")  # ISO 8601's basic date, '20240101'
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MS = 10**11  # an epoch this large in seconds is the year 5138: it counts milliseconds
Step = Any  # a pendulum Duration (time cursors) or a positive int/float (numeric cursors)


@dataclass(frozen=True)
class Window:
    start: Any
    end: Any

    @property
    def key(self) -> str:
        return f"{_text(self.start)}..{_text(self.end)}"

    def context(self, step: Step | None = None, granularity: Step | None = None) -> dict[str, Any]:
        """The window as the chain's `{incremental.*}` values (and start_param / end_param).
        With a `granularity`, a full window's end is sent one granularity earlier, as Airbyte's
        CDK sends it (an inclusive end would return the next window's first records twice); the
        last, shorter window ends at the walk's end."""
        end = self.end if granularity is None else self._sent_end(step, granularity)
        return {"incremental.start_value": self.start, "incremental.last_value": self.start, "incremental.end_value": end}

    def _sent_end(self, step: Step, granularity: Step) -> Any:
        if not isinstance(step, pendulum.Duration):
            return self.end - granularity if self.end == self.start + step else self.end
        start, end = _timeline(self.start), _timeline(self.end)
        if start is None or end is None or end != _add(start, step):
            return self.end
        return _form(self.end)(_add(end, -granularity))


def parse_step(raw: Any) -> Step | None:
    """An ISO-8601 duration ('P7D', 'PT6H', 'P1M') or a positive number; None for anything else."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return raw if raw > 0 else None
    if not isinstance(raw, str) or not raw.startswith("P"):
        return None
    try:
        step = pendulum.parse(raw)
    except Exception:  # pendulum raises its own and the stdlib's errors for bad text
        return None
    return step if isinstance(step, pendulum.Duration) and _add(_EPOCH, step) > _EPOCH else None


def is_duration(step: Step | None) -> bool:
    return isinstance(step, pendulum.Duration)


def problem(step: Step, initial: Any, end: Any) -> tuple[str, str] | None:
    """What keeps `step` from walking from `initial` to `end`: (message, hint), or None."""
    if initial is None:
        return "a window needs an initial_value: the start of the first window", ""
    if not isinstance(step, pendulum.Duration):
        if not _is_number(initial) or (end is not None and not _is_number(end)):
            return f"a numeric window needs numeric initial_value and end_value, got {initial!r}", "give a duration such as 'P7D' for a date or time cursor"
        return None if end is not None else ("a numeric window needs an end_value: only a time cursor ends 'now'",
                                             "give a duration such as 'P7D' for an epoch cursor: it ends now")
    if _timeline(initial) is None or (end is not None and not _walkable(initial, end)):
        return f"a duration needs a date, time or epoch initial_value and end_value (ISO string, date, datetime, number), got {initial!r}", "give a number as the window of a numeric cursor"
    if _is_date(initial) and (step.hours or step.minutes or step.seconds or step.microseconds):
        return "a date cursor walks in whole days", "give a duration in days, weeks, months or years ('P1D')"
    return None


def walk(start: Any, end: Any, step: Step) -> Iterator[Window]:
    """Consecutive windows from `start` up to `end` (exclusive), the last one shorter; none when
    start >= end. Raises ValueError when the bounds are not what the step walks (a cursor value
    from the state that is no date or time)."""
    if not isinstance(step, pendulum.Duration):
        if not (_is_number(start) and _is_number(end)):
            raise ValueError(f"a numeric window walks between numbers, not from {start!r} to {end!r}")
        return _walk_numbers(start, end, step)
    low, high = _timeline(start), _timeline(end)
    if low is None or high is None or not _walkable(start, end):
        raise ValueError(f"a duration window walks between dates, times or epochs, not from {start!r} to {end!r}")
    return _walk_times(start, end, step, (low, high))


def _walk_times(start: Any, end: Any, step: Any, points: tuple[datetime, datetime]) -> Iterator[Window]:
    (low, high), form = points, _form(start)
    if low >= high:
        return
    bound, n = start, 0
    while True:
        n += 1
        # Each bound counted from the start (Jan 31 + 2 x P1M = Mar 31), never from the previous one.
        point = _add(low, step * n)
        upper = end if point >= high else form(point)
        yield Window(bound, upper)
        if point >= high:
            return
        bound = upper


def now_like(start: Any) -> Any:
    """The end of a walk with no end_value: now, in the start's form (a date cursor: tomorrow,
    so today's records are in the last window as a datetime cursor's are up to now)."""
    if _is_date(start):
        return _form(start)(datetime.now(UTC) + timedelta(days=1))
    return _form(start)(datetime.now(UTC))


def _walk_numbers(start: Any, end: Any, step: Any) -> Iterator[Window]:
    low = start
    while low < end:
        high = min(low + step, end)
        yield Window(low, high)
        low = high


def _add(point: datetime, step: Any) -> datetime:
    # pendulum adds months and years by the calendar (Jan 31 + P1M = Feb 29); timedelta cannot.
    moved = (pendulum.instance(point) + step).astimezone(UTC)
    return datetime(moved.year, moved.month, moved.day, moved.hour, moved.minute, moved.second, moved.microsecond, tzinfo=UTC)


def _walkable(start: Any, end: Any) -> bool:
    """Both bounds on the time line, and both epochs or neither (a number is no date's peer)."""
    return _timeline(start) is not None and _timeline(end) is not None and _is_number(start) == _is_number(end)


def _timeline(value: Any) -> datetime | None:
    """`_point`, and a number as an epoch in seconds or milliseconds."""
    if _is_number(value):
        return datetime.fromtimestamp(value / _unit(value), UTC)
    return _point(value)


def _unit(value: float) -> int:
    return 1000 if abs(value) >= _MS else 1


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_date(value: Any) -> bool:
    if isinstance(value, str):
        match = _ISO.fullmatch(value)
        return match is not None and match.group(2) is None or _BASIC.fullmatch(value) is not None
    return isinstance(value, date) and not isinstance(value, datetime)


def _point(value: Any) -> datetime | None:
    """`value` on one time line (aware, UTC when it says nothing); None when it is not a time."""
    if isinstance(value, str):
        if _ISO.fullmatch(value) is None and _BASIC.fullmatch(value) is None:
            return None
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def _form(start: Any) -> Callable[[datetime], Any]:
    """A point written the way `start` is."""
    if isinstance(start, str):
        return _iso_form(start)
    if _is_number(start):
        unit, kind = _unit(start), type(start)  # float seconds are exact to the microsecond
        return lambda p: kind(round(p.timestamp() * unit)) if kind is int else p.timestamp() * unit
    if isinstance(start, datetime):
        zone = start.tzinfo
        return (lambda p: p.astimezone(UTC).replace(tzinfo=None)) if zone is None else (lambda p: _zoned(p, zone))
    return lambda p: date(p.year, p.month, p.day)


def _zoned(point: datetime, zone: tzinfo) -> datetime:
    return point.astimezone(zone)


def _iso_form(start: str) -> Callable[[datetime], str]:
    if _BASIC.fullmatch(start):
        return lambda p: p.astimezone(UTC).strftime("%Y%m%d")
    match = _ISO.fullmatch(start)
    if match is None:
        raise ValueError(f"a duration window walks between dates or times, not from {start!r}")
    _, sep, _, seconds, fraction, zone = match.groups()
    if sep is None:
        return lambda p: p.astimezone(UTC).strftime("%Y-%m-%d")
    offset = _point(start).utcoffset() if zone else None  # type: ignore[union-attr]
    clock = f"%Y-%m-%d{sep}%H:%M" + (":%S" if seconds else "")
    digits = len(fraction) - 1 if fraction else 0

    def write(point: datetime) -> str:
        local = point.astimezone(UTC) + (offset or timedelta(0))
        text = local.strftime(clock)
        if digits:
            text += "." + f"{local.microsecond:06d}"[:digits].ljust(digits, "0")
        return text + (zone or "")

    return write


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)
