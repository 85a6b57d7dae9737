"""Page-range shards: a top-level resource whose API declares a total, split across workers.

Its root shard is the head: the first page only, and the total that page declares. The
coordinator cuts the pages after it into ranges, a shard each (`[pages 5:9)` is pages 5 to 8
of a `page_number` paginator, or offsets 500 to 899 of an `offset` one): each range is the
same paginator starting at its first page and stopping before the next range's, so a page is
fetched once, and importing the shards in plan order gives dlt the pages in a local run's
order. Only where nothing else decides the end: no `has_more_path`, no children that need the
resource's records (their shards are cut from the root shard's records), no windows.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace
from typing import Any

from ..config.specs import ResourceSpec, SourceSpec
from ..model import Page, PageRequest
from ..pagination.numeric import OffsetPaginator, PageNumberPaginator, _total


def splits(resource: ResourceSpec, lists: frozenset[str]) -> bool:
    """Whether the resource's root shard is a head whose total cuts the rest into ranges."""
    paginator = resource.endpoint.paginator
    incremental = resource.endpoint.incremental
    return (type(paginator) in (PageNumberPaginator, OffsetPaginator) and bool(paginator.total_path)
            and not paginator.has_more_path and not lists and resource.parent is None
            and (incremental is None or incremental.window is None))


def ranges(resource: ResourceSpec, total: int, count: int) -> list[tuple[int, int]]:
    """The pages after the head, in `count` ranges at most, in the paginator's unit."""
    paginator = resource.endpoint.paginator
    if isinstance(paginator, PageNumberPaginator):
        first, end, step = paginator.start + 1, total + paginator.base_page, 1
        end = min(end, paginator.maximum_page) if paginator.maximum_page is not None else end
    else:
        first, end, step = paginator.offset + paginator.limit, total, paginator.limit
        end = min(end, paginator.maximum_offset) if paginator.maximum_offset is not None else end
    pages = max(math.ceil((end - first) / step), 0)
    size = max(math.ceil(pages / max(count, 1)), 1) * step
    return [(lo, min(lo + size, end)) for lo in range(first, end, size)]


def bounded(spec: SourceSpec, name: str, pages: tuple[int, int] | None, totals: list[int]) -> SourceSpec:
    """`spec` with the resource's paginator fetching only `pages` (None: the head's first page,
    its declared total appended to `totals`)."""
    resource = spec.resource(name)
    paginator = resource.endpoint.paginator
    numbered = isinstance(paginator, PageNumberPaginator)
    if pages is None:
        bound = {"maximum_page": paginator.start + 1} if numbered else {"maximum_offset": paginator.offset + paginator.limit}
        paginator = _noting(replace(paginator, **bound), totals)
    else:
        paginator = replace(paginator, **({"page": pages[0], "maximum_page": pages[1]} if numbered
                                          else {"offset": pages[0], "maximum_offset": pages[1]}))
    endpoint = replace(resource.endpoint, paginator=paginator)
    return replace(spec, resources=tuple(replace(r, endpoint=endpoint) if r.name == name else r for r in spec.resources))


def _noting(paginator: Any, totals: list[int]) -> Any:
    """The paginator, noting the total its first page declares."""
    unit = "pages" if isinstance(paginator, PageNumberPaginator) else "items"
    base = type(paginator)

    def note(page: Page) -> None:
        total = _total(page, paginator.total_path, paginator.total_explicit, unit)
        if total is not None and not totals:
            totals.append(total)

    class Noting(base):  # type: ignore[valid-type,misc]
        def plan(self, request: PageRequest, page: Page) -> Any:
            note(page)
            return super().plan(request, page)

        def next(self, request: PageRequest, page: Page) -> Any:
            note(page)
            return super().next(request, page)

    return Noting(**{f.name: getattr(paginator, f.name) for f in fields(paginator)})
