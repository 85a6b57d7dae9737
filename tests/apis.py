"""A small generic paging API for the engine tests: every paginator style, over loopback.

Records are `{"id": i, "name": ..., "group": i % 3}`; routes page them in every style
the dialect knows. The server runs in a background thread; `api.log` records requests.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class PagingAPI:
    count: int = 25
    log: list[LoggedRequest] = field(default_factory=list)
    fail: dict[str, list[int]] = field(default_factory=dict)  # route -> statuses to answer first
    origin: str = ""
    token: str = "s3cret-token-value"

    def records(self, n: int | None = None) -> list[dict[str, Any]]:
        return [{"id": i, "name": f"item {i}", "group": i % 3, "updated": f"2024-01-{1 + i % 28:02d}T00:00:00Z"} for i in range(n if n is not None else self.count)]

    def hits(self, path: str) -> int:
        return sum(1 for r in self.log if r.path == path)

    # -- routes ---------------------------------------------------------------------------
    async def _log(self, request: web.Request) -> web.Response | None:
        body = await request.read()
        self.log.append(LoggedRequest(request.method, request.path, dict(request.query), dict(request.headers), body))
        queue = self.fail.get(request.path)
        if queue:
            status = queue.pop(0)
            headers = {"Retry-After": "0"} if status == 429 else {}
            return web.json_response({"error": "injected"}, status=status, headers=headers)
        return None

    async def page_number(self, request: web.Request) -> web.Response:
        if (early := await self._log(request)) is not None:
            return early
        size = int(request.query.get("per_page", 10))
        page = int(request.query.get("page", 1))
        base = int(request.query.get("base", 1))
        items = self.records()[(page - base) * size:(page - base + 1) * size] if page >= base else []
        pages = -(-self.count // size)
        return web.json_response({"items": items, "total": self.count, "total_pages": pages, "page": page})

    async def offset(self, request: web.Request) -> web.Response:
        if (early := await self._log(request)) is not None:
            return early
        limit, offset = int(request.query.get("limit", 10)), int(request.query.get("offset", 0))
        body: dict[str, Any] = {"data": self.records()[offset:offset + limit]}
        if request.query.get("no_total") is None:
            body["total"] = self.count
        return web.json_response(body)

    async def cursor(self, request: web.Request) -> web.Response:
        if (early := await self._log(request)) is not None:
            return early
        start = int(request.query.get("cursor", 0))
        end = start + 10
        nxt = str(end) if end < self.count else None
        return web.json_response({"results": self.records()[start:end], "cursors": {"next": nxt}})

    async def links(self, request: web.Request) -> web.Response:
        if (early := await self._log(request)) is not None:
            return early
        page = int(request.query.get("p", 1))
        items = self.records()[(page - 1) * 10:page * 10]
        headers = {}
        if page * 10 < self.count:
            headers["Link"] = f'<http://{request.host}/links?p={page + 1}>; rel="next", <http://{request.host}/links?p=1>; rel="first"'
        return web.json_response(items, headers=headers)

    async def json_link(self, request: web.Request) -> web.Response:
        if (early := await self._log(request)) is not None:
            return early
        page = int(request.query.get("p", 1))
        items = self.records()[(page - 1) * 10:page * 10]
        nxt = f"http://{request.host}/json_link?p={page + 1}" if page * 10 < self.count else None
        return web.json_response({"data": items, "paging": {"next": nxt}})

    async def children(self, request: web.Request) -> web.Response:
        if (early := await self._log(request)) is not None:
            return early
        parent = int(request.match_info["id"])
        if parent % 4 == 3:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"data": [{"child": j, "parent": parent} for j in range(parent % 3)]})

    async def secured(self, request: web.Request) -> web.Response:
        if (early := await self._log(request)) is not None:
            return early
        if request.headers.get("Authorization") != f"Bearer {self.token}" and request.query.get("key") != self.token:
            return web.json_response({"message": "unauthorized"}, status=401)
        return web.json_response({"data": self.records(3)})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/page_number", self.page_number)
        app.router.add_get("/offset", self.offset)
        app.router.add_get("/cursor", self.cursor)
        app.router.add_get("/links", self.links)
        app.router.add_get("/json_link", self.json_link)
        app.router.add_get("/parents/{id}/children", self.children)
        app.router.add_route("*", "/secured", self.secured)
        return app


class Server:
    """Runs an aiohttp app on 127.0.0.1 in a background thread."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0

    def __enter__(self) -> Server:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "test server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        runner = web.AppRunner(self._app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()


class ListSink:
    """An engine sink that keeps every record in a list (engine tests without dlt)."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    async def put(self, resource: str, records: list[Any]) -> None:
        self.records.extend(records)

    def finish(self, resource: str) -> None:
        pass
