"""The fetch engine: one task group per run, one task per pagination chain.

A chain is one resource crossed with one parent record (or none, for top-level
resources). Chains run concurrently; HTTP concurrency is bounded by the client's permits and
fan-out by a bound on open chains, so a parent with 100k records does not create 100k tasks
at once. Records flow to a `Sink`, which applies back-pressure.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..checkpoint.frontier import ChainPoint, Snapshot
from ..config.placeholders import INCREMENTAL_FIELDS
from ..config.specs import ResourceSpec, SourceSpec
from ..errors import HTTPStatusError, LoopError, ResourceError, ResponseError
from ..http.client import Exchange, HttpClient
from ..http.pacing import Pacer
from ..model import Page, PageRequest
from ..pagination.auto import AutoPaginator
from ..redact import redact_text, redact_url
from .fingerprints import Fingerprints, fingerprint
from .order import Sequence, Slot
from .parents import ParentFeed
from .repeats import PageRepeats
from .requests import first_request, include_parent_fields, parent_context
from .selector import detect, missed, select
from .stats import RunStats
from .windows import Window, now_like, walk

log = logging.getLogger("sluice.engine")


class Sink(Protocol):
    async def put(self, resource: str, records: list[Any]) -> None: ...

    def finish(self, resource: str) -> None: ...


@dataclass(frozen=True)
class RunOptions:
    max_pages: int | None = None  # per chain: a safety cap
    max_open_chains: int = 64  # per resource: chains running at once
    # ... and child chains started and not yet released in order (finished ones wait behind a
    # slow head: a child in retry backoff must not stall the fan-out, nor memory grow).
    max_unreleased_chains: int = 256
    max_retry_delay: float | None = None  # a run-time cap on every retry wait (demo, tests)
    # Page-number and offset chains whose end only a short page tells: after `speculate_after`
    # full pages, keep up to `speculative_window` next pages in flight. A few requests past the
    # end are wasted (counted); 0 turns it off.
    speculative_window: int = 8
    speculate_after: int = 8
    # Hand pages to dlt as Arrow tables shaped exactly as dlt's normalizer would shape them
    # (sluice.load.arrow); a resource falls back to dicts when that cannot be exact.
    arrow: bool = True


@dataclass
class _Progress:
    """Open chains per resource, to tell the sink exactly when a resource is complete."""

    open: dict[str, int] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    chains: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


class Engine:
    def __init__(self, source: SourceSpec, targets: set[str], sink: Sink, *, stats: RunStats | None = None,
                 incremental: Mapping[str, Mapping[str, Any]] | None = None, options: RunOptions | None = None,
                 pacer: Pacer | None = None, resume: Snapshot | None = None) -> None:
        self.source = source
        self.targets = set(targets)
        self.needed = _with_ancestors(source, self.targets)
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
        self._gate = asyncio.Event()
        self._gate.set()
        self._alive = 0  # chain, walk and resume tasks running
        self._idle = 0  # ... of them waiting at the gate or on a budget (Sequence.waiting: on room)
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
            if slot.parent is not None or _windowed(resource):
                self._budgets[resource.name].release()
            self._close(resource)

        return Sequence(release, released)

    async def run(self) -> RunStats:
        spec = self.source.http
        async with HttpClient(spec, self.stats, self.source.secrets, self.pacer, self.options.max_retry_delay) as http:
            self.http = http
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
        self._gate.clear()
        while self._alive > self._idle + sum(s.waiting for s in self._sequences.values()):
            if done is not None and done.done():
                break
            await asyncio.sleep(0.002)
        return self.snapshot()

    def proceed(self) -> None:
        self._gate.set()

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

    async def _gated(self) -> None:
        if self._gate.is_set():
            return
        self._idle += 1
        try:
            await self._gate.wait()
        finally:
            self._idle -= 1

    async def _acquire(self, name: str) -> None:
        """A place in the resource's order, then a running chain's: counted idle while waiting."""
        for budget in (self._budgets[name], self._running[name]):
            if not budget.locked():
                await budget.acquire()  # free: returns without suspending
                continue
            self._idle += 1
            try:
                await budget.acquire()
            finally:
                self._idle -= 1

    async def _resumed(self, resume: Snapshot, covered: set[str]) -> None:
        """Restart a checkpoint's chains and walks; resources it covered with nothing left are
        complete. Each covered resource is held open until its chains have started."""
        self._alive += 1
        try:
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
        finally:
            self._alive -= 1

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

    def _check_all_skipped(self, spec: ResourceSpec) -> None:
        chains, skipped = self._progress.chains.get(spec.name, 0), self._progress.skipped.get(spec.name, 0)
        if chains >= 2 and skipped == chains:
            raise HTTPStatusError(
                f"every one of {chains} requests answered 404: check the path '{spec.endpoint.path}'",
                resource=spec.name, status=404,
            )

    def _begin(self, resource: ResourceSpec) -> None:
        if not _windowed(resource):
            self._start(resource, None)
            return
        # The walk holds its resource open until its last window has started.
        self._progress.open[resource.name] = self._progress.open.get(resource.name, 0) + 1
        self.group.create_task(self._walk(resource))

    async def _walk(self, resource: ResourceSpec, remaining: tuple[Any, Any] | None = None) -> None:
        """A windowed top-level resource: a chain per window, opened in window order (so pages
        reach dlt in order) as the resource's open-chain budget allows. `remaining`: the range
        a checkpoint left to walk."""
        self._alive += 1
        try:
            start, end = remaining or self._range(resource, None)
            for window in self._walk_from(resource, start, end):
                self._walks[resource.name] = (window.start, end)
                await self._acquire(resource.name)
                self._start(resource, None, window)
            self._walks.pop(resource.name, None)
            self._close(resource)
        finally:
            self._alive -= 1

    def _walk_from(self, resource: ResourceSpec, start: Any, end: Any) -> Iterable[Window]:
        spec = resource.endpoint.incremental
        assert spec is not None
        try:
            return list(walk(start, end, spec.window))
        except ValueError as exc:
            raise ResponseError(str(exc), resource=resource.name) from None

    def _windows(self, resource: ResourceSpec, parent_record: Any) -> Iterable[Window | None]:
        """The windows of one chain's range, [start, end_value or now); [None] when not windowed."""
        spec = resource.endpoint.incremental
        if spec is None or spec.window is None:
            return [None]
        return self._walk_from(resource, *self._range(resource, parent_record))

    def _range(self, resource: ResourceSpec, parent_record: Any) -> tuple[Any, Any]:
        context = self._context(resource, parent_record)
        start = context.get("incremental.start_value")
        end = context.get("incremental.end_value")
        return start, end if end is not None else now_like(start)

    def _start(self, resource: ResourceSpec, parent_record: Any, window: Window | None = None,
               point: ChainPoint | None = None) -> None:
        self._open(resource)
        slot = self._sequences[resource.name].open(parent_record, window)
        chain = _Chain(resource.endpoint.data_selector, slot, window, resume=point)
        self.group.create_task(self._chain(resource, chain))

    async def _chain(self, resource: ResourceSpec, chain: _Chain) -> None:
        self._alive += 1
        try:
            await self._run_chain(resource, chain)
        finally:
            self._alive -= 1
        if chain.slot.parent is not None or _windowed(resource):
            self._running[resource.name].release()  # its place in the order is kept until released

    async def _run_chain(self, resource: ResourceSpec, chain: _Chain) -> None:
        try:
            await self._paginate(resource, chain)
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

    async def _paginate(self, resource: ResourceSpec, chain: _Chain) -> None:
        context = self._context(resource, chain.slot.parent, chain.window)
        paginator = resource.endpoint.paginator or AutoPaginator()
        request: PageRequest | None = paginator.first(first_request(self.source, resource, context))
        chain.slot.first = request
        if chain.resume is not None and chain.resume.request is not None and request is not None:
            request = _resumed_request(chain.resume, request)
        while request is not None:
            chain.slot.next = request
            await self._gated()
            chain.check(request, resource, self.options.max_pages)
            page = await self._page(resource, request, chain)
            if page is None:
                return
            plan = getattr(paginator, "plan", None)
            planned = plan(request, page) if plan and chain.count == 1 else None
            if planned:
                await self._fetch_planned(resource, planned, chain)
                return
            request = paginator.next(request, page)
            if request is not None and self._may_speculate(paginator, chain):
                request = await self._speculate(resource, paginator, request, chain)

    def _may_speculate(self, paginator: Any, chain: _Chain) -> bool:
        window = self.options.speculative_window
        return window > 1 and chain.count >= self.options.speculate_after and hasattr(paginator, "speculate")

    async def _speculate(self, resource: ResourceSpec, paginator: Any, request: PageRequest, chain: _Chain) -> PageRequest | None:
        """Fetch ahead in a window; read pages in order, so the paginator still decides the end.

        Returns a request to continue with sequentially when the paginator disagrees with the
        guess (it never should for page_number/offset), or None when the chain is done.
        """
        stats = self.stats.of(resource.name)
        window: deque[tuple[PageRequest, asyncio.Task[Exchange]]] = deque()
        guess: PageRequest | None = request
        try:
            while True:
                while guess is not None and len(window) < self.options.speculative_window:
                    chain.slot.next = window[0][0] if window else guess
                    await self._gated()
                    chain.check(guess, resource, self.options.max_pages)
                    window.append((guess, asyncio.create_task(self.http.fetch(resource.endpoint, guess, stats))))
                    guess = paginator.speculate(guess)
                if not window:
                    return None
                current, task = window.popleft()
                chain.slot.next = current
                page = await self._accept(resource, current, await task, chain)
                following = paginator.next(current, page) if page is not None else None
                if following is None:
                    return None
                if not window or not _same_request(window[0][0], following):
                    return following if not window else self._restart(window, following, chain)
        finally:
            stats.wasted_requests += await _cancel(window)

    @staticmethod
    def _restart(window: deque[Any], following: PageRequest, chain: _Chain) -> PageRequest:
        for request, _ in window:
            chain.seen.discard(fingerprint(request.identity()))
        return following

    async def _fetch_planned(self, resource: ResourceSpec, requests: Iterable[PageRequest], chain: _Chain) -> None:
        """Pages whose requests are all known (a declared total): fetched concurrently, a
        bounded window ahead, and read in order as dlt would read them.

        A declared total is the API's word, not a fact. The plan ends at the first page that
        is empty (the data ended before the total) or repeats another page (the API ignores the
        paging parameter): a lying total costs a window of requests, not millions, and loads
        nothing twice.
        """
        stats = self.stats.of(resource.name)
        pending = iter(requests)
        window: deque[tuple[PageRequest, asyncio.Task[Exchange]]] = deque()
        try:
            while True:
                while len(window) < 2 * self.source.http.max_concurrency and (request := next(pending, None)) is not None:
                    chain.slot.next = window[0][0] if window else request
                    await self._gated()
                    chain.check(request, resource, self.options.max_pages)
                    window.append((request, asyncio.create_task(self.http.fetch(resource.endpoint, request, stats))))
                if not window:
                    return
                current, task = window.popleft()
                chain.slot.next = current
                page = await self._accept(resource, current, await task, chain, planned=True)
                if page is None or not page.records:
                    return
        finally:
            stats.wasted_requests += await _cancel(window)

    async def _page(self, resource: ResourceSpec, request: PageRequest, chain: _Chain) -> Page | None:
        exchange = await self.http.fetch(resource.endpoint, request, self.stats.of(resource.name))
        return await self._accept(resource, request, exchange, chain)

    async def _accept(self, resource: ResourceSpec, request: PageRequest, exchange: Exchange, chain: _Chain,
                      planned: bool = False) -> Page | None:
        """Read one answered request, deliver its records; None when the chain must stop."""
        stats = self.stats.of(resource.name)
        if exchange.ignored:
            return None
        page = self._read(resource, request, exchange, chain)
        if chain.repeats(page.records, exchange.text, planned):
            log.warning("resource '%s': page repeats an earlier page's records (the API ignores the paging "
                        "parameter, or counts pages from another number): stopping; check page_param/base_page", resource.name)
            return None
        if chain.skip_next():
            return page  # resumed at a page dlt already has: the paginator needs it, the sink does not
        stats.pages += 1
        stats.records += len(page.records)
        await self._sequences[resource.name].put(chain.slot, page.records, request)
        return page

    def _read(self, resource: ResourceSpec, request: PageRequest, exchange: Exchange, chain: _Chain) -> Page:
        if chain.selector is None:
            chain.selector = detect(exchange.body)
        try:
            records = select(exchange.body, chain.selector)
        except ResponseError as exc:
            raise ResponseError(str(exc), resource=resource.name, url=self.http._url(request)) from None
        if not records and (why := missed(exchange.body, chain.selector)):
            stats = self.stats.of(resource.name)
            stats.selector_misses += 1
            stats.selector_miss = why
        return Page(request, exchange.status, exchange.url, exchange.headers, exchange.body, records)

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
        """A chain's placeholder values: the resource's incremental, narrowed to the parent's own
        cursor (`per_parent`) and to the chain's window."""
        values = self.incremental.get(resource.name, {})
        context = {f"incremental.{k}": v for k, v in values.items() if k in INCREMENTAL_FIELDS}
        if parent_record is not None:
            placeholders = parent_context(resource, parent_record)
            context.update(placeholders)
            if values.get("per_parent") is not None:
                context.update(values["per_parent"].context(placeholders))
        if window is not None and (spec := resource.endpoint.incremental) is not None:
            context.update(window.context(spec.window, spec.window_granularity))
        return context


@dataclass
class _Chain:
    """Safety state of one chain: requests seen, pages counted, the pages it had (repeats);
    and its place in the resource's delivery order."""

    selector: str | None
    slot: Slot
    window: Window | None = None
    # Fingerprints, not the requests: a chain of 1M pages keeps <= 32 bytes per page, not ~4 KB.
    seen: Fingerprints = field(default_factory=Fingerprints)
    count: int = 0
    pages: PageRepeats = field(default_factory=PageRepeats)
    origin: str | None = None
    checked_url: str | None = None  # the last URL whose origin was checked
    resume: ChainPoint | None = None  # where a checkpoint left this chain

    def skip_next(self) -> bool:
        """True once, for a chain resumed at a page whose records dlt already has."""
        skip = self.resume is not None and self.resume.skip
        if skip:
            self.resume = None
        return skip

    def check(self, request: PageRequest, resource: ResourceSpec, max_pages: int | None) -> None:
        self._check_origin(request, resource)
        if not self.seen.add(fingerprint(request.identity())):
            raise LoopError("the API sent the chain back to a request it already made (a repeated cursor or next URL)",
                            resource=resource.name, url=request.url)
        self.count += 1
        if max_pages is not None and self.count > max_pages:
            raise LoopError(f"more than max_pages={max_pages} pages in one chain", resource=resource.name, url=request.url)

    def _check_origin(self, request: PageRequest, resource: ResourceSpec) -> None:
        # A next URL comes from the response: followed to another host, it would carry the
        # resource's auth and headers there. Refused, unless there is nothing to carry.
        if request.url == self.checked_url:
            return  # page numbers, offsets, cursors in params: the URL itself does not change
        parts = urlsplit(request.url)
        origin = f"{parts.scheme}://{parts.hostname}:{parts.port or ''}".lower()
        if self.origin is None:
            self.origin = origin
        elif origin != self.origin and (resource.endpoint.auth is not None or resource.endpoint.headers):
            raise ResponseError(f"the API sends the next page to another host ({parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}); "
                                "the credentials and headers of this resource go only to the host of its first request",
                                resource=resource.name, url=request.url)
        self.checked_url = request.url

    def repeats(self, records: list[Any], text: bytes | str, planned: bool = False) -> bool:
        """A page in sequence: the same records as the previous page. A planned page (its
        request known in advance from a declared total): the same records as any earlier page
        (the sequential pages before a plan: only the first one). `text`: what the records
        were parsed from (see PageRepeats)."""
        if planned:
            return self.pages.planned(records)
        return self.pages.sequential(records, text, self.selector or "$")


async def _cancel(window: deque[tuple[PageRequest, asyncio.Task[Exchange]]]) -> int:
    """Cancel requests fetched ahead that the chain does not need; how many were made for nothing."""
    tasks = [task for _, task in window]
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return sum(1 for r in results if not isinstance(r, asyncio.CancelledError))


def _same_request(guess: PageRequest, following: PageRequest) -> bool:
    # Equal values are the same request (the paginator's guess mostly is): only requests that
    # differ in form (a param order, a next URL for params) need their identities built.
    return guess == following or guess.identity() == following.identity()


def _resumed_request(point: ChainPoint, first: PageRequest) -> PageRequest:
    """A checkpoint's request, completed from the chain's first request rendered again: its
    headers (never stored) and the params it shared with it (see ChainPoint.first)."""
    assert point.request is not None
    saved = replace(point.request, headers=first.headers)
    return saved.with_params(**{**first.params, **saved.params}) if point.extends_first else saved


def _bounds(window: Window | None) -> tuple[Any, Any] | None:
    return None if window is None else (window.start, window.end)


def _windowed(resource: ResourceSpec) -> bool:
    return resource.endpoint.incremental is not None and resource.endpoint.incremental.window is not None


def _with_ancestors(source: SourceSpec, targets: set[str]) -> set[str]:
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
