"""Seed 001 (ticket data API, resource `ticket_data`), end to end into DuckDB.

The connector pages by offset with `limit=100` and no `total_path`; the API declares `total`
(records), so an exact multiple of 100 costs no empty page, and an empty resource one request.
The API key travels as the query parameter `api_key`: it must not appear in a log line, an
error message, the DuckDB file or dlt's pipeline files.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
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
    offsets_with_total,
    page_requests,
    run_seed,
    run_seed_failing,
)

from sluice.errors import SluiceError
from sluice.mock import Fault, MockServer

NAME = "tickets"
RESOURCE = "ticket_data"
PATH = "/v1/tickets"
LIMIT = 100


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SeedEnv:
    return make_env(tmp_path, monkeypatch)


def truth(m: MockServer) -> dict[str, int]:
    return expected_tables({RESOURCE: m.data(RESOURCE)}, "id")


def assert_no_key(m: MockServer, env: SeedEnv, *texts: str) -> None:
    for text in texts:
        assert m.api_key not in text
    assert files_containing(env.tmp, m.api_key) == [], "the api key was written to disk"


def test_default_counts_then_merge_rerun_key_never_leaks(
    env: SeedEnv, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with MockServer(NAME) as m:
        assert len(m.data(RESOURCE)) == 250
        first = run_seed(NAME, m, env)
        assert duckdb_counts(env, NAME) == truth(m) == {RESOURCE: 250}
        assert first.rows == {RESOURCE: 250}
        assert page_requests(m.log, "offset", 0) == {(PATH, 0): 1, (PATH, 100): 1, (PATH, 200): 1}
        assert {r.query["limit"] for r in m.log} == {"100"}
        assert all(r.query["api_key"] == m.api_key for r in m.log), "the key is sent on every request"

        m.reset_log()
        second = run_seed(NAME, m, env)
        assert duckdb_counts(env, NAME) == {RESOURCE: 250}
        assert duplicate_keys(env, NAME, RESOURCE, "id") == 0
        assert second.stats.requests == len(m.log) == 3
        captured = capsys.readouterr()
        assert caplog.records, "DEBUG logging was captured"
        assert_no_key(m, env, caplog.text, captured.out, captured.err, repr(first.stats.as_dict()))


@pytest.mark.parametrize("count", [0, 1, LIMIT, LIMIT + 1])
def test_edge_counts(env: SeedEnv, count: int) -> None:
    with MockServer(NAME, counts={"tickets": count}) as m:
        result = run_seed(NAME, m, env)
        assert duckdb_counts(env, NAME) == truth(m)
        assert duckdb_counts(env, NAME).get(RESOURCE, 0) == count
        assert page_requests(m.log, "offset", 0) == {(PATH, o): 1 for o in offsets_with_total(count, LIMIT)}
        assert result.stats.requests == len(m.log) == max(1, -(-count // LIMIT))


WRONG_KEY = "td_live_0000wrong0000key0000"


@pytest.mark.parametrize(
    ("fault", "secret", "status", "attempts"),
    [
        pytest.param(Fault(persistent_status=500), None, 500, 5, id="persistent-500"),
        pytest.param(Fault(drop_connection=99), None, None, 5, id="dropped-connections"),
        pytest.param(Fault(malformed_json=99), None, 200, 5, id="malformed-json"),
        pytest.param(None, WRONG_KEY, 401, 1, id="wrong-key-401"),
    ],
)
def test_failures_name_the_url_without_the_key(
    env: SeedEnv, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
    fault: Fault | None, secret: str | None, status: int | None, attempts: int,
) -> None:
    caplog.set_level(logging.DEBUG)
    faults = {"tickets": fault} if fault else None
    with MockServer(NAME, counts={"tickets": 150}, faults=faults) as m:
        key = secret or m.api_key
        error = run_seed_failing(NAME, m, env, secret=secret)
        assert isinstance(error, SluiceError), repr(error)
        message = str(error)
        assert RESOURCE in message and PATH in message and "offset=0" in message
        if status is not None:
            assert str(status) in message
        assert f"attempts: {attempts}" in message  # 5 = dlt's default attempts in all
        # aiohttp reconnects once by itself when a reused connection is dropped
        assert len(m.log) == attempts or (fault and fault.drop_connection and len(m.log) == 2 * attempts)
        assert duckdb_counts(env, NAME) == {}
        captured = capsys.readouterr()
        for text in (message, repr(error), caplog.text, captured.out, captured.err):
            assert key not in text
        assert files_containing(env.tmp, key) == []
        assert all(r.query.get("api_key") == key for r in m.log)


def test_cli_run(env: SeedEnv, capsys: pytest.CaptureFixture[str]) -> None:
    with MockServer(NAME, counts={"tickets": 120}) as m:
        env.monkeypatch.setenv("API_KEY", m.api_key)
        code = cli(["run", str(connector_path(NAME)), "--base-url", m.base_url,
                    "--pipelines-dir", str(env.pipelines_dir), "--duckdb-file", str(env.duckdb_file),
                    "--dataset-name", NAME, "--max-retry-delay", "0.05"])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert duckdb_counts(env, NAME) == {RESOURCE: 120}
        assert RESOURCE in captured.out
        assert_no_key(m, env, captured.out, captured.err)


def test_demo(env: SeedEnv, capsys: pytest.CaptureFixture[str]) -> None:
    """`sluice demo tickets --dir D`: the mock, the unchanged seed, a DuckDB file in D, a summary."""
    env.monkeypatch.setenv("API_KEY", "unset")  # the demo sets it for real; restored after the test
    code = cli(["demo", NAME, "--dir", str(env.tmp / "demo"), "--max-retry-delay", "0.05"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert RESOURCE in out and "250" in out
    db = env.tmp / "demo" / f"demo_{NAME}.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(f'select count(*), count(distinct id) from "{NAME}"."{RESOURCE}"').fetchone() == (250, 250)
