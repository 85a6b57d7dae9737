"""Mock of the incident management API (seed 004, mock `incidents`).

Routes (route names): `/v2/users` (users), `/v2/teams` (teams), `/v1/services` (services),
`/v2/integrations` (integrations), `/v1/incidents` (incidents), `/v2/alerts` (alerts);
the base_url is the origin.

- Auth: header `api_key: <key>` (what the seed configures) or `Authorization: <key>`.
  Missing or wrong: 401 `{"message":"Could not authenticate"}`.
- Query: `offset` (default 0), `limit` (default 20, values above 100 capped to 100),
  `sort` (a field of the resource, see `SORTS`), `order` (asc | desc). Bad values: 422
  `{"message": ..., "took": ..., "requestId": ...}`.
- Body: `{"data": [...], "paging": {"first", ["prev",] ["next",] "last"}, "took": 0.01,
  "requestId": "<uuid>"}`. Paging URLs are absolute, built from the request's Host; they
  keep the request's other query parameters, replace `offset`/`limit`, and add the
  default `sort`/`order` when the request had none (as the real API does). The last page
  (and any page past the end) has no `next`. `teams` and `integrations` answer everything
  in one page with no `paging`, ignoring offset/limit.
- `offset + limit` above `offset_cap` (20000, like the real API): 422
  `{"message":"Offset + limit should not exceed <cap>",...}`. `next` links are still
  offered up to the end of the data, so an engine walking them hits the 422.
- 429 (fault `rate_limit_429=(n, s)`): headers `X-RateLimit-State: THROTTLED` and
  `X-RateLimit-Period-In-Sec: <s>` (the real API sends 1), no `Retry-After` unless the
  option `retry_after` is set.
- Records: UUID ids, numeric-string `tinyId`, timestamps with milliseconds printed without
  trailing zeros (`.41Z`, `.4Z`, or none), priorities `P1`..`P5`, nested `report`,
  `integration`, `responders[]`, `tags[]`.

Counts (defaults; pages of 20): users 45 (3 pages), teams 6 (1, no paging), services 23
(2), integrations 9 (1, no paging), incidents 60 (3: an exact multiple), alerts 137 (7).

Duplicate: the last alert repeats the `id` (and content) of the alert 20 places before it
(the first one when there are at most 20): one id on two pages at the default limit.

Options: `offset_cap` (20000), `retry_after` (False), `duplicate` (True).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web

from ._api import MockApi, Record, Route
from ._fake import CITIES, Fake, iso_trimmed_ms
from ._http import Abort, Memo, Reply, absolute_url, dumps, format_seconds, json_reply, parse_int, replace_params
from ._ticketing import plant_duplicate

LIMIT_DEFAULT = 20
LIMIT_MAX = 100
PATHS = {
    "users": "/v2/users", "teams": "/v2/teams", "services": "/v1/services",
    "integrations": "/v2/integrations", "incidents": "/v1/incidents", "alerts": "/v2/alerts",
}  # fmt: skip
UNPAGED = ("teams", "integrations")
# resource -> (default sort, default order, accepted sort fields)
SORTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "users": ("username", "asc", ("username", "fullName", "createdAt")),
    "services": ("name", "asc", ("name", "createdAt")),
    "incidents": ("createdAt", "desc", ("createdAt", "updatedAt", "tinyId", "priority", "status")),
    "alerts": ("createdAt", "desc", ("createdAt", "updatedAt", "tinyId", "priority", "status", "count")),
}


class IncidentsApi(MockApi):
    name = "incidents"
    api_key = "im_token_5e7a9c1b-3d2f-4a6b-8c0d-1e2f3a4b5c6d"
    base_path = ""
    default_counts: ClassVar[Mapping[str, int | None]] = {
        "users": 45, "teams": 6, "services": 23, "integrations": 9, "incidents": 60, "alerts": 137,
    }  # fmt: skip
    option_defaults: ClassVar[Mapping[str, Any]] = {"offset_cap": 20_000, "retry_after": False, "duplicate": True}

    def __init__(self, counts: Any, seed: int, options: Any) -> None:
        super().__init__(counts, seed, options)
        self._data = _build(seed, self.counts)
        if self.options["duplicate"]:
            plant_duplicate(self._data["alerts"], LIMIT_DEFAULT)
        self._bodies = Memo[bytes]()
        self._request_ids = random.Random(seed)

    # -- MockApi ---------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [Route(name, path, self._handler(name)) for name, path in PATHS.items()]

    def authenticate(self, request: web.Request) -> bool:
        headers = request.headers
        return self.api_key in (headers.get("api_key"), headers.get("Authorization"))

    def unauthorized(self) -> Reply:
        return json_reply({"message": "Could not authenticate"}, 401)

    def error(self, status: int, message: str | None = None) -> Reply:
        text = message or {404: "Not found", 403: "You are not authorized for this operation"}.get(
            status, "Internal server error"
        )
        return json_reply({"message": text, "took": 0.001, "requestId": self._request_id()}, status)

    def throttled(self, retry_after_s: float) -> Reply:
        message = "You are making too many requests! To avoid errors, we recommend you limit requests."
        headers = {"X-RateLimit-State": "THROTTLED", "X-RateLimit-Period-In-Sec": format_seconds(retry_after_s)}
        if self.options["retry_after"]:
            headers["Retry-After"] = format_seconds(retry_after_s)
        return json_reply({"message": message, "took": 0.0, "requestId": self._request_id()}, 429, headers)

    def records(self, resource: str) -> list[Record]:
        return list(self._data[resource])

    # -- handlers --------------------------------------------------------------------------

    def _handler(self, name: str) -> Callable[[web.Request], Reply]:
        if name in UNPAGED:
            return lambda request: self._everything(name)
        return lambda request: self._page(request, name)

    def _everything(self, name: str) -> Reply:
        data = self._bodies.get((name,), lambda: dumps(self._data[name]))
        return Reply(200, self._envelope(data, None))

    def _page(self, request: web.Request, name: str) -> Reply:
        offset = self._int(request, "offset", 0, 0)
        limit = min(self._int(request, "limit", LIMIT_DEFAULT, 1), LIMIT_MAX)
        cap = self.options["offset_cap"]
        if offset + limit > cap:
            raise Abort(self.error(422, f"Offset + limit should not exceed {cap}"))
        sort, order = self._sort(request, name)
        data = self._bodies.get(
            (name, offset, limit, sort, order), lambda: dumps(self._window(name, sort, order, offset, limit))
        )
        return Reply(200, self._envelope(data, self._paging(request, name, offset, limit)))

    def _window(self, name: str, sort: str, order: str, offset: int, limit: int) -> list[Record]:
        rows = self._data[name]
        if (sort, order) != SORTS[name][:2]:
            rows = sorted(rows, key=lambda r: (_sort_key(r[sort]), r["id"]), reverse=order == "desc")
        return rows[offset : offset + limit]

    def _paging(self, request: web.Request, name: str, offset: int, limit: int) -> dict[str, str]:
        total = len(self._data[name])
        default_sort, default_order, _ = SORTS[name]
        defaults = {"sort": default_sort, "order": default_order}

        def link(at: int) -> str:
            params = replace_params(request, {"offset": str(at), "limit": str(limit)}, defaults)
            return absolute_url(request, request.path, params)

        paging = {"first": link(0)}
        if offset > 0:
            paging["prev"] = link(max(0, offset - limit))
        if offset + limit < total:
            paging["next"] = link(offset + limit)
        paging["last"] = link(max(0, (total - 1) // limit * limit))
        return paging

    def _envelope(self, data: bytes, paging: dict[str, str] | None) -> bytes:
        tail: dict[str, Any] = {"paging": paging} if paging is not None else {}
        tail.update(took=round(0.003 + self._request_ids.random() / 50, 3), requestId=self._request_id())
        return b'{"data":' + data + b"," + dumps(tail)[1:]

    def _request_id(self) -> str:
        return str(uuid.UUID(int=self._request_ids.getrandbits(128), version=4))

    def _int(self, request: web.Request, name: str, default: int, minimum: int) -> int:
        value = parse_int(request.query.get(name), default)
        if value is None or value < minimum:
            raise Abort(self.error(422, f"{name.title()} should be an integer >= {minimum}"))
        return value

    def _sort(self, request: web.Request, name: str) -> tuple[str, str]:
        default_sort, default_order, fields = SORTS[name]
        sort, order = request.query.get("sort", default_sort), request.query.get("order", default_order)
        if sort not in fields:
            raise Abort(self.error(422, f"Sort field should be one of: {', '.join(fields)}"))
        if order not in ("asc", "desc"):
            raise Abort(self.error(422, "Order should be one of: asc, desc"))
        return sort, order


def _sort_key(value: Any) -> Any:
    if isinstance(value, str) and value.endswith("Z") and "T" in value:
        return datetime.fromisoformat(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


# -- records -------------------------------------------------------------------------------


def _build(seed: int, counts: dict[str, int | None]) -> dict[str, list[Record]]:
    def make(name: str, one: Callable[[Fake, int], Record]) -> list[Record]:
        fake = Fake(seed, name)
        return [one(fake, i) for i in range(counts[name] or 0)]

    teams = make("teams", _team)
    team_ids = [t["id"] for t in teams]
    users = make("users", _user)
    user_ids = [u["username"] for u in users]
    services = make("services", lambda f, i: _service(f, team_ids))
    integrations = make("integrations", lambda f, i: _integration(f, team_ids))
    incidents = make("incidents", lambda f, i: _incident(f, team_ids, [s["id"] for s in services]))
    alerts = make("alerts", lambda f, i: _alert(f, team_ids, user_ids, integrations))
    data = {"users": users, "teams": teams, "services": services, "integrations": integrations,
            "incidents": incidents, "alerts": alerts}  # fmt: skip
    for name, (sort, order, _) in SORTS.items():
        data[name].sort(key=lambda r: (_sort_key(r[sort]), r["id"]), reverse=order == "desc")
    for name in ("incidents", "alerts"):
        for position, record in enumerate(data[name]):
            record["tinyId"] = str(len(data[name]) - position)
    return data


def _stamp(fake: Fake, start: datetime | None = None, days: int = 365) -> tuple[datetime, str]:
    at = fake.moment(days, start) if start else fake.moment(days)
    return at, iso_trimmed_ms(at)


def _links(kind: str, id_: str) -> dict[str, str]:
    return {"web": f"https://app.example.com/{kind}/{id_}", "api": f"https://api.example.com/v2/{kind}/{id_}"}


def _user(fake: Fake, index: int) -> Record:
    first, last = fake.first_name(), fake.last_name()
    city, country, _, _ = fake.choice(CITIES)
    _, created = _stamp(fake)
    id_ = fake.uuid()
    return {
        "id": id_,
        "username": f"{first}.{last}.{index}@example.com".lower(),
        "fullName": f"{first} {last}",
        "role": fake.choice(
            ({"id": "Admin", "name": "Admin"}, {"id": "User", "name": "User"}, {"id": "Owner", "name": "Owner"})
        ),
        "skypeUsername": None,
        "timeZone": fake.choice(("Europe/Lisbon", "America/New_York", "Asia/Tokyo")),
        "locale": fake.choice(("en_US", "en_GB", "de_DE")),
        "tags": sorted({fake.choice(("oncall", "sre", "backend", "db")) for _ in range(fake.integer(0, 2))}),
        "userAddress": {"country": country, "state": "", "city": city, "line": "", "zipCode": ""},
        "blocked": fake.chance(0.05),
        "verified": fake.chance(0.9),
        "createdAt": created,
    }


def _team(fake: Fake, index: int) -> Record:
    id_ = fake.uuid()
    name = f"{fake.title(1)} {fake.choice(('Platform', 'Payments', 'Data', 'Edge', 'Mobile'))}"
    return {
        "id": id_,
        "name": f"{name} {index}",
        "description": fake.maybe(fake.words(5), 0.4),
        "links": _links("teams", id_),
    }


def _service(fake: Fake, team_ids: list[str]) -> Record:
    id_ = fake.uuid()
    return {
        "id": id_,
        "name": f"{fake.words(1)}-{fake.choice(('api', 'worker', 'gateway', 'db', 'cache'))}-{fake.hex(4)}",
        "description": fake.maybe(fake.words(6).capitalize(), 0.3),
        "teamId": fake.choice(team_ids) if team_ids else None,
        "tags": sorted({fake.choice(("tier1", "tier2", "critical", "internal")) for _ in range(fake.integer(0, 2))}),
        "isExternal": fake.chance(0.1),
        "links": _links("services", id_),
        "createdAt": _stamp(fake)[1],
    }


def _integration(fake: Fake, team_ids: list[str]) -> Record:
    kind = fake.choice(("API", "Email", "Webhook", "Prometheus", "Heartbeat"))
    return {
        "id": fake.uuid(),
        "name": f"{kind} {fake.words(1)}",
        "enabled": fake.chance(0.85),
        "type": kind,
        "teamId": fake.maybe(fake.choice(team_ids), 0.3) if team_ids else None,
        "version": "v2",
    }


def _responders(fake: Fake, team_ids: list[str]) -> list[Record]:
    responders = [{"type": "team", "id": fake.choice(team_ids)}] if team_ids else []
    return responders + [{"type": "user", "id": fake.uuid()} for _ in range(fake.integer(0, 2))]


def _incident(fake: Fake, team_ids: list[str], service_ids: list[str]) -> Record:
    created_at, created = _stamp(fake)
    _, updated = _stamp(fake, created_at, 3)
    status = fake.choice(("open", "resolved", "closed", "closed"))
    id_ = fake.uuid()
    return {
        "id": id_,
        "tinyId": "",
        "message": f"{fake.choice(('High latency', 'Error rate', 'Disk full', 'Outage'))} on {fake.words(1)}",
        "description": fake.maybe(fake.words(12).capitalize(), 0.4),
        "status": status,
        "tags": sorted({fake.choice(("customer-facing", "db", "network", "p0")) for _ in range(fake.integer(0, 3))}),
        "priority": fake.choice(("P1", "P2", "P3", "P3", "P4", "P5")),
        "ownerTeam": fake.choice(team_ids) if team_ids else None,
        "responders": _responders(fake, team_ids),
        "impactedServices": sorted({fake.choice(service_ids) for _ in range(fake.integer(0, 2))})
        if service_ids
        else [],
        "extraProperties": {"region": fake.choice(("eu-west-1", "us-east-1"))} if fake.chance(0.5) else {},
        "impactStartDate": created,
        "impactEndDate": updated if status != "open" else None,
        "createdAt": created,
        "updatedAt": updated,
        "links": _links("incidents", id_),
    }


def _alert(fake: Fake, team_ids: list[str], user_ids: list[str], integrations: list[Record]) -> Record:
    created_at, created = _stamp(fake)
    status = fake.choice(("open", "closed", "closed"))
    acknowledged = status == "closed" or fake.chance(0.4)
    integration = fake.choice(integrations) if integrations else None
    return {
        "id": fake.uuid(),
        "tinyId": "",
        "alias": fake.hex(16),
        "message": f"{fake.choice(('CPU', 'Memory', 'Latency', '5xx'))} above threshold on {fake.words(1)}",
        "status": status,
        "acknowledged": acknowledged,
        "isSeen": acknowledged or fake.chance(0.5),
        "tags": sorted({fake.choice(("prod", "staging", "k8s", "db", "edge")) for _ in range(fake.integer(0, 3))}),
        "snoozed": False,
        "count": fake.integer(1, 40),
        "lastOccurredAt": _stamp(fake, created_at, 1)[1],
        "createdAt": created,
        "updatedAt": _stamp(fake, created_at, 2)[1],
        "source": fake.choice(("monitoring", "api", "email")),
        "owner": fake.choice(user_ids) if user_ids and acknowledged else "",
        "priority": fake.choice(("P1", "P2", "P3", "P3", "P4", "P5")),
        "teams": [{"id": fake.choice(team_ids)}] if team_ids else [],
        "responders": _responders(fake, team_ids),
        "integration": {"id": integration["id"], "name": integration["name"], "type": integration["type"]}
        if integration
        else None,
        "report": _report(fake, acknowledged, status, user_ids),
        "ownerTeamId": fake.choice(team_ids) if team_ids and fake.chance(0.7) else None,
    }


def _report(fake: Fake, acknowledged: bool, status: str, user_ids: list[str]) -> Record:
    report: Record = {}
    who = fake.choice(user_ids) if user_ids else "system"
    if acknowledged:
        report.update(ackTime=fake.integer(5_000, 900_000), acknowledgedBy=who)
    if status == "closed":
        report.update(closeTime=fake.integer(60_000, 9_000_000), closedBy=who)
    return report
