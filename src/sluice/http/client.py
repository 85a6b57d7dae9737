"""One shared aiohttp session per source: permits, pacing, retries, response actions.

A permit (the concurrency semaphore) is held only around one HTTP exchange, never while
waiting to retry, so a backing-off request does not block the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ..config.specs import EndpointSpec, HttpSpec, ResponseAction
from ..engine.stats import ResourceStats, RunStats, WallTimer
from ..errors import HTTPStatusError, ResponseError, RetryableError
from ..model import PageRequest
from ..redact import redact_text, redact_url, truncate
from .headers import announced_wait, budget, exhausted
from .pacing import Pacer

log = logging.getLogger("sluice.http")
# When this task's request was sent: an answer is judged against the pace at that moment.
_SENT_AT: contextvars.ContextVar[float] = contextvars.ContextVar("sent_at", default=0.0)


@dataclass(frozen=True)
class Exchange:
    """One answered request: what the engine needs to read a page."""

    status: int
    url: str
    headers: Mapping[str, str]
    body: Any
    attempts: int
    ignored: bool = False
    text: bytes | str = b""  # what `body` was parsed from (the engine reads a page again from it)


@dataclass(frozen=True)
class _Raw:
    status: int
    url: str
    headers: CIMultiDictProxy[str]
    content: bytes


class HttpClient:
    """Sends page requests for one source run. Use as `async with HttpClient(...) as http`."""

    def __init__(self, spec: HttpSpec, stats: RunStats, secrets: tuple[str, ...], pacer: Pacer | None = None,
                 delay_cap: float | None = None) -> None:
        self.spec = spec
        self.delay_cap = delay_cap
        self.stats = stats
        self.secrets = secrets
        self.pacer = pacer or Pacer(spec.rate_limit)
        self._waits: dict[str, WallTimer] = {}  # per resource: wall time its requests waited for the pace
        self._permits = asyncio.Semaphore(spec.max_concurrency)
        self._by_resource: dict[str, asyncio.Semaphore] = {}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpClient:
        connector = aiohttp.TCPConnector(limit=self.spec.max_concurrency, ttl_dns_cache=300, enable_cleanup_closed=True)
        timeout = aiohttp.ClientTimeout(total=self.spec.timeout)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=True)
        # aiohttp silently re-sends a request once when the server drops the connection; our own
        # retry policy counts attempts and waits, so one silent duplicate per attempt is wrong.
        if hasattr(self._session, "_retry_connection"):
            self._session._retry_connection = False
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use HttpClient as an async context manager"
        return self._session

    def safe(self, text: str) -> str:
        return redact_text(text, self.secrets)

    async def fetch(self, endpoint: EndpointSpec, request: PageRequest, stats: ResourceStats) -> Exchange:
        """The response to `request`, after retries; raises HTTPStatusError when it fails."""
        retry = endpoint.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                raw = await self._exchange(endpoint, request, stats)
                outcome = self._classify(raw, endpoint, attempt)
                if outcome is not None:
                    self.pacer.accepted(_SENT_AT.get())
                    return outcome
                body = self.safe(truncate(raw.content[:4000].decode("utf-8", "replace"), 200))
                raise RetryableError(f"status {raw.status}: {body}", status=raw.status, retry_after=announced_wait(raw.headers))
            except RetryableError as exc:
                if attempt > retry.max_retries:
                    raise self._exhausted(exc, request, attempt, stats) from None
                wait = self._wait(exc, retry.delay(attempt), retry.max_retry_delay)
                stats.retries += 1
                log.info("retry %d of %s in %.2fs (%s)", attempt, self._url(request), wait, exc)
                if exc.status == 429:
                    # the API said slow down: the whole source slows down, to the rate it accepts
                    self.pacer.refused(_SENT_AT.get(), wait if exc.retry_after is not None else None)
                    if exc.retry_after is None:  # paced by the learned rate; the backoff only bounds it
                        await self.pacer.sleep(min(wait, self.pacer.spacing * 2 ** (attempt - 1)))
                elif exc.retry_after is not None:
                    self.pacer.pause(wait)
                else:
                    await self.pacer.sleep(wait)

    def _remember(self, secrets: tuple[str, ...]) -> None:
        # Some secrets exist only once a run has started (an oauth2 access token): masked too.
        if not set(secrets) <= set(self.secrets):
            self.secrets = tuple(dict.fromkeys((*self.secrets, *secrets)))

    async def _exchange(self, endpoint: EndpointSpec, request: PageRequest, stats: ResourceStats) -> _Raw:
        if endpoint.auth is not None:
            request = await endpoint.auth.apply(request, self.session)
            self._remember(endpoint.auth.secrets)
        async with self._permits, self._resource_permits(endpoint, stats.name):
            await self._acquire(stats)  # the pace is kept at the moment of sending, not of queueing for a permit
            self._enter(stats)
            try:
                return await self._send(request, stats, endpoint)
            except TimeoutError:
                raise RetryableError(f"timed out: no complete response within {endpoint.timeout or self.spec.timeout:g}s (timeout)") from None
            except (aiohttp.ClientError, ValueError) as exc:
                # ValueError: aiohttp raises it for some malformed responses
                raise RetryableError(f"{type(exc).__name__}: {self.safe(str(exc)) or 'no details'}") from None
            finally:
                self.pacer.release()
                self._leave(stats)

    async def _acquire(self, stats: ResourceStats) -> None:
        waits = self._waits.setdefault(stats.name, WallTimer(self.pacer.clock))
        waits.begin()
        try:
            _SENT_AT.set(await self.pacer.acquire())
        finally:
            waits.end()
            stats.rate_limit_wait = waits.seconds  # live, for the progress display; wall time, not a sum
            self.stats.rate_limit_wait = self.pacer.waited  # the source's: resources waiting together count once

    def _resource_permits(self, endpoint: EndpointSpec, name: str) -> asyncio.Semaphore | contextlib.nullcontext[None]:
        if endpoint.max_concurrency is None:
            return contextlib.nullcontext()
        if name not in self._by_resource:
            self._by_resource[name] = asyncio.Semaphore(endpoint.max_concurrency)
        return self._by_resource[name]

    async def _send(self, request: PageRequest, stats: ResourceStats, endpoint: EndpointSpec) -> _Raw:
        url = URL(request.sent_url(), encoded=True)  # encoded as requests encodes it, sent as is
        kwargs: dict[str, Any] = {"headers": dict(request.headers)}
        if endpoint.timeout is not None:
            kwargs["timeout"] = aiohttp.ClientTimeout(total=endpoint.timeout)
        if request.json is not None:
            kwargs["data"] = orjson.dumps(request.json)
            kwargs["headers"].setdefault("Content-Type", "application/json")
        elif request.data is not None:
            kwargs["data"] = request.data
        stats.requests += 1
        kwargs["middlewares"] = (_headers_stay_home(url.origin(), frozenset(kwargs["headers"])),)
        try:
            async with self.session.request(request.method, url, **kwargs) as response:
                content = await self._body(response, stats, endpoint.max_response_bytes or self.spec.max_response_bytes)
                self._note_budget(response.headers)
                return _Raw(response.status, str(response.url), response.headers, content)
        except aiohttp.TooManyRedirects as exc:
            # The same redirects come back on every attempt: fail now, not after five.
            last = redact_url(str(exc.history[-1].url), self.secrets) if exc.history else self._url(request)
            raise ResponseError(f"too many redirects ({len(exc.history)}), the last to {last}: a redirect loop? "
                                "(not retried)", url=self._url(request)) from None

    async def _body(self, response: aiohttp.ClientResponse, stats: ResourceStats, limit: int) -> bytes:
        """The decoded body, read in chunks up to `limit` bytes: aiohttp inflates gzip as it reads,
        so a small compressed body can decode to gigabytes."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(1 << 20):
            size += len(chunk)
            stats.bytes += len(chunk)
            if size > limit:
                raise ResponseError(f"response body larger than max_response_bytes={limit} (decoded; not retried)",
                                    url=redact_url(str(response.url), self.secrets), status=response.status)
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _note_budget(self, headers: Mapping[str, str]) -> None:
        said = budget(headers)
        if said is not None:
            self.pacer.budget(said, _SENT_AT.get())
        elif exhausted(headers):
            wait = announced_wait(headers)
            if wait:
                self.pacer.pause(min(wait, 60.0))

    def _enter(self, stats: ResourceStats) -> None:
        stats.in_flight += 1
        self.stats.in_flight += 1
        self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)

    def _leave(self, stats: ResourceStats) -> None:
        stats.in_flight -= 1
        self.stats.in_flight -= 1

    def _classify(self, raw: _Raw, endpoint: EndpointSpec, attempt: int) -> Exchange | None:
        """An exchange to hand back, None to retry the status, or RetryableError for a bad body."""
        retryable = raw.status in endpoint.retry.statuses
        if retryable and attempt <= endpoint.retry.max_retries:
            return None
        action = _matching_action(endpoint.response_actions, raw)
        if action is not None and action.action == "ignore":
            return Exchange(raw.status, raw.url, raw.headers, None, attempt, ignored=True)
        if action is not None:
            raw = self._run_hooks(action, raw)
        if raw.status >= 400:
            if retryable:
                return None
            raise self._status_error(raw, attempt)
        text = _declared_text(raw)
        return Exchange(raw.status, raw.url, raw.headers, self._parse(raw, text), attempt, text=text)

    def _run_hooks(self, action: ResponseAction, raw: _Raw) -> _Raw:
        from ..load.dlt_compat import run_response_hooks

        status, headers, content, ignored = run_response_hooks(action.action, raw.status, raw.url, raw.headers, raw.content)
        if ignored:
            return _Raw(299, raw.url, raw.headers, b"null")
        return _Raw(status, raw.url, CIMultiDictProxy(CIMultiDict(headers)), content)

    def _parse(self, raw: _Raw, text: bytes | str) -> Any:
        if not raw.content.strip():
            raise RetryableError(f"empty body with status {raw.status} (expected JSON)", status=raw.status)
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if "depth limit" in str(exc) or "recursion" in str(exc).lower():  # the same body on every attempt
                raise ResponseError(f"JSON nested deeper than the parser's limit of 1024 levels ({exc}; not retried)",
                                    url=redact_url(raw.url, self.secrets), status=raw.status) from None
            kind = raw.headers.get("Content-Type", "unknown content type")
            text = truncate(raw.content[:2000].decode("utf-8", "replace"), 120)
            raise RetryableError(f"body is not valid JSON ({kind}; {exc}): {self.safe(text)!r}", status=raw.status) from None

    def _status_error(self, raw: _Raw, attempts: int) -> HTTPStatusError:
        body = self.safe(truncate(raw.content[:4000].decode("utf-8", "replace")))
        return HTTPStatusError(f"HTTP {raw.status}: {body}", url=redact_url(raw.url, self.secrets), status=raw.status, attempts=attempts)

    def _exhausted(self, exc: RetryableError, request: PageRequest, attempts: int, stats: ResourceStats) -> HTTPStatusError:
        return HTTPStatusError(f"gave up after {attempts} attempts: {exc}", url=self._url(request), status=exc.status, attempts=attempts)

    def _wait(self, exc: RetryableError, computed: float, cap: float) -> float:
        if self.delay_cap is not None:
            cap = min(cap, self.delay_cap)
        if exc.retry_after is not None:
            return min(exc.retry_after, cap)
        return min(computed * random.uniform(0.5, 1.0), cap)  # jitter spreads retries of many chains

    def _url(self, request: PageRequest) -> str:
        return redact_url(request.sent_url(), self.secrets)


def _headers_stay_home(origin: URL, names: frozenset[str]) -> Any:
    """A redirect to another host gets none of the request's own headers: aiohttp drops only
    Authorization and Cookie, and an API key travels in a header of any name."""

    async def middleware(request: aiohttp.ClientRequest, handler: Any) -> aiohttp.ClientResponse:
        if request.url.origin() != origin:
            for name in names:
                request.headers.popall(name, None)
        response: aiohttp.ClientResponse = await handler(request)
        return response

    return middleware


def _declared_text(raw: _Raw) -> bytes | str:
    """The body for the JSON parser. JSON is UTF-8 (RFC 8259), but an API that declares another
    charset (`application/json; charset=iso-8859-1`) is read in it, as requests would."""
    for part in raw.headers.get("Content-Type", "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        charset = value.strip().strip('"').lower()
        if key.lower() == "charset" and charset.replace("-", "").replace("_", "") not in ("utf8", "ascii", "usascii"):
            try:
                return raw.content.decode(charset)
            except (LookupError, UnicodeDecodeError):
                return raw.content  # an unknown or wrong charset: let the parser say what is wrong
    return raw.content


def _matching_action(actions: tuple[ResponseAction, ...], raw: _Raw) -> ResponseAction | None:
    text: str | None = None
    for action in actions:
        if action.status_code is not None and action.status_code != raw.status:
            continue
        if action.content is not None:
            text = text if text is not None else raw.content.decode("utf-8", "replace")
            if action.content not in text:
                continue
        if action.status_code is None and action.content is None and isinstance(action.action, str):
            continue
        return action
    return None

