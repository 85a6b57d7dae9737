"""Immutable request and response values shared by paginators, auth and the engine.

A `PageRequest` carries everything one HTTP exchange needs plus the paginator's own state,
so one stateless paginator can drive any number of concurrent chains.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

EMPTY: Mapping[str, Any] = MappingProxyType({})


def freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only copy (one level), so specs and requests cannot be changed by accident."""
    return MappingProxyType(dict(mapping)) if mapping else EMPTY


@dataclass(frozen=True, slots=True)
class PageRequest:
    method: str
    url: str
    params: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    headers: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    json: Any = None
    data: Any = None
    state: Mapping[str, Any] = field(default_factory=lambda: EMPTY)

    def with_params(self, **updates: Any) -> PageRequest:
        return replace(self, params=freeze({**self.params, **updates}))

    def with_state(self, **updates: Any) -> PageRequest:
        return replace(self, state=freeze({**self.state, **updates}))

    def with_url(self, url: str) -> PageRequest:
        """Follow a next URL: its query string replaces the previous parameters (dlt's rule)."""
        return replace(self, url=url, params=EMPTY)

    def with_json(self, json: Any) -> PageRequest:
        return replace(self, json=json)

    def identity(self) -> bytes:
        """What makes two requests the same request (for loop detection)."""
        # The query as sent: params replace same-named URL parameters, None is not sent. So
        # `/items` + {page: 1} and a next URL `/items?page=1` are one request, not two.
        parts = urlsplit(self.url)
        sent = {str(k): _as_sent(v) for k, v in self.params.items() if v is not None}
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in sent]
        base = f"{self.method} {parts.scheme}://{parts.netloc}{parts.path}"
        return orjson.dumps([base, sorted([*query, *sent.items()]), self.json, self.data], default=str)


def _as_sent(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@dataclass(frozen=True, slots=True)
class Page:
    """One parsed response: the request that made it, the body and the selected records."""

    request: PageRequest
    status: int
    url: str
    headers: Mapping[str, str]
    body: Any
    records: list[Any] = field(default_factory=list)

    def links(self) -> dict[str, dict[str, str]]:
        # Several `Link` lines are one header, joined as requests joins them; the headers are
        # aiohttp's multidict at run time, whose `get` would see the first line only.
        getall = getattr(self.headers, "getall", None)
        lines = getall("Link", []) if getall else [self.headers.get("Link", "")]
        return parse_link_header(", ".join(lines))


def parse_link_header(value: str) -> dict[str, dict[str, str]]:
    """`<url>; rel="next", <url2>; rel="prev"` -> {"next": {"url": ..., "rel": "next"}, ...}."""
    links: dict[str, dict[str, str]] = {}
    for part in _split_links(value):
        url, _, rest = part.partition(">")
        entry = {"url": url.strip().lstrip("<").strip()}
        for attr in rest.split(";"):
            key, _, val = attr.partition("=")
            if key.strip():
                entry[key.strip().lower()] = val.strip().strip('"')
        for rel in entry.get("rel", "").split():
            links[rel] = entry
    return links


def _split_links(value: str) -> list[str]:
    # Commas may appear inside <...> URLs, so split only between entries.
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in value:
        if char == "<":
            depth += 1
        elif char == ">":
            depth = max(depth - 1, 0)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]
