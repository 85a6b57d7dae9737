"""The contract between the server and one mock API.

A `MockApi` owns its data (built once in `__init__`, from `counts`, `seed`, `options`), its
routes and its way of saying no (401, 403, 429, other errors). The server owns everything
generic: threads, faults, latency, the request log and the in-flight counters.

Handlers are plain functions `request -> Reply` (the data is in memory, nothing awaits);
they raise `Abort(reply)` for a bad parameter or an unknown id.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from aiohttp import web

from ._http import Reply

Record = dict[str, Any]
Handler = Callable[[web.Request], Reply]


@dataclass(frozen=True, slots=True)
class Route:
    """`name` is what faults, counters and the log use; `path` is an aiohttp pattern."""

    name: str
    path: str
    handler: Handler


class MockApi(abc.ABC):
    """One mock API. Subclasses set the class attributes and implement the abstract methods.

    >>> class Hello(MockApi):
    ...     name, api_key, base_path = "hello", "k", ""
    ...     default_counts = {"items": 3}
    """

    name: ClassVar[str]
    api_key: ClassVar[str]
    base_path: ClassVar[str]  # origin + base_path == the base_url the seed config needs
    default_counts: ClassVar[Mapping[str, int | None]]  # None: varies per parent
    option_defaults: ClassVar[Mapping[str, Any]] = {}
    aliases: ClassVar[Mapping[str, str]] = {}  # seed resource name -> mock resource name
    primary_key: ClassVar[str] = "id"

    def __init__(self, counts: Mapping[str, int], seed: int, options: Mapping[str, Any]) -> None:
        self.counts = {**self.default_counts, **_checked_counts(self, counts)}
        self.options = {**self.option_defaults, **_checked_options(self, options)}
        self.seed = seed

    @abc.abstractmethod
    def routes(self) -> list[Route]: ...

    @abc.abstractmethod
    def authenticate(self, request: web.Request) -> bool: ...

    @abc.abstractmethod
    def unauthorized(self) -> Reply: ...

    @abc.abstractmethod
    def error(self, status: int, message: str | None = None) -> Reply:
        """The API's generic error body for `status`."""

    @abc.abstractmethod
    def throttled(self, retry_after_s: float) -> Reply:
        """The API's real 429, with its real rate-limit headers."""

    @abc.abstractmethod
    def records(self, resource: str) -> list[Record]:
        """Ground truth: what the API serves for `resource` (an alias already resolved)."""

    def forbidden(self) -> Reply:
        return self.error(403)

    def gate(self, route: str, request: web.Request) -> Reply | None:
        """Per-API refusals before the handler runs (disabled module, rate budget)."""
        return None

    def decorate(self, reply: Reply) -> Reply:
        """Headers the API puts on every authenticated answer."""
        return reply

    def count(self, resource: str) -> int:
        """The configured count of a resource that has a fixed default."""
        value = self.counts[resource]
        assert value is not None, f"{resource} has no fixed count"
        return value

    def route_names(self) -> list[str]:
        return [route.name for route in self.routes()]

    def resource(self, name: str) -> str:
        resolved = self.aliases.get(name, name)
        if resolved not in self.resource_names():
            known = ", ".join(sorted(self.resource_names()))
            raise KeyError(f"mock {self.name!r} has no resource {name!r}; known: {known}")
        return resolved

    def resource_names(self) -> list[str]:
        return self.route_names()


def _checked_counts(api: MockApi, counts: Mapping[str, int]) -> dict[str, int]:
    unknown = sorted(set(counts) - set(api.default_counts))
    if unknown:
        known = ", ".join(sorted(api.default_counts))
        raise ValueError(f"mock {api.name!r}: unknown count(s) {unknown}; known: {known}")
    bad = {k: v for k, v in counts.items() if not isinstance(v, int) or v < 0}
    if bad:
        raise ValueError(f"mock {api.name!r}: counts must be integers >= 0, got {bad}")
    return dict(counts)


def _checked_options(api: MockApi, options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(api.option_defaults))
    if unknown:
        known = ", ".join(sorted(api.option_defaults)) or "none"
        raise ValueError(f"mock {api.name!r}: unknown option(s) {unknown}; known: {known}")
    return dict(options)
