"""Static schemes (bearer, api_key, basic) and OAuth2 client credentials."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import orjson

from ..config.reader import Reader, suggest
from ..errors import FatalError
from ..model import PageRequest, freeze
from ..redact import redact_text, truncate


class Auth(Protocol):
    @property
    def secrets(self) -> tuple[str, ...]: ...

    async def apply(self, request: PageRequest, session: Any) -> PageRequest: ...


def _with_header(request: PageRequest, name: str, value: str) -> PageRequest:
    return replace(request, headers=freeze({**request.headers, name: value}))


@dataclass(frozen=True, repr=False)
class BearerAuth:
    token: str

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.token,)

    async def apply(self, request: PageRequest, session: Any) -> PageRequest:
        return _with_header(request, "Authorization", f"Bearer {self.token}")

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


@dataclass(frozen=True, repr=False)
class APIKeyAuth:
    api_key: str
    name: str = "Authorization"
    location: str = "header"

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.api_key,)

    async def apply(self, request: PageRequest, session: Any) -> PageRequest:
        if self.location == "query":
            # Query-string auth rides on every request, next URLs included: replace, never duplicate.
            return replace(request, params=freeze({**request.params, self.name: self.api_key}))
        if self.location == "cookie":
            cookie = request.headers.get("Cookie")
            value = f"{self.name}={self.api_key}"
            return _with_header(request, "Cookie", f"{cookie}; {value}" if cookie else value)
        return _with_header(request, self.name, self.api_key)

    def __repr__(self) -> str:
        return f"APIKeyAuth(name={self.name!r}, location={self.location!r}, api_key=***)"


@dataclass(frozen=True, repr=False)
class BasicAuth:
    username: str
    password: str

    @property
    def secrets(self) -> tuple[str, ...]:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return (self.username, self.password, token)

    async def apply(self, request: PageRequest, session: Any) -> PageRequest:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return _with_header(request, "Authorization", f"Basic {token}")

    def __repr__(self) -> str:
        return "BasicAuth(username=***, password=***)"


@dataclass(frozen=True, repr=False)
class OAuth2ClientCredentials:
    """Fetches a token at the first request and again shortly before it expires."""

    access_token_url: str
    client_id: str
    client_secret: str
    access_token_request_data: Mapping[str, Any] = field(default_factory=dict)
    default_token_expiration: int = 3600
    client_auth: str = "body"  # RFC 6749 2.3.1: id and secret as form fields (dlt's way) or HTTP Basic
    _cache: dict[str, Any] = field(default_factory=dict, compare=False)
    _lock: asyncio.Lock | None = field(default=None, compare=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        # The Basic credential of the token request is the secret too, base64-encoded: a token
        # endpoint that echoes the request in its error would show it.
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return tuple(s for s in (self.client_secret, self.client_id, basic, self._cache.get("token")) if s)

    async def apply(self, request: PageRequest, session: Any) -> PageRequest:
        token = await self._token(session)
        return _with_header(request, "Authorization", f"Bearer {token}")

    async def _token(self, session: Any) -> str:
        if self._cache.get("token") and time.monotonic() < self._cache["expires"]:
            return str(self._cache["token"])
        lock = self._cache.setdefault("lock", asyncio.Lock())
        async with lock:
            if self._cache.get("token") and time.monotonic() < self._cache["expires"]:
                return str(self._cache["token"])
            body = await self._request_token(session)
            self._cache["token"] = body["access_token"]
            ttl = int(body.get("expires_in", self.default_token_expiration))
            self._cache["expires"] = time.monotonic() + max(ttl - 60, ttl * 0.9)
            return str(body["access_token"])

    async def _request_token(self, session: Any) -> dict[str, Any]:
        data, headers = self._token_request()
        async with session.post(self.access_token_url, data=data, headers=headers) as response:
            raw = await response.read()
            if response.status >= 400:
                text = redact_text(truncate(raw.decode("utf-8", "replace")), self.secrets)
                raise FatalError(f"oauth2 token request to {self.access_token_url} failed: status {response.status}: {text}")
            body = orjson.loads(raw)
        return self._token_body(body)

    def _token_body(self, body: Any) -> dict[str, Any]:
        """The token response with `access_token` (and `expires_in`) in it; a subclass whose
        provider names them otherwise renames them here."""
        if not isinstance(body, dict) or "access_token" not in body:
            raise FatalError(f"oauth2 token response from {self.access_token_url} has no access_token")
        return body

    def _token_request(self) -> tuple[dict[str, Any], dict[str, str]]:
        """Form fields and headers of the token request; by default the credentials go in the
        form, as dlt sends them (and as providers that refuse Basic expect)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        data: dict[str, Any] = {"grant_type": "client_credentials"}
        if self.client_auth == "basic":
            basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        else:
            data.update(client_id=self.client_id, client_secret=self.client_secret)
        return {**data, **self.access_token_request_data}, headers

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials(access_token_url={self.access_token_url!r}, client_id=***, client_secret=***)"


KEYS: dict[str, dict[str, str]] = {
    "bearer": {"token": "the bearer token (required)"},
    "api_key": {
        "api_key": "the key (required)", "name": "header, query parameter or cookie name (default 'Authorization')",
        "location": "'header' (default), 'query' or 'cookie'",
    },
    "http_basic": {"username": "user name (required)", "password": "password (may be empty)"},
    "oauth2_client_credentials": {
        "access_token_url": "token endpoint (required)", "client_id": "required", "client_secret": "required",
        "access_token_request_data": "extra form fields", "default_token_expiration": "seconds (default 3600)",
        "client_auth": "sluice: 'body' (default, as dlt: client_id and client_secret as form fields) or 'basic' (HTTP Basic)",
    },
}
ALIASES = {"basic": "http_basic"}


def parse_auth(raw: Any, reader: Reader, key: str) -> Auth | None:
    """An auth object from a config dict or an instance; None (with an issue) when invalid."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        if hasattr(raw, "apply") and hasattr(raw, "secrets"):
            return raw  # type: ignore[no-any-return]
        if callable(raw):  # a requests AuthBase / dlt auth instance
            from ..load.dlt_compat import RequestsAuthAdapter

            return RequestsAuthAdapter(raw)
        reader.problem(key, f"expected an auth dict or instance, got {type(raw).__name__}")
        return None
    sub = Reader(raw, reader.at(key), reader.issues)
    value = raw.get("type") or ("bearer" if "token" in raw else "")
    kind = sub.kind("type", value if isinstance(value, str) else str(value), KEYS, ALIASES, "auth type")
    if kind is None:
        return None
    sub.check_keys(["type", *KEYS[kind]], f"'{kind}' auth")
    return _build(kind, sub)


def _secret(sub: Reader, key: str, *, required: bool = True) -> str | None:
    value = sub.raw.get(key)
    if value is None:
        if required:
            sub.problem(key, "is required")
        return None
    if not isinstance(value, str):
        # Never echo the value: it may be a secret of the wrong type.
        sub.problem(key, f"expected a string, got {type(value).__name__}")
        return None
    return value


def _build(kind: str, sub: Reader) -> Auth | None:
    if kind == "bearer":
        token = _secret(sub, "token")
        return BearerAuth(token) if token is not None else None
    if kind == "api_key":
        key = _secret(sub, "api_key")
        location = sub.str("location", "header")
        if location not in ("header", "query", "cookie"):
            sub.problem("location", f"unknown location {location!r}", "expected one of: cookie, header, query")
            return None
        return APIKeyAuth(key, sub.str("name", "Authorization") or "Authorization", location) if key else None
    if kind == "http_basic":
        user, password = _secret(sub, "username"), _secret(sub, "password", required=False)
        return BasicAuth(user, password or "") if user is not None else None
    url, cid, secret = sub.str("access_token_url", required=True), _secret(sub, "client_id"), _secret(sub, "client_secret")
    if not (url and cid and secret):
        return None
    client_auth = sub.str("client_auth", "body") or "body"
    if client_auth not in ("body", "basic"):
        sub.problem("client_auth", f"unknown value {client_auth!r}", suggest(client_auth, ("body", "basic")) or "expected 'body' or 'basic'")
    return OAuth2ClientCredentials(
        url, cid, secret, dict(sub.mapping("access_token_request_data")),
        sub.int("default_token_expiration", 3600, minimum=1) or 3600, client_auth,
    )
