"""Seed 003 (service desk API: 12 lists and 2 children of tickets), end to end into DuckDB.

The connector pages by number with `limit: 30` and no `limit_param` (the API's default page
size is 30) and no total: a short page ends a chain, an exact multiple of 30 costs one empty
page. Its own error handling: 403 retried 3 times (a transient 403 recovers, a disabled
module fails the run with nothing committed); a 404 child (no survey, not a service
request) is skipped and counted, after retries for `requested_items` (its config retries 404).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from seedkit import (
    SeedEnv,
    cli,
    connector_path,
    duckdb_counts,
    duplicate_keys,
    expected_tables,
    make_env,
    numbered_pages,
    page_requests,
    run_seed,
    run_seed_failing,
)

from sluice.errors import HTTPStatusError
from sluice.mock import Fault, MockServer

NAME = "servicedesk"
PAGE = 30
BASE = "/api/v2/"
# seed resource -> mock route (= path under /api/v2)
LISTS = {
    "tickets": "tickets", "problems": "problems", "changes": "changes", "releases": "releases",
    "requesters": "requesters", "agents": "agents", "locations": "locations", "products": "products",
    "vendors": "vendors", "assets": "assets", "software": "applications", "purchase_orders": "purchase_orders",
}  # fmt: skip
CHILDREN = {"satisfaction_survey_responses": "csat_response", "requested_items": "requested_items"}
ATTEMPTS = 4  # the seed's error_handler: max_retries 3


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SeedEnv:
    return make_env(tmp_path, monkeypatch)


def truth(m: MockServer) -> dict[str, int]:
    return expected_tables({r: m.data(r) for r in [*LISTS, *CHILDREN]}, "id")


def service_requests(m: MockServer) -> set[int]:
    return {t["id"] for t in m.data("tickets") if t["type"] == "Service Request"}


def expected_requests(m: MockServer) -> Counter[tuple[str, int]]:
    """Every list page once; per ticket one csat request, and one requested_items request
    for a service request or ATTEMPTS for an incident (404, retried by the seed's config)."""
    wanted: Counter[tuple[str, int]] = Counter()
    for resource, route in LISTS.items():
        wanted.update((BASE + route, p) for p in numbered_pages(len(m.data(resource)), PAGE))
    requests = service_requests(m)
    for ticket in m.unique_ids("tickets"):
        wanted[(f"{BASE}tickets/{ticket}/csat_response", 1)] += 1
        wanted[(f"{BASE}tickets/{ticket}/requested_items", 1)] += 1 if ticket in requests else ATTEMPTS
    return wanted


def assert_children(m: MockServer, result: object) -> None:
    stats = result.stats  # type: ignore[attr-defined]
    tickets = len(m.unique_ids("tickets"))
    surveys, requests = len(m.data("satisfaction_survey_responses")), len(service_requests(m))
    assert stats.of("satisfaction_survey_responses").skipped_children == tickets - surveys
    assert stats.of("requested_items").skipped_children == tickets - requests
    assert stats.of("requested_items").retries == (tickets - requests) * (ATTEMPTS - 1)
    by_route = Counter((r.route, r.status) for r in m.log)
    assert by_route[("csat_response", 200)] == surveys and by_route[("csat_response", 404)] == tickets - surveys
    assert by_route[("requested_items", 200)] == requests


def test_default_counts_transient_403_then_disabled_module_commits_nothing(env: SeedEnv) -> None:
    with MockServer(NAME) as m:
        assert (len(m.data("tickets")), len(m.data("satisfaction_survey_responses")), len(service_requests(m))) == (95, 19, 38)
        first = run_seed(NAME, m, env)
        loaded = duckdb_counts(env, NAME)
        assert loaded == truth(m)
        assert "releases" not in loaded  # an empty resource: one request, no table
        assert page_requests(m.log, "page", 1) == expected_requests(m)
        assert all("per_page" not in r.query for r in m.log), "limit without limit_param sends nothing"
        assert len(m.log) == first.stats.requests
        assert_children(m, first)

        # a second run, through transient 403s, merges into the same rows
        m.reset_log()
        m.set_fault("tickets", Fault(transient_403=2))
        m.set_fault("problems", Fault(transient_403=1))
        second = run_seed(NAME, m, env)
        assert duckdb_counts(env, NAME) == loaded
        for table, key in (("tickets", "id"), ("problems", "id"), ("requested_items", "id"),
                           ("satisfaction_survey_responses", "id")):
            assert duplicate_keys(env, NAME, table, key) == 0
        assert second.stats.of("tickets").retries == 2 and second.stats.of("problems").retries == 1
        assert Counter((r.route, r.status) for r in m.log)[("tickets", 403)] == 2
        assert page_requests([r for r in m.log if r.status != 403], "page", 1) == expected_requests(m)

        # a module that became disabled: the run fails and the destination keeps the good run
        m.clear_faults()
        m.reset_log()
        m.set_fault("problems", Fault(persistent_status=403))
        error = run_seed_failing(NAME, m, env)
        assert_forbidden(error, m)
        assert duckdb_counts(env, NAME) == loaded


def assert_forbidden(error: BaseException, m: MockServer) -> None:
    assert isinstance(error, HTTPStatusError), repr(error)
    message = str(error)
    assert "'problems'" in message and f"{m.base_url}/problems" in message
    assert "403" in message and f"attempts: {ATTEMPTS}" in message
    assert (error.resource, error.status, error.attempts) == ("problems", 403, ATTEMPTS)
    assert Counter(r.route for r in m.log if r.status == 403)["problems"] == ATTEMPTS


def test_disabled_module_fails_with_nothing_loaded_and_a_rerun_loads_everything(env: SeedEnv) -> None:
    counts = {"tickets": 12, "problems": 40, "assets": 31}
    with MockServer(NAME, counts=counts, options={"disabled_modules": {"problems"}}) as m:
        error = run_seed_failing(NAME, m, env)
        assert_forbidden(error, m)
    assert duckdb_counts(env, NAME) == {}, "nothing of the failed run is committed"

    with MockServer(NAME, counts=counts) as m:  # same seed: the same data, module enabled
        run_seed(NAME, m, env)
        assert duckdb_counts(env, NAME) == truth(m)
        assert duckdb_counts(env, NAME)["problems"] == 40


def test_edge_counts(env: SeedEnv) -> None:
    """One run, one edge per list: 0, 1, size - 1, size, size + 1, 2 x size."""
    counts = {"tickets": PAGE, "problems": 1, "changes": PAGE - 1, "releases": PAGE + 1, "requesters": 2 * PAGE,
              "agents": 0, "locations": 0, "products": 2, "vendors": 3, "assets": 0, "applications": 1,
              "purchase_orders": 0}
    with MockServer(NAME, counts=counts) as m:
        result = run_seed(NAME, m, env)
        assert duckdb_counts(env, NAME) == truth(m)
        wanted = expected_requests(m)
        assert page_requests(m.log, "page", 1) == wanted
        assert result.stats.requests == len(m.log) == sum(wanted.values())
        pages = {route: len(numbered_pages(n, PAGE)) for route, n in counts.items()}
        assert (pages["tickets"], pages["problems"], pages["changes"], pages["releases"], pages["requesters"],
                pages["agents"]) == (2, 1, 1, 2, 3, 1)
        assert_children(m, result)


def test_cli_run(env: SeedEnv, capsys: pytest.CaptureFixture[str]) -> None:
    counts = {"tickets": 10, "problems": 3, "assets": 35}
    with MockServer(NAME, counts=counts) as m:
        env.monkeypatch.setenv("API_KEY", m.api_key)
        code = cli(["run", str(connector_path(NAME)), "--base-url", m.base_url,
                    "--pipelines-dir", str(env.pipelines_dir), "--duckdb-file", str(env.duckdb_file),
                    "--dataset-name", NAME, "--max-retry-delay", "0.05"])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        loaded = duckdb_counts(env, NAME)
        assert loaded == truth(m)
        assert (loaded["tickets"], loaded["problems"], loaded["assets"]) == (10, 3, 35)
