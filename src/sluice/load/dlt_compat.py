"""Adapters for dlt's own objects given in a configuration: paginator and auth instances,
response hooks. They work on `requests` objects, so we build those at this one edge."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import requests

from ..errors import ResponseError
from ..model import Page, PageRequest, freeze


def _requests_response(status: int, url: str, headers: Mapping[str, str], content: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.url = url
    response.headers.update(headers)
    response._content = content
    response.encoding = "utf-8"
    response.request = requests.Request("GET", url).prepare()
    return response


def run_response_hooks(hooks: Any, status: int, url: str, headers: Mapping[str, str], content: bytes) -> tuple[int, dict[str, str], bytes, bool]:
    """Run dlt-style response hooks; they may change the response or ask to ignore it."""
    from dlt.sources.helpers.rest_client.exceptions import IgnoreResponseException

    response = _requests_response(status, url, headers, content)
    try:
        for hook in hooks:
            result = hook(response)
            if isinstance(result, requests.Response):
                response = result
    except IgnoreResponseException:
        return status, dict(headers), content, True
    return response.status_code, dict(response.headers), response.content, False


@dataclass(frozen=True)
class DltPaginatorAdapter:
    """A dlt paginator instance driven by sluice: one deep copy per chain (it is stateful)."""

    paginator: Any

    def first(self, request: PageRequest) -> PageRequest:
        own = copy.deepcopy(self.paginator)
        prepared = requests.Request(request.method, request.url, params=dict(request.params), json=request.json)
        own.init_request(prepared)
        return self._apply(request, prepared).with_state(dlt_paginator=own)

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        own: Any = request.state["dlt_paginator"]

        response = _requests_response(page.status, page.url, page.headers, orjson.dumps(page.body))
        try:
            own.update_state(response, page.records)
        except ValueError as exc:
            raise ResponseError(str(exc)) from None
        if not own.has_next_page:
            return None
        prepared = requests.Request(request.method, request.url, params=dict(request.params), json=request.json)
        own.update_request(prepared)
        return self._apply(request, prepared)

    @staticmethod
    def _apply(request: PageRequest, prepared: requests.Request) -> PageRequest:
        params: dict[str, Any] = dict(prepared.params or {})  # type: ignore[arg-type]
        return replace(request, url=str(prepared.url), params=freeze(params), json=prepared.json)


@dataclass(frozen=True, repr=False)
class RequestsAuthAdapter:
    """A requests `AuthBase` (dlt's auth classes are ones) applied to each request."""

    auth: Callable[[Any], Any]
    _secrets: tuple[str, ...] = field(default=())

    @property
    def secrets(self) -> tuple[str, ...]:
        found = []
        for name in ("token", "api_key", "password", "client_secret", "access_token", "username", "client_id"):
            value = getattr(self.auth, name, None)
            if isinstance(value, str) and value:
                found.append(value)
        return tuple(found)

    async def apply(self, request: PageRequest, session: Any) -> PageRequest:
        prepared = requests.Request(request.method, request.url, params=dict(request.params), headers=dict(request.headers)).prepare()
        signed = self.auth(prepared)
        return replace(request, url=signed.url, params=freeze({}), headers=freeze(dict(signed.headers)))

    def __repr__(self) -> str:
        return f"RequestsAuthAdapter({type(self.auth).__name__})"
