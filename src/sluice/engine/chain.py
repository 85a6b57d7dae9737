"""One pagination chain: its safety state (`Chain`) and the fetch loop it runs (`Pager`).

A chain is one resource crossed with one parent record (and one window). The paginator
alone decides when it ends; the loop adds the safety rules (a repeated request or page, the
page cap, a next URL to another host), fetches ahead where the paginator can guess the next
pages or a declared total plans them, and puts each page in the chain's place in its
resource's delivery order (`order.Sequence`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from ..checkpoint.frontier import ChainPoint
from ..config.specs import ResourceSpec, SourceSpec
from ..errors import LoopError, ResponseError
from ..http.client import Exchange, HttpClient
from ..model import Page, PageRequest
from ..pagination.auto import AutoPaginator
from .fingerprints import Fingerprints, fingerprint
from .gate import Gate
from .options import RunOptions
from .order import Sequence, Slot
from .repeats import PageRepeats
from .requests import first_request
from .selector import detect, missed, select
from .windows import Window

log = logging.getLogger("sluice.engine")


class Pager:
    """The fetch loop of every chain of a run. It keeps nothing of any chain (that is the
    chain's `Chain`), so one serves them all; each page goes to `sequences[resource]`."""

    def __init__(self, source: SourceSpec, http: HttpClient, options: RunOptions, gate: Gate,
                 sequences: Mapping[str, Sequence]) -> None:
        self.source = source
        self.http = http
        self.stats = http.stats  # the run's: the client counts requests into it too
        self.options = options
        self.gate = gate
        self.sequences = sequences

    async def paginate(self, resource: ResourceSpec, chain: Chain, context: Mapping[str, Any]) -> None:
        """Fetch the chain's pages until the paginator ends it; `context`: its placeholder values."""
        paginator = resource.endpoint.paginator or AutoPaginator()
        request: PageRequest | None = paginator.first(first_request(self.source, resource, context))
        chain.slot.first = request
        if chain.resume is not None and chain.resume.request is not None and request is not None:
            request = _resumed_request(chain.resume, request)
        while request is not None:
            chain.slot.next = request
            await self.gate.passed()
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

    def _may_speculate(self, paginator: Any, chain: Chain) -> bool:
        window = self.options.speculative_window
        return window > 1 and chain.count >= self.options.speculate_after and hasattr(paginator, "speculate")

    async def _speculate(self, resource: ResourceSpec, paginator: Any, request: PageRequest, chain: Chain) -> PageRequest | None:
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
                    await self.gate.passed()
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
    def _restart(window: deque[Any], following: PageRequest, chain: Chain) -> PageRequest:
        for request, _ in window:
            chain.seen.discard(fingerprint(request.identity()))
        return following

    async def _fetch_planned(self, resource: ResourceSpec, requests: Iterable[PageRequest], chain: Chain) -> None:
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
                    await self.gate.passed()
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

    async def _page(self, resource: ResourceSpec, request: PageRequest, chain: Chain) -> Page | None:
        exchange = await self.http.fetch(resource.endpoint, request, self.stats.of(resource.name))
        return await self._accept(resource, request, exchange, chain)

    async def _accept(self, resource: ResourceSpec, request: PageRequest, exchange: Exchange, chain: Chain,
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
        await self.sequences[resource.name].put(chain.slot, page.records, request)
        return page

    def _read(self, resource: ResourceSpec, request: PageRequest, exchange: Exchange, chain: Chain) -> Page:
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


@dataclass
class Chain:
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

