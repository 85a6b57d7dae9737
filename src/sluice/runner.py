"""Running a configuration into a destination: shared by `sluice run` and `sluice demo`."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .configfile import LoadedConfig
from .engine.run import RunOptions
from .engine.stats import RunStats
from .errors import RunInterrupted, SluiceError


@dataclass
class RunResult:
    pipeline: Any
    stats: RunStats
    rows: dict[str, int]  # rows loaded per table
    tables: dict[str, str]  # table -> resource
    seconds: float
    load_info: Any = None
    errors: list[str] = field(default_factory=list)
    interrupted: int | None = None  # the signal that stopped the run: nothing of it was loaded

    def rows_of(self, resource: str) -> dict[str, int]:
        return {t: n for t, n in self.rows.items() if self.tables.get(t) == resource}


# DuckDB buffers a load package while dlt loads it (~1 KB per record: 1.3 GB at 1M records);
# past the limit it spills to disk. 10M records: peak RSS of `sluice run` measured in bench/.
DUCKDB_MEMORY_LIMIT = "128MB"


@dataclass(frozen=True)
class Target:
    pipeline_name: str
    destination: str = "duckdb"
    dataset_name: str | None = None
    pipelines_dir: str | None = None
    duckdb_file: str | None = None
    resources: tuple[str, ...] = ()
    duckdb_memory_limit: str | None = DUCKDB_MEMORY_LIMIT  # the default destination is capped


def build(loaded: LoadedConfig, options: RunOptions) -> Any:
    from .config import parse_source
    from .load.source import build_source

    spec = parse_source(loaded.config)
    kwargs = {k: v for k, v in loaded.kwargs.items() if k != "parallelized"}
    return build_source(spec, options=options, **kwargs)


Watch = Callable[[Any], AbstractContextManager[Any]]


@dataclass(frozen=True)
class Checkpointing:
    """`sluice run`'s checkpoints (docs/checkpoints.md): every `every` records or `seconds`,
    whichever first; `every=0` turns them off. `announce` hears `resuming <pipeline>: ...`."""

    every: int = 50_000
    seconds: float = 300.0
    fresh: bool = False
    announce: Callable[[Any], None] | None = None
    executor: Any = None  # a Dask client or sluice.scale.DaskExecutor: fetched on that cluster, one load (checkpoints: by shard)


def run(loaded: LoadedConfig, target: Target, options: RunOptions | None = None, watch: Watch | None = None,
        checkpoints: Checkpointing | None = None) -> RunResult:
    """Parse, build, extract, normalize and load; raises ConfigError or the run's error.

    `watch(source)` is entered around dlt's run, e.g. a live progress display reading
    `source.sluice_runtime.runs[-1].stats` from another thread. With `checkpoints`, the run is
    committed in slices and resumes from the pipeline's last checkpoint."""
    import dlt

    from .load.destination import database_held_open

    source = build(loaded, options or RunOptions())
    if target.resources:
        _select(source, target.resources)
    pipeline = dlt.pipeline(
        pipeline_name=target.pipeline_name,
        destination=_destination(target),
        # dlt's default: a dataset named like the DuckDB file (its catalog) makes DuckDB references ambiguous
        dataset_name=target.dataset_name or f"{target.pipeline_name}_dataset",
        pipelines_dir=target.pipelines_dir,  # type: ignore[arg-type]  # None: dlt's default
    )
    started = time.monotonic()
    try:
        with watch(source) if watch else nullcontext(), database_held_open(pipeline):
            info, rows = _load(pipeline, source, checkpoints)
    except BaseException as exc:
        if (signum := interruption(exc)) is not None:
            stop_engines(source)
            partial = RunResult(pipeline, _stats(source), {}, {}, time.monotonic() - started, interrupted=signum)
            raise RunInterrupted(signum, partial) from None
        if isinstance(exc, Exception):
            raise unwrap(exc) from None
        raise
    stats = _stats(source)
    return RunResult(pipeline, stats, rows, _table_resources(pipeline), time.monotonic() - started, info)


def _load(pipeline: Any, source: Any, checkpoints: Checkpointing | None) -> tuple[Any, dict[str, int]]:
    """dlt's run (one load, or checkpointed slices): the last load info and the rows per table."""
    if checkpoints is None:
        info = pipeline.run(source)
        trace = pipeline.last_trace
        rows = dict(trace.last_normalize_info.row_counts) if trace and trace.last_normalize_info else {}
        return info, {t: n for t, n in rows.items() if not t.startswith("_dlt")}
    if checkpoints.executor is not None:
        from .scale import run_on_dask

        scaled = run_on_dask(pipeline, source, checkpoints.executor, checkpoints=checkpoints.every > 0, fresh=checkpoints.fresh)
        return scaled.load_info[-1], scaled.row_counts
    from .checkpoint.driver import run as run_checkpointed

    result = run_checkpointed(pipeline, source, checkpoint_every=checkpoints.every, checkpoint_seconds=checkpoints.seconds,
                              fresh=checkpoints.fresh, on_resume=checkpoints.announce)
    return result.load_info[-1] if result.load_info else None, result.row_counts


def _select(source: Any, names: tuple[str, ...]) -> None:
    from .config.reader import suggest
    from .errors import ConfigError, Issue

    known = list(source.resources.keys())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError([Issue("--resources", f"unknown resource {n!r}", suggest(n, known) or f"known: {', '.join(known)}") for n in unknown])
    source.resources.select(*names)


def _destination(target: Target) -> Any:
    if target.destination == "duckdb":
        return duckdb_destination(target.duckdb_file or f"{target.pipeline_name}.duckdb", target.duckdb_memory_limit)
    return target.destination


def duckdb_destination(file: str | Path, memory_limit: str | None = DUCKDB_MEMORY_LIMIT) -> Any:
    """`sluice run`'s DuckDB destination: DuckDB's buffer during dlt's load capped (it spills to
    disk), and large inserts free to ignore insertion order (rows are a set; measured at 3M
    records: load peak 542 -> 414 MB, 22.6 -> 9.3 s)."""
    from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

    from .load.destination import RunDuckDb

    credentials = DuckDbCredentials(str(Path(file).resolve()))
    credentials.global_config = {"preserve_insertion_order": False}
    if memory_limit:
        credentials.global_config["memory_limit"] = memory_limit
    return RunDuckDb(credentials=credentials)


def _stats(source: Any) -> RunStats:
    runtime = getattr(source, "sluice_runtime", None)
    if runtime is None or not runtime.runs:
        return RunStats()
    stats: RunStats = runtime.runs[-1].stats
    return stats


def _table_resources(pipeline: Any) -> dict[str, str]:
    schema = pipeline.default_schema
    tables = schema.tables
    mapping: dict[str, str] = {}
    for name in tables:
        root = name
        while tables.get(root, {}).get("parent"):
            root = tables[root]["parent"]
        resource = tables.get(root, {}).get("resource")
        if resource:
            mapping[name] = resource
    return mapping


def interruption(exc: BaseException) -> int | None:
    """The signal behind an interrupted run, None for any other failure. dlt wraps a
    KeyboardInterrupt in PipelineStepFailed, and its normalize and load steps catch SIGINT and
    SIGTERM themselves, stop at a safe point and raise SignalReceivedException(signal_code)."""
    for current in _chain(exc):
        if isinstance(current, RunInterrupted):
            return current.signum
        if isinstance(current, KeyboardInterrupt):
            return int(getattr(current, "signal_code", signal.SIGINT))
    return None


def stop_engines(source: Any) -> None:
    """Stop fetching for a run that will not go on, so the process can exit within seconds."""
    for run in getattr(getattr(source, "sluice_runtime", None), "runs", []):
        if run.started:
            run._stop()
            run.join(5.0)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        yield current
        seen.add(id(current))
        current = current.__cause__ or current.__context__ or getattr(current, "exception", None)


def unwrap(exc: BaseException) -> BaseException:
    """The sluice error behind dlt's wrappers (PipelineStepFailed -> ResourceExtractionError -> ...)."""
    return next((e for e in _chain(exc) if isinstance(e, SluiceError)), exc)
