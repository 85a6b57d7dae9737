"""Mock of the ticketing platform (seed 000): events, their orders and tickets, tags.

Routes (base path `/v1`): `GET /v1/events`, `/v1/events/{eventId}/orders`,
`/v1/events/{eventId}/tickets`, `/v1/tags`. Route names: `events`, `orders`, `tickets`,
`tags`.

- Auth: header `x-api-key` (any case). Missing or wrong: 401
  `{"statusCode":401,"error":"Unauthorized","message":"Invalid API key"}`.
- Query: `page` (1-based, default 1), `pageSize` (default 100, values above 100 are
  capped to 100 and echoed as 100). Not an integer, or below 1: 400 in the same
  `{"statusCode","error","message"}` shape. Other parameters are ignored.
- Body: `{"total": <records matching>, "page": n, "pageSize": s, "<resource>": [...]}`.
  Past the end: 200 with an empty list. Unknown `eventId`: 404.
- 429 (fault `rate_limit_429`): `Retry-After: <s>`.

Counts: `events` (default 150: two pages of 100), `tags` (default 12), and per event
`orders` and `tickets`. Left unset, children vary per event: about a quarter of the events
have no orders, the others 1-7, and the third event (index 2) is a headliner with 130
orders; each order holds 1-2 tickets. Set, `orders`/`tickets` is the exact number for
every event. Children are generated on first use, per event, from a generator seeded by
the event id: the same whatever order events are asked for in.

Duplicate: the last event record repeats the `_id` (and content) of the record 100 places
before it (of the first record when there are at most 100), so at the seed's page size the
pair sits on two pages. `data("events")` includes both copies; `unique_ids("events")` the
distinct ids. Child routes serve one list per distinct event; `data("orders")` is the
concatenation over distinct events in order of first appearance.

Options: `duplicate` (default True) plants the duplicate above.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from http import HTTPStatus
from typing import Any, ClassVar

from aiohttp import web

from ._api import MockApi, Record, Route
from ._fake import CITIES, Fake, iso_ms_z
from ._http import Abort, Memo, Reply, dumps, format_seconds, json_reply, parse_int

PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 100
HEADLINER = 2
CURRENCIES = ("EUR", "USD", "GBP", "AUD")
TIMEZONES = ("Europe/Lisbon", "Europe/Berlin", "America/Chicago", "Australia/Melbourne")
FEE_FIELDS = (
    "subtotal", "platformFee", "platformFeeTax", "paymentFee", "paymentFeeTax", "serviceFee",
    "serviceFeeTax", "bookingFee", "deliveryFee", "insuranceFee", "donation", "discount",
    "giftCardAmount", "refundedAmount", "refundedFees", "taxTotal", "salesTax", "vat",
    "organiserFee", "organiserFeeTax", "transferFee", "processingFee",
    "currencyConversionFee", "total", "netPayout",
)  # fmt: skip


class TicketingApi(MockApi):
    name = "ticketing"
    api_key = "tk_live_4f9a2c7e1b8d4a6f9e3c5b7a"
    base_path = "/v1/"
    primary_key = "_id"
    default_counts: ClassVar[Mapping[str, int | None]] = {"events": 150, "tags": 12, "orders": None, "tickets": None}
    option_defaults: ClassVar[Mapping[str, Any]] = {"duplicate": True}

    def __init__(self, counts: Any, seed: int, options: Any) -> None:
        super().__init__(counts, seed, options)
        self._tags = _tags(Fake(seed, "tags"), self.count("tags"))
        self._events = self._build_events()
        self._events_by_id = {e["_id"]: e for e in reversed(self._events)}  # first occurrence wins
        self._event_index = {event_id: i for i, event_id in enumerate(dict.fromkeys(e["_id"] for e in self._events))}
        self._children: dict[tuple[str, str], list[Record]] = {}
        self._cache = Memo[bytes]()

    def _build_events(self) -> list[Record]:
        fake = Fake(self.seed, "events")
        tag_ids = [tag["_id"] for tag in self._tags]
        events = [_event(fake, tag_ids) for _ in range(self.count("events"))]
        if self.options["duplicate"]:
            plant_duplicate(events, PAGE_SIZE_DEFAULT)
        return events

    def children(self, resource: str, event_id: str) -> list[Record] | None:
        """Orders or tickets of one event, None for an unknown event. Built on first use
        from a generator seeded by the event id, so the result never depends on the order
        in which events are asked for."""
        key = (resource, event_id)
        if key not in self._children:
            index = self._event_index.get(event_id)
            if index is None:
                return None
            event = self._events_by_id[event_id]
            fake = Fake(self.seed, f"orders:{event_id}")
            orders = [_order(fake, event) for _ in range(self._orders_for(fake, index))]
            tickets = _tickets(Fake(self.seed, f"tickets:{event_id}"), event, orders, self.counts["tickets"])
            self._children[("orders", event_id)], self._children[("tickets", event_id)] = orders, tickets
        return self._children[key]

    def _orders_for(self, fake: Fake, index: int) -> int:
        fixed = self.counts["orders"]
        if fixed is not None:
            return fixed
        if index == HEADLINER:
            return 130
        return 0 if fake.chance(0.25) else fake.integer(1, 7)

    # -- MockApi ---------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route("events", "/v1/events", lambda r: self._page(r, "events", self._events)),
            Route("orders", "/v1/events/{eventId}/orders", lambda r: self._child(r, "orders")),
            Route("tickets", "/v1/events/{eventId}/tickets", lambda r: self._child(r, "tickets")),
            Route("tags", "/v1/tags", lambda r: self._page(r, "tags", self._tags)),
        ]

    def authenticate(self, request: web.Request) -> bool:
        return request.headers.get("x-api-key") == self.api_key

    def unauthorized(self) -> Reply:
        return self.error(401, "Invalid API key")

    def error(self, status: int, message: str | None = None) -> Reply:
        phrase = _phrase(status)
        return json_reply({"statusCode": status, "error": phrase, "message": message or phrase}, status)

    def throttled(self, retry_after_s: float) -> Reply:
        reply = self.error(429, "Rate limit exceeded")
        return reply.with_headers({"Retry-After": format_seconds(retry_after_s)})

    def records(self, resource: str) -> list[Record]:
        if resource == "events":
            return list(self._events)
        if resource == "tags":
            return list(self._tags)
        return [child for event_id in self._event_index for child in self.children(resource, event_id) or []]

    # -- handlers --------------------------------------------------------------------------

    def _child(self, request: web.Request, resource: str) -> Reply:
        event_id = request.match_info["eventId"]
        children = self.children(resource, event_id)
        if children is None:
            raise Abort(self.error(404, "Event not found"))
        return self._page(request, resource, children, event_id)

    def _page(self, request: web.Request, key: str, rows: list[Record], parent: str = "") -> Reply:
        page = self._int(request, "page", 1)
        size = min(self._int(request, "pageSize", PAGE_SIZE_DEFAULT), PAGE_SIZE_MAX)

        def build() -> bytes:
            window = rows[(page - 1) * size : page * size]
            return dumps({"total": len(rows), "page": page, "pageSize": size, key: window})

        return Reply(200, self._cache.get((key, parent, page, size), build))

    def _int(self, request: web.Request, name: str, default: int) -> int:
        value = parse_int(request.query.get(name), default)
        if value is None:
            raise Abort(self.error(400, f'"{name}" must be a number'))
        if value < 1:
            raise Abort(self.error(400, f'"{name}" must be greater than or equal to 1'))
        return value


def plant_duplicate(records: list[Record], page_size: int) -> None:
    """Make the last record a copy of the one `page_size` places before it (of the first
    when there are fewer), so one id shows up on two pages of `page_size`."""
    if len(records) < 2:
        return
    source = len(records) - 1 - page_size if len(records) > page_size else 0
    records[-1] = dict(records[source])


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def js_number(value: float) -> int | float:
    """Whole amounts serialize as integers, as a JavaScript backend does (`0`, `12.5`)."""
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


def _tags(fake: Fake, count: int) -> list[Record]:
    colors = ("#e53935", "#8e24aa", "#3949ab", "#00897b", "#fdd835", "#6d4c41")
    tags = []
    for _ in range(count):
        created = fake.moment(200)
        tags.append(
            {
                "_id": fake.object_id(),
                "name": fake.words(fake.integer(1, 2)),
                "color": fake.maybe(fake.choice(colors), 0.2),
                "eventCount": fake.integer(0, 40),
                "createdAt": iso_ms_z(created),
                "updatedAt": iso_ms_z(created + timedelta(days=fake.integer(0, 60))),
            }
        )
    return tags


def _event(fake: Fake, tag_ids: list[str]) -> Record:
    created = fake.moment(300)
    start = (created + timedelta(days=fake.integer(10, 120))).replace(
        hour=fake.integer(10, 21), minute=fake.choice((0, 30)), second=0, microsecond=0
    )
    is_online = fake.chance(0.1)
    types = _ticket_types(fake, created)
    prices = [t["price"] for t in types]
    return {
        "_id": fake.object_id(),
        "name": fake.title(fake.integer(2, 4)),
        "slug": fake.hex(8),
        "description": fake.maybe(fake.words(12).capitalize() + ".", 0.3),
        "status": fake.choice(("live", "live", "live", "draft", "ended", "cancelled")),
        "timezone": fake.choice(TIMEZONES),
        "isOnline": is_online,
        "isPrivate": fake.chance(0.15),
        "capacity": fake.maybe(fake.integer(50, 5000), 0.3),
        "createdAt": iso_ms_z(created),
        "updatedAt": iso_ms_z(created + timedelta(hours=fake.integer(0, 900))),
        "dates": _dates(fake, start),
        "eventLocation": None if is_online else _location(fake),
        "pricing": {
            "currency": fake.choice(CURRENCIES),
            "minPrice": js_number(min(prices)),
            "maxPrice": js_number(max(prices)),
            "feesIncluded": fake.chance(0.5),
            "taxRate": fake.choice((0, 0.06, 0.19, 0.2, 0.23)),
        },
        "classification": {
            "category": fake.choice(("music", "food", "arts", "sports", "business")),
            "subcategory": fake.maybe(fake.choice(("festival", "concert", "tasting", "talk")), 0.3),
            "type": fake.choice(("in_person", "hybrid", "online")),
        },
        "ticketTypes": types,
        "tagIds": sorted({fake.choice(tag_ids) for _ in range(fake.integer(0, 3))}) if tag_ids else [],
        "organiserId": fake.object_id(),
        "analytics_id": fake.maybe(f"AN-{fake.integer(100000, 999999)}", 0.5),
        "imageUrl": fake.maybe(f"https://cdn.example.com/img/{fake.hex(12)}.jpg", 0.25),
    }


def _dates(fake: Fake, start: Any) -> list[Record]:
    dates = []
    for day in range(fake.integer(1, 3)):
        begin = start + timedelta(days=day)
        dates.append(
            {
                "_id": fake.object_id(),
                "startDate": iso_ms_z(begin),
                "endDate": iso_ms_z(begin + timedelta(hours=fake.integer(2, 9))),
                "soldOut": fake.chance(0.1),
            }
        )
    return dates


def _location(fake: Fake) -> Record:
    city, country, lat, lng = fake.choice(CITIES)
    street = f"{fake.integer(1, 300)} {fake.title(1)} Street"
    return {
        "venueName": f"The {fake.title(1)} {fake.choice(('Hall', 'Arena', 'Club', 'Yard'))}",
        "address": f"{street}, {city}, {country}",
        "latLng": [round(lat + fake.rng.uniform(-0.05, 0.05), 6), round(lng + fake.rng.uniform(-0.05, 0.05), 6)],
        "addressComponents": [
            {"longName": street, "shortName": street, "types": ["route"]},
            {"longName": city, "shortName": city[:3].upper(), "types": ["locality", "political"]},
            {"longName": country, "shortName": country, "types": ["country", "political"]},
        ],
        "placeId": fake.maybe(fake.hex(27), 0.4),
    }


def _ticket_types(fake: Fake, created: Any) -> list[Record]:
    types = []
    for _ in range(fake.integer(1, 4)):
        price = 0.0 if fake.chance(0.1) else fake.money(5, 250)
        quantity = fake.integer(20, 800)
        types.append(
            {
                "_id": fake.object_id(),
                "name": fake.choice(("General Admission", "VIP", "Early Bird", "Student", "Balcony")),
                "price": js_number(price),
                "quantity": quantity,
                "sold": fake.integer(0, quantity),
                "isFree": price == 0,
                "salesEnd": fake.maybe(iso_ms_z(created + timedelta(days=fake.integer(5, 90))), 0.5),
            }
        )
    return types


def _order(fake: Fake, event: Record) -> Record:
    first, last = fake.first_name(), fake.last_name()
    created = fake.moment(300)
    return {
        "_id": fake.object_id(),
        "eventId": event["_id"],
        "status": fake.choice(("paid", "paid", "paid", "refunded", "partially_refunded", "cancelled")),
        "firstName": first,
        "lastName": last,
        "email": fake.email(first, last),
        "mobile": fake.maybe(fake.phone(), 0.4),
        "notes": fake.maybe(fake.words(6).capitalize(), 0.8),
        "currency": event["pricing"]["currency"],
        "paymentMethod": fake.choice(("card", "card", "wallet", "bank_transfer", "free")),
        "discountCode": fake.maybe(fake.hex(6).upper(), 0.85),
        "createdAt": iso_ms_z(created),
        "updatedAt": iso_ms_z(created + timedelta(minutes=fake.integer(0, 5000))),
        "totals": {name: js_number(fake.money(0, 40) if fake.chance(0.6) else 0) for name in FEE_FIELDS},
    }


def _tickets(fake: Fake, event: Record, orders: list[Record], fixed: int | None) -> list[Record]:
    if fixed is not None:
        holders = [orders[i % len(orders)] if orders else None for i in range(fixed)]
    else:
        holders = [order for order in orders for _ in range(fake.integer(1, 2))]
    return [_ticket(fake, event, order) for order in holders]


def _ticket(fake: Fake, event: Record, order: Record | None) -> Record:
    ticket_type = fake.choice(event["ticketTypes"])
    first, last = (order["firstName"], order["lastName"]) if order else (fake.first_name(), fake.last_name())
    created = fake.moment(300)
    checked_in = fake.chance(0.3)
    return {
        "_id": fake.object_id(),
        "eventId": event["_id"],
        "orderId": order["_id"] if order else None,
        "ticketTypeId": ticket_type["_id"],
        "ticketTypeName": ticket_type["name"],
        "firstName": first,
        "lastName": last,
        "email": order["email"] if order else fake.email(first, last),
        "status": fake.choice(("valid", "valid", "valid", "cancelled", "transferred")),
        "barcode": f"{fake.integer(10**11, 10**12 - 1)}",
        "checkedIn": checked_in,
        "checkedInAt": iso_ms_z(created + timedelta(days=fake.integer(1, 60))) if checked_in else None,
        "createdAt": iso_ms_z(created),
        "updatedAt": iso_ms_z(created + timedelta(minutes=fake.integer(0, 9000))),
        "totalsV2": _totals_v2(fake, ticket_type["price"], event["pricing"]["currency"]),
    }


def _totals_v2(fake: Fake, price: float, currency: str) -> Record:
    def fee() -> Record:
        return {"amount": js_number(fake.money(0, 6)), "tax": js_number(fake.money(0, 1.5))}

    discount = js_number(fake.money(0, price / 4) if price and fake.chance(0.2) else 0)
    rate = fake.choice((0.06, 0.19, 0.2))
    return {
        "price": {"amount": price, "currency": currency},
        "fees": {"platform": fee(), "payment": fee(), "service": fee()},
        "discounts": {"total": discount, "codes": [fake.hex(6).upper()] if discount else []},
        "taxes": {
            "total": js_number(price * rate),
            "breakdown": [{"name": "VAT", "rate": rate, "amount": js_number(price * rate)}],
        },
        "total": {"amount": js_number(price - discount + price * rate), "currency": currency},
    }
