"""Immutable request and response values shared by paginators, auth and the engine.

A `PageRequest` carries everything one HTTP exchange needs plus the paginator's own state,
so one stateless paginator can drive any number of concurrent chains.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

import orjson
from requests.utils import requote_uri

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
        # The query as sent (see `sent_url`), decoded, pairs in any order: `/items` + {page: 1}
        # and a next URL `/items?page=1` are one request, not two.
        parts = urlsplit(self.url)
        sent = [(key, value.decode() if isinstance(value, bytes) else str(value)) for key, value in _as_sent(self.params)]
        own = parse_qsl("&".join(_kept(parts.query, sent)), keep_blank_values=True)
        base = f"{self.method} {parts.scheme}://{parts.netloc}{unquote(parts.path)}"
        # Headers count: a paginator may carry its page token in one (Airbyte's `inject_into:
        # header`); auth is added at send time, so no secret and nothing per-attempt is here.
        headers = sorted((key.lower(), str(value)) for key, value in self.headers.items())
        return orjson.dumps([base, sorted([*own, *sent]), self.json, self.data, headers], default=str)

    def sent_url(self) -> str:
        """The URL on the request line, encoded as requests (dlt's client) encodes it: a list
        value repeats its key, None is left out, True is `True`, a space in the path is `%20`.
        One deliberate difference: a param replaces a same-named parameter already in the URL
        instead of repeating it, so query-string auth never doubles on a next URL."""
        parts = urlsplit(self.url)
        pairs = _as_sent(self.params)
        query = "&".join([*_kept(parts.query, pairs), _encoded(pairs)]) if pairs else parts.query
        return urlunsplit((parts.scheme, parts.netloc, requote_uri(parts.path), requote_uri(query), parts.fragment))


def _as_sent(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(key, value) pairs as requests' `_encode_params` makes them: an iterable value (a list,
    a tuple, a dict's keys) gives one pair per item, None gives none."""
    pairs: list[tuple[str, Any]] = []
    for key, value in params.items():
        values = value if hasattr(value, "__iter__") and not isinstance(value, (str, bytes)) else [value]
        pairs += [(str(key), v) for v in values if v is not None]
    return pairs


def _kept(query: str, pairs: list[tuple[str, Any]]) -> list[str]:
    """The URL's own `k=v` parts that no param replaces."""
    names = {key for key, _ in pairs}
    return [part for part in query.split("&") if part and unquote_plus(part.partition("=")[0]) not in names]


def _encoded(pairs: list[tuple[str, Any]]) -> str:
    # urlencode's quoting (quote_plus, UTF-8), without its slow per-value type probing
    return "&".join(f"{quote_plus(key)}={quote_plus(v if isinstance(v, (str, bytes)) else str(v))}" for key, v in pairs)


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
