"""Seed 000 (ticketing platform: events, orders, tickets, tags), end to end into DuckDB.

The connector pages by number from 1 with `pageSize=100` and declares its page size, and the
body's `total` counts records (not pages) and is not configured: a short page ends a chain,
an exact multiple of 100 costs one empty page, and nothing more is requested.
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
    ok,
    page_requests,
    run_seed,
)

from sluice.mock import Fault, MockServer

NAME = "ticketing"
PAGE = 100
RESOURCES = ("events", "tags", "orders", "tickets")
KEY = "_id"


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SeedEnv:
    return make_env(tmp_path, monkeypatch)


def truth(m: MockServer) -> dict[str, int]:
    """Rows per table after a merge on `_id`, nested tables included."""
    return expected_tables({r: m.data(r) for r in RESOURCES}, KEY)


def expected_requests(m: MockServer, *, per_parent_record: bool) -> Counter[tuple[str, int]]:
    """(path, page) of every request: both lists, and each child list once per parent.

    `per_parent_record`: children fetched once per event *record* (dlt's way, so a
    duplicated event is asked twice) rather than once per distinct event."""
    events = m.data("events")
    parents = events if per_parent_record else list({e[KEY]: e for e in events}.values())
    wanted: Counter[tuple[str, int]] = Counter()
    for resource in ("events", "tags"):
        wanted.update(("/v1/" + resource, p) for p in numbered_pages(len(m.data(resource)), PAGE))
    for child in ("orders", "tickets"):
        sizes = Counter(r["eventId"] for r in m.data(child))
        for event in parents:
            pages = numbered_pages(sizes[event[KEY]], PAGE)
            wanted.update((f"/v1/events/{event[KEY]}/{child}", p) for p in pages)
    return wanted


def assert_requests(m: MockServer) -> None:
    got = page_requests(ok(m.log), "page", 1)
    assert got in (expected_requests(m, per_parent_record=True), expected_requests(m, per_parent_record=False))
    assert all(r.query.get("pageSize") == "100" for r in m.log), "pageSize is sent on every request"


def assert_loaded(m: MockServer, env: SeedEnv) -> None:
    assert duckdb_counts(env, NAME) == truth(m)
    for table in RESOURCES:
        if m.data(table):
            assert duplicate_keys(env, NAME, table, KEY) == 0


def test_default_counts_every_page_once_then_merge_rerun(env: SeedEnv) -> None:
    with MockServer(NAME) as m:
        events = m.data("events")
        assert len(events) == 150 and len(m.unique_ids("events")) == 149  # one _id on pages 1 and 2
        first = run_seed(NAME, m, env)

        loaded = duckdb_counts(env, NAME)
        assert loaded == truth(m)
        assert loaded["events"] == 149 and loaded["events__dates"] == sum(
            len(e["dates"]) for e in {e[KEY]: e for e in events}.values())
        assert {t for t in loaded if t.startswith("events__")} >= {"events__dates", "events__ticket_types", "events__tag_ids"}
        assert first.rows["events"] == 150 and first.rows["tags"] == 12  # both copies extracted, merged at load
        assert_requests(m)
        assert len(m.log) == first.stats.requests == 2 + 1 + first.stats.of("orders").requests + first.stats.of("tickets").requests
        headliner = m.data("events")[2][KEY]  # 130 orders: two pages
        assert Counter(r.path for r in m.log)[f"/v1/events/{headliner}/orders"] == 2
        ordered = {r.path.split("/")[3] for r in m.log if r.path.endswith("/orders")}
        assert ordered == set(m.unique_ids("events")), "orders fetched for every event"
        assert first.stats.retries == 0 and sum(s.skipped_children for s in first.stats.resources.values()) == 0

        m.reset_log()
        second = run_seed(NAME, m, env)
        assert duckdb_counts(env, NAME) == loaded
        assert_loaded(m, env)
        assert_requests(m)
        assert second.rows["events"] == 150


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param({"events": 0, "tags": 101, "orders": 0, "tickets": 0}, id="no-events-tags-size+1"),
        pytest.param({"events": 1, "tags": 100, "orders": 100, "tickets": 101}, id="one-event-tags-size-children-size-size+1"),
        pytest.param({"events": 100, "tags": 99, "orders": 1, "tickets": 0}, id="events-size-tags-size-1"),
    ],
)
def test_edge_counts(env: SeedEnv, counts: dict[str, int]) -> None:
    with MockServer(NAME, counts=counts, options={"duplicate": False}) as m:
        result = run_seed(NAME, m, env)
        assert_loaded(m, env)
        assert duckdb_counts(env, NAME).get("events", 0) == counts["events"]
        wanted = expected_requests(m, per_parent_record=True)
        assert page_requests(m.log, "page", 1) == wanted
        # an exact multiple costs one empty page; a short page (size - 1, size + 1) costs nothing more
        assert wanted[("/v1/events", 2)] == (counts["events"] >= PAGE)
        assert wanted[("/v1/tags", 2)] == (counts["tags"] >= PAGE)
        assert len(m.log) == result.stats.requests == sum(wanted.values())


def test_rate_limit_429_with_retry_after_recovers(env: SeedEnv) -> None:
    counts = {"events": 3, "tags": 2, "orders": 2, "tickets": 1}
    throttle = Fault(rate_limit_429=(2, 1.0))  # Retry-After: 1, capped by max_retry_delay
    with MockServer(NAME, counts=counts, options={"duplicate": False},
                    faults={"events": throttle, "orders": throttle}) as m:
        result = run_seed(NAME, m, env)
        assert_loaded(m, env)
        statuses = Counter((r.route, r.status) for r in m.log)
        assert statuses[("events", 429)] == 2 and statuses[("orders", 429)] == 2
        assert page_requests(ok(m.log), "page", 1) == expected_requests(m, per_parent_record=True)
        assert result.stats.of("events").retries == 2 and result.stats.of("orders").retries == 2
        assert result.stats.rate_limit_wait > 0, "Retry-After pauses the source"


def test_cli_run(env: SeedEnv, capsys: pytest.CaptureFixture[str]) -> None:
    with MockServer(NAME, counts={"events": 4, "tags": 3}) as m:
        env.monkeypatch.setenv("API_KEY", m.api_key)
        code = cli(["run", str(connector_path(NAME)), "--base-url", m.base_url,
                         "--pipelines-dir", str(env.pipelines_dir), "--duckdb-file", str(env.duckdb_file),
                         "--dataset-name", NAME, "--max-retry-delay", "0.05"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert duckdb_counts(env, NAME) == truth(m)
        assert "events" in out and "orders" in out
