"""`sluice run`'s DuckDB destination factory: dlt's duckdb, minus configuration it never uses.

dlt asks a destination for its capabilities ~25 times per `pipeline.run` (activation, each
step, each job client). With no configuration given, `Destination.capabilities` resolves a
partial client configuration from every config provider (environment, secrets.toml, ...:
~2,700 environment look-ups per run) only to pass it to `adjust_capabilities`; duckdb's is
dlt's base one, which reads the naming convention and never the configuration, so the
result is thrown away. This factory skips that resolution when (and only while) the
adjustment provably ignores it. Nothing is cached: the configuration dlt's clients use is
still resolved by dlt, from the providers as they are at that moment.
"""

from __future__ import annotations

from typing import Any

from dlt.common.destination.reference import Destination, DestinationReference
from dlt.destinations import duckdb

# the type dlt records in a pipeline's state: a pipeline that ran on dlt's duckdb before runs
# on this one with no "destination changed" complaint, and config sections stay `duckdb`'s
_DUCKDB_TYPE = DestinationReference.normalize_type(f"{duckdb.__module__}.{duckdb.__qualname__}")


def config_blind(factory: type[Destination[Any, Any]]) -> bool:
    """True when the factory's capabilities cannot depend on its configuration."""
    return factory.adjust_capabilities.__func__ is Destination.adjust_capabilities.__func__  # type: ignore[attr-defined]


class RunDuckDb(duckdb):
    """dlt's duckdb factory; capabilities without the partial configuration they ignore."""

    @property
    def destination_type(self) -> str:
        return _DUCKDB_TYPE

    def capabilities(self, config: Any = None, naming: Any = None) -> Any:
        if config is None and config_blind(type(self)):
            # any configuration gives the same adjustment: an empty one is resolved from nothing
            config = self.spec()
        return super().capabilities(config, naming)
