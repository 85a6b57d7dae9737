"""Run statistics: what the progress display and the run summary show."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class WallTimer:
    """Wall time during which at least one of many concurrent waits was under way: eight
    requests waiting the same second are one second of waiting, not eight."""

    clock: Callable[[], float] = time.monotonic
    total: float = 0.0
    _open: int = 0
    _since: float = 0.0

    def begin(self) -> None:
        if self._open == 0:
            self._since = self.clock()
        self._open += 1

    def end(self) -> None:
        self._open -= 1
        if self._open == 0:
            self.total += self.clock() - self._since

    @property
    def seconds(self) -> float:
        return self.total + (self.clock() - self._since if self._open else 0.0)


@dataclass
class ResourceStats:
    name: str
    requests: int = 0
    retries: int = 0
    pages: int = 0
    records: int = 0
    skipped_children: int = 0
    wasted_requests: int = 0
    selector_misses: int = 0  # pages where the data_selector matched nothing (empty pages, as in dlt)
    selector_miss: str | None = None  # what the last such page held instead
    bytes: int = 0
    rate_limit_wait: float = 0.0  # wall seconds during which a request of this resource waited for the source's pace
    in_flight: int = 0
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    rows: dict[str, int] = field(default_factory=dict)  # loaded rows per table, filled after the load

    @property
    def warning(self) -> str | None:
        """A likely typo: the selector matched nothing on every page of the resource."""
        if self.pages and self.selector_misses >= self.pages and self.selector_miss:
            return f"resource '{self.name}': on all {self.pages} pages, {self.selector_miss}"
        return None

    @property
    def seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        data["rate_limit_wait"] = round(self.rate_limit_wait, 3)
        for key in ("started", "finished", "in_flight"):
            data.pop(key)
        return data


@dataclass
class RunStats:
    resources: dict[str, ResourceStats] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    rate_limit_wait: float = 0.0  # wall seconds during which any request waited for the pace (not a sum over requests)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def of(self, name: str) -> ResourceStats:
        if name not in self.resources:
            self.resources[name] = ResourceStats(name)
        return self.resources[name]

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.resources.values())

    @property
    def retries(self) -> int:
        return sum(r.retries for r in self.resources.values())

    @property
    def warnings(self) -> list[str]:
        return [w for r in self.resources.values() if (w := r.warning)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "retries": self.retries,
            "max_in_flight": self.max_in_flight,
            "rate_limit_wait": round(self.rate_limit_wait, 3),
            "resources": {name: r.as_dict() for name, r in self.resources.items()},
        }
