"""Seed 004 (incident management API: users, teams, services, integrations, incidents,
alerts), end to end into DuckDB.

The connector's cursor is a template over `paging.next`, an absolute URL that the engine
follows as is; a chain ends when `next` is gone (so an exact multiple of the page size costs
no empty page), and `teams`/`integrations` answer one page with no `paging` at all. The
API's offset cap answers 422, which must fail the run, not end it quietly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from seedkit import (
    SeedEnv,
    cli,
    connector_path,
    duckdb_counts,
    duplicate_keys,
    expected_tables,
    make_env,
    run_seed,
    run_seed_failing,
)

from sluice.errors import HTTPStatusError
from sluice.mock import MockServer

NAME = "incidents"
LIMIT = 20  # the API's default: the seed sends no limit
PATHS = {
    "users": "/v2/users", "teams": "/v2/teams", "services": "/v1/services",
    "integrations": "/v2/integrations", "incidents": "/v1/incidents", "alerts": "/v2/alerts",
}  # fmt: skip
UNPAGED = ("teams", "integrations")
SORTS = {"users": ("username", "asc"), "services": ("name", "asc"), "incidents": ("createdAt", "desc"),
         "alerts": ("createdAt", "desc")}


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SeedEnv:
    return make_env(tmp_path, monkeypatch)


def truth(m: MockServer) -> dict[str, int]:
    return expected_tables({r: m.data(r) for r in PATHS}, "id")


def expected_queries(m: MockServer, resource: str) -> list[dict[str, str]]:
    """The first request bare, then exactly the `next` URLs' queries, until `next` is gone."""
    if resource in UNPAGED:
        return [{}]
    sort, order = SORTS[resource]
    count = len(m.data(resource))
    follow = [{"offset": str(o), "limit": str(LIMIT), "sort": sort, "order": order} for o in range(LIMIT, count, LIMIT)]
    return [{}, *follow]


def queries(m: MockServer, resource: str) -> list[dict[str, str]]:
    return sorted((dict(r.query) for r in m.log if r.path == PATHS[resource]), key=lambda q: int(q.get("offset", 0)))


def assert_requests(m: MockServer) -> None:
    for resource in PATHS:
        assert queries(m, resource) == expected_queries(m, resource), resource
    assert {r.status for r in m.log} == {200}


def test_default_counts_follow_next_urls_then_merge_rerun(env: SeedEnv) -> None:
    with MockServer(NAME) as m:
        alerts = m.data("alerts")
        assert len(alerts) == 137 and len(m.unique_ids("alerts")) == 136  # one id on two pages
        first = run_seed(NAME, m, env)
        loaded = duckdb_counts(env, NAME)
        assert loaded == truth(m)
        assert (loaded["users"], loaded["teams"], loaded["services"], loaded["integrations"], loaded["incidents"],
                loaded["alerts"]) == (45, 6, 23, 9, 60, 136)
        assert first.rows["alerts"] == 137
        assert_requests(m)
        assert len(m.log) == first.stats.requests == 3 + 1 + 2 + 1 + 3 + 7  # incidents: 60 = 3 x 20, no empty page

        m.reset_log()
        run_seed(NAME, m, env)
        assert duckdb_counts(env, NAME) == loaded
        for table in PATHS:
            assert duplicate_keys(env, NAME, table, "id") == 0
        assert_requests(m)


def test_edge_counts(env: SeedEnv) -> None:
    counts = {"users": LIMIT - 1, "teams": 0, "services": 0, "integrations": 1, "incidents": LIMIT, "alerts": LIMIT + 1}
    with MockServer(NAME, counts=counts, options={"duplicate": False}) as m:
        result = run_seed(NAME, m, env)
        loaded = duckdb_counts(env, NAME)
        assert loaded == truth(m)
        assert {t: loaded.get(t, 0) for t in PATHS} == counts
        assert_requests(m)
        assert result.stats.requests == len(m.log) == 1 + 1 + 1 + 1 + 1 + 2


def test_offset_cap_422_fails_the_run(env: SeedEnv) -> None:
    counts: dict[str, Any] = {"users": 3, "services": 2, "incidents": 5, "alerts": 137}
    with MockServer(NAME, counts=counts, options={"offset_cap": 100}) as m:
        error = run_seed_failing(NAME, m, env)
        assert isinstance(error, HTTPStatusError), repr(error)
        message = str(error)
        assert "'alerts'" in message and "422" in message and "/v2/alerts" in message and "offset=100" in message
        assert error.status == 422
        refused = [r for r in m.log if r.status == 422]
        assert [(r.path, r.query["offset"]) for r in refused] == [("/v2/alerts", "100")]
        assert sorted(int(r.query.get("offset", 0)) for r in m.log if r.path == "/v2/alerts" and r.status == 200) == [
            0, 20, 40, 60, 80]
    assert duckdb_counts(env, NAME) == {}, "a failed run commits nothing"


def test_cli_run(env: SeedEnv, capsys: pytest.CaptureFixture[str]) -> None:
    counts = {"users": 21, "teams": 2, "services": 1, "integrations": 3, "incidents": 4, "alerts": 41}
    with MockServer(NAME, counts=counts) as m:
        env.monkeypatch.setenv("API_TOKEN", m.api_key)
        code = cli(["run", str(connector_path(NAME)), "--base-url", m.base_url,
                    "--pipelines-dir", str(env.pipelines_dir), "--duckdb-file", str(env.duckdb_file),
                    "--dataset-name", NAME, "--max-retry-delay", "0.05"])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        loaded = duckdb_counts(env, NAME)
        assert loaded == truth(m)
        assert loaded["alerts"] == 40 and loaded["users"] == 21  # 41 alerts, one of them a duplicate
