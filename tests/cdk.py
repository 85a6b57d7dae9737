"""The oracle for Airbyte manifests: airbyte-cdk's `source-declarative-manifest read`.

    from cdk import assert_same, cdk_bin   # cdk_bin: a fixture (skips or fails, see below)

    def test_x(cdk_bin, tmp_path):
        assert_same(manifest, config, tmp_path)        # both read the same mock; tables equal

The CDK lives in a virtualenv of its own (its pins conflict with dlt's), found by
`$SLUICE_AIRBYTE_CDK_BIN`, then as the benchmark finds it (`bench.airbyte.find_executable`).
Not installed, the tests that need it SKIP with a loud reason; with `SLUICE_REQUIRE_CDK=1`
(CI sets it) they FAIL instead, so CI can never pass without having run them.

What is compared: sluice runs the manifest (`manifest_source`) through a dlt pipeline into
DuckDB; the CDK's records are loaded by plain dlt resources (one per stream, its table, its
primary key, the column types of sluice's table, so both sides are typed alike) into another
DuckDB. Both sides have thus had dlt's normalisation: names in snake_case, nested dicts
flattened into `a__b` columns, lists in child tables. Then per table (child tables too):
the primary-key sets, and every row's values (dlt's `_dlt_id` / `_dlt_load_id` /
`_dlt_parent_id` / `_dlt_root_id` left out, a NULL the same as an absent column). Child
tables have no key of their own: their rows are compared as multisets. A table without a
primary key is compared as a multiset of rows.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
from dlt.common.normalizers.naming.snake_case import NamingConvention

from sluice.airbyte import manifest_source, read_manifest

REPO = Path(__file__).resolve().parent.parent
BIN_ENV = "SLUICE_AIRBYTE_CDK_BIN"
REQUIRE_ENV = "SLUICE_REQUIRE_CDK"
TIMEOUT = 120.0  # seconds for one CDK read: start-up is ~2-3 s, the mocks answer at once
LINKS = ("_dlt_id", "_dlt_load_id", "_dlt_parent_id", "_dlt_root_id")
Rows = dict[str, list[dict[str, Any]]]  # table -> rows
_runs = itertools.count()
_naming = NamingConvention()


class CdkError(AssertionError):
    """The CDK read failed (exit status, error traces): `messages` says why, `read` holds the rest."""

    def __init__(self, messages: list[str], read: CdkRead) -> None:
        super().__init__("airbyte-cdk failed: " + " | ".join(messages)[:3000] + "\n" + "\n".join(read.logs)[-3000:])
        self.messages, self.read = messages, read


@dataclass
class CdkRead:
    records: Rows = field(default_factory=dict)  # stream -> records as emitted
    states: dict[str, dict[str, Any]] = field(default_factory=dict)  # stream -> its last STATE message
    errors: list[str] = field(default_factory=list)  # error traces, then a non-zero exit status
    logs: list[str] = field(default_factory=list)  # ERROR and FATAL log messages (tracebacks)


# -- finding the CDK -------------------------------------------------------------------------
def find_cdk() -> str | None:
    """`$SLUICE_AIRBYTE_CDK_BIN`, else where the benchmark looks (its env var, PATH, its venv)."""
    if explicit := os.environ.get(BIN_ENV):
        return explicit if os.access(explicit, os.X_OK) else None
    if str(REPO) not in sys.path:
        sys.path.append(str(REPO))
    from bench.airbyte import find_executable

    return find_executable()


def require_cdk() -> str:
    """The CDK's executable; missing, a skip, or a failure when SLUICE_REQUIRE_CDK=1."""
    found = find_cdk()
    if found:
        return found
    where = os.environ.get(BIN_ENV) or "bench.airbyte's places (python -m bench --install-airbyte)"
    reason = f"!!! airbyte-cdk NOT INSTALLED ({where}): the differential tests against the CDK did not run"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires them", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def cdk_bin() -> str:
    return require_cdk()


# -- the CDK's side ----------------------------------------------------------------------------
def stream_names(manifest: Mapping[str, Any]) -> list[str]:
    return [str(s["name"]) for s in read_manifest(manifest).streams]


def cdk_read(manifest: Mapping[str, Any], config: Mapping[str, Any], tmp_path: Path, streams: Iterable[str] | None = None,
             state: Mapping[str, Mapping[str, Any]] | None = None) -> CdkRead:
    """One `read` of `streams` (default: all), from `state` (a previous read's `states`)."""
    work = tmp_path / f"cdk{next(_runs)}"
    work.mkdir(parents=True)
    incremental = {str(s["name"]) for s in read_manifest(manifest).streams if s.get("incremental_sync")}
    names = list(streams) if streams is not None else stream_names(manifest)
    files = {"manifest.yaml": manifest, "config.json": config, "catalog.json": _catalog(names, incremental),
             "state.json": list((state or {}).values())}
    for name, content in files.items():
        (work / name).write_text(json.dumps(content))  # JSON is YAML
    argv = [require_cdk(), "read", "--config", "config.json", "--catalog", "catalog.json", "--manifest-path", "manifest.yaml"]
    done = subprocess.run([*argv, "--state", "state.json"], cwd=work, capture_output=True, timeout=TIMEOUT, check=False)
    (work / "stderr.txt").write_bytes(done.stderr)
    return _parse(done.stdout.decode().splitlines(), done.returncode)


def cdk_records(manifest: Mapping[str, Any], config: Mapping[str, Any], tmp_path: Path,
                streams: Iterable[str] | None = None) -> Rows:
    """The CDK's records per stream; a failed read raises CdkError."""
    read = cdk_read(manifest, config, tmp_path, streams)
    if read.errors:
        raise CdkError(read.errors, read)
    return read.records


def _catalog(names: list[str], incremental: set[str]) -> dict[str, Any]:
    def entry(name: str) -> dict[str, Any]:
        mode = "incremental" if name in incremental else "full_refresh"
        return {"stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
                "sync_mode": mode, "destination_sync_mode": "append"}

    return {"streams": [entry(n) for n in names]}


def _parse(lines: list[str], status: int) -> CdkRead:
    read = CdkRead()
    for line in lines:
        message = json.loads(line) if line.startswith("{") else {}
        kind = message.get("type")
        if kind == "RECORD":
            read.records.setdefault(message["record"]["stream"], []).append(message["record"]["data"])
        elif kind == "STATE" and message["state"].get("type") == "STREAM":
            read.states[message["state"]["stream"]["stream_descriptor"]["name"]] = message["state"]
        elif kind == "TRACE" and message["trace"].get("type") == "ERROR":
            read.errors.append(message["trace"]["error"].get("message", "error"))
        elif kind == "LOG" and message["log"].get("level") in ("ERROR", "FATAL"):
            read.logs.append(message["log"].get("message", ""))
    if status != 0:
        read.errors.append(f"exit status {status}")
    return read


# -- loading and reading tables ----------------------------------------------------------------
@dataclass
class Loaded:
    """A DuckDB file a pipeline wrote, and the pipeline (for a second, incremental run)."""

    file: Path
    pipeline: Any
    earlier: frozenset[str] = frozenset()  # the loads made before the last run

    def rows(self, keys: Mapping[str, list[str]] | None = None, latest: bool = False) -> Rows:
        """The tables; `latest`: only what the last run loaded (nothing, if it loaded nothing)."""
        return read_tables(self.file, keys, self.earlier if latest else None)

    def columns(self, table: str) -> dict[str, Any]:
        columns = self.pipeline.default_schema.get_table_columns(table)
        return {name: {k: v for k, v in c.items() if k in ("name", "data_type", "precision", "scale", "timezone")}
                for name, c in columns.items() if not name.startswith("_dlt_")}


def pipeline_in(tmp_path: Path, tag: str) -> Loaded:
    n = next(_runs)
    file = tmp_path / f"{tag}{n}.duckdb"
    pipeline = dlt.pipeline(f"{tag}{n}", destination=dlt.destinations.duckdb(str(file)), dataset_name="data",
                            pipelines_dir=str(tmp_path / f"pipes_{tag}{n}"))
    return Loaded(file, pipeline)


def sluice_load(manifest: Mapping[str, Any], config: Mapping[str, Any], tmp_path: Path, streams: Iterable[str] | None = None,
                into: Loaded | None = None) -> Loaded:
    """sluice's run of the manifest into DuckDB (into `into`'s pipeline: its next incremental run)."""
    loaded = into or pipeline_in(tmp_path, "sluice")
    loaded.earlier = frozenset(loads(loaded.file))
    selected = list(streams) if streams is not None else None
    loaded.pipeline.run(manifest_source(manifest, config, streams=selected))
    return loaded


def load_records(records: Rows, like: Loaded, keys: Mapping[str, list[str]], tmp_path: Path) -> Loaded:
    """The CDK's records through dlt: one resource per stream, typed as sluice's table."""
    loaded = pipeline_in(tmp_path, "cdk")
    resources = []
    for stream, items in records.items():
        table = _naming.normalize_table_identifier(stream)
        hints = like.columns(table) if table in like.pipeline.default_schema.tables else {}
        resources.append(dlt.resource(items, name=table, table_name=table, primary_key=keys.get(table) or (), columns=hints))
    if resources:
        loaded.pipeline.run(resources)
    return loaded


def loads(file: Path) -> list[str]:
    """The load ids a DuckDB file holds."""
    if not file.exists():
        return []
    con = duckdb.connect(str(file), read_only=True)
    try:
        return [r[0] for r in con.execute("select load_id from data._dlt_loads").fetchall()]
    finally:
        con.close()


def read_tables(file: Path, keys: Mapping[str, list[str]] | None = None, skip_loads: Collection[str] | None = None) -> Rows:
    """Every data table, rows without dlt's link columns nor NULLs; a child row says whose it
    is in `_parent` (its root row's primary key, or the parent row itself, with the list index).
    `keys`: table -> primary key; `skip_loads`: leave out the rows of these loads (and their children)."""
    if not file.exists():
        return {}
    con = duckdb.connect(str(file), read_only=True)
    try:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = 'data'").fetchall()]
        ordered = sorted((n for n in names if not n.startswith("_dlt_")), key=lambda n: (n.count("__"), n))
        return _tables(con, ordered, keys or {}, skip_loads)
    finally:
        con.close()


def _tables(con: Any, names: list[str], keys: Mapping[str, list[str]], skip: Collection[str] | None) -> Rows:
    """Parents before children: a child row of the load is one whose parent row is."""
    out: Rows = {}
    owners: dict[Any, Any] = {}  # _dlt_id -> what the row's children name it by
    for name in names:
        cursor = con.execute(f'select * from data."{name}"')
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, r)) for r in cursor.fetchall()]
        if skip is not None:
            rows = [r for r in rows if (r["_dlt_load_id"] not in skip if "_dlt_load_id" in r else r.get("_dlt_parent_id") in owners)]
        out[name] = []
        for row in rows:
            clean = {k: v for k, v in row.items() if k not in LINKS and v is not None}
            if "_dlt_parent_id" in row:
                clean["_parent"] = owners.get(row["_dlt_parent_id"])
            key = keys.get(name)
            owners[row["_dlt_id"]] = tuple(row.get(c) for c in key) if key else repr(sorted(clean.items()))
            out[name].append(clean)
    return out


# -- comparing ---------------------------------------------------------------------------------
def primary_keys(manifest: Mapping[str, Any]) -> dict[str, list[str]]:
    """table -> its stream's primary key columns as dlt names them (a nested key path joined by `__`)."""
    def columns(key: Any) -> list[str]:
        parts = [key] if isinstance(key, str) else list(key or [])
        return [_naming.normalize_path("__".join(p) if isinstance(p, list) else str(p)) for p in parts]

    return {_naming.normalize_table_identifier(str(s["name"])): columns(s.get("primary_key")) for s in read_manifest(manifest).streams}


def differences(ours: Rows, theirs: Rows, keys: Mapping[str, list[str]]) -> list[str]:
    """What differs between sluice's tables and the CDK's, table by table (empty: equal)."""
    found: list[str] = []
    for table in sorted(set(ours) | set(theirs)):
        found += _table_differences(table, ours.get(table, []), theirs.get(table, []), keys.get(table, []))
    return found


def _table_differences(table: str, ours: list[dict[str, Any]], theirs: list[dict[str, Any]], key: list[str]) -> list[str]:
    ours_by, theirs_by = _keyed(ours, key), _keyed(theirs, key)
    found = [f"{table}: key {k} only in sluice" for k in sorted(ours_by.keys() - theirs_by.keys(), key=repr)[:5]]
    found += [f"{table}: key {k} only in the CDK" for k in sorted(theirs_by.keys() - ours_by.keys(), key=repr)[:5]]
    for k in sorted(ours_by.keys() & theirs_by.keys(), key=repr):
        if ours_by[k] != theirs_by[k]:
            found.append(f"{table}: key {k}: sluice {_show(ours_by[k])} != CDK {_show(theirs_by[k])}")
    return found[:20]


def _keyed(rows: list[dict[str, Any]], key: list[str]) -> dict[Any, Counter[str]]:
    """key -> the multiset of its rows (each as a canonical string); keyless: each row its own key."""
    out: dict[Any, Counter[str]] = {}
    for row in rows:
        canonical = repr(sorted(row.items()))
        k = tuple(row.get(c) for c in key) if key else canonical
        out.setdefault(k, Counter())[canonical] += 1
    return out


def _show(rows: Counter[str]) -> str:
    return "; ".join(f"{n} x {r}" if n > 1 else r for r, n in rows.items())[:400]


@dataclass
class Comparison:
    ours: Loaded
    cdk: CdkRead
    differences: list[str]


def compare(manifest: Mapping[str, Any], config: Mapping[str, Any], tmp_path: Path, streams: Iterable[str] | None = None, *,
            after: Comparison | None = None) -> Comparison:
    """Both read the manifest once (the CDK's failures raise CdkError); their tables compared.
    `after`: an incremental read following that one (the CDK from its state, sluice in its
    pipeline): only the rows of this read are compared."""
    selected = list(streams) if streams is not None else None
    read = cdk_read(manifest, config, tmp_path, selected, after.cdk.states if after else None)
    if read.errors:
        raise CdkError(read.errors, read)
    ours = sluice_load(manifest, config, tmp_path, selected, after.ours if after else None)
    keys = primary_keys(manifest)
    theirs = load_records(again(read.records, after.cdk.records, manifest) if after else read.records, ours, keys, tmp_path)
    return Comparison(ours, read, differences(ours.rows(keys, latest=after is not None), theirs.rows(keys), keys))


def again(records: Rows, before: Rows, manifest: Mapping[str, Any]) -> Rows:
    """A second read's records without those the first read emitted unchanged, on streams
    without a lookback: the CDK's state is inclusive (the records at the last cursor value
    come again), and dlt's incremental drops those as already loaded (with a lookback, dlt's
    lag loads them again, as the CDK does)."""
    lookback = {str(s["name"]) for s in read_manifest(manifest).streams if (s.get("incremental_sync") or {}).get("lookback_window")}
    out: Rows = {}
    for stream, items in records.items():
        seen = {json.dumps(r, sort_keys=True) for r in before.get(stream, [])} if stream not in lookback else set()
        out[stream] = [r for r in items if json.dumps(r, sort_keys=True) not in seen]
    return out


def assert_same(manifest: Mapping[str, Any], config: Mapping[str, Any], tmp_path: Path, streams: Iterable[str] | None = None, *,
                after: Comparison | None = None) -> Comparison:
    """`compare`, asserting no difference and that the CDK emitted records at all."""
    result = compare(manifest, config, tmp_path, streams, after=after)
    assert result.cdk.records, "the CDK emitted no record: nothing was compared"
    assert not result.differences, "sluice != airbyte-cdk:\n" + "\n".join(result.differences)
    return result
