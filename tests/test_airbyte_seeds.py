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
import pytest
import yaml
from cdk import Rows, assert_same, cdk_bin, cdk_read, read_tables, sluice_load
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
KEYS = {"ticketing": "_id"}  # the others' key is `id`
__all__ = ["cdk_bin"]  # a fixture
Row = dict[str, Any]


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SeedEnv:
    return make_env(tmp_path, monkeypatch)


def manifest_path(seed: str) -> Path:
    return EXAMPLES / f"{seed}.yaml"


def airbyte_config(seed: str, mock: MockServer) -> dict[str, Any]:
    given, secret = SEEDS[seed]
    return {**given, secret: mock.api_key, "api_url": mock.base_url.rstrip("/")}


def run_manifest(seed: str, mock: MockServer, env: SeedEnv) -> Path:
    """The manifest through `manifest_source` into its own DuckDB file (dataset `data`)."""
    file = env.tmp / "manifest.duckdb"
    source = manifest_source(manifest_path(seed), airbyte_config(seed, mock))
    pipeline = dlt.pipeline(f"manifest_{seed}", destination=dlt.destinations.duckdb(str(file)),
                            dataset_name="data", pipelines_dir=str(env.pipelines_dir))
    with deadline(RUN_SECONDS):
        assert not pipeline.run(source).has_failed_jobs
    return file


# -- comparing what landed ---------------------------------------------------------------------


def loaded(file: Path, seed: str) -> Rows:
    """`cdk.read_tables`: rows without dlt's link columns nor NULLs, a nested row naming its root
    record's key (or its parent row) in `_parent`."""
    return read_tables(file, {table: [KEYS.get(seed, "id")] for table in stream_names(seed)})


def differences(seed: Rows, manifest: Rows, key: str) -> Iterator[str]:
    """What differs between two loads of one API, table by table: the root tables' keys, and
    every table's rows as a set (the seed merges copies of a record, the manifest appends them)."""
    for table in sorted(set(seed) | set(manifest)):
        theirs, ours = seed.get(table), manifest.get(table)
        if ours is None or theirs is None:
            yield f"{table}: only in the {'seed' if ours is None else 'manifest'}'s load"
            continue
        if "__" not in table:
            keys = {r[key] for r in theirs}, {r[key] for r in ours}
            if keys[0] != keys[1]:
                yield f"{table}: keys only in the seed's {sorted(keys[0] - keys[1])[:5]}, only in the manifest's {sorted(keys[1] - keys[0])[:5]}"
        seen, got = _as_set(theirs), _as_set(ours)
        if seen != got:
            yield f"{table}: {len(seen - got)} rows only in the seed's, {len(got - seen)} only in the manifest's, e.g. {sorted(seen ^ got)[:1]}"


def _as_set(rows: list[Row]) -> set[str]:
    return {repr(sorted(row.items())) for row in rows}


def assert_same_tables(env: SeedEnv, seed: str, manifest_file: Path) -> Rows:
    by_seed, by_manifest = loaded(env.duckdb_file, seed), loaded(manifest_file, seed)
    assert by_manifest, "the manifest loaded nothing"
    assert list(differences(by_seed, by_manifest, KEYS.get(seed, "id"))) == []
    return by_manifest


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
        run_seed(seed, mock, env, dataset_name="data")
        requests_of_seed = len(mock.log)
        mock.reset_log()
        tables = assert_same_tables(env, seed, run_manifest(seed, mock, env))
        assert {t for t in tables if "__" not in t} == {n for n in stream_names(seed) if mock.data(n)}
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


def _link_header_pages(manifest: dict[str, Any]) -> None:
    manifest["definitions"]["paginator"] = {
        "type": "DefaultPaginator", "page_token_option": {"type": "RequestPath"},
        "page_size_option": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "per_page"},
        "pagination_strategy": {"type": "CursorPagination", "page_size": 30, "cursor_value": "{{ headers['link']['next']['url'] }}",
                                "stop_condition": "{{ 'next' not in headers['link'] }}"}}


def _sized_cursor(manifest: dict[str, Any]) -> None:
    paginator = manifest["definitions"]["paginator"]
    paginator["page_size_option"] = {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "limit"}
    paginator["pagination_strategy"]["page_size"] = 100


def _client_side_cursor_on_orders(manifest: dict[str, Any]) -> None:
    at = "%Y-%m-%dT%H:%M:%S.%fZ"
    manifest["definitions"]["streams"]["orders"]["incremental_sync"] = {
        "type": "DatetimeBasedCursor", "cursor_field": "updatedAt", "datetime_format": at, "is_client_side_incremental": True,
        "start_datetime": {"type": "MinMaxDatetime", "datetime": "2024-06-18T15:55:38.113Z", "datetime_format": at}}


@pytest.mark.parametrize(("seed", "change"), [("servicedesk", _link_header_pages), ("incidents", _sized_cursor),
                                              ("ticketing", _client_side_cursor_on_orders)])
def test_variants_of_the_seed_manifests_read_as_the_cdk_reads_them(cdk_bin: str, env: SeedEnv, seed: str, change: Any) -> None:
    """Other ways the catalog writes the same APIs: the service desk paged by its `Link`
    header, the incidents' cursor with a page size, a client-side cursor on a substream
    that drops about half of the orders."""
    manifest = yaml.safe_load(manifest_path(seed).read_text())
    change(manifest)
    with MockServer(seed) as mock:
        result = assert_same(manifest, airbyte_config(seed, mock), env.tmp)
        if seed == "ticketing":
            assert 0 < len(result.cdk.records["orders"]) < len(mock.data("orders"))


def test_on_the_next_run_a_child_of_an_incremental_parent_reads_every_parent(cdk_bin: str, env: SeedEnv) -> None:
    """The service desk's surveys are a full-refresh stream under the incremental tickets
    stream: on a second read the CDK partitions them by every ticket again (the router reads
    its parent from the start date), and so does sluice (a copy of the parent with no state)."""
    manifest, streams = yaml.safe_load(manifest_path("servicedesk").read_text()), ["tickets", "satisfaction_survey_responses"]
    with MockServer("servicedesk") as mock:
        config = airbyte_config("servicedesk", mock)
        first = cdk_read(manifest, config, env.tmp, streams)
        theirs = cdk_read(manifest, config, env.tmp, streams, state=first.states).records["satisfaction_survey_responses"]
        ours = sluice_load(manifest, config, env.tmp, streams)
        ours = sluice_load(manifest, config, env.tmp, streams, into=ours).rows(latest=True)
    assert len(theirs) == len(mock.data("satisfaction_survey_responses")) == 19
    assert len(ours.get("satisfaction_survey_responses", [])) == len(theirs)


def test_the_cli_runs_a_seed_manifest_with_its_config_file(env: SeedEnv, capsys: pytest.CaptureFixture[str]) -> None:
    seed = "incidents"
    with MockServer(seed) as mock:
        run_seed(seed, mock, env, dataset_name="data")
        config = env.tmp / "config.json"
        config.write_text(json.dumps({"api_url": mock.base_url.rstrip("/")}))
        env.monkeypatch.setenv("API_TOKEN", mock.api_key)  # the spec's airbyte_secret, from the environment
        file = env.tmp / "cli.duckdb"
        code = cli(["run", str(manifest_path(seed)), "--airbyte-config", str(config), "--duckdb-file", str(file),
                    "--dataset-name", "data", "--pipelines-dir", str(env.pipelines_dir), "--log-format", "json"])
        assert code == 0, capsys.readouterr().out[-2000:]
        tables = assert_same_tables(env, seed, file)
        assert {t for t in tables if "__" not in t} == stream_names(seed)


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


@pytest.mark.slow
def test_the_bench_runs_the_manifest_case_on_both_sides(cdk_bin: str, tmp_path: Path) -> None:
    """`python -m bench --cases manifest --with-airbyte`: sluice and the CDK on the same seed
    manifest and mock, the tables agree, and the note gives the ratio (its value is not judged
    here: timings on a shared machine)."""
    import subprocess
    import sys

    out = tmp_path / "bench.md"
    argv = [sys.executable, "-m", "bench", "--quick", "--cases", "manifest", "--with-airbyte", "--airbyte-bin", cdk_bin,
            "--out", str(out)]
    done = subprocess.run(argv, cwd=EXAMPLES.parent.parent, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = out.read_text()
    engines = {line.split("|")[3].strip() for line in report.splitlines() if line.startswith("| manifest ticketing")}
    assert engines == {"sluice", "airbyte declarative (extract only)"}, report
    assert "Tables checked equal to sluice's" in report and "MISMATCH" not in report and "ERROR" not in report
    assert "- Airbyte manifest (manifest ticketing 20ms, 200): sluice extracts and loads in " in report, report
