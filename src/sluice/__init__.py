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
    "validate",
]
