"""The run: one task group, one task per pagination chain, and when resources are complete.

A chain is one resource crossed with one parent record (or none, for top-level
resources). Chains run concurrently; HTTP concurrency is bounded by the client's permits and
fan-out by a bound on open chains, so a parent with 100k records does not create 100k tasks
at once. Records flow to a `Sink`, which applies back-pressure.

`Engine` owns the run's lifecycle: starting chains (top-level, per window, per parent record
delivered, or where a checkpoint left them), delivering released pages, telling the sink
when a resource is complete, and pausing for a checkpoint. Elsewhere: a chain's fetch loop
(`chain`), its placeholder values and windows (`scope`), the checkpoint gate (`gate`), the
knobs (`options`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..checkpoint.frontier import ChainPoint, Snapshot
from ..config.specs import ResourceSpec, SourceSpec
from ..errors import HTTPStatusError, ResourceError
from ..http.client import HttpClient
from ..http.pacing import Pacer
from ..redact import redact_text, redact_url
from .chain import Chain, Pager
from .gate import Gate
from .options import RunOptions
from .order import Sequence, Slot
from .parents import ParentFeed
from .requests import include_parent_fields, parent_context
from .scope import chain_context, span, walk_from, windowed, windows
from .stats import RunStats
from .windows import Window

__all__ = ["Engine", "RunOptions", "Sink", "with_ancestors"]

log = logging.getLogger("sluice.engine")

_Chain = Chain  # the name tests know it by


class Sink(Protocol):
    async def put(self, resource: str, records: list[Any]) -> None: ...

    def finish(self, resource: str) -> None: ...


@dataclass
class _Progress:
    """Open chains per resource, to tell the sink exactly when a resource is complete."""

    open: dict[str, int] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    chains: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


class Engine:
    # Whether a child resource whose every request answered 404 fails the run here. A shard of
    # a Dask run sees only some parents: its coordinator judges over every shard instead.
    judges_all_skipped = True

    def __init__(self, source: SourceSpec, targets: set[str], sink: Sink, *, stats: RunStats | None = None,
                 incremental: Mapping[str, Mapping[str, Any]] | None = None, options: RunOptions | None = None,
                 pacer: Pacer | None = None, resume: Snapshot | None = None) -> None:
        self.source = source
        self.targets = set(targets)
        self.needed = with_ancestors(source, self.targets)
        self.sink = sink
        self.stats = stats or RunStats()
        self.incremental = incremental or {}
        self.options = options or RunOptions()
        self.pacer = pacer
        self._progress = _Progress()
        self._budgets = {r.name: asyncio.Semaphore(self._unreleased(r)) for r in source.resources}
        self._running = {r.name: asyncio.Semaphore(self.options.max_open_chains) for r in source.resources}
        self._sequences = {r.name: self._sequence(r) for r in source.resources}
        self._feeds = {r.name: ParentFeed(r, self.incremental.get(r.name, {})) for r in source.resources}
        self._resume = resume
        # Checkpoints: a gate every chain passes before a request, and what is busy or idle behind it.
        self._gate = Gate()
        self._starts: dict[str, deque[tuple[ResourceSpec, Any, Window | None]]] = {}  # per parent: children to start
        self._walks: dict[str, tuple[Any, Any]] = {}  # windowed resource -> (next window's start, end)
        self._resuming: deque[ChainPoint] = deque()

    def _unreleased(self, resource: ResourceSpec) -> int:
        # Windows keep the tighter bound: a finished window behind the head is fetched again
        # after a crash, and windows are few and even; children are many and uneven.
        return self.options.max_unreleased_chains if resource.parent is not None else self.options.max_open_chains

    def _sequence(self, resource: ResourceSpec) -> Sequence:
        async def release(slot: Slot, records: list[Any]) -> None:
            await self._deliver(resource, records, slot.parent)

        def released(slot: Slot) -> None:
            if slot.parent is not None or windowed(resource):
                self._budgets[resource.name].release()
            self._close(resource)

        return Sequence(release, released)

    async def run(self) -> RunStats:
        spec = self.source.http
        async with HttpClient(spec, self.stats, self.source.secrets, self.pacer, self.options.max_retry_delay) as http:
            self.http = http
            self._pager = Pager(self.source, http, self.options, self._gate, self._sequences)
            try:
                async with asyncio.TaskGroup() as group:
                    self.group = group
                    covered = self._resume.needed & self.needed if self._resume else set()
                    if self._resume:
                        group.create_task(self._resumed(self._resume, covered))
                    for resource in self.source.resources:
                        if resource.name in self.needed and resource.parent is None and resource.name not in covered:
                            self._begin(resource)
            except BaseExceptionGroup as eg:
                raise _first_error(eg) from None
            finally:
                self.stats.rate_limit_wait = http.pacer.waited
                self.stats.finished = time.monotonic()
        for name in self.needed:
            self._finish(name)
        return self.stats

    # -- checkpoints ---------------------------------------------------------------------
    async def pause(self, done: asyncio.Future[Any] | asyncio.Task[Any] | None = None) -> Snapshot:
        """Stop starting requests, let those in flight land, and return where every unfinished
        chain restarts. Quiet means every task waits at the gate, on a budget, or for room
        behind the head: no request in flight, no page on its way to the sink."""
        await self._gate.close(lambda: sum(s.waiting for s in self._sequences.values()), done)
        return self.snapshot()

    def proceed(self) -> None:
        self._gate.open()

    def snapshot(self) -> Snapshot:
        chains = list(self._resuming)
        for resource in self.source.resources:
            if resource.name in self.needed:
                for slot in self._sequences[resource.name].slots():
                    is_open, request, skip = slot.restart()
                    if is_open:
                        chains.append(ChainPoint(resource.name, slot.parent, _bounds(slot.window), request, skip, slot.first))
        for starts in self._starts.values():
            chains += [ChainPoint(child.name, record, _bounds(window)) for child, record, window in starts]
        return Snapshot(chains, dict(self._walks), set(self.needed))

    async def _acquire(self, name: str) -> None:
        """A place in the resource's order, then a running chain's: counted idle while waiting."""
        await self._gate.acquire(self._budgets[name], self._running[name])

    async def _resumed(self, resume: Snapshot, covered: set[str]) -> None:
        """Restart a checkpoint's chains and walks; resources it covered with nothing left are
        complete. Each covered resource is held open until its chains have started."""
        with self._gate.running():
            for name in covered:
                self._progress.open[name] = self._progress.open.get(name, 0) + 1
            self._resuming.extend(p for p in resume.chains if p.resource in covered)
            while self._resuming:
                point = self._resuming[0]
                resource = self.source.resource(point.resource)
                if resource.parent is not None or point.window is not None:
                    await self._acquire(resource.name)
                self._resuming.popleft()
                self._start(resource, point.parent, Window(*point.window) if point.window else None, point)
            for name, (start, end) in resume.walks.items():
                if name in covered:
                    self._progress.open[name] += 1
                    self.group.create_task(self._walk(self.source.resource(name), (start, end)))
            for resource in self.source.resources:  # parents first: a child completes after its parent
                if resource.name in covered:
                    self._close(resource)

    def _open(self, resource: ResourceSpec) -> None:
        stats = self.stats.of(resource.name)
        stats.started = stats.started or time.monotonic()
        self._progress.open[resource.name] = self._progress.open.get(resource.name, 0) + 1
        self._progress.chains[resource.name] = self._progress.chains.get(resource.name, 0) + 1

    def _close(self, resource: ResourceSpec) -> None:
        self._progress.open[resource.name] -= 1
        self._maybe_finish(resource.name)

    def _maybe_finish(self, name: str) -> None:
        spec = self.source.resource(name)
        parent_done = spec.parent is None or spec.parent in self._progress.finished
        if self._progress.open.get(name, 0) == 0 and parent_done and name not in self._progress.finished:
            self._check_all_skipped(spec)
            self._finish(name)
            for child in self.source.children(name):
                if child.name in self.needed:
                    self._maybe_finish(child.name)

    def _finish(self, name: str) -> None:
        if name in self._progress.finished:
            return
        self._progress.finished.add(name)
        stats = self.stats.of(name)
        stats.finished = time.monotonic()
        if stats.warning:
            log.warning("%s: check the data_selector", stats.warning)
        if name in self.targets:
            self.sink.finish(name)

    def chain_counts(self) -> dict[str, tuple[int, int]]:
        """Per resource: (chains started, of them skipped for a 404), for a judge over several engines."""
        return {name: (n, self._progress.skipped.get(name, 0)) for name, n in self._progress.chains.items()}

    def _check_all_skipped(self, spec: ResourceSpec) -> None:
        chains, skipped = self._progress.chains.get(spec.name, 0), self._progress.skipped.get(spec.name, 0)
        if self.judges_all_skipped and chains >= 2 and skipped == chains:
            raise HTTPStatusError(
                f"every one of {chains} requests answered 404: check the path '{spec.endpoint.path}'",
                resource=spec.name, status=404,
            )

    def _begin(self, resource: ResourceSpec) -> None:
        if not windowed(resource):
            self._start(resource, None)
            return
        # The walk holds its resource open until its last window has started.
        self._progress.open[resource.name] = self._progress.open.get(resource.name, 0) + 1
        self.group.create_task(self._walk(resource))

    async def _walk(self, resource: ResourceSpec, remaining: tuple[Any, Any] | None = None) -> None:
        """A windowed top-level resource: a chain per window, opened in window order (so pages
        reach dlt in order) as the resource's open-chain budget allows. `remaining`: the range
        a checkpoint left to walk."""
        with self._gate.running():
            start, end = remaining or span(resource, self.incremental.get(resource.name, {}), None)
            for window in walk_from(resource, start, end):
                self._walks[resource.name] = (window.start, end)
                await self._acquire(resource.name)
                self._start(resource, None, window)
            self._walks.pop(resource.name, None)
            self._close(resource)

    def _windows(self, resource: ResourceSpec, parent_record: Any) -> Iterable[Window | None]:
        """The windows of one chain's range, [start, end_value or now); [None] when not windowed."""
        return windows(resource, self.incremental.get(resource.name, {}), parent_record)

    def _start(self, resource: ResourceSpec, parent_record: Any, window: Window | None = None,
               point: ChainPoint | None = None) -> None:
        self._open(resource)
        slot = self._sequences[resource.name].open(parent_record, window)
        chain = Chain(resource.endpoint.data_selector, slot, window, resume=point)
        self.group.create_task(self._chain(resource, chain))

    async def _chain(self, resource: ResourceSpec, chain: Chain) -> None:
        with self._gate.running():
            await self._run_chain(resource, chain)
        if chain.slot.parent is not None or windowed(resource):
            self._running[resource.name].release()  # its place in the order is kept until released

    async def _run_chain(self, resource: ResourceSpec, chain: Chain) -> None:
        try:
            await self._pager.paginate(resource, chain, self._context(resource, chain.slot.parent, chain.window))
        except HTTPStatusError as exc:
            if chain.slot.parent is None or exc.status != 404:
                raise _named(exc, resource.name, self.source.secrets) from None
            self._progress.skipped[resource.name] = self._progress.skipped.get(resource.name, 0) + 1
            self.stats.of(resource.name).skipped_children += 1
            log.info("resource '%s': a parent has none (404): %s", resource.name, exc.url)
        except ResourceError as exc:
            raise _named(exc, resource.name, self.source.secrets) from None
        # Only a chain that ended well may complete its resource: closing a failed or cancelled
        # chain would tell the sink the resource is done before the error reaches it, and dlt
        # would load a partial table as if the run had succeeded. It completes once released,
        # in order, after every chain started before it.
        await self._sequences[resource.name].close(chain.slot)


    async def _deliver(self, resource: ResourceSpec, records: list[Any], parent_record: Any) -> None:
        """A page, released in order: to the sink, and a chain per record for each child."""
        if parent_record is not None and resource.include_from_parent:
            include_parent_fields(resource, records, parent_record)
        if parent_record is not None and (cursors := self.incremental.get(resource.name, {}).get("per_parent")):
            records = cursors.keep(parent_context(resource, parent_record), records)
        feed = self._feeds[resource.name]
        records = feed.loaded(records)
        if resource.name in self.targets and records:
            await self.sink.put(resource.name, records)
        children = [c for c in self.source.children(resource.name) if c.name in self.needed]
        if not children:
            return
        # Kept where a checkpoint sees them: children not started yet are part of the frontier.
        starts = self._starts[resource.name] = deque(
            (child, record, window) for record in feed.for_children(records) for child in children
            for window in self._windows(child, record))
        while starts:
            child, record, window = starts[0]
            await self._acquire(child.name)
            starts.popleft()
            self._start(child, record, window)

    def _context(self, resource: ResourceSpec, parent_record: Any, window: Window | None = None) -> dict[str, Any]:
        """A chain's placeholder values (see scope.chain_context)."""
        return chain_context(resource, self.incremental.get(resource.name, {}), parent_record, window)


def _bounds(window: Window | None) -> tuple[Any, Any] | None:
    return None if window is None else (window.start, window.end)


def with_ancestors(source: SourceSpec, targets: set[str]) -> set[str]:
    """The resources a run of `targets` fetches: each target and the parents its chains start from."""
    needed = set()
    for name in targets:
        while name and name not in needed:
            needed.add(name)
            name = source.resource(name).parent or ""
    return needed


def _named(exc: ResourceError, name: str, secrets: tuple[str, ...]) -> ResourceError:
    """The error with its resource named and every secret masked: errors raised below the
    client (loops, selectors, templates) carry URLs and values the client never redacted."""
    url = redact_url(exc.url, secrets) if exc.url else ""
    return type(exc)(redact_text(exc.detail, secrets), resource=exc.resource or name, url=url, status=exc.status,
                     attempts=exc.attempts)


def _first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_error(exc)
        if not isinstance(exc, asyncio.CancelledError):
            found: BaseException = exc
            return found
    first: BaseException = group.exceptions[0]
    return first
