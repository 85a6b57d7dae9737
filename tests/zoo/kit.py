"""The zoo's building blocks: a case registry, one loopback server for every case, reply helpers.

A case is one handler (request -> reply) plus the configuration a user would give dlt's
`rest_api_source`. The server mounts each case under `/<case name>/`, so the runner fills in
`client.base_url` and keeps one request log per case.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from multidict import CIMultiDict


@dataclass(frozen=True)
class Req:
    """What a handler sees: the path below the case's mount point, the query, headers and body."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: CIMultiDict[str]
    body: bytes
    base: str  # absolute URL of the case's mount point, ends with '/'

    def arg(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.query if k == name), default)

    def args(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]

    def int_arg(self, name: str, default: int) -> int:
        value = self.arg(name)
        return int(value) if value not in (None, "") else default

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    body: Any
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)  # a list: a header may repeat


@dataclass(frozen=True)
class Sent:
    """One request as it arrived: the request line's raw path and query, the headers, the body."""

    method: str
    raw_path: str
    headers: dict[str, str]
    body: bytes

    def key(self) -> tuple[str, str, tuple[tuple[str, str], ...], str]:
        """Identity of a request: method, raw path, query pairs (order-free), body (JSON canonical)."""
        parts = urlsplit(self.raw_path)
        query = tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))
        return self.method, parts.path, query, canonical_body(self.body)


def canonical_body(body: bytes) -> str:
    """JSON with sorted keys, a form with sorted fields (their order means nothing), else the text."""
    try:
        return json.dumps(json.loads(body), sort_keys=True)
    except ValueError:
        text = body.decode("utf-8", "replace")
    try:
        return "&".join(f"{k}={v}" for k, v in sorted(parse_qsl(text, keep_blank_values=True, strict_parsing=True)))
    except ValueError:
        return text


Handler = Callable[[Req], Any]


@dataclass
class Case:
    name: str
    handler: Handler
    config: dict[str, Any]
    notes: str
    dlt_only: tuple[str, ...] = ()  # "GET path?query" (below the mount) only dlt sends: a documented improvement
    xfail: str = ""  # "issue 9 item N: cause" while sluice still differs


CASES: dict[str, Case] = {}
MAX_REQUESTS = 200  # per case and run; every case needs far fewer


def case(config: dict[str, Any], notes: str, *, dlt_only: tuple[str, ...] = (), xfail: str = "") -> Callable[[Handler], Handler]:
    """Register the decorated handler as a zoo case named after the function."""
    def register(handler: Handler) -> Handler:
        assert handler.__name__ not in CASES, f"duplicate zoo case {handler.__name__}"
        CASES[handler.__name__] = Case(handler.__name__, handler, config, notes, dlt_only, xfail)
        return handler
    return register


class Zoo:
    """Serves every registered case under `/<name>/` and logs the requests per case."""

    def __init__(self) -> None:
        self.logs: dict[str, list[Sent]] = {name: [] for name in CASES}
        self.origin = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{case}/{tail:.*}", self._serve)
        return app

    def take(self, name: str) -> list[Sent]:
        """The requests of one case since the last take (the server thread only appends)."""
        log = self.logs[name]
        taken = log[:len(log)]
        del log[:len(taken)]
        return taken

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["case"]
        body = await request.read()
        self.logs[name].append(Sent(request.method, request.raw_path, dict(request.headers), body))
        if len(self.logs[name]) > MAX_REQUESTS:  # a paging loop: fail the run instead of hanging the suite
            return _response(Reply({"error": "zoo: too many requests in one run"}, 400))
        mount = f"/{name}/"
        req = Req(request.method, request.path[len(mount):], tuple(request.query.items()), CIMultiDict(request.headers), body,
                  f"{self.origin}{mount}")
        reply = CASES[name].handler(req)
        return _response(reply if isinstance(reply, Reply) else Reply(reply))


def _response(reply: Reply) -> web.Response:
    headers: CIMultiDict[str] = CIMultiDict()
    for key, value in reply.headers:
        headers.add(key, value)
    return web.Response(text=json.dumps(reply.body), status=reply.status, headers=headers, content_type="application/json")


# -- helpers for handlers ----------------------------------------------------------------------

def people(n: int, seed: int, **extra: Callable[[int, random.Random], Any]) -> list[dict[str, Any]]:
    """`n` deterministic records {id, name, email, created_at, score, active, **extra(i, rng)}."""
    rng = random.Random(seed)
    out = []
    for i in range(1, n + 1):
        row: dict[str, Any] = {"id": i, "name": f"{rng.choice(NAMES)} {i}", "email": f"user{i}@example.com",
                               "created_at": f"2024-0{1 + i % 9}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                               "score": rng.randint(0, 1000), "active": rng.random() < 0.5}
        row.update({key: make(i, rng) for key, make in extra.items()})
        out.append(row)
    return out


NAMES = ["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances"]


def chunk(rows: list[Any], start: int, size: int) -> list[Any]:
    return rows[max(start, 0):max(start, 0) + size]


def page_of(rows: list[Any], page: int, size: int, base: int = 1) -> list[Any]:
    return chunk(rows, (page - base) * size, size) if page >= base else []


def link(url: str, rel: str) -> str:
    return f'<{url}>; rel="{rel}"'


def bearer(req: Req, token: str) -> bool:
    return req.headers.get("Authorization") == f"Bearer {token}"


def basic(user: str, password: str) -> str:
    """The Authorization header value HTTP basic auth sends."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def denied() -> Reply:
    return Reply({"message": "unauthorized"}, 401)


def not_found() -> Reply:
    return Reply({"error": "not found"}, 404)
