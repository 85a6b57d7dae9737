"""DatetimeBasedCursor -> sluice's `incremental` (dlt state; windows and per-parent cursors).

The cursor's start (`start_datetime`) becomes `initial_value` written as the records write
their cursor (`cursor_datetime_formats`, else `datetime_format`), so dlt compares like with
like; the value sent (`start_time_option`, the windows' `end_time_option`) is reformatted to
`datetime_format` by `convert`. `step` walks windows, `lookback_window` is dlt's `lag`, and a
cursor on a substream keeps one value per parent, as the CDK keeps state per partition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .interpolation import duration, format_datetime, parse_datetime

if TYPE_CHECKING:
    from .convert import Where

_BOUND = re.compile(r"\{\{\s*stream_(?:interval|slice|partition)\s*(?:\.\s*(start_time|end_time)|\[\s*['\"](start_time|end_time)['\"]\s*\]"
                    r"|\.get\(\s*['\"](start_time|end_time)['\"]\s*\))\s*\}\}")
_NOW = ("now_utc", "today_utc", "day_delta")
ONE_WINDOW = "P100Y"  # longer than any history: one window, from the start to now


def interval_placeholders(text: str) -> str:
    """`{{ stream_interval.start_time }}` -> `{incremental.start_value}` (end_time likewise)."""
    return _BOUND.sub(lambda m: f"{{incremental.{'start' if 'start_time' in m.groups() else 'end'}_value}}", text)


@dataclass(frozen=True)
class Reformat:
    """A cursor value (as the records write it) in the format the API is sent."""

    formats: tuple[str, ...]
    out: str

    def __call__(self, value: Any) -> Any:
        for fmt in self.formats:
            try:
                return format_datetime(parse_datetime(value, fmt), self.out)
            except (ValueError, TypeError, OverflowError):
                continue
        return format_datetime(value, self.out)


def cursor_spec(cursor: Mapping[str, Any], where: Where, *, per_parent: bool, stateless: bool = False) -> dict[str, Any] | None:
    """`stateless`: every record from the start to now on each run (dlt keeps no state for a
    range with an `end_value`), as the CDK reads a parent without `incremental_dependency`."""
    at = "incremental_sync"
    if cursor.get("type") != "DatetimeBasedCursor":
        where.problem(at, f"{cursor.get('type')} is not supported", "only DatetimeBasedCursor")
        return None
    out_format = str(where.static(cursor.get("datetime_format"), f"{at}.datetime_format") or "%Y-%m-%dT%H:%M:%S.%f%z")
    formats = tuple(str(f) for f in cursor.get("cursor_datetime_formats") or [out_format])
    start = _start(cursor.get("start_datetime"), where, f"{at}.start_datetime")
    if start is None:
        return None
    initial = start if isinstance(start, str) else format_datetime(start, formats[0])
    spec: dict[str, Any] = {
        "cursor_path": str(where.static(cursor.get("cursor_field"), f"{at}.cursor_field")),
        "initial_value": int(initial) if formats[0] in ("%s", "%ms") else initial,
        "on_cursor_value_missing": "include",
    }
    if stateless:
        now = format_datetime(datetime.now(UTC), formats[0])
        spec["end_value"] = int(now) if formats[0] in ("%s", "%ms") else now
    if formats != (out_format,):  # the records' form is not the form sent: rewrite it
        spec["convert"] = Reformat(formats, out_format)
    _options(cursor, where, spec)
    _bounds(cursor, where, spec)
    if per_parent and not cursor.get("global_substream_cursor"):
        spec["per_parent"] = True
    return spec


def _start(raw: Any, where: Where, at: str) -> Any:
    value, fmt = (raw.get("datetime"), raw.get("datetime_format")) if isinstance(raw, Mapping) else (raw, None)
    text = where.static(value, f"{at}.datetime")
    if text in (None, ""):
        where.problem(at, "is required (set it in the config)")
        return None
    if isinstance(text, str) and text.startswith("${"):
        return text  # `sluice convert` without a config: the file loader resolves the reference
    try:
        return parse_datetime(text, str(fmt) if fmt and "{{" not in str(fmt) else None)
    except ValueError:
        pass  # the CDK would refuse it; a date in another common form is still clear
    try:
        return parse_datetime(text)
    except (ValueError, TypeError, OverflowError) as exc:
        where.problem(at, f"cannot read {text!r} as a date: {exc}")
        return None


def _options(cursor: Mapping[str, Any], where: Where, spec: dict[str, Any]) -> None:
    """start/end_time_option: a query parameter is start_param / end_param; in a header or
    the JSON body, the `{incremental.start_value}` (end) placeholder goes there instead."""
    for key, param in (("start_time_option", "start_param"), ("end_time_option", "end_param")):
        option = cursor.get(key)
        if not isinstance(option, Mapping):
            continue
        if option.get("inject_into") == "request_parameter":
            spec[param] = str(where.static(option.get("field_name"), f"incremental_sync.{key}.field_name"))
        elif option.get("inject_into") in ("header", "body_json", "body_data"):
            bound = "start" if key.startswith("start") else "end"
            spec.setdefault("_placed", []).append((option, f"{{incremental.{bound}_value}}"))
        else:
            where.problem(f"incremental_sync.{key}", f"a time injected into {option.get('inject_into')} is not supported")


def _bounds(cursor: Mapping[str, Any], where: Where, spec: dict[str, Any]) -> None:
    at = "incremental_sync"
    step = where.static(cursor.get("step"), f"{at}.step")
    if step:
        spec["window"] = str(step)  # on an epoch cursor too: sluice walks a number as epoch time
        granularity = where.static(cursor.get("cursor_granularity"), f"{at}.cursor_granularity")
        if granularity:  # the CDK ends each full window one granularity before the next starts
            spec["window_granularity"] = str(granularity)
    elif "end_param" in spec or any("end_value" in placed for _, placed in spec.get("_placed", [])):
        spec["window"] = ONE_WINDOW  # the CDK's one slice [start, now]
    end = cursor.get("end_datetime")
    end_text = end.get("datetime") if isinstance(end, Mapping) else end
    if end_text and not any(now in str(end_text) for now in _NOW):
        where.problem(f"{at}.end_datetime", "a fixed end_datetime is not supported")
    lookback = where.static(cursor.get("lookback_window"), f"{at}.lookback_window")
    if lookback:
        try:
            spec["lag"] = _lag(duration(str(lookback)).total_seconds(), str(cursor.get("datetime_format") or ""))
        except (ValueError, TypeError, AttributeError):
            where.problem(f"{at}.lookback_window", f"cannot read {lookback!r} as an ISO-8601 duration")


def _lag(seconds: float, datetime_format: str) -> float:
    """dlt's lag counts in the cursor's unit: milliseconds for `%ms` epochs, days for a
    date-only format, seconds otherwise (epoch seconds and datetimes)."""
    if datetime_format == "%ms":
        return seconds * 1000
    if datetime_format and datetime_format != "%s" and not any(d in datetime_format for d in ("%H", "%M", "%S", "%s", "%f", "%I")):
        return seconds / 86400
    return seconds

