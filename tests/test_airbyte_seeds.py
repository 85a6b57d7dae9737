"""The Airbyte manifests of three seed APIs (`examples/airbyte/`) load what the seeds load.

Each manifest is our own, written as the connector catalog would write it for the API that a
seed configuration describes in dlt's dialect (ticketing, service desk, incident
management). Both run against the seed's sluice mock over 127.0.0.1: the seed through
`sluice.runner` (merge on its key), the manifest through `manifest_source` (append, as a
manifest says nothing of write dispositions). Every stream must load, and every table, the
nested ones too, must hold the same rows: the same primary keys, and the same values in the
columns both have. A copy of a record that the API serves twice is one row after the seed's
merge and two identical rows after the manifest's append: rows compare as sets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
import yaml
from cdk import assert_same, cdk_bin
from seedkit import SeedEnv, cli, deadline, make_env, run_seed

from sluice.airbyte import manifest_source
from sluice.connectors import CONNECTORS
from sluice.mock import MockServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "airbyte"
SEEDS = {  # seed -> (the manifest's config without its secret, the secret's name)
    "ticketing": ({}, "api_key"),
    "servicedesk": ({"domain_name": "unused.example.com", "start_date": "2020-01-01T00:00:00Z"}, "api_key"),
    "incidents": ({}, "api_token"),
}
RUN_SECONDS = 60.0
__all__ = ["cdk_bin"]  # a fixture
Row = dict[str, Any]
Rows = dict[str, list[Row]]  # table -> rows (dlt's columns left out, the root's key added to nested rows)


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SeedEnv:
    return make_env(tmp_path, monkeypatch)


def manifest_path(seed: str) -> Path:
    return EXAMPLES / f"{seed}.yaml"


def airbyte_config(seed: str, mock: MockServer) -> dict[str, Any]:
    given, secret = SEEDS[seed]
    return {**given, secret: mock.api_key, "api_url": mock.base_url.rstrip("/")}


def run_manifest(seed: str, mock: MockServer, env: SeedEnv, dataset: str = "manifest") -> Any:
    source = manifest_source(manifest_path(seed), airbyte_config(seed, mock))
    pipeline = dlt.pipeline(f"manifest_{seed}", destination=dlt.destinations.duckdb(str(env.duckdb_file)),
                            dataset_name=dataset, pipelines_dir=str(env.pipelines_dir))
    with deadline(RUN_SECONDS):
        return pipeline.run(source)


# -- reading what landed ----------------------------------------------------------------------


def tables(file: Path, dataset: str) -> Rows:
    """Every data table of `dataset`: its rows without dlt's columns, each nested row with the
    primary key of its root record (`_root`), found by following `_dlt_parent_id` upwards."""
    with duckdb.connect(str(file), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = ? "
                                           "and table_name not like '_dlt%' order by 1", [dataset]).fetchall()]
        raw = {name: _rows(con, dataset, name) for name in names}
    return {name: [_public(row, _root_key(name, row, raw)) for row in rows] for name, rows in raw.items()}


def _rows(con: duckdb.DuckDBPyConnection, dataset: str, table: str) -> list[Row]:
    cursor = con.execute(f'select * from "{dataset}"."{table}"')
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]


def _root_key(table: str, row: Row, raw: Rows) -> Any:
    """The root record's primary key (`_id` or `id`) of a nested row; None for a root row."""
    if "__" not in table:
        return None
    parent = max((t for t in raw if table.startswith(t + "__")), key=len)
    found = next(r for r in raw[parent] if r["_dlt_id"] == row["_dlt_parent_id"])
    return _root_key(parent, found, raw) if "__" in parent else found.get("_id", found.get("id"))


def _public(row: Row, root: Any) -> Row:
    kept = {k: v for k, v in row.items() if not k.startswith("_dlt_")}
    return kept if root is None else {**kept, "_root": root}


def as_set(rows: list[Row], columns: list[str]) -> set[tuple[Any, ...]]:
    return {tuple(_comparable(row.get(c)) for c in columns) for row in rows}


def _comparable(value: Any) -> Any:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def differences(seed: Rows, manifest: Rows, key: str) -> Iterator[str]:
    """What differs between two loads of one API, table by table."""
    for table in sorted(set(seed) | set(manifest)):
        ours, theirs = manifest.get(table), seed.get(table)
        if ours is None or theirs is None:
            yield f"{table}: only in the {'seed' if ours is None else 'manifest'}'s load"
            continue
        shared = sorted(set().union(*map(set, ours)) & set().union(*map(set, theirs)))
        if "__" not in table and key in shared:
            keys = ({r[key] for r in theirs}, {r[key] for r in ours})
            if keys[0] != keys[1]:
                yield f"{table}: keys only in the seed's {sorted(keys[0] - keys[1])[:5]}, only in the manifest's {sorted(keys[1] - keys[0])[:5]}"
        seen, got = as_set(theirs, shared), as_set(ours, shared)
        if seen != got:
            yield f"{table}: {len(seen - got)} rows only in the seed's, {len(got - seen)} only in the manifest's (columns {shared})"


def assert_same_tables(env: SeedEnv, seed: str, dataset: str = "manifest") -> Rows:
    key = "_id" if seed == "ticketing" else "id"
    loaded_seed, loaded_manifest = tables(env.duckdb_file, seed), tables(env.duckdb_file, dataset)
    assert list(differences(loaded_seed, loaded_manifest, key)) == []
    return loaded_manifest


def stream_names(seed: str) -> set[str]:
    return {ref["$ref"].rsplit("/", 1)[1] for ref in yaml.safe_load(manifest_path(seed).read_text())["streams"]}


# -- the tests --------------------------------------------------------------------------------


def test_every_seed_resource_is_a_stream_of_its_manifest() -> None:
    from sluice.demo import connector_file

    for seed in SEEDS:  # the seed's YAML form: its resource names without its secret
        config = yaml.safe_load(connector_file(CONNECTORS[seed].module).with_suffix(".yaml").read_text())
        assert stream_names(seed) == {r["name"] for r in config["resources"]}, seed


@pytest.mark.parametrize("seed", list(SEEDS))
def test_the_manifest_loads_the_seeds_tables(env: SeedEnv, seed: str) -> None:
    with MockServer(seed) as mock:
        run_seed(seed, mock, env)
        requests_of_seed = len(mock.log)
        mock.reset_log()
        info = run_manifest(seed, mock, env)
        assert not info.has_failed_jobs
        loaded = assert_same_tables(env, seed)
        assert {t for t in loaded if "__" not in t} >= {n for n in stream_names(seed) if mock.data(n)}
        assert all(r.status in (200, 404) for r in mock.log) and len(mock.log) <= requests_of_seed + 5
        if seed == "servicedesk":  # the tickets' DatetimeBasedCursor sends its start
            assert {r.query.get("updated_since") for r in mock.log if r.route == "tickets"} == {"2020-01-01T00:00:00Z"}


@pytest.mark.parametrize("seed", list(SEEDS))
def test_the_cdk_reads_the_manifest_as_sluice_loads_it(cdk_bin: str, env: SeedEnv, seed: str) -> None:
    """The oracle: airbyte-cdk reads the same manifest from the same mock; sluice's tables
    equal its records loaded by dlt (every stream, nested tables too; `cdk.py`)."""
    manifest = yaml.safe_load(manifest_path(seed).read_text())
    with MockServer(seed) as mock:
        result = assert_same(manifest, airbyte_config(seed, mock), env.tmp)
    assert set(result.cdk.records) == {n for n in stream_names(seed) if mock.data(n)}


def test_the_cli_runs_a_seed_manifest_with_its_config_file(env: SeedEnv, capsys: pytest.CaptureFixture[str]) -> None:
    seed = "incidents"
    with MockServer(seed) as mock:
        run_seed(seed, mock, env)
        config = env.tmp / "config.json"
        config.write_text(json.dumps({"api_url": mock.base_url.rstrip("/")}))
        env.monkeypatch.setenv("API_TOKEN", mock.api_key)  # the spec's airbyte_secret, from the environment
        code = cli(["run", str(manifest_path(seed)), "--airbyte-config", str(config), "--duckdb-file",
                    str(env.duckdb_file), "--dataset-name", "cli", "--pipelines-dir", str(env.pipelines_dir),
                    "--log-format", "json"])
        assert code == 0, capsys.readouterr().out[-2000:]
        loaded = assert_same_tables(env, seed, "cli")
        assert {t for t in loaded if "__" not in t} == stream_names(seed)


def test_the_example_configs_hold_no_secret() -> None:
    for seed, (_, secret) in SEEDS.items():
        example: Mapping[str, Any] = json.loads((EXAMPLES / f"{seed}.config.json").read_text())
        assert secret not in example and "api_url" in example


def test_a_parent_stream_in_a_childs_router_keeps_its_own_parameters() -> None:
    """The CDK merges `$parameters` with a component's own winning over its parents' (outside
    dynamic streams): `events` inside `orders`' router stays `events`, not `orders`."""
    from sluice.airbyte import conversion

    converted = conversion(manifest_path("ticketing"), {"api_key": "k", "api_url": "http://127.0.0.1:9/v1"})
    paths = {r["name"]: r["endpoint"]["path"] for r in converted.config["resources"]}
    assert paths == {"events": "events", "tags": "tags", "orders": "events/{resources.events._id}/orders",
                     "tickets": "events/{resources.events._id}/tickets"}
