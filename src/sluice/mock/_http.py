"""What the mocks answer with, and helpers to read queries and build absolute URLs.

A handler returns a `Reply` (or raises `Abort(reply)` from deep inside); the server turns
it into an aiohttp response. Bodies are bytes, serialized once with orjson and cached by
the API modules, so serving a page costs a dictionary lookup.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

import orjson
from aiohttp import web

JSON = "application/json"
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete HTTP answer: status, body bytes, extra headers and content type."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = JSON

    def with_headers(self, extra: Mapping[str, str]) -> Reply:
        return Reply(self.status, self.body, {**self.headers, **extra}, self.content_type)


class Abort(Exception):
    """Raised by a handler to answer with `reply` at once (bad parameter, unknown id)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def json_reply(obj: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, orjson.dumps(obj), dict(headers or {}))


def parse_int(raw: str | None, default: int) -> int | None:
    """The integer in `raw`, `default` when absent, None when it is not an integer."""
    if raw is None:
        return default
    try:
        return int(raw.strip())
    except ValueError:
        return None


def format_seconds(seconds: float) -> str:
    """`1` for whole seconds, else up to millisecond precision (`0.05`)."""
    if float(seconds).is_integer():
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def ceil_seconds(seconds: float) -> int:
    return max(0, math.ceil(seconds - 1e-9))


def absolute_url(request: web.Request, path: str, params: Iterable[tuple[str, str]]) -> str:
    """`http://<Host of the request><path>?<params>`: next links point back at whoever asked."""
    query = urlencode(list(params))
    return f"http://{request.host}{path}" + (f"?{query}" if query else "")


def replace_params(
    request: web.Request, updates: Mapping[str, str], defaults: Mapping[str, str] = {}
) -> list[tuple[str, str]]:
    """The request's query with `updates` applied in place (appended when absent), plus
    `defaults` for keys the request did not send."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, value in request.query.items():
        if key in seen and key in updates:
            continue
        seen.add(key)
        out.append((key, updates.get(key, value)))
    out += [(k, v) for k, v in updates.items() if k not in seen]
    out += [(k, v) for k, v in defaults.items() if k not in seen and k not in updates]
    return out


def page_count(total: int, size: int) -> int:
    """Number of non-empty pages of `size` holding `total` records."""
    return -(-total // size)


class Memo(Generic[V]):
    """Values (serialized page bodies, filtered lists) by key, bounded: the oldest entry is
    evicted first. Used on the server thread only."""

    def __init__(self, max_entries: int = 8192) -> None:
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._max = max_entries

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        value = self._values.get(key)
        if value is None:
            value = self._values[key] = build()
            if len(self._values) > self._max:
                self._values.popitem(last=False)
        return value
