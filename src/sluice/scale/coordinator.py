"""The coordinator: plans shards, runs them on the cluster, imports their files into one load.

It takes the place of the engine inside one dlt extraction of the source (`DaskRun` is the
source's `Run` with another `_engine` and `stream`): dlt binds the incremental cursors and
starts the extraction as for a local run; at its first pull the coordinator notes what the
extraction's Arrow tables are shaped against (`Extraction`: schema, load id, destination) and
which resources dlt takes as Arrow, hands that and the cursors' values to every shard, gathers
the shards as they complete (child shards are cut from a root shard's parent records as soon
as it is done), and then each resource's stream replays its staged files, in plan order, into
the extraction (`replay.py`): one load package, one state commit, incremental cursors
aggregated by dlt itself over every shard's records.
"""

from __future__ import annotations

import asyncio
import logging
import math
import tempfile
import time
import uuid
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import fsspec  # type: ignore[import-untyped]

from ..checkpoint.driver import CheckpointResult, appending
from ..config.specs import SourceSpec
from ..engine.run import RunOptions, with_ancestors
from ..engine.scope import windows
from ..engine.stats import RunStats
from ..errors import HTTPStatusError
from ..load.arrow import Extraction, TableHints
from ..load.runtime import Checkpoints, Run
from ..load.source import lands_as_arrow, table_hints
from .budget import Budget
from .cursors import for_shard
from .cursors import merge as merge_cursors
from .pace import SharedPace
from .replay import replay
from .resume import saved, write
from .shards import Shard, ShardError, child_shards, range_shards, root_shards, window_shards
from .worker import Job, ShardResult, run_shard

log = logging.getLogger(__name__)
CLEAN_TRIES = 10  # 2 s for cancelled shards to stop writing
SHARDS_PER_WORKER = 4  # child shards per worker and parent resource: small enough to spread unevenly finishing work


@dataclass(frozen=True)
class DaskExecutor:
    """Where and how a source runs on Dask: a `distributed.Client`, the staging location every
    worker and this process reach (None: a temporary directory, for a cluster on this machine),
    parent records per child shard (None: `SHARDS_PER_WORKER` shards per worker), how many
    times a shard that raised is retried (a worker that died is rescheduled by Dask anyway), and
    the records a shard gathers before it stages them (the Arrow writer's cost is per call)."""

    client: Any
    staging: str | None = None
    shard_size: int | None = None
    retries: int = 2
    records_per_write: int = 10_000


def run_on_dask(pipeline: Any, source: Any, executor: Any, *, checkpoints: bool = False, fresh: bool = False) -> CheckpointResult:
    """`pipeline.run(source)` with the fetching done on a Dask cluster: one load. With
    `checkpoints`, a run whose shard fails for good loads the shards that finished and keeps
    the others for the next run, which fetches only them unless `fresh` (`resume.py`)."""
    runtime = getattr(source, "sluice_runtime", None)
    if runtime is None:
        raise TypeError("sluice.run takes a source made by sluice.rest_api_source")
    config = executor if isinstance(executor, DaskExecutor) else DaskExecutor(executor)
    frontier = saved(pipeline, source, runtime.spec) if checkpoints and not fresh else None
    if frontier is not None:
        log.warning("resuming %s: %d shards the last run did not finish", pipeline.pipeline_name, len(frontier.shards))
    policy = Checkpoints(0, math.inf, _nothing, origins=frontier.origins if frontier else None) if checkpoints else None
    # The runtime hands its current run to the next extraction while the run has not started.
    runtime.current = run = DaskRun(runtime.spec, runtime.options, config, getattr(source, "sluice_hints", {}), policy)
    run.resume = frontier.shards if frontier is not None else None
    runtime.runs.append(run)
    try:
        with appending(source, runtime.spec, from_start=frontier is not None):
            result = CheckpointResult([pipeline.run(source)])
    finally:
        run.clean()
    if run.failure is not None:
        raise run.failure  # after the load of the shards that finished
    trace = pipeline.last_trace
    counts = trace.last_normalize_info.row_counts if trace and trace.last_normalize_info else {}
    result.row_counts = {table: n for table, n in counts.items() if not table.startswith("_dlt")}
    return result


def _nothing(run: Run) -> None:
    """A Dask run writes its frontier itself (`resume.write`), not at a slice's end."""


@dataclass(frozen=True)
class Shaping:
    """What the workers shape as Arrow, for which extraction (nothing outside of one)."""

    arrow: Mapping[str, tuple[str, TableHints]]  # resource -> its table name and hints
    extraction: Extraction | None = None

    @classmethod
    def plan(cls, spec: SourceSpec, options: RunOptions, source_hints: Mapping[str, Any], names: set[str]) -> Shaping:
        """In dlt's extraction thread, at its first pull: the resources dlt takes as Arrow."""
        import dlt
        from dlt.common.exceptions import DltException

        try:
            extraction, resources = Extraction.current(), dlt.current.source().resources
        except (DltException, LookupError, ValueError, RuntimeError):  # no extraction, no Arrow: dicts
            return cls({})
        arrow = {name: (str(r.hints.get("table_name", name)), table_hints(r, source_hints))
                 for name in names if lands_as_arrow(r := spec.resource(name), options, resources.get(name))}
        return cls(arrow, extraction)


class DaskRun(Run):
    def __init__(self, spec: SourceSpec, options: RunOptions, executor: DaskExecutor, source_hints: Mapping[str, Any],
                 checkpoints: Checkpoints | None = None) -> None:
        super().__init__(spec, options, checkpoints)
        self.executor = executor
        self.source_hints = source_hints
        self.shaping = Shaping({})
        self.coordinator: Coordinator | None = None
        self.results: list[ShardResult] = []
        self.resume: list[Shard] | None = None  # the shards a failed run left (None: plan the whole source)
        self._frontier_written = False

    @property
    def failure(self) -> ShardError | None:
        """With checkpoints: the shard that failed for good, once the others' load is done."""
        return self.coordinator.failure if self.coordinator is not None else None

    def start(self) -> None:
        """At dlt's first pull (in its extraction: `Shaping.plan` reads it), or first `start()`."""
        if not self.started:
            self.shaping = Shaping.plan(self.spec, self.options, self.source_hints, set(self._incremental_getters))
        super().start()

    def stream(self, name: str) -> Generator[list[Any], None, None]:
        """The resource's staged files, once every shard is done (dlt's extraction waits for them)."""
        self.start()
        self.join()
        if self.error is not None:
            raise self.error
        self._write_frontier()
        yield from replay(self.spec.resource(name), self.options, self.results, name in self.shaping.arrow)

    def _write_frontier(self) -> None:
        """With checkpoints, once, in dlt's extraction: the unfinished shards commit with the load."""
        with self._lock:
            if self.checkpoints is None or self._frontier_written or self.coordinator is None:
                return
            self._frontier_written = True
        write(self.coordinator.unfinished, self.incremental, self.spec)

    async def _engine(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self.coordinator = Coordinator(self.spec, self.executor, self.incremental, self.options, self.stats)
        try:
            self.results = await asyncio.to_thread(self.coordinator.fetch, set(self.incremental), self.shaping, self.resume,
                                                   self.checkpoints is not None)
        finally:
            self.stats.finished = time.monotonic()

    def clean(self) -> None:
        if self.coordinator is not None:
            self.coordinator.clean()


@dataclass
class _Gathering:
    plan: list[Shard]  # in the order a local run delivers pages
    futures: dict[Any, Shard]
    results: dict[str, ShardResult]
    running: Any  # distributed.as_completed over the futures


class Coordinator:
    def __init__(self, spec: SourceSpec, executor: DaskExecutor, incremental: Mapping[str, Mapping[str, Any]],
                 options: RunOptions, stats: RunStats) -> None:
        self.spec = spec
        self.executor = executor
        self.client = executor.client
        self.incremental = incremental
        self.options = options
        self.stats = stats
        self.run_id = uuid.uuid4().hex[:12]
        self.staging = f"{(executor.staging or tempfile.mkdtemp(prefix='sluice-staging-')).rstrip('/')}/{self.run_id}"
        http = spec.http
        # The shared pace lives while this run holds its future (an actor on one worker).
        self._pace = self.client.submit(SharedPace, actor=True, key=f"sluice-{self.run_id}-pace")
        self.budget = Budget(f"sluice-{self.run_id}", http.max_concurrency, http.rate_limit, self._pace.result())
        self.shaping = Shaping({})
        self.failure: ShardError | None = None
        self.unfinished: list[Shard] = []

    def fetch(self, targets: set[str], shaping: Shaping, resume: list[Shard] | None, partial: bool) -> list[ShardResult]:
        """Run every shard (or the `resume` ones and those cut from them); their results in plan
        order. The first shard that fails for good cancels the others and raises `ShardError`;
        `partial` (checkpoints on): the shards already running finish, nothing new starts, and
        the results of those that finished come back, the other shards in `unfinished`."""
        from distributed import as_completed

        self.shaping = shaping
        needed = with_ancestors(self.spec, targets)
        plan = list(resume) if resume is not None else [
            cut for shard in root_shards(self.spec, needed, targets) for cut in self._windowed(shard)]
        futures = {self._submit(shard): shard for shard in plan}
        gathering = _Gathering(plan, futures, {}, as_completed(list(futures)))  # type: ignore[no-untyped-call]
        try:
            self._gather(gathering, targets)
        except ShardError as exc:
            if not partial:
                raise
            self.failure = exc
            self._cancel_waiting(gathering.futures)
            self._gather(gathering, targets)
        finally:
            self.client.cancel(list(futures))
        done = [gathering.results[shard.key] for shard in plan if shard.key in gathering.results]
        self.unfinished = [shard for shard in plan if shard.key not in gathering.results]
        if self.failure is None:
            _check_all_skipped(self.spec, done)
        return done

    def _gather(self, gathering: _Gathering, targets: set[str]) -> None:
        """Results as shards complete, and the shards cut from them: submitted, or once a shard
        has failed for good (checkpoints on), only planned (what the next run does)."""
        for future in gathering.running:
            shard = gathering.futures[future]
            try:
                result = gathering.results[shard.key] = self._result(future, shard)
            except ShardError:
                if self.failure is None:
                    raise
                continue
            for child in [*child_shards(self.spec, shard, result.listed, self._size(len(result.listed)), targets),
                          *self._ranges(shard, result)]:
                gathering.plan.append(child)
                if self.failure is None:
                    gathering.futures[submitted := self._submit(child)] = child
                    gathering.running.add(submitted)
            result.listed = []

    def _cancel_waiting(self, futures: Mapping[Any, Shard]) -> None:
        """The shards no worker has started: left for the next run (those running finish)."""
        running = {key for keys in self.client.processing().values() for key in keys}
        self.client.cancel([future for future in futures if future.key not in running and not future.done()])

    def _submit(self, shard: Shard) -> Any:
        job = Job(self.spec, shard, for_shard(self.incremental, self.spec, shard), self.options, self.staging, self.budget,
                  self.shaping.arrow, self.shaping.extraction, self.executor.records_per_write)
        for name in shard.stages:
            stats = self.stats.of(name)
            stats.started = stats.started or time.monotonic()
        return self.client.submit(run_shard, job, key=f"sluice-{self.run_id}-{shard.key}", retries=self.executor.retries, pure=False)

    def _result(self, future: Any, shard: Shard) -> ShardResult:
        try:
            result: ShardResult = future.result()
        except Exception as exc:
            raise ShardError(shard.key, shard.resource, f"{type(exc).__name__}: {exc}") from exc
        if result.error is not None:
            raise ShardError(shard.key, result.resource or shard.resource, result.error)
        merge(self.stats, result.stats)
        merge_cursors(self.incremental, result.cursors)
        return result

    def _size(self, parents: int) -> int:
        if self.executor.shard_size:
            return self.executor.shard_size
        return max(math.ceil(parents / (self._workers() * SHARDS_PER_WORKER)), 1)

    def _windowed(self, shard: Shard) -> list[Shard]:
        """A windowed top-level resource no child needs records of, cut into runs of windows."""
        resource = self.spec.resource(shard.resource)
        if shard.lists or resource.endpoint.incremental is None or resource.endpoint.incremental.window is None:
            return [shard]
        found = windows(resource, self.incremental.get(resource.name, {}), None)
        bounds = [(w.start, w.end) for w in found if w is not None]
        return window_shards(shard, bounds, self._workers() * SHARDS_PER_WORKER) or [shard]

    def _ranges(self, shard: Shard, result: ShardResult) -> list[Shard]:
        if not shard.head or result.total is None:
            return []
        return range_shards(self.spec, shard, result.total, self._workers() * SHARDS_PER_WORKER)

    def _workers(self) -> int:
        return max(len(self.client.scheduler_info().get("workers", {})), 1)

    def clean(self) -> None:
        """Remove the run's staging; never hides the run's own error (a shard cancelled after
        another failed may still be writing there: Dask cannot stop a running task)."""
        fs, _, [path] = fsspec.get_fs_token_paths(self.staging)
        for _ in range(CLEAN_TRIES):
            try:
                if fs.exists(path):
                    fs.rm(path, recursive=True)
                return
            except OSError:
                time.sleep(0.2)
        log.warning("could not remove the staging directory %s: a cancelled shard is still writing there", path)


def _check_all_skipped(spec: SourceSpec, results: list[ShardResult]) -> None:
    """The engine's rule (every request of a child resource answered 404: a wrong path) over
    the whole run, as a local run applies it."""
    chains: dict[str, list[int]] = {}
    for result in results:
        for name, (count, skipped) in result.chains.items():
            total = chains.setdefault(name, [0, 0])
            total[0], total[1] = total[0] + count, total[1] + skipped
    for name, (count, skipped) in chains.items():
        if count >= 2 and skipped == count:
            raise HTTPStatusError(f"every one of {count} requests answered 404: check the path "
                                  f"'{spec.resource(name).endpoint.path}'", resource=name, status=404)


_ADDED = ("requests", "retries", "pages", "records", "skipped_children", "wasted_requests", "selector_misses", "bytes",
          "rate_limit_wait")


def merge(total: RunStats, shard: RunStats) -> None:
    """A shard's statistics into the run's (its clock is another process's: times are the coordinator's)."""
    for name, stats in shard.resources.items():
        into = total.of(name)
        for key in _ADDED:
            setattr(into, key, getattr(into, key) + getattr(stats, key))
        into.selector_miss = stats.selector_miss or into.selector_miss
        into.started = into.started or time.monotonic()
        into.finished = time.monotonic()
    total.max_in_flight = max(total.max_in_flight, shard.max_in_flight)
    total.rate_limit_wait += shard.rate_limit_wait
