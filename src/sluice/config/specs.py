"""Frozen specs: the configuration as the engine reads it, parsed once at the boundary."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import EMPTY

ALWAYS_RETRIED = frozenset({429, 500, 502, 503, 504})
# A 1 MB gzip body of 1 GB of zeros peaked at 3.2 GB RSS when read whole: decoded bodies stop here.
MAX_RESPONSE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class RetrySpec:
    """`max_retries` retries after the first attempt; wait n: backoff_factor * 2**(n-1) s."""

    max_retries: int = 4
    backoff_factor: float = 1.0
    extra_status: frozenset[int] = frozenset()
    max_retry_delay: float = 60.0

    @property
    def statuses(self) -> frozenset[int]:
        return ALWAYS_RETRIED | self.extra_status

    def delay(self, retry: int) -> float:
        return float(min(self.backoff_factor * 2 ** (retry - 1), self.max_retry_delay))


@dataclass(frozen=True)
class RateLimitSpec:
    requests_per_second: float
    burst: int = 1


@dataclass(frozen=True)
class HttpSpec:
    """The politeness settings of one source (sluice's own `client` keys)."""

    max_concurrency: int = 8
    rate_limit: RateLimitSpec | None = None
    timeout: float = 60.0
    max_response_bytes: int = MAX_RESPONSE_BYTES


@dataclass(frozen=True)
class ResponseAction:
    status_code: int | None
    content: str | None
    action: str | tuple[Callable[..., Any], ...]


@dataclass(frozen=True)
class IncrementalSpec:
    cursor_path: str
    initial_value: Any = None
    end_value: Any = None
    start_param: str | None = None
    end_param: str | None = None
    last_value_func: Any = None
    lag: float | None = None
    on_cursor_value_missing: str = "raise"
    convert: Callable[[Any], Any] | None = None
    range_start: str | None = None
    range_end: str | None = None
    window: Any = None  # a pendulum Duration (time cursors) or a positive number (numeric cursors)
    window_granularity: Any = None  # sent ends step back by this much (an inclusive end bound)
    per_parent: bool = False  # one cursor per parent record (a child resource)


@dataclass(frozen=True)
class Binding:
    """A value taken from each parent record: `{resources.<parent>.<field>}` and friends."""

    placeholder: str  # the text inside the braces, e.g. "resources.events._id" or "eventid"
    field: str  # the parent's field (dotted)
    param: str | None = None  # a legacy `resolve` param: the query parameter it replaces


@dataclass(frozen=True)
class EndpointSpec:
    path: str
    method: str = "GET"
    params: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    json: Any = None
    data: Any = None
    headers: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    paginator: Any = None
    data_selector: str | None = None
    response_actions: tuple[ResponseAction, ...] = ()
    incremental: IncrementalSpec | None = None
    auth: Any = None
    retry: RetrySpec = field(default_factory=RetrySpec)
    max_concurrency: int | None = None  # requests in flight for this resource (within the source's)
    timeout: float | None = None  # seconds for one exchange, replacing the client's
    max_response_bytes: int | None = None  # cap of one decoded body, replacing the client's


@dataclass(frozen=True)
class ResourceSpec:
    name: str
    endpoint: EndpointSpec
    parent: str | None = None
    bindings: tuple[Binding, ...] = ()
    include_from_parent: tuple[str, ...] = ()
    hints: Mapping[str, Any] = field(default_factory=lambda: EMPTY)  # dlt resource hints: table_name, primary_key, columns, ...
    processing_steps: tuple[Mapping[str, Any], ...] = ()
    selected: bool = True

    @property
    def steps_in_engine(self) -> bool:
        """The engine runs the processing steps, once, before records reach dlt or children;
        with an incremental, dlt runs them after its filter (its order), as in dlt."""
        return bool(self.processing_steps) and self.endpoint.incremental is None


@dataclass(frozen=True)
class SourceSpec:
    base_url: str
    headers: Mapping[str, Any]
    resources: tuple[ResourceSpec, ...]
    http: HttpSpec = field(default_factory=HttpSpec)
    extra_resources: tuple[Any, ...] = ()  # dlt resources given as-is in `resources`

    def resource(self, name: str) -> ResourceSpec:
        for spec in self.resources:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def children(self, name: str) -> tuple[ResourceSpec, ...]:
        return tuple(r for r in self.resources if r.parent == name)

    @property
    def secrets(self) -> tuple[str, ...]:
        found: list[str] = []
        for spec in self.resources:
            if spec.endpoint.auth is not None:
                found.extend(spec.endpoint.auth.secrets)
        return tuple(dict.fromkeys(found))
