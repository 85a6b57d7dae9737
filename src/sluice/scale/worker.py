"""The worker task: the sluice engine on one shard, its pages staged as files.

Each attempt writes under its own directory (`<run>/<shard>/<attempt>/`) and returns the
files only once the shard has completed: an attempt that dies (its worker killed, the task
retried elsewhere) leaves files nobody references, and the coordinator removes the run's
directory after the load. Pages are staged as pickled lists of records, exactly as the engine
handed them to its sink: the coordinator's import gives dlt the very objects a local run gives
it, so the tables are the same to the row (see docs/scale-out.md for why not parquet).
"""

from __future__ import annotations

import asyncio
import copyreg
import pickle
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import fsspec  # type: ignore[import-untyped]

from ..checkpoint.frontier import ChainPoint, Snapshot
from ..config.specs import ResourceSpec, SourceSpec
from ..engine.parents import ParentFeed
from ..engine.run import Engine, RunOptions
from ..engine.stats import RunStats
from ..errors import SluiceError
from ..templates import Template
from .budget import Budget
from .shards import Shard


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


@dataclass
class ShardResult:
    key: str
    files: dict[str, str] = field(default_factory=dict)  # resource -> its staged pages
    rows: dict[str, int] = field(default_factory=dict)
    listed: list[Any] = field(default_factory=list)  # the records the shard's children start from
    stats: RunStats = field(default_factory=RunStats)
    error: str | None = None  # a sluice error: retrying would fail alike
    resource: str | None = None
    chains: dict[str, tuple[int, int]] = field(default_factory=dict)  # resource -> (chains, of them 404)


def run_shard(job: Job) -> ShardResult:
    """Fetch one shard (in a Dask worker's thread: the engine gets its own event loop)."""
    directory = f"{job.staging.rstrip('/')}/{_safe(job.shard.key)}/{uuid.uuid4().hex}"
    sink = StagingSink(directory, job.shard, ParentFeed(job.spec.resource(job.shard.resource), job.incremental.get(job.shard.resource, {})))
    try:
        stats, chains = asyncio.run(_fetch(job, sink))
    except SluiceError as exc:
        sink.close()
        return ShardResult(job.shard.key, error=str(exc), resource=getattr(exc, "resource", None) or job.shard.resource)
    finally:
        sink.close()
    return ShardResult(job.shard.key, sink.files, sink.rows, sink.listed, stats, chains=chains)


class ShardEngine(Engine):
    """The engine on a shard: a child resource whose every request answered 404 is judged by
    the coordinator over every shard (a shard sees some parents; a local run, all of them)."""

    def _check_all_skipped(self, spec: ResourceSpec) -> None:
        pass

    def chains(self) -> dict[str, tuple[int, int]]:
        return {name: (n, self._progress.skipped.get(name, 0)) for name, n in self._progress.chains.items()}


async def _fetch(job: Job, sink: StagingSink) -> tuple[RunStats, dict[str, tuple[int, int]]]:
    shard = job.shard
    targets = set(shard.stages) | ({shard.resource} if shard.lists else set())
    pacer = job.budget.pacer() if job.budget is not None else None
    engine = ShardEngine(job.spec, targets, sink, incremental=job.incremental, options=job.options, pacer=pacer,
                         resume=_chains(job, targets, sink) if shard.parents else None)
    try:
        return await engine.run(), engine.chains()
    finally:
        if pacer is not None:
            await pacer.close()


def _chains(job: Job, targets: set[str], sink: StagingSink) -> Snapshot:
    """A child shard as the engine restarts a checkpoint: a chain per parent record (and per
    window of a windowed child), its ancestors complete."""
    probe = Engine(job.spec, targets, sink, incremental=job.incremental)  # renders each parent's windows
    child = job.spec.resource(job.shard.resource)
    points = [ChainPoint(child.name, record, None if w is None else (w.start, w.end))
              for record in job.shard.parents for w in probe._windows(child, record)]
    return Snapshot(points, {}, probe.needed)


class StagingSink:
    """The engine's sink on a worker: stages the pages of the shard's resources, keeps the
    records its children start from."""

    def __init__(self, directory: str, shard: Shard, feed: ParentFeed) -> None:
        self.directory = directory
        self.shard = shard
        self.feed = feed if shard.lists else None
        self.files: dict[str, str] = {}
        self.rows: dict[str, int] = {}
        self.listed: list[Any] = []
        self._open: dict[str, IO[bytes]] = {}

    async def put(self, resource: str, records: list[Any]) -> None:
        if self.feed is not None and resource == self.shard.resource:
            self.listed.extend(self.feed.for_children(records))
        if resource in self.shard.stages:
            pickle.dump(records, self._handle(resource), protocol=pickle.HIGHEST_PROTOCOL)
            self.rows[resource] = self.rows.get(resource, 0) + len(records)

    def finish(self, resource: str) -> None:
        handle = self._open.pop(resource, None)
        if handle is not None:
            handle.close()

    def close(self) -> None:
        for name in list(self._open):
            self.finish(name)

    def _handle(self, resource: str) -> IO[bytes]:
        if resource not in self._open:
            path = f"{self.directory}/{_safe(resource)}.pages"
            fs, _, [local] = fsspec.get_fs_token_paths(path)
            fs.makedirs(self.directory, exist_ok=True)
            self._open[resource] = fs.open(local, "wb")
            self.files[resource] = path
        return self._open[resource]


def read_pages(path: str) -> Iterator[list[Any]]:
    """The pages a worker staged, in the order it fetched them."""
    with fsspec.open(path, "rb") as handle:
        while True:
            try:
                yield pickle.load(handle)
            except EOFError:
                return


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
