"""Placeholders in paths, params, bodies and headers: `{resources.<parent>.<field>}`,
`{incremental.start_value}` and friends, static path params, and the seeds' implicit `{name}`.

They are Python's `str.format` fields, as in dlt: `{{` and `}}` are literal braces, so
`"{{Status}}='Done'"` sends `{Status}='Done'` and `"{{{resources.a.id}}}"` sends `{7}`.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from typing import Any

INCREMENTAL_FIELDS = ("start_value", "end_value", "last_value", "initial_value")


class _WholeNames(string.Formatter):
    # A field name is one key of the context ("resources.a.id"), not an attribute path.
    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        return kwargs[field_name], field_name


_FORMATTER = _WholeNames()


def strings(value: Any) -> Iterator[str]:
    """Every string in a (nested) value, dict keys included: dlt formats keys too."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)


def fields(text: str) -> list[str]:
    """The placeholder names in one string, as `str.format` reads them (`{}` gives "").
    Raises ValueError for a lone brace: a literal one is written `{{` or `}}`."""
    return [name for _, name, _, _ in _FORMATTER.parse(text) if name is not None]


def find(value: Any) -> Iterator[str]:
    """Every placeholder name in a (nested) value; strings with a lone brace are skipped."""
    for text in strings(value):
        try:
            yield from fields(text)
        except ValueError:
            continue


def render(value: Any, context: Mapping[str, Any], *, keep_types: bool = False) -> Any:
    """The value with its placeholders filled in (`str.format`), dict keys included. With
    `keep_types` (JSON bodies, as dlt does), a string that is one whole placeholder becomes the
    value itself: `"{resources.a.id}"` -> 7, not "7"."""
    if isinstance(value, str):
        if "{" not in value and "}" not in value:
            return value
        whole = _whole(value) if keep_types else None
        return context[whole] if whole is not None else _FORMATTER.vformat(value, (), context)
    if isinstance(value, Mapping):
        return {render(k, context, keep_types=keep_types): render(v, context, keep_types=keep_types) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [render(v, context, keep_types=keep_types) for v in value]
    return value


def _whole(text: str) -> str | None:
    """The field name when `text` is exactly one placeholder with no format spec or conversion."""
    parsed = list(_FORMATTER.parse(text))
    if len(parsed) != 1:
        return None
    literal, name, spec, conversion = parsed[0]
    return name if not literal and name and not spec and conversion is None else None
