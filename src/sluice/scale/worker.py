"""The worker task: the sluice engine on one shard, its pages staged as files.

Each attempt writes under its own directory (`<run>/<shard>/<attempt>/`) and returns the
files only once the shard has completed: an attempt that dies (its worker killed, the task
retried elsewhere) leaves files nobody references, and the coordinator removes the run's
directory after the load. What is staged is in `staging.py`: the pages pickled, and for a
resource dlt takes as Arrow, its tables shaped here for the coordinator's extraction.
"""

from __future__ import annotations

import asyncio
import copyreg
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from ..checkpoint.frontier import ChainPoint, Snapshot
from ..config.specs import SourceSpec
from ..engine.parents import ParentFeed
from ..engine.run import Engine, RunOptions, with_ancestors
from ..engine.scope import windows
from ..engine.stats import RunStats
from ..errors import SluiceError
from ..load.arrow import ArrowPageWriter, Extraction, TableHints
from ..templates import Template
from .budget import Budget
from .cursors import Advanced, advanced, for_shard
from .pages import bounded
from .shards import Shard
from .staging import Pages, Staged, Tables, safe


def _template(template: Template) -> tuple[type[Template], tuple[str]]:
    return Template, (template.source,)


# A job's spec crosses to the workers pickled; a compiled Jinja template does not survive the
# trip (jinja's Template cannot be rebuilt from its state): send the source, recompile there.
copyreg.pickle(Template, _template)


@dataclass(frozen=True)
class Job:
    spec: SourceSpec
    shard: Shard
    incremental: Mapping[str, Mapping[str, Any]]
    options: RunOptions
    staging: str  # the run's directory: a path or an fsspec URL every worker and the coordinator reach
    budget: Budget | None = None
    arrow: Mapping[str, tuple[str, TableHints]] = field(default_factory=dict)  # resource -> its table, hints
    extraction: Extraction | None = None  # the coordinator's, which the Arrow tables are shaped for
    records_per_write: int = 10_000


@dataclass
class ShardResult:
    key: str
    files: dict[str, Staged] = field(default_factory=dict)  # resource -> its staged files
    listed: list[Any] = field(default_factory=list)  # the records the shard's children start from
    stats: RunStats = field(default_factory=RunStats)
    error: str | None = None  # a sluice error: retrying would fail alike
    resource: str | None = None
    chains: dict[str, tuple[int, int]] = field(default_factory=dict)  # resource -> (chains, of them 404)
    total: int | None = None  # what a head shard's first page declares
    cursors: Advanced = field(default_factory=dict)  # per-parent cursors the shard advanced


def run_shard(job: Job) -> ShardResult:
    """Fetch one shard (in a Dask worker's thread: the engine gets its own event loop)."""
    job = replace(job, incremental=for_shard(job.incremental, job.spec, job.shard))  # this attempt's own cursors
    directory = f"{job.staging.rstrip('/')}/{safe(job.shard.key)}/{uuid.uuid4().hex}"
    sink = StagingSink(directory, job, ParentFeed(job.spec.resource(job.shard.resource), job.incremental.get(job.shard.resource, {})))
    try:
        with _destination(job.extraction):
            stats, chains, total = asyncio.run(_fetch(job, sink))
            sink.close()
    except SluiceError as exc:
        return ShardResult(job.shard.key, error=str(exc), resource=getattr(exc, "resource", None) or job.shard.resource)
    finally:
        sink.close()
    return ShardResult(job.shard.key, sink.files, sink.listed, stats, chains=chains, total=total, cursors=advanced(job.incremental))


@contextmanager
def _destination(extraction: Extraction | None) -> Iterator[None]:
    """The coordinator's destination capabilities, which decide how the Arrow writer types columns."""
    with ExitStack() as stack:
        if extraction is not None and extraction.capabilities is not None:
            from dlt.common.configuration.container import Container

            stack.enter_context(Container().injectable_context(extraction.capabilities))
        yield


class ShardEngine(Engine):
    """The engine on a shard: a child resource whose every request answered 404 is judged by
    the coordinator over every shard (a shard sees some parents; a local run, all of them)."""

    judges_all_skipped = False


async def _fetch(job: Job, sink: StagingSink) -> tuple[RunStats, dict[str, tuple[int, int]], int | None]:
    shard = job.shard
    targets = set(shard.stages) | ({shard.resource} if shard.lists else set())
    pacer = job.budget.pacer() if job.budget is not None else None
    totals: list[int] = []
    spec = bounded(job.spec, shard.resource, shard.pages, totals) if shard.head or shard.pages else job.spec
    resume = _chains(job, targets) if shard.parents else _windows(job, targets) if shard.windows else None
    engine = ShardEngine(spec, targets, sink, incremental=job.incremental, options=job.options, pacer=pacer, resume=resume)
    try:
        return await engine.run(), engine.chain_counts(), totals[0] if totals else None
    finally:
        if pacer is not None:
            await pacer.close()


def _chains(job: Job, targets: set[str]) -> Snapshot:
    """A child shard as the engine restarts a checkpoint: a chain per parent record (and per
    window of a windowed child), its ancestors complete."""
    child = job.spec.resource(job.shard.resource)
    values = job.incremental.get(child.name, {})
    points = [ChainPoint(child.name, record, None if w is None else (w.start, w.end))
              for record in job.shard.parents for w in windows(child, values, record)]
    return Snapshot(points, {}, with_ancestors(job.spec, targets))


def _windows(job: Job, targets: set[str]) -> Snapshot:
    """A window shard as the engine restarts a checkpoint's windows: a chain per window."""
    points = [ChainPoint(job.shard.resource, None, window) for window in job.shard.windows]
    return Snapshot(points, {}, with_ancestors(job.spec, targets))


class StagingSink:
    """The engine's sink on a worker: stages the pages of the shard's resources (gathered up
    to the job's `records_per_write`), keeps the records its children start from."""

    def __init__(self, directory: str, job: Job, feed: ParentFeed) -> None:
        self.directory = directory
        self.job = job
        self.shard = job.shard
        self.feed = feed if job.shard.lists else None
        self.files: dict[str, Staged] = {}
        self.listed: list[Any] = []
        self._pending: dict[str, list[Any]] = {}
        self._writers: dict[str, tuple[Pages, Tables | None]] = {}

    async def put(self, resource: str, records: list[Any]) -> None:
        if self.feed is not None and resource == self.shard.resource:
            self.listed.extend(self.feed.for_children(records))
        if resource in self.shard.stages:
            pending = self._pending.setdefault(resource, [])
            pending.extend(records)
            if len(pending) >= self.job.records_per_write:
                self._flush(resource)

    def finish(self, resource: str) -> None:
        self._flush(resource)
        pages, tables = self._writers.pop(resource, (None, None))
        for writer in (pages, tables):
            if writer is not None:
                writer.close()

    def close(self) -> None:
        for name in {*self._pending, *self._writers}:
            self.finish(name)

    def _flush(self, resource: str) -> None:
        records = self._pending.pop(resource, [])
        if records:
            pages, tables = self._writers.get(resource) or self._open(resource)
            pages.write(records)
            if tables is not None:
                tables.write(records)
            self.files[resource].rows += len(records)

    def _open(self, resource: str) -> tuple[Pages, Tables | None]:
        base = f"{self.directory}/{safe(resource)}"
        staged = self.files.setdefault(resource, Staged(f"{base}.pages"))
        arrow = self.job.arrow.get(resource)
        tables = Tables(base, ArrowPageWriter(arrow[0], arrow[1], self.job.extraction), staged) if arrow else None
        self._writers[resource] = pair = (Pages(staged.pages), tables)
        return pair
