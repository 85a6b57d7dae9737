"""Looking at an API before loading it: `sluice preview` and `sluice validate --check-connection`.

A probe fetches the first page(s) of one resource with the run's own HTTP client, paginator
and selector (a child uses the first record of its parent's first page), and keeps what a
person needs to judge the configuration: the URL, the status, the records, the selector
and paginator that were used. Nothing is loaded: the schema is inferred by dlt's
normalizer in a throwaway pipeline in a temporary directory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape

from .config.specs import ResourceSpec, SourceSpec
from .engine.requests import first_request, include_parent_fields, parent_context
from .engine.selector import detect, missed, select
from .engine.stats import RunStats
from .errors import HTTPStatusError, ResponseError, SluiceError
from .http.client import HttpClient
from .model import Page, PageRequest
from .pagination.auto import AutoPaginator

_PROBE_RETRIES = 2  # a look, not a run: fail fast on a wrong configuration
_PROBE_DELAY_CAP = 2.0


@dataclass
class Probe:
    """What the first page(s) of one resource showed."""

    resource: str
    url: str = ""
    status: int | None = None
    pages: int = 0
    records: list[Any] = field(default_factory=list)
    selector: str = ""
    selector_detected: bool = False
    paginator: str = ""
    paginator_detected: bool = False
    next_url: str | None = None
    seconds: float = 0.0
    problem: str = ""  # auth | not found | selector | http | parent | ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


# -- probing -------------------------------------------------------------------------------------

def probe(source: SourceSpec, name: str, pages: int = 1) -> list[Probe]:
    """Probes of `name` and of the ancestors it needs, root first."""
    return asyncio.run(_probe_lineage(source, name, pages))


def check_connection(source: SourceSpec) -> list[Probe]:
    """One request per resource: top-level resources first, each child with its parent's first record."""
    return asyncio.run(_check_all(source))


async def _probe_lineage(source: SourceSpec, name: str, pages: int) -> list[Probe]:
    lineage = _lineage(source, name)
    probes: list[Probe] = []
    async with HttpClient(source.http, RunStats(), source.secrets) as http:
        parent_record = None
        for spec in lineage:
            result = await _probe_one(http, source, spec, parent_record, pages if spec.name == name else 1)
            probes.append(result)
            if spec.name != name and not result.ok:
                break
            if spec.name != name and not result.records:
                probes.append(Probe(name, problem="parent", message=f"parent '{spec.name}' returned no records to use"))
                break
            parent_record = result.records[0] if result.records else None
    return probes


async def _check_all(source: SourceSpec) -> list[Probe]:
    probes: dict[str, Probe] = {}
    async with HttpClient(source.http, RunStats(), source.secrets) as http:
        wave = [r for r in source.resources if r.parent is None]
        while wave:  # all resources of one depth at once; each child with its parent's first record
            results = await asyncio.gather(*(_check_one(http, source, spec, probes) for spec in wave))
            probes.update((p.resource, p) for p in results)
            wave = [r for r in source.resources if r.parent in {w.name for w in wave}]
    return [probes[r.name] for r in source.resources if r.name in probes]


async def _check_one(http: HttpClient, source: SourceSpec, spec: ResourceSpec, probes: dict[str, Probe]) -> Probe:
    parent = probes.get(spec.parent) if spec.parent else None
    if spec.parent and (parent is None or not parent.ok or not parent.records):
        why = "failed" if parent is not None and not parent.ok else "returned no records"
        return Probe(spec.name, problem="parent", message=f"not checked: parent '{spec.parent}' {why}")
    return await _probe_one(http, source, spec, parent.records[0] if parent is not None else None, 1)


def _lineage(source: SourceSpec, name: str) -> list[ResourceSpec]:
    chain = [source.resource(name)]
    while chain[0].parent:
        chain.insert(0, source.resource(chain[0].parent))
    return chain


async def _probe_one(http: HttpClient, source: SourceSpec, spec: ResourceSpec, parent_record: Any, pages: int) -> Probe:
    result = Probe(spec.name, selector=spec.endpoint.data_selector or "")
    paginator = spec.endpoint.paginator or AutoPaginator()
    result.paginator, result.paginator_detected = describe_paginator(paginator), spec.endpoint.paginator is None
    endpoint = _patient(spec)
    started = time.monotonic()
    try:
        request: PageRequest | None = paginator.first(first_request(source, spec, _context(spec, parent_record)))
        while request is not None and result.pages < pages:
            result.url = result.url or http._url(request)  # the first request: what a person retypes
            exchange = await http.fetch(endpoint, request, RunStats().of(spec.name))
            result.status = exchange.status
            if exchange.ignored:
                break
            records = _select(result, exchange.body)
            if parent_record is not None and spec.include_from_parent:
                include_parent_fields(spec, records, parent_record)
            result.pages += 1
            result.records.extend(records)
            page = Page(request, exchange.status, exchange.url, exchange.headers, exchange.body, records)
            request = paginator.next(request, page)
            _note_auto(result, request)
        result.next_url = http._url(request) if request is not None else None
    except HTTPStatusError as exc:
        result.status = exc.status
        result.problem, result.message = _classify(exc, spec, parent_record is not None)
    except ResponseError as exc:
        result.problem, result.message = "selector" if "data_selector" in str(exc) else "response", exc.detail
    except SluiceError as exc:
        result.problem, result.message = "http", str(exc)
    result.seconds = time.monotonic() - started
    return result


def _patient(spec: ResourceSpec) -> Any:
    retry = spec.endpoint.retry
    quick = dataclasses.replace(retry, max_retries=min(retry.max_retries, _PROBE_RETRIES),
                                max_retry_delay=min(retry.max_retry_delay, _PROBE_DELAY_CAP))
    return dataclasses.replace(spec.endpoint, retry=quick)


def _context(spec: ResourceSpec, parent_record: Any) -> dict[str, Any]:
    context: dict[str, Any] = {}
    incremental = spec.endpoint.incremental
    if incremental is not None:
        start = incremental.initial_value
        context = {"incremental.start_value": start, "incremental.initial_value": start,
                   "incremental.last_value": start, "incremental.end_value": incremental.end_value}
    if parent_record is not None:
        context.update(parent_context(spec, parent_record))
    return context


def _select(result: Probe, body: Any) -> list[Any]:
    if not result.selector:
        result.selector, result.selector_detected = detect(body), True
    # A probe is one page: a selector that matches nothing there is reported, with a guess.
    why = missed(body, result.selector)
    if why is None:
        return select(body, result.selector)
    guess = detect(body)
    hint = f"; the records look like they are at '{guess}'" if guess not in ("$", result.selector) else ""
    raise ResponseError(f"{why}{hint}")


def _note_auto(result: Probe, request: PageRequest | None) -> None:
    chosen = request.state.get("auto") if request is not None else None
    if result.paginator_detected and chosen is not None:
        result.paginator = describe_paginator(chosen)


def _classify(exc: HTTPStatusError, spec: ResourceSpec, child: bool) -> tuple[str, str]:
    status, body = exc.status, _body(exc.detail)
    if status in (401, 403):
        return "auth", f"HTTP {status}, credentials refused{body}: check client.auth and its secret"
    if status == 404 and child:
        return "not found", (f"HTTP 404 for the first parent record ({exc.url}): in a run such a parent has no "
                             "rows, but if every parent answers 404 the path is wrong")
    if status == 404:
        return "not found", f"HTTP 404: check endpoint.path '{spec.endpoint.path}' and client.base_url ({exc.url})"
    if status is None:
        return "http", f"cannot reach the API ({exc.url}): {exc.detail}"
    return "http", f"HTTP {status}{body} ({exc.url})"


def _body(detail: str) -> str:
    """` ("invalid key")`: the start of the API's own explanation, if it gave one."""
    _, _, text = detail.partition(": ")
    text = " ".join(text.split())
    return f' ("{text[:80]}{"..." if len(text) > 80 else ""}")' if text else ""


def describe_paginator(paginator: Any) -> str:
    """`page_number(page_param='page', limit=100)`: the type and the fields that differ from defaults."""
    kind = paginator_type(paginator)
    if not dataclasses.is_dataclass(paginator):
        return kind
    parts = []
    for f in dataclasses.fields(paginator):
        value = getattr(paginator, f.name)
        default = f.default if f.default is not dataclasses.MISSING else None
        if value != default and not f.name.endswith("_explicit") and value is not None and not callable(value):
            parts.append(f"{f.name}={getattr(value, 'source', value)!r}")  # a template by its text
    return f"{kind}({', '.join(parts)})" if parts else kind


def paginator_type(paginator: Any) -> str:
    name = type(paginator).__name__
    return _PAGINATOR_TYPES.get(name, name)


_PAGINATOR_TYPES = {
    "SinglePagePaginator": "single_page", "AutoPaginator": "auto", "HeaderLinkPaginator": "header_link",
    "JSONLinkPaginator": "json_link", "CursorPaginator": "cursor", "HeaderCursorPaginator": "header_cursor",
    "OffsetPaginator": "offset", "PageNumberPaginator": "page_number",
}


# -- schema inference ----------------------------------------------------------------------------

@dataclass
class Column:
    name: str
    data_type: str
    nulls: int
    rows: int
    example: Any = None

    @property
    def nullable(self) -> bool:
        return self.nulls > 0


@dataclass
class TableShape:
    name: str
    parent: str | None
    rows: list[dict[str, Any]]
    columns: list[Column]


def infer_tables(spec: ResourceSpec, records: list[Any], source_kwargs: Mapping[str, Any] | None = None) -> list[TableShape]:
    """The tables dlt would create from `records`, with types, nulls and the normalized rows."""
    import dlt

    hints = {k: v for k, v in spec.hints.items() if k not in ("file_format", "table_format")}
    nesting = (source_kwargs or {}).get("max_table_nesting")
    if nesting is not None:
        hints.setdefault("max_table_nesting", nesting)
    with tempfile.TemporaryDirectory(prefix="sluice-preview-") as workdir:
        pipeline = dlt.pipeline("sluice_preview", pipelines_dir=workdir, destination="duckdb")
        resource = dlt.resource(records, name=spec.name, **hints)
        for step in spec.processing_steps:
            kind, func = next(iter(step.items()))
            resource = getattr(resource, f"add_{kind}")(func)
        pipeline.extract(resource, loader_file_format="jsonl")
        pipeline.normalize()
        rows = _normalized_rows(pipeline)
        return [_shape(table, rows.get(str(table["name"]), [])) for table in pipeline.default_schema.data_tables()]


def _normalized_rows(pipeline: Any) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for load_id in pipeline.list_normalized_load_packages():
        for job in pipeline.get_load_package_info(load_id).jobs["new_jobs"]:
            path = Path(job.file_path)
            if ".jsonl" not in path.name:
                continue
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt") as handle:
                rows.setdefault(job.job_file_info.table_name, []).extend(json.loads(line) for line in handle if line.strip())
    return rows


def _shape(table: Mapping[str, Any], rows: list[dict[str, Any]]) -> TableShape:
    columns = []
    for name, column in table["columns"].items():
        if name.startswith("_dlt_"):
            continue
        values = [row.get(name) for row in rows]
        example = next((v for v in values if v is not None), None)
        columns.append(Column(name, str(column.get("data_type", "?")), sum(v is None for v in values), len(rows), example))
    return TableShape(table["name"], table.get("parent"), rows, columns)


# -- showing it ----------------------------------------------------------------------------------

def print_probe_header(probe_: Probe, console: Any) -> None:
    console.print(f"[bold]{escape(probe_.resource)}[/]: GET {escape(probe_.url)} -> {probe_.status}"
                  + (f" (then {probe_.pages - 1} more)" if probe_.pages > 1 else "") + ", "
                  f"{len(probe_.records):,} records in {probe_.pages} page{'s' if probe_.pages != 1 else ''} "
                  f"({probe_.seconds:.2f}s)", highlight=False)
    how = "detected by 'auto'" if probe_.paginator_detected else "configured"
    console.print(f"  paginator  {escape(probe_.paginator)}  [dim]({how})[/]", highlight=False)
    how = "detected: no data_selector configured" if probe_.selector_detected else "configured"
    console.print(f"  selector   {escape(probe_.selector)}  [dim]({how})[/]", highlight=False)
    nxt = f"would request {escape(probe_.next_url)}" if probe_.next_url else "none: the paginator stops after this page"
    console.print(f"  next page  {nxt}", highlight=False)


def print_problem(probe_: Probe, console: Any) -> None:
    console.print(f"[bold red]{escape(probe_.resource)}[/]: {probe_.problem}: {escape(probe_.message)}", highlight=False)


def sample_table(shape: TableShape, rows: int, width: int) -> Any:
    """The first rows, with as many columns as fit the screen (the schema lists them all)."""
    from rich.table import Table

    columns = shape.columns[:max(3, width // 18)]
    more = len(shape.columns) - len(columns)
    title = f"{shape.name}: first {min(rows, len(shape.rows))} of {len(shape.rows)} rows"
    table = Table(title=title + (f" ({more} more columns in the schema below)" if more else ""), title_justify="left")
    for column in columns:
        table.add_column(escape(column.name), overflow="ellipsis", max_width=40, no_wrap=True)
    for row in shape.rows[:rows]:
        table.add_row(*(_cell(row.get(c.name)) for c in columns))
    return table


def schema_tables(shapes: list[TableShape]) -> list[Any]:
    """One small table per destination table: column, type, nullable in the sample, an example."""
    from rich.table import Table

    out = []
    for shape in shapes:
        nested = f", nested in {shape.parent}" if shape.parent else ""
        table = Table(title=f"[bold]{escape(shape.name)}[/] ({len(shape.rows)} rows in the sample{escape(nested)})",
                      title_justify="left")
        for name in ("column", "type", "nullable", "example"):
            table.add_column(name, no_wrap=name != "example", overflow="ellipsis", max_width=50 if name == "example" else None)
        for column in shape.columns:
            nullable = f"[yellow]yes[/] ({column.nulls}/{column.rows} null)" if column.nullable else "no"
            table.add_row(escape(column.name), column.data_type, nullable, _cell(column.example))
        out.append(table)
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "[dim]null[/]"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return escape(text if len(text) <= 60 else text[:57] + "...")


def checks_table(probes: list[Probe]) -> Any:
    from rich.table import Table

    table = Table(title="connection check: one request per resource", title_justify="left")
    for name in ("resource", "status", "records", "selector", "result"):
        table.add_column(name, justify="right" if name in ("status", "records") else "left",
                         no_wrap=name != "result")
    for p in probes:
        result = "[green]ok[/]" if p.ok else f"[red]{p.problem}[/]: {escape(p.message)}"
        selector = p.selector + (" (detected)" if p.selector_detected and p.selector else "")
        table.add_row(p.resource, str(p.status or "-"), f"{len(p.records):,}" if p.pages else "-", selector, result)
    return table
