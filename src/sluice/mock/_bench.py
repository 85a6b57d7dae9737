"""A generic API for benchmarks (mock `bench`); no real counterpart.

Routes (route names), base_url = origin:
- `GET /flat?page=N&per_page=M` (flat): `{"data": [...]}`; the end is signalled only by
  a short or empty page.
- `GET /flat_total?page=&per_page=` (flat_total): the same records plus `"total": N`
  (records) and `"total_pages": P` (pages at this `per_page`), so a page_number paginator
  can declare the end (`total_path: total_pages`).
- `GET /parents?page=&per_page=` (parents): `{"data": [...]}`, like /flat.
- `GET /parents/{id}/children?page=&per_page=` (children): `{"data": [...]}`; unknown
  parent: 404.
- `GET /cursor?limit=L[&cursor=T]` (cursor): `{"data": [...], "next": "<absolute url>" |
  null}`; `next` keeps the other query parameters and carries an opaque `cursor`.

`page` is 1-based (default 1); `per_page`/`limit` default 50, capped at 1000; bad values:
400 `{"error":"bad_request","message":...}`. Records (~15 fields: a nested object, an
array of two small objects, nullable fields) are computed from (seed, index) by integer
mixing, so any count costs nothing until served; page bodies are serialized once and
cached by (route, page, per_page).

Counts: `flat` (default 5000: 100 pages of 50; also served by /flat_total), `cursor`
(5000), `parents` (200: 4 pages), `children` (per parent, default 100: 2 pages of 50).
Options: `require_auth` (False): when set, `Authorization: Bearer <api_key>` is required
(401 `{"error":"unauthorized"}` otherwise).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from aiohttp import web

from ._api import MockApi, Record, Route
from ._http import Abort, Memo, Reply, absolute_url, dumps, format_seconds, json_reply, parse_int, replace_params

PER_PAGE_DEFAULT = 50
PER_PAGE_MAX = 1000
MASK = (1 << 64) - 1
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
NAMES = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet")
CITIES = ("Lisbon", "Berlin", "Austin", "Osaka", "Nairobi", "Toronto", "Bristol")
CATEGORIES = ("hardware", "software", "services", "support", "training")
STATUSES = ("active", "pending", "archived")


def mix(seed: int, index: int) -> int:
    """A 64-bit hash of (seed, index) (splitmix64 finalizer)."""
    z = (seed * 0x9E3779B97F4A7C15 + (index + 1) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


@functools.lru_cache(maxsize=65_536)
def _hour(hour: int) -> str:
    return (BASE_TIME + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:")


def _stamp(seconds: int) -> str:
    """`BASE_TIME + seconds` as `YYYY-MM-DDTHH:MM:SSZ` (hour prefixes are cached)."""
    hour, rest = divmod(seconds, 3600)
    return f"{_hour(hour)}{rest // 60:02d}:{rest % 60:02d}Z"


@functools.lru_cache(maxsize=4096)
def _variant(seed: int, k: int) -> Record:
    """One of 1024 precomputed bundles of the fields that do not derive from the id; the
    nested objects are shared between records (they are only ever serialized)."""
    h = mix(seed ^ 0x2545F491, k)
    return {
        "active": bool(h & 1),
        "status": STATUSES[(h >> 3) % 3],
        "category": CATEGORIES[(h >> 5) % 5],
        "score": ((h >> 8) % 100_000) / 100,
        "quantity": (h >> 24) % 1000,
        "amount": None if h % 7 == 0 else ((h >> 34) % 1_000_000) / 100,
        "address": {
            "city": CITIES[(h >> 12) % 7],
            "zip": f"{(h >> 16) % 100_000:05d}",
            "geo": {
                "lat": round(((h >> 20) % 18_000) / 100 - 90, 2),
                "lng": round(((h >> 36) % 36_000) / 100 - 180, 2),
            },
        },
        "tags": [{"key": "tier", "value": f"t{h % 4}"}, {"key": "region", "value": f"r{(h >> 2) % 6}"}],
    }


def flat_record(seed: int, index: int) -> Record:
    h = mix(seed, index)
    record_id = index + 1
    variant = _variant(seed, h & 1023)
    created = record_id * 37
    return {
        "id": record_id,
        "uuid": f"{h:016x}{(h * 0x9E3779B97F4A7C15) & MASK:016x}",
        "name": f"{NAMES[h % 10]} {record_id}",
        "email": f"user{record_id}@example.com",
        "note": None if h % 3 == 0 else f"note {h % 997} for {record_id}",
        "created_at": _stamp(created),
        "updated_at": None if h % 5 == 0 else _stamp(created + (h >> 40) % 86_400),
        **variant,
    }


def child_record(seed: int, parent_id: int, index: int) -> Record:
    h = mix(seed ^ 0x5BD1E995, parent_id * 1_000_003 + index)
    return {
        "id": parent_id * 1_000_000 + index + 1,
        "parent_id": parent_id,
        "position": index,
        "label": f"{NAMES[h % 10]}-{index}",
        "value": ((h >> 8) % 1_000_000) / 100,
        "flag": bool(h & 2),
        "comment": None if h % 4 == 0 else f"c{h % 9973}",
        "created_at": _stamp(parent_id * 37 + index),
        "meta": {"source": CATEGORIES[(h >> 4) % 5], "weight": (h >> 16) % 100},
        "items": [
            {"sku": f"S{h % 10_000}", "qty": (h >> 3) % 9 + 1},
            {"sku": f"S{(h >> 14) % 10_000}", "qty": (h >> 7) % 9 + 1},
        ],
    }


class BenchApi(MockApi):
    name = "bench"
    api_key = "bench_key_0f1e2d3c4b5a69788796a5b4"
    base_path = ""
    default_counts: ClassVar[Mapping[str, int | None]] = {"flat": 5000, "cursor": 5000, "parents": 200, "children": 100}
    option_defaults: ClassVar[Mapping[str, Any]] = {"require_auth": False}
    aliases: ClassVar[Mapping[str, str]] = {"flat_total": "flat"}

    def __init__(self, counts: Any, seed: int, options: Any) -> None:
        super().__init__(counts, seed, options)
        self._bodies = Memo[bytes](65_536)

    def routes(self) -> list[Route]:
        return [
            Route("flat", "/flat", lambda r: self._flat(r, "flat")),
            Route("flat_total", "/flat_total", lambda r: self._flat(r, "flat_total")),
            Route("parents", "/parents", self._parents),
            Route("children", "/parents/{id}/children", self._children),
            Route("cursor", "/cursor", self._cursor),
        ]

    def resource_names(self) -> list[str]:
        return ["flat", "cursor", "parents", "children"]

    def authenticate(self, request: web.Request) -> bool:
        if not self.options["require_auth"]:
            return True
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    def unauthorized(self) -> Reply:
        return json_reply({"error": "unauthorized", "message": "Missing or invalid bearer token"}, 401)

    def error(self, status: int, message: str | None = None) -> Reply:
        code = {400: "bad_request", 403: "forbidden", 404: "not_found"}.get(status, "error")
        return json_reply({"error": code, "message": message or f"status {status}"}, status)

    def throttled(self, retry_after_s: float) -> Reply:
        return json_reply({"error": "rate_limited"}, 429, {"Retry-After": format_seconds(retry_after_s)})

    def records(self, resource: str) -> list[Record]:
        if resource == "children":
            per_parent = self.count("children")
            return [child_record(self.seed, p + 1, i) for p in range(self.count("parents")) for i in range(per_parent)]
        return [flat_record(self.seed, i) for i in range(self.count(resource))]

    # -- handlers --------------------------------------------------------------------------

    def _flat(self, request: web.Request, route: str) -> Reply:
        page, size = self._int(request, "page", 1), self._size(request, "per_page")
        total = self.count("flat")

        def build() -> bytes:
            body: dict[str, Any] = {"data": self._rows(flat_record, total, page, size)}
            if route == "flat_total":
                body["total"] = total
                body["total_pages"] = -(-total // size)
            return dumps(body)

        return Reply(200, self._bodies.get((route, page, size), build))

    def _parents(self, request: web.Request) -> Reply:
        page, size = self._int(request, "page", 1), self._size(request, "per_page")
        build = lambda: dumps({"data": self._rows(flat_record, self.count("parents"), page, size)})  # noqa: E731
        return Reply(200, self._bodies.get(("parents", page, size), build))

    def _children(self, request: web.Request) -> Reply:
        parent = parse_int(request.match_info["id"], 0)
        if parent is None or not 1 <= parent <= self.count("parents"):
            raise Abort(self.error(404, "parent not found"))
        page, size = self._int(request, "page", 1), self._size(request, "per_page")

        def one(seed: int, index: int) -> Record:
            return child_record(seed, parent, index)

        build = lambda: dumps({"data": self._rows(one, self.count("children"), page, size)})  # noqa: E731
        return Reply(200, self._bodies.get(("children", parent, page, size), build))

    def _cursor(self, request: web.Request) -> Reply:
        size = self._size(request, "limit")
        offset = _decode_cursor(request.query.get("cursor"))
        if offset is None:
            raise Abort(self.error(400, "invalid cursor"))
        total = self.count("cursor")
        data = self._bodies.get(
            ("cursor", offset, size), lambda: dumps(self._rows(flat_record, total, 1, size, offset))
        )
        nxt = None
        if offset + size < total:
            nxt = absolute_url(
                request, request.path, replace_params(request, {"cursor": _encode_cursor(offset + size)})
            )
        return Reply(200, b'{"data":' + data + b',"next":' + dumps(nxt) + b"}")

    def _rows(
        self, make: Callable[[int, int], Record], total: int, page: int, size: int, offset: int = 0
    ) -> list[Record]:
        start = offset + (page - 1) * size
        return [make(self.seed, i) for i in range(start, min(start + size, total))]

    def _int(self, request: web.Request, name: str, default: int) -> int:
        value = parse_int(request.query.get(name), default)
        if value is None or value < 1:
            raise Abort(self.error(400, f"{name} must be a positive integer"))
        return value

    def _size(self, request: web.Request, name: str) -> int:
        return min(self._int(request, name, PER_PAGE_DEFAULT), PER_PAGE_MAX)


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(token: str | None) -> int | None:
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except ValueError:
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "o" and number.isdigit() else None
