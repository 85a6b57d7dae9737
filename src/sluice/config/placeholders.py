"""Placeholders in paths, params, bodies and headers: `{resources.<parent>.<field>}`,
`{incremental.start_value}` and friends, and the seeds' implicit `{name}`."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][\w.\-]*)\s*\}")
INCREMENTAL_FIELDS = ("start_value", "end_value", "last_value", "initial_value")


def find(value: Any) -> Iterator[str]:
    """Every placeholder name in a (nested) value."""
    if isinstance(value, str):
        yield from PLACEHOLDER.findall(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from find(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from find(item)


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """The value with every placeholder we know replaced by its text (dlt formats as strings)."""
    if isinstance(value, str):
        if "{" not in value:
            return value
        return PLACEHOLDER.sub(lambda m: str(context[m.group(1)]) if m.group(1) in context else m.group(0), value)
    if isinstance(value, Mapping):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value
