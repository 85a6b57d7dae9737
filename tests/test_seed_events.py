"""Seed 002 (event management API, resource `events`), end to end into DuckDB.

Same API shape as seed 001 (offset paging, `limit=100`, key in the query). Here the edge
counts run with the mock's `drop_total` knob: with no total to trust, only a short or empty
page ends the chain, so an exact multiple of 100 costs one empty page and nothing else does.
And an inconsistent API (`short_page_lie`: `total` says more than there is) must end too.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from seedkit import (
    SeedEnv,
    cli,
    connector_path,
    duckdb_counts,
    duplicate_keys,
    expected_tables,
    files_containing,
    make_env,
    offsets_without_total,
    page_requests,
    run_seed,
)

from sluice.mock import MockServer

NAME = "events"
RESOURCE = "events"
PATH = "/v1/events"
LIMIT = 100


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SeedEnv:
    return make_env(tmp_path, monkeypatch)


def truth(m: MockServer) -> dict[str, int]:
    return expected_tables({RESOURCE: m.data(RESOURCE)}, "id")


def test_default_counts_then_merge_rerun(env: SeedEnv, caplog: pytest.LogCaptureFixture,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    with MockServer(NAME) as m:
        assert len(m.data(RESOURCE)) == 130
        first = run_seed(NAME, m, env)
        loaded = duckdb_counts(env, NAME)
        assert loaded == truth(m) and loaded[RESOURCE] == 130
        assert first.rows == loaded
        assert page_requests(m.log, "offset", 0) == {(PATH, 0): 1, (PATH, 100): 1}

        second = run_seed(NAME, m, env)
        assert duckdb_counts(env, NAME) == loaded
        assert duplicate_keys(env, NAME, RESOURCE, "id") == 0
        assert second.stats.requests == 2 and len(m.log) == 4
        captured = capsys.readouterr()
        for text in (caplog.text, captured.out, captured.err):
            assert m.api_key not in text
        assert files_containing(env.tmp, m.api_key) == []


@pytest.mark.parametrize("count", [LIMIT - 1, LIMIT, 2 * LIMIT + 1])
def test_edge_counts_without_total(env: SeedEnv, count: int) -> None:
    with MockServer(NAME, counts={"events": count}, options={"drop_total": True}) as m:
        result = run_seed(NAME, m, env)
        assert duckdb_counts(env, NAME) == truth(m)
        assert duckdb_counts(env, NAME)[RESOURCE] == count
        offsets = offsets_without_total(count, LIMIT)
        assert page_requests(m.log, "offset", 0) == {(PATH, o): 1 for o in offsets}
        assert result.stats.requests == len(m.log) == {LIMIT - 1: 1, LIMIT: 2, 2 * LIMIT + 1: 3}[count]


def test_total_that_overstates_the_data_ends_at_the_short_page(env: SeedEnv) -> None:
    with MockServer(NAME, options={"short_page_lie": True}) as m:  # 130 records, total says 195
        result = run_seed(NAME, m, env, seconds=10)
        assert duckdb_counts(env, NAME) == truth(m)
        assert result.stats.requests == len(m.log) == 2
        assert page_requests(m.log, "offset", 0) == {(PATH, 0): 1, (PATH, 100): 1}


def test_cli_run(env: SeedEnv, capsys: pytest.CaptureFixture[str]) -> None:
    with MockServer(NAME, counts={"events": 42}) as m:
        env.monkeypatch.setenv("API_KEY", m.api_key)
        summary = env.tmp / "summary.json"
        code = cli(["run", str(connector_path(NAME)), "--base-url", m.base_url,
                    "--pipelines-dir", str(env.pipelines_dir), "--duckdb-file", str(env.duckdb_file),
                    "--dataset-name", NAME, "--max-retry-delay", "0.05", "--summary-json", str(summary)])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert duckdb_counts(env, NAME) == truth(m)
        assert duckdb_counts(env, NAME)[RESOURCE] == 42
        assert m.api_key not in captured.out + captured.err + summary.read_text()
