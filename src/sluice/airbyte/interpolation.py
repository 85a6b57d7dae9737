"""Airbyte's Jinja: its context, macros and filters, on top of sluice's sandbox.

Airbyte renders every template to text and then reads the text back as a Python literal
(`"3"` -> 3, `"{'a': 1}"` -> a dict, anything else stays text); an undefined name or key is
empty, never an error (the CDK's default `Undefined`), and an empty result falls back to the
component's default. `evaluate` does the same, in sluice's sandbox (no private attributes,
no loaders, bounded sizes) with the CDK's macros (`now_utc()`, `format_datetime`, ...) and
filters (`regex_search`, `hash`, `base64encode`, ...) added.
"""

from __future__ import annotations

import ast
import base64
import datetime
import hashlib
import re
import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import pendulum
from jinja2 import Undefined, meta
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.exceptions import UndefinedError

from ..templates import TemplateError, sandbox, sandbox_globals

UTC = datetime.UTC
# Alias -> the name the context holds: the CDK accepts all three for one partition.
ALIASES = {"stream_partition": "stream_slice", "stream_interval": "stream_slice"}
FALSE_VALUES: tuple[Any, ...] = ("False", "false", "{}", "[]", "()", "", "0", "0.0", {}, False, [], (), set())


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def today_utc() -> datetime.date:
    return now_utc().date()


def str_to_datetime(value: str) -> datetime.datetime:
    parsed = pendulum.parse(value, strict=False)
    if not isinstance(parsed, datetime.datetime):
        raise ValueError(f"{value!r} is not a date and time")
    return parsed


def timestamp(value: Any) -> int:
    if isinstance(value, (int, float)):
        return int(value)
    return int(str_to_datetime(str(value)).timestamp())


def day_delta(num_days: int, format: str = "%Y-%m-%dT%H:%M:%S.%f%z") -> str:
    return (now_utc() + datetime.timedelta(days=num_days)).strftime(format)


def duration(text: str) -> Any:
    return pendulum.parse(text)


def parse_datetime(value: Any, input_format: str | None = None) -> datetime.datetime:
    """A datetime from a datetime, a date, an epoch number or text (in `input_format` when given,
    the CDK's `%s`, `%ms` and `%_ms` included), naive ones taken as UTC."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if input_format in ("%s", "%ms") or isinstance(value, (int, float)):
        seconds = float(value) / (1000 if input_format == "%ms" else 1)
        return datetime.datetime.fromtimestamp(seconds, UTC)
    if input_format:
        parsed = datetime.datetime.strptime(str(value), input_format.replace("%_ms", "%f"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return str_to_datetime(str(value))


def format_datetime(value: Any, format: str, input_format: str | None = None) -> str:
    moment = parse_datetime(value, input_format)
    if format == "%s":
        return str(int(moment.timestamp()))
    if format == "%ms":
        return str(int(moment.timestamp() * 1000))
    return moment.strftime(format.replace("%_ms", f"{moment.microsecond // 1000:03d}"))


def regex_search(value: str, regex: str) -> str | None:
    found = re.search(regex, value)
    return found.group(1) if found and found.groups() else None


def hash_filter(value: Any, hash_type: str = "md5", salt: str | None = None) -> str:
    digest = hashlib.new(hash_type)
    digest.update(str(value).encode())
    if salt:
        digest.update(salt.encode())
    return digest.hexdigest()


MACROS = {
    "now_utc": now_utc, "today_utc": today_utc, "timestamp": timestamp, "day_delta": day_delta,
    "duration": duration, "format_datetime": format_datetime, "str_to_datetime": str_to_datetime,
    "max": max, "min": min, "generate_uuid": lambda: str(uuid.uuid4()),
}
FILTERS = {
    "regex_search": regex_search, "hash": hash_filter, "string": str,
    "base64encode": lambda v: base64.b64encode(str(v).encode()).decode(),
    "base64decode": lambda v: base64.b64decode(str(v)).decode(),
}

_AIRBYTE = sandbox(Undefined, MACROS, FILTERS)  # the CDK's lenient undefined: missing is empty


@lru_cache(maxsize=2048)
def _compiled(source: str) -> Any:
    try:
        return _AIRBYTE.from_string(source)
    except JinjaTemplateError as exc:
        raise TemplateError(f"template {source!r} does not compile: {exc}") from None


def check(source: str) -> None:
    """Raise TemplateError now for a template that cannot compile in the sandbox."""
    _compiled(source)


def names(source: Any) -> set[str]:
    """The context names a template reads, macros left out (`{{ record.id }}` -> {'record'})."""
    if not isinstance(source, str) or ("{{" not in source and "{%" not in source):
        return set()
    return set(meta.find_undeclared_variables(_AIRBYTE.parse(source))) - set(MACROS) - sandbox_globals()


def evaluate(source: Any, context: Mapping[str, Any], default: Any = None) -> Any:
    """`source` as the CDK evaluates it: rendered, then read back as a literal."""
    if not isinstance(source, str):
        return source
    rendered = _render(source, context)
    if rendered in (None, "") and default is not None:
        rendered = _render(str(default), context)
    return literal(rendered) if rendered is not None else None


def _render(source: str, context: Mapping[str, Any]) -> str | None:
    full = dict(context)
    for alias, name in ALIASES.items():
        if name in full and alias not in full:
            full[alias] = full[name]
    try:
        return str(_compiled(source).render(full))
    except UndefinedError:
        return None
    except TemplateError:
        raise
    except Exception as exc:  # a manifest's expression can raise anything; report where
        raise TemplateError(f"template {source!r} failed: {type(exc).__name__}: {exc}") from None


def literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def is_true(source: Any, context: Mapping[str, Any]) -> bool:
    """A condition (`stop_condition`, a RecordFilter's) as the CDK's InterpolatedBoolean reads
    it: empty is "False"; any value not in FALSE_VALUES is true (so is `None` printed)."""
    if isinstance(source, bool):
        return source
    return evaluate(source, context, default="False") not in FALSE_VALUES
