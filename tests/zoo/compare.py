"""Run one zoo case through dlt and through sluice; describe every difference readably."""

from __future__ import annotations

import copy
import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import duckdb

from .kit import Case, Sent, Zoo

DLT_IDS = ("_dlt_id", "_dlt_load_id", "_dlt_parent_id", "_dlt_root_id")


@dataclass
class Table:
    types: dict[str, str]  # column -> dlt data type, from the pipeline's schema, in its order
    rows: list[str]  # repr of each row without dlt ids, sorted (order-free comparison)

    def digest(self) -> str:
        return hashlib.sha256("\n".join(self.rows).encode()).hexdigest()[:12]


@dataclass
class Outcome:
    tables: dict[str, Table]
    requests: list[Sent]
    error: str = ""


def configured(case: Case, origin: str) -> dict[str, Any]:
    """The case's configuration with `client.base_url` under the case's mount point."""
    mount = f"{origin}/{case.name}/"
    config = _absolute(copy.deepcopy(case.config), mount)
    client = config.setdefault("client", {})
    client["base_url"] = mount + client.get("base_url", "")
    return config


def _absolute(value: Any, mount: str) -> Any:
    """Strings 'zoo:<path>' -> '<mount><path>' anywhere in the config (token URLs, next URLs)."""
    if isinstance(value, dict):
        return {key: _absolute(item, mount) for key, item in value.items()}
    if isinstance(value, list):
        return [_absolute(item, mount) for item in value]
    return mount + value[4:] if isinstance(value, str) and value.startswith("zoo:") else value


def run(case: Case, zoo: Zoo, tmp: Path, engine: str) -> Outcome:
    """Load the case through `engine` ('dlt' or 'sluice') into its own DuckDB file."""
    if engine == "dlt":
        from dlt.sources.rest_api import rest_api_source
    else:
        from sluice import rest_api_source
    file = tmp / f"{engine}.duckdb"
    pipeline = dlt.pipeline(f"zoo_{engine}", destination=dlt.destinations.duckdb(str(file)), dataset_name="data",
                            pipelines_dir=str(tmp / f"pipes_{engine}"))
    zoo.take(case.name)
    try:
        pipeline.run(rest_api_source(configured(case, zoo.origin)))
    except Exception as exc:  # the comparison reports it
        return Outcome({}, zoo.take(case.name), f"{type(exc).__name__}: {exc}")
    return Outcome(snapshot(pipeline, file), zoo.take(case.name))


def snapshot(pipeline: Any, file: Path) -> dict[str, Table]:
    schema = pipeline.default_schema
    con = duckdb.connect(str(file), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'data' and table_name not like '_dlt_%'").fetchall()]
        return {name: _table(con, name, schema.get_table_columns(name)) for name in names}
    finally:
        con.close()


def _table(con: Any, name: str, columns: dict[str, Any]) -> Table:
    types = {col: str(spec.get("data_type")) for col, spec in columns.items()}
    kept = [col for col in columns if col not in DLT_IDS]
    selected = ", ".join(f'"{col}"' for col in kept) or "1"
    rows = con.execute(f'select {selected} from data."{name}"').fetchall()
    return Table(types, sorted(repr(dict(zip(kept, row))) for row in rows))


def table_problems(theirs: dict[str, Table], ours: dict[str, Table]) -> list[str]:
    problems = []
    if set(theirs) != set(ours):
        problems.append(f"tables: dlt only {sorted(set(theirs) - set(ours))}, sluice only {sorted(set(ours) - set(theirs))}")
    for name in sorted(set(theirs) & set(ours)):
        problems += [f"table {name}: {p}" for p in _one_table(theirs[name], ours[name])]
    return problems


def _one_table(theirs: Table, ours: Table) -> list[str]:
    problems = [f"column {col}: dlt {theirs.types.get(col, '-')}, sluice {ours.types.get(col, '-')}"
                for col in sorted(set(theirs.types) | set(ours.types)) if theirs.types.get(col) != ours.types.get(col)]
    if not problems and list(theirs.types) != list(ours.types):  # dlt places columns first seen, first placed
        problems.append(f"column order: dlt {list(theirs.types)}, sluice {list(ours.types)}")
    if len(theirs.rows) != len(ours.rows):
        problems.append(f"rows: dlt {len(theirs.rows)}, sluice {len(ours.rows)}")
    if theirs.digest() != ours.digest():
        only_dlt, only_ours = Counter(theirs.rows) - Counter(ours.rows), Counter(ours.rows) - Counter(theirs.rows)
        problems.append(f"content digest dlt {theirs.digest()} != sluice {ours.digest()}")
        problems += [f"  dlt only:    {row[:300]}" for row in list(only_dlt.elements())[:3]]
        problems += [f"  sluice only: {row[:300]}" for row in list(only_ours.elements())[:3]]
    return problems


def request_problems(case: Case, theirs: list[Sent], ours: list[Sent]) -> list[str]:
    """No request twice from sluice; the same set as dlt's, less exactly the case's documented `dlt_only`."""
    counts = Counter(sent.key() for sent in ours)
    problems = [f"sluice sent {n}x: {_show(key)}" for key, n in counts.items() if n > 1]
    dlt_keys, our_keys = {s.key() for s in theirs}, set(counts)
    expected = {_expected(case, line) for line in case.dlt_only}
    problems += [f"request only sluice sent: {_show(key)}" for key in sorted(our_keys - dlt_keys)]
    problems += [f"request only dlt sent: {_show(key)}" for key in sorted(dlt_keys - our_keys - expected)]
    return problems + [f"expected dlt alone to send: {_show(key)}" for key in sorted(expected - (dlt_keys - our_keys))]


def _expected(case: Case, line: str) -> tuple[str, str, tuple[tuple[str, str], ...], str]:
    method, target = line.split(" ", 1)
    return Sent(method, f"/{case.name}/{target}", {}, b"").key()


def _show(key: tuple[str, str, tuple[tuple[str, str], ...], str]) -> str:
    method, path, query, body = key
    text = f"{method} {path}" + (f" ?{dict(query) if len(set(k for k, _ in query)) == len(query) else list(query)}" if query else "")
    return text + (f" body {body[:200]}" if body else "")


def _clip(error: str) -> str:
    """dlt wraps the cause in a long PipelineStepFailed message: keep its start and the cause at its end."""
    return error if len(error) < 900 else f"{error[:200]} ... {error[-600:]}"


def compare(case: Case, zoo: Zoo, tmp: Path) -> list[str]:
    """Every difference between dlt's and sluice's run of the case (empty when they agree)."""
    theirs = run(case, zoo, tmp, "dlt")
    assert not theirs.error, f"dlt itself fails on zoo case {case.name} (fix the case): {theirs.error}"
    assert theirs.tables, f"zoo case {case.name} loads nothing through dlt (fix the case)"
    ours = run(case, zoo, tmp, "sluice")
    problems = [f"sluice failed: {_clip(ours.error)}"] if ours.error else table_problems(theirs.tables, ours.tables)
    return problems + request_problems(case, theirs.requests, ours.requests)
