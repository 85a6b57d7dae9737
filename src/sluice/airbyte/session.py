"""SessionTokenAuthenticator: a login request gives a token that authenticates the rest.

The login request (its own url, method, parameters, headers, JSON body and authenticator)
is made once, before the first request, and again after `expiration_duration`; the token is
read at `session_token_path` and sent as a Bearer header or where the ApiKey option says.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from ..errors import FatalError
from ..model import PageRequest, freeze
from ..redact import redact_text, truncate

_SECRET_KEYS = ("pass", "secret", "token", "key")


@dataclass(frozen=True, repr=False)
class SessionToken:
    login: PageRequest  # the login request, its own auth not yet applied
    token_path: tuple[str, ...]
    header: str = "Authorization"  # where the token goes (a header, or a query parameter)
    prefix: str = "Bearer "
    in_query: bool = False
    login_auth: Any = None
    lifetime: float | None = None  # seconds; None: the token never expires
    _cache: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        own = tuple(self.login_auth.secrets) if self.login_auth is not None else ()
        body = self.login.json if isinstance(self.login.json, Mapping) else {}
        sent = [str(v) for k, v in body.items() if any(word in str(k).lower() for word in _SECRET_KEYS)]
        return (*own, *sent, *([self._cache["token"]] if "token" in self._cache else []))

    async def apply(self, request: PageRequest, session: Any) -> PageRequest:
        token = await self._token(session)
        if self.in_query:
            return request.with_params(**{self.header: token})
        return replace(request, headers=freeze({**request.headers, self.header: f"{self.prefix}{token}"}))

    async def _token(self, session: Any) -> str:
        lock = self._cache.setdefault("lock", asyncio.Lock())
        async with lock:
            if "token" not in self._cache or time.monotonic() >= self._cache["expires"]:
                self._cache["token"] = await self._log_in(session)
                self._cache["expires"] = time.monotonic() + (self.lifetime if self.lifetime else float("inf"))
            return str(self._cache["token"])

    async def _log_in(self, session: Any) -> str:
        login = await self.login_auth.apply(self.login, session) if self.login_auth is not None else self.login
        async with session.request(login.method, login.sent_url(), headers=dict(login.headers), json=login.json) as response:
            raw = await response.read()
        if response.status >= 400:
            text = redact_text(truncate(raw.decode("utf-8", "replace")), self.secrets)
            raise FatalError(f"session login to {self.login.url} failed: status {response.status}: {text}")
        node: Any = orjson.loads(raw)
        for key in self.token_path:
            node = node.get(key) if isinstance(node, Mapping) else None
        if not node:
            raise FatalError(f"session login response from {self.login.url} has no token at {'.'.join(self.token_path)}")
        return str(node)

    def __repr__(self) -> str:
        return f"SessionToken(login={self.login.url!r}, token=***)"
