"""The exception tree of sluice, split by what the engine does next.

    SluiceError
    ├── ConfigError          the configuration is wrong; raised before any request, with every problem
    ├── RetryableError       a transient failure of one exchange; handled inside, surfaced when exhausted
    ├── SkippableError       a child request with nothing to give (404 after retries); counted, run goes on
    └── FatalError           the run stops
        ├── HTTPStatusError  a status that is not retried, or retries exhausted
        ├── ResponseError    a response the configuration cannot read (selector, JSON, paging fields)
        └── LoopError        the API repeats a page, a cursor or a next URL

    KeyboardInterrupt
    └── RunInterrupted       SIGINT or SIGTERM stopped a run (not a SluiceError: `except
                             Exception` must not swallow it)

Messages say where (resource, sanitized URL), what was expected and what came. URLs and
bodies pass through `sluice.redact` before they reach a message, so no secret leaks.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any


class SluiceError(Exception):
    """Root of every error sluice raises on purpose."""


@dataclass(frozen=True)
class Issue:
    """One problem in a configuration: where it is, what is wrong, what to do."""

    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(SluiceError, ValueError):
    """The configuration cannot run. Carries every problem found, not just the first."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = list(issues)
        count = len(self.issues)
        head = f"{count} problem{'s' if count != 1 else ''} in the configuration:"
        super().__init__("\n".join([head, *(f"  - {issue}" for issue in self.issues)]))


class RetryableError(SluiceError):
    """A transient failure of one HTTP exchange (status, connection, timeout, cut body)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class FatalError(SluiceError):
    """The run cannot go on."""


class ResourceError(FatalError):
    """A failure bound to one resource and one request."""

    def __init__(
        self,
        message: str,
        *,
        resource: str = "",
        url: str = "",
        status: int | None = None,
        attempts: int = 0,
    ) -> None:
        self.detail = message
        self.resource = resource
        self.url = url
        self.status = status
        self.attempts = attempts
        where = f"resource '{resource}'" if resource else "request"
        parts = [f"{where}: {message}"]
        if url:
            parts.append(f"url: {url}")
        if status is not None:
            parts.append(f"status: {status}")
        if attempts:
            parts.append(f"attempts: {attempts}")
        super().__init__("; ".join(parts))


class HTTPStatusError(ResourceError):
    """A status the configuration does not accept, after any retries."""


class ResponseError(ResourceError):
    """A response the configuration cannot read."""


class LoopError(ResourceError):
    """The API sent the chain back to a page it already gave."""


class SkippableError(SluiceError):
    """A child request with nothing to give: the parent contributes no rows."""

    def __init__(self, message: str, *, status: int, url: str) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class RunInterrupted(KeyboardInterrupt):
    """A signal stopped the run: `signum` (SIGINT or SIGTERM), and `result`, what the run had
    fetched by then (a `sluice.runner.RunResult` with no rows loaded)."""

    def __init__(self, signum: int, result: Any = None) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum
        self.result = result
