"""DuckDB as sluice runs load into it: `sluice run`'s destination factory (dlt's duckdb, minus
configuration it never uses), and the database held open for a whole run (`database_held_open`).

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

from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def database_held_open(pipeline: Any) -> Iterator[None]:
    """Keeps a DuckDB destination's database open in this process for a run.

    dlt opens and closes its own connection to a DuckDB file at least twice per load (state
    sync, load); the last one to close makes DuckDB checkpoint its WAL and drop the database,
    and the next one reads it all back: ~50 ms of each `pipeline.run` (measured: 0.12 -> 0.07 s
    for a one-row load), paid again by every checkpoint's slice. One more connection held for
    the run keeps the database instance alive, so dlt's connections attach to it; they are
    still dlt's, opened and closed as dlt does. Anything but a DuckDB file: nothing held."""
    path = _duckdb_file(pipeline)
    if path is None:
        yield
        return
    import duckdb

    keeper = duckdb.connect(path, read_only=False)
    try:
        yield
    finally:
        keeper.close()


def _duckdb_file(pipeline: Any) -> str | None:
    destination = getattr(pipeline, "destination", None)
    if destination is None or not destination.destination_type.endswith(".duckdb"):
        return None
    credentials = pipeline.destination_client().config.credentials
    if credentials.external_conn() is not None:
        return None  # the user's own connection: theirs to keep
    if credentials.read_only or "custom_user_agent" in (credentials.global_config or {}):
        return None  # dlt connects with a configuration the keeper's would not match (DuckDB refuses)
    path = credentials._conn_str()
    return path if isinstance(path, str) and path != ":memory:" else None
