"""sluice: declarative REST API extraction, fast and polite, loading through dlt.

    from sluice import rest_api_source
    source = rest_api_source({...})            # dlt's rest_api configuration dialect
    dlt.pipeline("tickets", destination="duckdb").run(source)
"""

from __future__ import annotations

from typing import Any

from .config import parse_source
from .config.specs import SourceSpec
from .engine.run import RunOptions
from .errors import (
    ConfigError,
    FatalError,
    HTTPStatusError,
    Issue,
    LoopError,
    ResourceError,
    ResponseError,
    RetryableError,
    SkippableError,
    SluiceError,
)

__version__ = "0.1.0"


def rest_api_source(config: Any, name: str | None = None, section: str | None = None, max_table_nesting: int | None = None,
                    root_key: bool | None = None, schema: Any = None, schema_contract: Any = None,
                    parallelized: bool = False) -> Any:
    """A dlt source for a REST API configuration; drop-in for dlt's `rest_api_source`.

    The configuration is parsed at once; every problem is raised together as `ConfigError`.
    """
    from .load.source import build_source

    spec = parse_source(config)
    return build_source(spec, name=name, section=section, max_table_nesting=max_table_nesting,
                        root_key=root_key, schema=schema, schema_contract=schema_contract)


def rest_api_resources(config: Any) -> list[Any]:
    """The dlt resources of a configuration (as dlt's `rest_api_resources`)."""
    from .load.runtime import SourceRuntime
    from .load.source import build_resources

    spec = parse_source(config)
    return build_resources(spec, SourceRuntime(spec))


def run(pipeline: Any, source: Any, *, checkpoint_every: int = 50_000, checkpoint_seconds: float = 300.0,
        fresh: bool = False, on_resume: Any = None, executor: Any = None) -> Any:
    """Load a `rest_api_source` with `pipeline` in checkpointed slices, resuming from the
    pipeline's last checkpoint (see docs/checkpoints.md); `pipeline.run(source)` stays
    all-or-nothing. Returns a `sluice.checkpoint.driver.CheckpointResult`.

    `executor`: a `distributed.Client` (or a `sluice.scale.DaskExecutor`) fetches the source
    on that Dask cluster and loads it in one load (see docs/scale-out.md); with checkpoints,
    a shard failing for good leaves the others' data loaded and the next run does the rest."""
    from .load.destination import database_held_open

    with database_held_open(pipeline):
        if executor is not None:
            from .scale import run_on_dask

            return run_on_dask(pipeline, source, executor, checkpoints=checkpoint_every > 0, fresh=fresh)
        from .checkpoint.driver import run as run_checkpointed

        return run_checkpointed(pipeline, source, checkpoint_every=checkpoint_every, checkpoint_seconds=checkpoint_seconds,
                                fresh=fresh, on_resume=on_resume)


def validate(config: Any) -> SourceSpec:
    """Parse a configuration without building anything; raises `ConfigError`."""
    return parse_source(config)


__all__ = [
    "ConfigError",
    "FatalError",
    "HTTPStatusError",
    "Issue",
    "LoopError",
    "ResourceError",
    "ResponseError",
    "RetryableError",
    "RunOptions",
    "SkippableError",
    "SluiceError",
    "rest_api_resources",
    "rest_api_source",
    "run",
    "validate",
]
