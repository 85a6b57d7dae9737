"""The fixed cost of one pipeline run (issue 13 section 4): what sluice cuts, and that dlt's
configuration and the loaded tables stay what they were."""

from __future__ import annotations

import time
from typing import Any

import dlt
import duckdb
import pytest
from dlt.common.configuration.providers.environ import EnvironProvider
from dlt.common.schema import Schema

from sluice.runner import duckdb_destination


def _dlt_duckdb(file: Any) -> Any:
    """dlt's own factory with the credentials `duckdb_destination` gives its."""
    return dlt.destinations.duckdb(credentials=duckdb_destination(file).config_params["credentials"])


def _fields(caps: Any) -> dict[str, Any]:
    return {k: getattr(caps, k) for k in caps.get_resolvable_fields()}


@pytest.mark.parametrize("naming", [None, Schema("s").naming, Schema("s", normalizers={"names": "sql_cs_v1"}).naming])
def test_capabilities_are_dlts(tmp_path, monkeypatch, naming: Any) -> None:
    # an environment that a resolution would read: the capabilities do not depend on it
    monkeypatch.setenv("DESTINATION__DUCKDB__CREATE_INDEXES", "true")
    ours, theirs = duckdb_destination(tmp_path / "a.duckdb"), _dlt_duckdb(tmp_path / "a.duckdb")
    assert _fields(ours.capabilities(naming=naming)) == _fields(theirs.capabilities(naming=naming))


def test_capabilities_do_not_resolve_a_configuration(tmp_path, monkeypatch) -> None:
    # dlt resolved a partial configuration (~120 environment look-ups) on each of ~25 calls
    # per run, only to ignore it in duckdb's adjustment of the capabilities
    naming = Schema("s").naming  # a schema reads its naming convention from the configuration
    looked: list[str] = []
    original = EnvironProvider.get_value

    def counted(self: Any, key: str, *args: Any) -> Any:
        looked.append(key)
        return original(self, key, *args)

    monkeypatch.setattr(EnvironProvider, "get_value", counted)
    destination = duckdb_destination(tmp_path / "a.duckdb")
    destination.capabilities()
    destination.capabilities(naming=naming)
    assert looked == []
    destination.configuration(destination.spec(), accept_partial=True)  # a real resolution still asks the providers
    assert looked


def test_the_destination_is_duckdb_to_dlt(tmp_path) -> None:
    # the type is kept in the pipeline's state and names the config section
    ours, theirs = duckdb_destination(tmp_path / "a.duckdb"), _dlt_duckdb(tmp_path / "a.duckdb")
    assert (ours.destination_type, ours.destination_name) == (theirs.destination_type, theirs.destination_name)
    pipeline = dlt.pipeline("kinds", destination=ours, pipelines_dir=str(tmp_path / "p"), dataset_name="d")
    pipeline.run([{"a": 1}], table_name="t")
    again = dlt.pipeline("kinds", destination=theirs, pipelines_dir=str(tmp_path / "p"), dataset_name="d")
    again.run([{"a": 2}], table_name="t")
    assert again.state["destination_type"] == "dlt.destinations.duckdb"


def _constraints(file: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(file), read_only=True) as con:
        return con.execute(
            "select table_name, constraint_type from duckdb_constraints() where table_name = 't' "
            "and constraint_type in ('PRIMARY KEY', 'UNIQUE')"
        ).fetchall()


@pytest.mark.parametrize("create_indexes", [True, False])
def test_dlt_configuration_set_before_the_run_applies(tmp_path, monkeypatch, create_indexes: bool) -> None:
    monkeypatch.setenv("DESTINATION__DUCKDB__CREATE_INDEXES", str(create_indexes).lower())
    file = tmp_path / "a.duckdb"
    pipeline = dlt.pipeline("configured", destination=duckdb_destination(file), pipelines_dir=str(tmp_path / "p"), dataset_name="d")
    pipeline.run([{"id": 1}], table_name="t", primary_key="id")
    assert bool(_constraints(file)) is create_indexes


_FIRST_RUN = """
import json, sys
import dlt
import sluice.load.runtime as runtime
from sluice import rest_api_source
from sluice.runner import duckdb_destination

seen = []
start = runtime.Run.start

def recording(self):
    seen.append("pyarrow" in sys.modules)
    start(self)

runtime.Run.start = recording
base_url, workdir = sys.argv[1], sys.argv[2]
config = {"client": {"base_url": base_url},
          "resources": [{"name": "items", "endpoint": {"path": "offset", "paginator": {"type": "offset", "limit": 10}}}]}
pipeline = dlt.pipeline("first", destination=duckdb_destination(workdir + "/a.duckdb"), pipelines_dir=workdir, dataset_name="d")
before = "pyarrow" in sys.modules
pipeline.run(rest_api_source(config))
print(json.dumps({"before": before, "at_start": seen[0], "after": "pyarrow" in sys.modules,
                  "rows": pipeline.last_trace.last_normalize_info.row_counts["items"]}))
"""


def test_the_engine_fetches_while_pyarrow_is_imported(api, tmp_path) -> None:
    # a fresh process imports pyarrow (0.3-0.4 s) on its first Arrow page: with the engine
    # already fetching, not before it starts
    import json
    import subprocess
    import sys

    api.count = 35
    done = subprocess.run([sys.executable, "-c", _FIRST_RUN, api.origin, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"before": False, "at_start": False, "after": True, "rows": 35}


def test_dlt_toml_configuration_applies(tmp_path) -> None:
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text("[destination.duckdb]\ncreate_indexes = true\n")
    context = Container()[PluggableRunContext]
    run_dir = context.context.run_dir
    context.reload(str(tmp_path))
    try:
        file = tmp_path / "a.duckdb"
        pipeline = dlt.pipeline("toml", destination=duckdb_destination(file), pipelines_dir=str(tmp_path / "p"), dataset_name="d")
        pipeline.run([{"id": 1}], table_name="t", primary_key="id")
    finally:
        context.reload(run_dir)
    assert _constraints(file)


def _default_order(file: Any) -> str:
    with duckdb.connect(str(file)) as con:
        return str(con.execute("select current_setting('default_order')").fetchall()[0][0])


def test_a_held_database_outlives_dlts_connections(tmp_path) -> None:
    # dlt opens and closes its own connections: with the database held, each one attaches to the
    # same instance (a global setting survives), instead of reading the file back from disk
    from sluice.load.destination import database_held_open

    file = tmp_path / "a.duckdb"
    pipeline = dlt.pipeline("held", destination=duckdb_destination(file), pipelines_dir=str(tmp_path / "p"), dataset_name="d")
    with database_held_open(pipeline):
        with duckdb.connect(str(file)) as con:
            con.execute("set global default_order = 'DESC'")
        assert _default_order(file) == "DESC"
    assert _default_order(file) == "ASCENDING"  # released: the next connection opens it afresh


def test_nothing_is_held_for_a_connection_of_the_users_own(tmp_path) -> None:
    from sluice.load.destination import database_held_open

    with duckdb.connect(str(tmp_path / "own.duckdb")) as own:
        pipeline = dlt.pipeline("own", destination=dlt.destinations.duckdb(own), pipelines_dir=str(tmp_path / "p"), dataset_name="d")
        with database_held_open(pipeline):
            pipeline.run([{"a": 1}], table_name="t")
        assert own.execute("select count(*) from d.t").fetchall() == [(1,)]
    filesystem = dlt.pipeline("files", destination=dlt.destinations.filesystem(str(tmp_path / "fs")), pipelines_dir=str(tmp_path / "p"))
    with database_held_open(filesystem):
        filesystem.run([{"a": 1}], table_name="t")


def _probing_config(api: Any, file: Any, held: list[bool], path: str = "offset") -> dict[str, Any]:
    from sluice.load.destination import _HELD

    def probe(record: dict[str, Any]) -> dict[str, Any]:
        # the hold is taken just after the engine starts: the first records may come before it
        deadline = time.monotonic() + 5.0
        while not _HELD.held(str(file)) and time.monotonic() < deadline:
            time.sleep(0.01)
        held.append(_HELD.held(str(file)))
        return record

    return {"client": {"base_url": api.origin}, "resources": [
        {"name": "items", "processing_steps": [{"map": probe}],
         "endpoint": {"path": path, "paginator": {"type": "offset", "limit": 10}}}]}


def _count(file: Any) -> int:
    with duckdb.connect(str(file), read_only=True) as con:  # released: a read-only connection opens
        return int(con.execute("select count(*) from d.items").fetchall()[0][0])


def test_a_checkpointed_run_holds_its_database_until_it_ends(api: Any, tmp_path) -> None:
    import sluice

    file, held = tmp_path / "run.duckdb", []
    api.count = 300
    pipeline = dlt.pipeline("held_run", destination=duckdb_destination(file), pipelines_dir=str(tmp_path / "p"), dataset_name="d")
    result = sluice.run(pipeline, sluice.rest_api_source(_probing_config(api, file, held)), checkpoint_every=50)
    assert result.slices >= 2 and held and all(held)
    assert _count(file) == 300


@pytest.mark.parametrize("destination", ["duckdb_destination", "dlt"])
def test_a_plain_pipeline_run_holds_its_database_until_it_ends(api: Any, tmp_path, destination: str) -> None:
    import sluice

    file, held = tmp_path / "plain.duckdb", []
    api.count = 30
    factory = duckdb_destination(file) if destination != "dlt" else dlt.destinations.duckdb(str(file))
    pipeline = dlt.pipeline("held_plain", destination=factory, pipelines_dir=str(tmp_path / "p"), dataset_name="d")
    pipeline.run(sluice.rest_api_source(_probing_config(api, file, held)))
    assert held and all(held)
    assert _count(file) == 30
    pipeline.run(sluice.rest_api_source(_probing_config(api, file, held)))  # held and released again
    assert _count(file) == 60


def test_a_failed_run_lets_go_of_its_database(api: Any, tmp_path) -> None:
    import sluice

    file, held = tmp_path / "failed.duckdb", []
    api.count = 30
    pipeline = dlt.pipeline("held_failed", destination=duckdb_destination(file), pipelines_dir=str(tmp_path / "p"), dataset_name="d")
    pipeline.run(sluice.rest_api_source(_probing_config(api, file, held)))
    with pytest.raises(Exception):  # noqa: B017 - dlt wraps the engine's error in its own step failure
        pipeline.run(sluice.rest_api_source(_probing_config(api, file, held, path="no/such/route")))
    assert _count(file) == 30
