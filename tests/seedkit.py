"""Shared machinery of the end-to-end tests of the five seed configurations (`test_seed_*.py`).

Each test runs a seed's *unchanged* connector module against its mock over 127.0.0.1 into a
real DuckDB file under `tmp_path`, then compares what landed with the mock's ground truth:

    with MockServer("tickets", counts={"tickets": 100}) as m:
        result = run_seed("tickets", m, seed_env)
        assert duckdb_counts(seed_env) == expected_tables({"ticket_data": m.data("ticket_data")}, "id")

`expected_tables` reproduces dlt's relational normalizer (nested dicts flatten into columns,
lists become child tables `parent__field`, lists of lists `parent__field__list`), so nested
child tables are checked row for row, not only the root tables.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import duckdb
import pytest
from dlt.common.normalizers.naming.snake_case import NamingConvention

from sluice import runner
from sluice.configfile import LoadedConfig, load_config, with_base_url
from sluice.connectors import CONNECTORS
from sluice.demo import connector_file
from sluice.engine.run import RunOptions
from sluice.mock import LoggedRequest, MockServer

RUN_SECONDS = 30.0  # a bound on every run: a looping engine fails the test instead of hanging it
MAX_RETRY_DELAY = 0.05  # retry waits capped so that the seeds' backoff does not slow the tests
_NAMING = NamingConvention()


@dataclass(frozen=True)
class SeedEnv:
    """Where one test's runs go: a pipelines dir and a DuckDB file inside tmp_path."""

    tmp: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def pipelines_dir(self) -> Path:
        return self.tmp / "p"

    @property
    def duckdb_file(self) -> Path:
        return self.tmp / "x.duckdb"

    def target(self, name: str, **overrides: Any) -> runner.Target:
        fields: dict[str, Any] = {
            "pipeline_name": f"seed_{name}", "pipelines_dir": str(self.pipelines_dir),
            "duckdb_file": str(self.duckdb_file), "dataset_name": name,
        }
        return runner.Target(**(fields | overrides))


def make_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SeedEnv:
    """dlt's data dir and the working directory inside tmp_path; nothing leaks between tests.
    Each test module wraps this in its `env` fixture."""
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")  # no network: dlt would phone home
    monkeypatch.chdir(tmp_path)
    return SeedEnv(tmp_path, monkeypatch)


def cli(argv: list[str]) -> int:
    """`sluice.cli.main(argv)`, then the root logger as it was (main calls basicConfig(force=True))."""
    from sluice.cli import main

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in ("sluice", "dlt", "urllib3", "asyncio", "filelock")}
    try:
        with deadline(RUN_SECONDS):
            return main(argv)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, value in levels.items():
            logging.getLogger(name).setLevel(value)


# -- running a seed ---------------------------------------------------------------------------


def connector_path(name: str) -> Path:
    return connector_file(CONNECTORS[name].module)


def seed_config(name: str, mock: MockServer, env: SeedEnv, secret: str | None = None) -> LoadedConfig:
    """The seed's connector module, unchanged, with the mock's base_url and its key as secret
    (or `secret` instead, e.g. a wrong key)."""
    env.monkeypatch.setenv(CONNECTORS[name].secret.upper(), mock.api_key if secret is None else secret)
    loaded = load_config(connector_path(name))
    return LoadedConfig(with_base_url(loaded.config, mock.base_url), loaded.kwargs, loaded.path)


def run_seed(name: str, mock: MockServer, env: SeedEnv, *, seconds: float = RUN_SECONDS, secret: str | None = None,
             **target: Any) -> runner.RunResult:
    loaded = seed_config(name, mock, env, secret)
    with deadline(seconds):
        return runner.run(loaded, env.target(name, **target), RunOptions(max_retry_delay=MAX_RETRY_DELAY))


def run_seed_failing(name: str, mock: MockServer, env: SeedEnv, **kwargs: Any) -> BaseException:
    """Runs a seed that must fail; returns the error (any exception type: a test checks it)."""
    with pytest.raises(Exception) as info:
        run_seed(name, mock, env, **kwargs)
    return info.value


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raises TimeoutError in the main thread after `seconds` (a hang fails, it does not block CI)."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the run took more than {seconds}s: a loop or a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- what landed in DuckDB --------------------------------------------------------------------


def duckdb_counts(env: SeedEnv, dataset: str) -> dict[str, int]:
    """Rows per data table of `dataset` (dlt's own tables left out); {} when nothing was loaded."""
    if not env.duckdb_file.exists():
        return {}
    with duckdb.connect(str(env.duckdb_file), read_only=True) as con:
        tables = [row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [dataset]).fetchall()]
        return {t: con.execute(f'select count(*) from "{dataset}"."{t}"').fetchone()[0]  # type: ignore[index]
                for t in tables if not t.startswith("_dlt")}


def duplicate_keys(env: SeedEnv, dataset: str, table: str, key: str) -> int:
    with duckdb.connect(str(env.duckdb_file), read_only=True) as con:
        row = con.execute(f'select count(*) - count(distinct "{key}") from "{dataset}"."{table}"').fetchone()
    assert row is not None
    return int(row[0])


def column_values(env: SeedEnv, dataset: str, table: str, column: str) -> list[Any]:
    with duckdb.connect(str(env.duckdb_file), read_only=True) as con:
        return [r[0] for r in con.execute(f'select "{column}" from "{dataset}"."{table}"').fetchall()]


# -- ground truth -----------------------------------------------------------------------------


def unique_by(records: Iterable[Mapping[str, Any]], key: str) -> list[Mapping[str, Any]]:
    """One record per key, the last one winning (what a merge on the primary key keeps)."""
    kept: dict[Any, Mapping[str, Any]] = {}
    for record in records:
        kept[record[key]] = record
    return list(kept.values())


def expected_tables(roots: Mapping[str, Iterable[Mapping[str, Any]]], key: str | None = None) -> dict[str, int]:
    """Rows per table that dlt's relational normalizer makes of `roots` (table -> records).

    With `key`, records are first made unique by it (what lands in a `merge` table). Tables
    that get no rows are left out (dlt creates no table for them).
    """
    counts: Counter[str] = Counter()
    for table, records in roots.items():
        rows = unique_by(records, key) if key else list(records)
        for record in rows:
            _count_row(_NAMING.normalize_table_identifier(table), record, counts)
    return {t: n for t, n in counts.items() if n}


def _count_row(table: str, row: Mapping[str, Any], counts: Counter[str]) -> None:
    counts[table] += 1
    for path, items in _lists(row, ()):
        _count_list(_NAMING.make_path(table, *path), items, counts)


def _lists(row: Mapping[str, Any], path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
    """The lists of a row, with their path through nested objects (which dlt flattens)."""
    for key, value in row.items():
        name = _NAMING.normalize_identifier(key)
        if isinstance(value, dict):
            yield from _lists(value, (*path, name))
        elif isinstance(value, list):
            yield (*path, name), value


def _count_list(table: str, items: list[Any], counts: Counter[str]) -> None:
    for item in items:
        if isinstance(item, dict):
            _count_row(table, item, counts)
        elif isinstance(item, list):
            _count_row(table, {"list": item}, counts)
        else:
            counts[table] += 1


# -- the request log --------------------------------------------------------------------------


def ok(log: Iterable[LoggedRequest]) -> list[LoggedRequest]:
    return [r for r in log if r.status == 200]


def page_requests(log: Iterable[LoggedRequest], param: str, default: int) -> Counter[tuple[str, int]]:
    """The multiset of (path, page or offset) over the logged requests."""
    return Counter((r.path, int(r.query.get(param, default))) for r in log)


def numbered_pages(count: int, size: int) -> list[int]:
    """Pages a page-number chain with a known page size and no usable total requests (from 1):
    every full page, then the short one that ends it, or an empty one after an exact multiple."""
    return list(range(1, count // size + 2))


def offsets_with_total(count: int, size: int) -> list[int]:
    """Offsets an offset chain requests when the API declares its total: no empty page after
    an exact multiple, one request for an empty resource."""
    return list(range(0, max(count, 1), size))


def offsets_without_total(count: int, size: int) -> list[int]:
    """Offsets when only a short or empty page can end the chain."""
    return [size * i for i in range(count // size + 1)]


def expect_pages(paths_and_pages: Iterable[tuple[str, Iterable[int]]]) -> Counter[tuple[str, int]]:
    return Counter((path, page) for path, pages in paths_and_pages for page in pages)


# -- secrets ----------------------------------------------------------------------------------


def files_containing(root: Path, secret: str) -> list[str]:
    """Every file under `root` whose bytes hold `secret` (as is or URL-encoded)."""
    needles = {secret.encode(), secret.replace("-", "%2D").encode()}
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(n in data for n in needles):
                hits.append(str(path.relative_to(root)))
    return hits


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


__all__ = [
    "MAX_RETRY_DELAY", "RUN_SECONDS", "SeedEnv", "cli", "column_values", "connector_path", "deadline",
    "duckdb_counts", "duplicate_keys", "expect_pages", "expected_tables", "files_containing",
    "make_env", "numbered_pages", "offsets_with_total", "offsets_without_total", "ok", "page_requests",
    "query_of", "run_seed", "run_seed_failing", "seed_config", "unique_by",
]
