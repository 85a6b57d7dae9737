"""Finding the records in a response body."""

from __future__ import annotations

from typing import Any

from ..jsonpath import compile_path

RECORD_KEYS = ("data", "items", "results", "entries", "records", "rows", "entities", "payload", "content", "objects", "values")
NON_RECORD_KEYS = ("meta", "metadata", "pagination", "links", "extras", "headers")


def select(body: Any, selector: str) -> list[Any]:
    """Records at `selector`: a list as is, one object as one record (dlt's rule). A selector
    that matches nothing is an empty page, as in dlt: many APIs leave an empty list out."""
    values = compile_path(selector)(body)
    if not values:
        return []
    data = values[0] if len(values) == 1 else values
    if data is None:
        return []
    return data if isinstance(data, list) else [data]


def missed(body: Any, selector: str) -> str | None:
    """Why `selector` matched nothing in `body` (with the lists it does hold); None when it matched."""
    if compile_path(selector)(body) or body in (None, {}, [], ""):
        return None
    if not isinstance(body, dict):
        return f"data_selector '{selector}' matched nothing: the response is {_shape(body)}, not an object"
    lists = ", ".join(".".join(path) for path in _lists(body, ())) or "none"
    return f"data_selector '{selector}' matched nothing (the response's keys: {', '.join(list(body)[:15])}; its lists: {lists})"


def _shape(body: Any) -> str:
    if isinstance(body, list):
        return f"a list of {len(body)} items"
    return {bool: "a boolean", str: "a string", int: "a number", float: "a number"}.get(type(body), type(body).__name__)


def detect(body: Any) -> str:
    """dlt's guess of where the records are when no data_selector is given."""
    if not isinstance(body, dict):
        return "$"
    lists = _lists(body, ())
    if not lists:
        return "$"
    for path in lists:
        if path[-1] in RECORD_KEYS and path[-1] not in NON_RECORD_KEYS:
            return ".".join(path)
    return ".".join(lists[0])


def _lists(node: dict[str, Any], path: tuple[str, ...]) -> list[tuple[str, ...]]:
    if len(path) > 2:
        return []
    found: list[tuple[str, ...]] = []
    for key, value in node.items():  # depth first, in the body's order, as dlt walks it
        if isinstance(value, list):
            found.append((*path, key))
        elif isinstance(value, dict):
            found.extend(_lists(value, (*path, key)))
    return found
