"""Mock of the service desk API (seed 003, mock `servicedesk`): 14 routes under `/api/v2`.

Routes (and route names): `/tickets` (tickets), `/tickets/{id}/csat_response`
(csat_response), `/tickets/{id}/requested_items` (requested_items), `/problems`,
`/changes`, `/releases`, `/requesters`, `/agents`, `/locations`, `/products`, `/vendors`,
`/assets`, `/applications`, `/purchase_orders` (named after their path).

- Auth: HTTP Basic, the API key as user name, any password. Missing or bad: 401
  `{"code":"invalid_credentials","message":"You have to be logged in to perform this action."}`.
- Lists: `page` (1-based, default 1), `per_page` (default 30, values above 100 are capped
  to 100). Not a positive integer: 400 `{"description":"Validation failed","errors":[...]}`.
  Body `{"<resource>": [...]}`, no total. Every page but the last carries
  `Link: <http://<Host>/api/v2/<resource>?page=N+1&per_page=S[&other params]>; rel="next"`;
  the last page and pages past the end have no Link; past the end is `{"<resource>": []}`.
- `/tickets` also takes `updated_since=<ISO 8601>` (updated_at >= it; invalid: 400),
  `order_by` (created_at | updated_at | due_by | status, default created_at) and
  `order_type` (asc | desc, default desc). The unfiltered default order is `data("tickets")`.
- `csat_response`: 200 `{"csat_response": {...}}` for the tickets with a survey (share
  `csat_ratio`), 404 `{"code":"not_found",...}` for the others and for unknown tickets.
  `requested_items`: 200 `{"requested_items": [...]}` (1-3 items) for "Service Request"
  tickets, 404 for incidents. Neither paginates: like the real API they ignore `page` and
  `per_page`, so `page=2` answers the same object/list again (an engine must stop on its own).
- 403 `{"code":"access_denied","message":"You are not authorized to perform this action."}`
  persistently on the routes in `disabled_modules`, and from the `transient_403` fault.
- Rate limit: every authenticated answer carries `X-RateLimit-Total`,
  `X-RateLimit-Remaining` and `X-RateLimit-Used-CurrentRequest` from a token bucket of
  `rate_limit_per_minute` tokens refilled over `rate_window_s` seconds. Past the budget:
  429 `{"code":"rate_limit_exceeded",...}` with `Retry-After` (whole seconds when the window
  is the real 60 s; millisecond precision when scaled down for tests). With
  `rate_limit_per_minute=None` (default) the headers report a 5000/min plan that is not
  enforced. The `rate_limit_429` fault answers the same 429.
- Records: large integer ids (`18000123456`), `YYYY-MM-DDTHH:MM:SSZ` timestamps, integer
  enums (status 2..5, priority 1..4), `custom_fields` objects, e-mail and tag arrays;
  `vendors.phone` is sometimes an integer, sometimes a string (first two: int, then str).

Counts (defaults; pages of 30): tickets 95 (4 pages), problems 12 (1), changes 34 (2),
releases 0 (1 empty page), requesters 61 (3), agents 18 (1), locations 9 (1), products 25
(1), vendors 31 (2), assets 140 (5), applications 44 (2), purchase_orders 7 (1). Of the
tickets, round(95 * 0.4) = 38 are service requests and round(95 * 0.2) = 19 have a survey.

Options: `csat_ratio` (0.2), `service_request_ratio` (0.4), `disabled_modules` (empty; a
set of route names), `rate_limit_per_minute` (None), `rate_window_s` (60.0).
Aliases for `data()`: `satisfaction_survey_responses` -> csat_response, `software` ->
applications (the seed's resource names).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web

from ._api import MockApi, Record, Route
from ._http import Abort, Memo, Reply, absolute_url, ceil_seconds, format_seconds, json_reply, parse_int
from ._servicedesk_data import build_children, build_lists

PER_PAGE_DEFAULT = 30
PER_PAGE_MAX = 100
UNENFORCED_PLAN = 5000
LISTS = (
    "tickets", "problems", "changes", "releases", "requesters", "agents", "locations",
    "products", "vendors", "assets", "applications", "purchase_orders",
)  # fmt: skip
ORDER_FIELDS = ("created_at", "updated_at", "due_by", "status")


class TokenBucket:
    """`capacity` tokens, refilled continuously over `window_s`; `take()` -> wait (0: ok)."""

    def __init__(self, capacity: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.window_s, self._clock = capacity, window_s, clock
        self._tokens, self._at = float(capacity), clock()

    def take(self) -> float:
        now = self._clock()
        rate = self.capacity / self.window_s
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / rate

    @property
    def remaining(self) -> int:
        return int(self._tokens)


class ServiceDeskApi(MockApi):
    name = "servicedesk"
    api_key = "sd_key_9QmXv3TzL8pRw2NbK4yH"
    base_path = "/api/v2"
    default_counts: ClassVar[Mapping[str, int | None]] = {
        "tickets": 95, "problems": 12, "changes": 34, "releases": 0, "requesters": 61,
        "agents": 18, "locations": 9, "products": 25, "vendors": 31, "assets": 140,
        "applications": 44, "purchase_orders": 7,
    }  # fmt: skip
    option_defaults: ClassVar[Mapping[str, Any]] = {
        "csat_ratio": 0.2,
        "service_request_ratio": 0.4,
        "disabled_modules": frozenset(),
        "rate_limit_per_minute": None,
        "rate_window_s": 60.0,
    }
    aliases: ClassVar[Mapping[str, str]] = {
        "satisfaction_survey_responses": "csat_response",
        "software": "applications",
    }

    def __init__(self, counts: Any, seed: int, options: Any) -> None:
        super().__init__(counts, seed, options)
        unknown = set(self.options["disabled_modules"]) - {*LISTS, "csat_response", "requested_items"}
        if unknown:
            raise ValueError(f"mock 'servicedesk': unknown disabled_modules {sorted(unknown)}")
        self._lists = build_lists(seed, self.counts, self.options)
        self._csat, self._items = build_children(seed, self._lists["tickets"], self.options)
        self._ticket_index = {t["id"]: t for t in self._lists["tickets"]}
        limit = self.options["rate_limit_per_minute"]
        self._enforced = limit is not None
        self._bucket = TokenBucket(limit or UNENFORCED_PLAN, float(self.options["rate_window_s"]))
        self._bodies = Memo[bytes]()
        self._selections = Memo[list[Record]](256)

    # -- MockApi ---------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        routes = [Route("tickets", "/api/v2/tickets", self._tickets)]
        routes.append(Route("csat_response", "/api/v2/tickets/{id}/csat_response", self._csat_response))
        routes.append(Route("requested_items", "/api/v2/tickets/{id}/requested_items", self._requested_items))
        routes += [Route(name, f"/api/v2/{name}", self._lister(name)) for name in LISTS[1:]]
        return routes

    def authenticate(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")[0]
        except ValueError:
            return False
        return user == self.api_key

    def unauthorized(self) -> Reply:
        message = "You have to be logged in to perform this action."
        return json_reply({"code": "invalid_credentials", "message": message}, 401)

    def forbidden(self) -> Reply:
        message = "You are not authorized to perform this action."
        return json_reply({"code": "access_denied", "message": message}, 403)

    def error(self, status: int, message: str | None = None) -> Reply:
        if status == 403:
            return self.forbidden()
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "internal_error" if status >= 500 else "error")
        return json_reply({"code": code, "message": message or f"Request failed with status {status}."}, status)

    def throttled(self, retry_after_s: float) -> Reply:
        body = {"code": "rate_limit_exceeded", "message": "You have exceeded the limit of requests per minute."}
        return json_reply(body, 429, {"Retry-After": format_seconds(retry_after_s)})

    def records(self, resource: str) -> list[Record]:
        if resource == "csat_response":
            return list(self._csat.values())
        if resource == "requested_items":
            return [item for items in self._items.values() for item in items]
        return list(self._lists[resource])

    def gate(self, route: str, request: web.Request) -> Reply | None:
        wait = self._bucket.take()
        if wait and self._enforced:
            retry = ceil_seconds(wait) if self._bucket.window_s >= 60 else round(wait + 0.0005, 3)
            return self.throttled(retry).with_headers(self._rate_headers(used=0))
        if route in self.options["disabled_modules"]:
            return self.forbidden()
        return None

    def decorate(self, reply: Reply) -> Reply:
        return Reply(reply.status, reply.body, {**self._rate_headers(used=1), **reply.headers}, reply.content_type)

    def _rate_headers(self, used: int) -> dict[str, str]:
        return {
            "X-RateLimit-Total": str(self._bucket.capacity),
            "X-RateLimit-Remaining": str(self._bucket.remaining),
            "X-RateLimit-Used-CurrentRequest": str(used),
        }

    # -- handlers --------------------------------------------------------------------------

    def _lister(self, name: str) -> Callable[[web.Request], Reply]:
        return lambda request: self._page(request, name, (), lambda: self._lists[name])

    def _tickets(self, request: web.Request) -> Reply:
        since = self._since(request)
        order_by = self._choice(request, "order_by", ORDER_FIELDS)
        order_type = self._choice(request, "order_type", ("desc", "asc"))
        key = (since, order_by, order_type)
        return self._page(request, "tickets", key, lambda: self._sorted_tickets(since, order_by, order_type))

    def _page(self, request: web.Request, name: str, key: tuple[Any, ...], rows: Callable[[], list[Record]]) -> Reply:
        page = self._positive(request, "page", 1)
        size = min(self._positive(request, "per_page", PER_PAGE_DEFAULT), PER_PAGE_MAX)
        selected = self._selections.get((name, key), rows)

        def build() -> bytes:
            return json_reply({name: selected[(page - 1) * size : page * size]}).body

        body = self._bodies.get((name, key, page, size), build)
        return Reply(200, body, _next_link(request, page, size) if page * size < len(selected) else {})

    def _sorted_tickets(self, since: datetime | None, order_by: str, order_type: str) -> list[Record]:
        rows = self._lists["tickets"]
        if since is not None:
            rows = [t for t in rows if datetime.fromisoformat(t["updated_at"]) >= since]
        if (order_by, order_type) == ("created_at", "desc"):
            return rows
        return sorted(rows, key=lambda t: (t[order_by], t["id"]), reverse=order_type == "desc")

    def _csat_response(self, request: web.Request) -> Reply:
        ticket = self._ticket(request)
        survey = self._csat.get(ticket["id"])
        if survey is None:
            raise Abort(self.error(404, "There is no satisfaction survey response for this ticket."))
        return Reply(200, self._bodies.get(("csat", ticket["id"]), lambda: json_reply({"csat_response": survey}).body))

    def _requested_items(self, request: web.Request) -> Reply:
        ticket = self._ticket(request)
        items = self._items.get(ticket["id"])
        if items is None:
            raise Abort(self.error(404, "Requested items exist only for service requests."))
        return Reply(
            200, self._bodies.get(("items", ticket["id"]), lambda: json_reply({"requested_items": items}).body)
        )

    def _ticket(self, request: web.Request) -> Record:
        ticket_id = parse_int(request.match_info["id"], 0)
        ticket = self._ticket_index.get(ticket_id) if ticket_id else None
        if ticket is None:
            raise Abort(self.error(404, "The requested ticket could not be found."))
        return ticket

    # -- parameters ------------------------------------------------------------------------

    def _positive(self, request: web.Request, name: str, default: int) -> int:
        value = parse_int(request.query.get(name), default)
        if value is None or value < 1:
            raise Abort(_validation(name, "It should be a/an Positive Integer"))
        return value

    def _choice(self, request: web.Request, name: str, allowed: tuple[str, ...]) -> str:
        value = request.query.get(name, allowed[0])
        if value not in allowed:
            raise Abort(_validation(name, f"It should be one of these values: '{','.join(allowed)}'"))
        return value

    def _since(self, request: web.Request) -> datetime | None:
        raw = request.query.get("updated_since")
        if raw is None:
            return None
        try:
            since = datetime.fromisoformat(raw.replace(" ", "+"))
        except ValueError:
            raise Abort(_validation("updated_since", "It should be in the 'valid date' format")) from None
        if since.tzinfo is None:
            raise Abort(_validation("updated_since", "It should be in the 'valid date' format"))
        return since


def _next_link(request: web.Request, page: int, size: int) -> dict[str, str]:
    params = [("page", str(page + 1)), ("per_page", str(size))]
    params += [(k, v) for k, v in request.query.items() if k not in ("page", "per_page")]
    return {"Link": f'<{absolute_url(request, request.path, params)}>; rel="next"'}


def _validation(field: str, message: str) -> Reply:
    error = {"field": field, "message": message, "code": "invalid_value"}
    return json_reply({"description": "Validation failed", "errors": [error]}, 400)
