"""JSONPath selectors: plain dotted paths are read directly, the rest goes to jsonpath-ng."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jsonpath_ng.exceptions import JsonPathParserError
from jsonpath_ng.ext.parser import parse as _parse_jsonpath  # dlt parses with the extended grammar (filters, ...)

_MISSING = object()
_SIMPLE = re.compile(r"^(\$\.)?[A-Za-z_][\w\-]*(\.[A-Za-z_][\w\-]*)*$")

Finder = Callable[[Any], list[Any]]


class JSONPathSyntaxError(ValueError):
    pass


@lru_cache(maxsize=512)
def compile_path(path: str) -> Finder:
    """A function returning every value the path matches (an empty list for none)."""
    if path in ("$", ""):
        return lambda doc: [doc]
    if _SIMPLE.match(path):
        keys = tuple(path.removeprefix("$.").split("."))
        return lambda doc: _walk(doc, keys)
    try:
        expr = _parse_jsonpath(path)
    except (JsonPathParserError, Exception) as exc:  # jsonpath-ng raises several types
        raise JSONPathSyntaxError(str(exc)) from None
    return lambda doc: [m.value for m in expr.find(doc)]


def _walk(doc: Any, keys: tuple[str, ...]) -> list[Any]:
    for key in keys:
        if not isinstance(doc, dict):
            return []
        doc = doc.get(key, _MISSING)
        if doc is _MISSING:
            return []
    return [doc]


def find_first(path: str, doc: Any) -> Any:
    values = compile_path(path)(doc)
    return values[0] if values else None


def set_at_path(doc: Any, dotted: str, value: Any) -> Any:
    """A copy of a JSON body with `value` set at a dotted path (creating dicts on the way)."""
    keys = dotted.split(".")
    root: dict[str, Any] = dict(doc) if isinstance(doc, dict) else {}
    node = root
    for key in keys[:-1]:
        child = node.get(key)
        node[key] = dict(child) if isinstance(child, dict) else {}
        node = node[key]
    node[keys[-1]] = value
    return root


def get_dotted(record: Any, dotted: str) -> Any:
    """A field of a record by dotted path; raises KeyError when absent."""
    node = record
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            raise KeyError(dotted)
        node = node[key]
    return node
