"""`MockServer`: one mock API on 127.0.0.1, served from a background thread.

The server thread runs its own event loop, so synchronous tests (and a synchronous engine
in the main thread) can talk to it. Every request goes through one pipeline:

    arrive (in-flight +1, `max_in_flight` check) -> latency -> authentication
    -> API gate (disabled module, rate budget) -> fault outcome -> handler
    -> API decoration (e.g. rate-limit headers) -> deliver -> log (in-flight -1)

The log entry is written when the request finishes, with the status the client saw (0 when
the connection was dropped, 499 when the client went away first).
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
import traceback
from collections import Counter
from collections.abc import Mapping
from types import TracebackType
from typing import Any, NamedTuple

import orjson
from aiohttp import web

from ._api import Record, Route
from ._faults import Action, Fault, Outcome
from ._http import Abort, Reply
from ._registry import create_api

UNMATCHED = "-"
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Service maintenance</title></head>"
    b"<body><h1>We'll be back soon</h1><p>Scheduled maintenance in progress.</p></body></html>"
)


class LoggedRequest(NamedTuple):
    """One finished request. `query` holds the raw values (api keys included)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    route: str


class _Stats:
    """Log and counters; written on the server thread, read from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.log: list[LoggedRequest] = []
        self.per_route: Counter[str] = Counter()
        self.in_flight = 0
        self.in_flight_route: Counter[str] = Counter()
        self.max_in_flight = 0
        self.max_in_flight_route: Counter[str] = Counter()

    def enter(self, route: str) -> None:
        with self._lock:
            self.in_flight += 1
            self.in_flight_route[route] += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            current = self.in_flight_route[route]
            if current > self.max_in_flight_route[route]:
                self.max_in_flight_route[route] = current

    def leave(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.in_flight -= 1
            self.in_flight_route[entry.route] -= 1
            self.log.append(entry)
            self.per_route[entry.route] += 1

    def reset(self) -> None:
        with self._lock:
            self.log = []
            self.per_route = Counter()
            self.max_in_flight = self.in_flight
            self.max_in_flight_route = Counter(+self.in_flight_route)


class MockServer:
    """A running mock of one API (see `sluice.mock` for names, knobs and the contract).

    >>> with MockServer("tickets", counts={"tickets": 5}) as m:
    ...     m.base_url, m.api_key, m.requests("tickets")
    """

    def __init__(
        self,
        name: str,
        *,
        counts: Mapping[str, int] | None = None,
        seed: int = 0,
        faults: Mapping[str, Fault] | None = None,
        options: Mapping[str, Any] | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.name = name
        self._api = create_api(name, counts or {}, seed, options or {})
        self._faults: dict[str, Fault] = {}
        self._calls: Counter[str] = Counter()
        for route, fault in (faults or {}).items():
            self.set_fault(route, fault)
        self._host, self._port = host, port
        self._stats = _Stats()
        self._rng = random.Random(seed)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.errors: list[str] = []  # tracebacks of handler bugs (answered with a 500)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> MockServer:
        if self._thread is not None:
            return self
        sock = _bind(self._host, self._port)
        self._port = sock.getsockname()[1]
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(sock, ready, failure), name=f"mock-{self.name}", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"mock {self.name!r} failed to start") from failure[0]
        return self

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = self._loop = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _run(self, sock: socket.socket, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            runner = loop.run_until_complete(self._setup(sock))
        except BaseException as exc:  # reported to start() in the caller's thread
            failure.append(exc)
            sock.close()
            loop.close()
            ready.set()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    async def _setup(self, sock: socket.socket) -> web.AppRunner:
        app = web.Application()
        for route in self._api.routes():
            app.router.add_get(route.path, self._handler(route))
        unmatched = Route(UNMATCHED, "/{tail:.*}", lambda r: self._api.error(404))
        app.router.add_route("*", unmatched.path, self._handler(unmatched, public=False))
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.SockSite(runner, sock, shutdown_timeout=0.25).start()
        return runner

    # -- what the tests read ---------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        return self.origin + self._api.base_path

    @property
    def port(self) -> int:
        return self._port

    @property
    def api_key(self) -> str:
        return self._api.api_key

    @property
    def primary_key(self) -> str:
        return self._api.primary_key

    @property
    def counts(self) -> dict[str, int | None]:
        return dict(self._api.counts)

    @property
    def routes(self) -> list[str]:
        return self._api.route_names()

    @property
    def log(self) -> list[LoggedRequest]:
        return list(self._stats.log)

    def requests(self, route: str) -> int:
        return self._stats.per_route[route]

    @property
    def max_in_flight(self) -> int:
        return self._stats.max_in_flight

    def max_in_flight_route(self, route: str) -> int:
        return self._stats.max_in_flight_route[route]

    def data(self, resource: str) -> list[Record]:
        """What the API serves for `resource`, as a client parses it (a fresh copy)."""
        records = self._api.records(self._api.resource(resource))
        parsed: list[Record] = orjson.loads(orjson.dumps(records))
        return parsed

    def unique_ids(self, resource: str) -> list[Any]:
        """Distinct primary keys of `data(resource)`, in order of first appearance."""
        key = self._api.primary_key
        return list(dict.fromkeys(record[key] for record in self.data(resource)))

    def reset_log(self) -> None:
        """Empty the log, the per-route counters and the in-flight maxima."""
        self._stats.reset()

    def set_fault(self, route: str, fault: Fault) -> None:
        """Install `fault` on `route` (`"*"`: every route without its own); restarts its count."""
        if route != "*" and route not in self._api.route_names():
            known = ", ".join(self._api.route_names())
            raise ValueError(f"mock {self.name!r} has no route {route!r}; known: {known}")
        self._faults[route] = fault
        self._calls[route] = 0
        if route == "*":
            self._calls.clear()

    def clear_faults(self) -> None:
        self._faults.clear()
        self._calls.clear()

    # -- the pipeline ----------------------------------------------------------------------

    def _handler(self, route: Route, public: bool = True) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._serve(route, request, public)

        return handle

    async def _serve(self, route: Route, request: web.Request, public: bool) -> web.StreamResponse:
        self._stats.enter(route.name)
        status = 499
        try:
            reply, action = await self._answer(route, request) if public else (self._call(route, request), None)
            status = 0 if action is Action.DROP else reply.status
            return await _deliver(request, reply, action)
        finally:
            entry = LoggedRequest(request.method, request.path, dict(request.query), status, route.name)
            self._stats.leave(entry)

    async def _answer(self, route: Route, request: web.Request) -> tuple[Reply, Action | None]:
        fault = self._faults.get(route.name) or self._faults.get("*")
        if fault is not None:
            if self._over_limit(route.name, fault):
                return self._api.decorate(self._api.throttled(0.0)), None
            delay = fault.delay_s(self._rng)
            if delay:
                await asyncio.sleep(delay)
        if not self._api.authenticate(request):
            return self._api.unauthorized(), None
        refusal = self._api.gate(route.name, request)
        if refusal is not None:
            return self._api.decorate(refusal), None
        outcome = fault.outcome(self._next_call(route.name)) if fault else None
        reply = self._outcome_reply(outcome) if outcome else None
        if reply is None:
            reply = self._call(route, request)
        return self._api.decorate(reply), outcome.action if outcome else None

    def _over_limit(self, route: str, fault: Fault) -> bool:
        if fault.max_in_flight is None:
            return False
        if route in self._faults:
            return self._stats.in_flight_route[route] > fault.max_in_flight
        return self._stats.in_flight > fault.max_in_flight

    def _next_call(self, route: str) -> int:
        key = route if route in self._faults else "*"
        self._calls[key] += 1
        return self._calls[key]

    def _outcome_reply(self, outcome: Outcome) -> Reply | None:
        """The reply a fault dictates, or None when the real reply is needed (to mangle)."""
        match outcome.action:
            case Action.STATUS:
                return self._api.error(outcome.status)
            case Action.THROTTLE:
                return self._api.throttled(outcome.retry_after_s)
            case Action.FORBIDDEN:
                return self._api.forbidden()
            case Action.DROP | Action.EMPTY:
                return Reply(200, b"")
            case Action.HTML:
                return Reply(200, HTML_PAGE, {}, "text/html; charset=utf-8")
        return None

    def _call(self, route: Route, request: web.Request) -> Reply:
        try:
            return route.handler(request)
        except Abort as abort:
            return abort.reply
        except Exception:
            self.errors.append(traceback.format_exc())
            return self._api.error(500)


async def _deliver(request: web.Request, reply: Reply, action: Action | None) -> web.StreamResponse:
    headers = {**reply.headers, "Content-Type": reply.content_type}
    if action is Action.DROP:
        _close(request)
        return web.Response(status=204)
    if action is Action.TRUNCATE:
        return await _truncated(request, reply, headers)
    body = reply.body[: len(reply.body) // 2] if action is Action.MALFORMED else reply.body
    return web.Response(status=reply.status, body=body, headers=headers)


async def _truncated(request: web.Request, reply: Reply, headers: dict[str, str]) -> web.StreamResponse:
    response = web.StreamResponse(status=reply.status, headers=headers)
    response.content_length = len(reply.body)
    await response.prepare(request)
    await response.write(reply.body[: len(reply.body) // 2])
    _close(request)
    return response


def _close(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(256)
    sock.setblocking(False)
    return sock


def serve_forever(name: str, port: int, host: str = "127.0.0.1", **kwargs: Any) -> None:
    """Serve mock `name` in the foreground until Ctrl-C, printing its base_url and key."""
    with MockServer(name, port=port, host=host, **kwargs) as server:
        print(f"sluice mock {name!r} listening", flush=True)
        print(f"  base_url: {server.base_url}", flush=True)
        print(f"  api_key:  {server.api_key}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped", flush=True)
