"""Mocks of the ticket data API (seed 001, mock `tickets`) and the event management API
(seed 002, mock `events`): one offset-paginated route each.

Routes: `GET /v1/tickets` (route `tickets`) and `GET /v1/events` (route `events`); the
base_url is the origin.

- Auth: query parameter `api_key`. Missing or wrong: 401
  `{"error":"unauthorized","message":"Invalid or missing api_key"}`.
- Query: `offset` (default 0), `limit` (default 20, values above 100 are capped to 100 and
  echoed as 100). Not an integer, negative offset, or limit below 1: 400
  `{"error":"bad_request","message":...}`.
- Body: `{"data": [...], "total": N, "offset": o, "limit": l}`. Past the end: 200 with an
  empty `data` (and the same total).
- 429 (fault `rate_limit_429`): `{"error":"rate_limited",...}` with `Retry-After`.

Counts: `tickets` (default 250: pages of 100, 100, 50) / `events` (default 130: 100, 30).

Options:
- `drop_total` (False): the body has no `total`; only a short or empty page ends the data.
- `short_page_lie` (False): `total` overstates the data by half (count + max(1, count//2),
  records the caller cannot see): the last real page is shorter than `limit` (or full when
  count is a multiple of it) while `total` says more, and offsets past the real data
  answer empty pages with the same inflated total. A correct engine ends at the short or
  empty page; it must not loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from aiohttp import web

from ._api import MockApi, Record, Route
from ._fake import CITIES, Fake, iso_offset, iso_z
from ._http import Abort, Memo, Reply, format_seconds, json_reply, parse_int

LIMIT_DEFAULT = 20
LIMIT_MAX = 100


class OffsetApi(MockApi):
    """One `GET /v1/<resource>` route paginated by offset/limit; subclasses make records."""

    resource_name: ClassVar[str]
    base_path = ""
    option_defaults: ClassVar[Mapping[str, Any]] = {"drop_total": False, "short_page_lie": False}

    def __init__(self, counts: Any, seed: int, options: Any) -> None:
        super().__init__(counts, seed, options)
        fake = Fake(seed, self.resource_name)
        self._records = [self.make_record(fake, i) for i in range(self.count(self.resource_name))]
        self._cache = Memo[bytes]()

    def make_record(self, fake: Fake, index: int) -> Record:
        raise NotImplementedError

    def routes(self) -> list[Route]:
        return [Route(self.resource_name, f"/v1/{self.resource_name}", self._page)]

    def authenticate(self, request: web.Request) -> bool:
        return request.query.get("api_key") == self.api_key

    def unauthorized(self) -> Reply:
        return json_reply({"error": "unauthorized", "message": "Invalid or missing api_key"}, 401)

    def error(self, status: int, message: str | None = None) -> Reply:
        code = {400: "bad_request", 403: "forbidden", 404: "not_found"}.get(status, "server_error")
        return json_reply({"error": code, "message": message or f"Request failed with status {status}"}, status)

    def throttled(self, retry_after_s: float) -> Reply:
        body = {"error": "rate_limited", "message": "Too many requests, slow down"}
        return json_reply(body, 429, {"Retry-After": format_seconds(retry_after_s)})

    def records(self, resource: str) -> list[Record]:
        return list(self._records)

    def reported_total(self) -> int:
        count = len(self._records)
        return count + max(1, count // 2) if self.options["short_page_lie"] else count

    def _page(self, request: web.Request) -> Reply:
        offset = self._int(request, "offset", 0, minimum=0)
        limit = min(self._int(request, "limit", LIMIT_DEFAULT, minimum=1), LIMIT_MAX)
        return Reply(200, self._cache.get((offset, limit), lambda: self._body(offset, limit)))

    def _body(self, offset: int, limit: int) -> bytes:
        body: dict[str, Any] = {"data": self._records[offset : offset + limit]}
        if not self.options["drop_total"]:
            body["total"] = self.reported_total()
        body.update(offset=offset, limit=limit)
        return json_reply(body).body

    def _int(self, request: web.Request, name: str, default: int, minimum: int) -> int:
        value = parse_int(request.query.get(name), default)
        if value is None or value < minimum:
            raise Abort(self.error(400, f"{name} must be an integer >= {minimum}"))
        return value


class TicketDataApi(OffsetApi):
    name = "tickets"
    resource_name = "tickets"
    api_key = "td_live_7c1e5a9b3d2f8e6a4c0b9d1f"
    default_counts: ClassVar[Mapping[str, int | None]] = {"tickets": 250}
    aliases: ClassVar[Mapping[str, str]] = {"ticket_data": "tickets"}

    def make_record(self, fake: Fake, index: int) -> Record:
        return {
            "id": 100_001 + index,
            "event_name": fake.title(fake.integer(2, 3)),
            "ticket_type": fake.choice(("general", "vip", "early_bird", "student", "backstage")),
            "customer_id": f"cus_{fake.hex(10)}",
            "price": fake.money(8, 320),
            "currency": fake.choice(("EUR", "USD", "GBP")),
            "status": fake.choice(("valid", "valid", "valid", "used", "refunded", "void")),
            "purchased_at": iso_z(fake.moment(400)),
            "seat": fake.maybe(f"{fake.choice('ABCDEFGH')}{fake.integer(1, 40)}", 0.45),
        }


class EventManagementApi(OffsetApi):
    name = "events"
    resource_name = "events"
    api_key = "em_live_2b8d4f6a0c1e3a5b7d9f8e6c"
    default_counts: ClassVar[Mapping[str, int | None]] = {"events": 130}

    def make_record(self, fake: Fake, index: int) -> Record:
        start = fake.moment(500).replace(minute=fake.choice((0, 15, 30, 45)), second=0, microsecond=0)
        offset_hours = fake.choice((0, 1, 2, -5, -8, 9))
        return {
            "id": 5_000 + 7 * index,
            "event_name": fake.title(fake.integer(2, 4)),
            "start_time": iso_offset(start, offset_hours),
            "end_time": fake.maybe(
                iso_offset(start + timedelta(hours=fake.integer(1, 30)), fake.choice((0, offset_hours))), 0.3
            ),
            "venue": fake.maybe(_venue(fake), 0.2),
            "status": fake.choice(("scheduled", "scheduled", "on_sale", "sold_out", "cancelled", "completed")),
            "capacity": fake.integer(40, 20_000),
        }


def _venue(fake: Fake) -> Record:
    city, country, lat, lng = fake.choice(CITIES)
    return {
        "name": f"{fake.title(1)} {fake.choice(('Theatre', 'Arena', 'Hall', 'Park'))}",
        "city": city,
        "country": country,
        "location": {"lat": lat, "lon": lng},
        "indoor": fake.chance(0.7),
    }
