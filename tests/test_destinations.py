"""The same tables as dlt in every destination: DuckDB, a real PostgreSQL server, and the
filesystem destination (jsonl, dlt's default there, and parquet).

One source of three resources (merge with a primary key, append, replace) over records with
nested lists and objects, ISO timestamps, floats, booleans, unicode, a column that is null
on the first page and one whose type changes between pages, loaded twice (the second run
changes some records and overlaps the first) through dlt's own `rest_api_source` and
through sluice's. Compared per destination: table names, dlt's schema (types, nullability),
the destination's column types, rows without dlt's random ids, and the file formats.
"""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import pytest
from aiohttp import web
from apis import Server
from destinations import (
    DSN_VARIABLE,
    Landed,
    PostgresUnavailable,
    content,
    data_tables,
    drop_schemas,
    landed_in_duckdb,
    landed_in_files,
    landed_in_postgres,
    postgres_connect,
    postgres_server,
    schema_columns,
)

PAGES, PER_PAGE = 3, 3
NAMES = ["café", "日本語", "emoji 🎉", "plain", "Zoë \"quoted\""]


@dataclass
class RecordsAPI:
    """/things/{kind}?page=N: pages of records that change with `generation`."""

    generation: int = 1

    def record(self, kind: str, i: int, page: int) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": i, "name": NAMES[i % len(NAMES)] + ("" if self.generation == 1 else " v2"),
            "price": round(i * 1.25 + 0.1, 2), "ratio": i / 3, "active": i % 2 == 0,
            "created": f"2024-03-{1 + i % 28:02d}T10:20:{i % 60:02d}Z",
            "owner": {"login": f"u{i}", "profile": {"age": 20 + i, "site": None}},
            "tags": [f"t{j}" for j in range(i % 3)],
            "lines": [{"sku": f"s{i}-{j}", "qty": j, "attrs": {"color": "red", "size": j}} for j in range(1 + i % 2)],
            "late": None if page == 1 else i * 10,
        }
        if kind == "drift":
            record["drift"] = i if page < PAGES else f"x{i}"  # int on the first pages, then text
        return record

    async def things(self, request: web.Request) -> web.Response:
        kind, page = request.match_info["kind"], int(request.query.get("page", 1))
        first = (self.generation - 1) * PER_PAGE + (page - 1) * PER_PAGE  # run 2 overlaps run 1
        data = [self.record(kind, i, page) for i in range(first, first + PER_PAGE)] if page <= PAGES else []
        return web.json_response({"data": data, "total_pages": PAGES})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/things/{kind}", self.things)
        return app


def config(base_url: str) -> dict[str, Any]:
    paginator = {"type": "page_number", "base_page": 1, "total_path": "total_pages"}
    return {
        "client": {"base_url": base_url, "paginator": paginator},
        "resource_defaults": {"endpoint": {"data_selector": "data"}},
        "resources": [
            {"name": "merged", "primary_key": "id", "write_disposition": "merge", "endpoint": "things/stable"},
            {"name": "appended", "write_disposition": "append", "endpoint": "things/drift"},
            {"name": "replaced", "write_disposition": "replace", "endpoint": "things/late"},
        ],
    }


@pytest.fixture()
def records_api() -> Iterator[tuple[RecordsAPI, str]]:
    api = RecordsAPI()
    with Server(api.app()) as server:
        yield api, server.url


@pytest.fixture()
def arrow_pages(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Pages sluice sent to dlt as Arrow tables (its fast path), counted."""
    from sluice.load.arrow import ArrowPageWriter

    pages: list[int] = []
    items = ArrowPageWriter.items

    def counted(self: ArrowPageWriter, records: list[Any]) -> Any:
        pages.append(len(records))
        return items(self, records)

    monkeypatch.setattr(ArrowPageWriter, "items", counted)
    return pages


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    stack = contextlib.ExitStack()
    try:
        dsn = stack.enter_context(postgres_server())
    except PostgresUnavailable as exc:
        pytest.skip(f"!!! PostgreSQL could not start, the postgres destination is NOT tested: {exc}")
    with stack:
        # a server CI announced must answer: an error here is a broken CI, never a skip
        postgres_connect(dsn).close()
        yield dsn


# -- destinations -------------------------------------------------------------------------

@dataclass
class Target:
    """One destination for one pipeline: how to make it and how to read what landed."""

    destination: Any
    read: Callable[[dlt.Pipeline], Landed]
    file_format: str | None = None


def duckdb_target(tmp: Path, tag: str) -> Target:
    file = tmp / f"db_{tag}.duckdb"  # a catalog named like its dataset confuses the DuckDB binder
    return Target(dlt.destinations.duckdb(str(file)), lambda p: landed_in_duckdb(p, file))


def postgres_target(dsn: str) -> Target:
    return Target(dlt.destinations.postgres(credentials=dsn), lambda p: landed_in_postgres(p, dsn))


def filesystem_target(tmp: Path, tag: str, file_format: str | None) -> Target:
    bucket = tmp / f"{tag}_bucket"
    return Target(dlt.destinations.filesystem(bucket_url=str(bucket)), lambda p: landed_in_files(p, bucket), file_format)


def load_twice(make_source: Callable[[], Any], target: Target, api: RecordsAPI, tmp: Path, dataset: str) -> dlt.Pipeline:
    pipeline = dlt.pipeline(f"p_{dataset}", destination=target.destination, dataset_name=dataset,
                            pipelines_dir=str(tmp / f"pipes_{dataset}"))
    for generation in (1, 2):
        api.generation = generation
        pipeline.run(make_source(), loader_file_format=target.file_format)
    return pipeline


def compare(base_url: str, api: RecordsAPI, tmp: Path, target_for: Callable[[str], Target]) -> dict[str, Landed]:
    """Loads the source twice with dlt and twice with sluice; asserts the same result."""
    from dlt.sources.rest_api import rest_api_source as dlt_source

    from sluice import rest_api_source

    run = uuid.uuid4().hex[:8]
    makers = {"dlt": lambda: dlt_source(copy.deepcopy(config(base_url))), "sluice": lambda: rest_api_source(config(base_url))}
    landed, pipelines = {}, {}
    for tag, make in makers.items():
        target = target_for(f"{tag}_{run}")
        pipelines[tag] = load_twice(make, target, api, tmp, f"{tag}_{run}")
        landed[tag] = target.read(pipelines[tag])
    theirs, ours = landed["dlt"], landed["sluice"]
    assert data_tables(pipelines["sluice"]) == data_tables(pipelines["dlt"])
    assert schema_columns(pipelines["sluice"]) == schema_columns(pipelines["dlt"])
    assert ours.types == theirs.types
    assert ours.formats == theirs.formats
    assert content(ours, pipelines["sluice"]) == content(theirs, pipelines["dlt"])
    return landed


def counts(landed: Landed) -> dict[str, int]:
    return {table: len(landed.rows[table]) for table in ("merged", "appended", "replaced")}


# two runs of 9 records, 6 of them in both: merge keeps 12, append 18, replace the last 9
DEDUPLICATED = {"merged": 12, "appended": 18, "replaced": 9}


def test_duckdb(records_api: tuple[RecordsAPI, str], tmp_path: Path, arrow_pages: list[int]) -> None:
    api, url = records_api
    landed = compare(url, api, tmp_path, lambda tag: duckdb_target(tmp_path, tag))
    assert arrow_pages, "DuckDB is where sluice's Arrow path runs"
    assert counts(landed["sluice"]) == DEDUPLICATED
    assert sorted(landed["sluice"].rows) == ["appended", "appended__lines", "appended__tags", "merged", "merged__lines",
                                             "merged__tags", "replaced", "replaced__lines", "replaced__tags"]


@pytest.mark.slow
def test_postgres(records_api: tuple[RecordsAPI, str], tmp_path: Path, postgres_dsn: str, arrow_pages: list[int]) -> None:
    api, url = records_api
    datasets: list[str] = []

    def target(tag: str) -> Target:
        datasets.append(tag)
        return postgres_target(postgres_dsn)

    try:
        assert counts(compare(url, api, tmp_path, target)["sluice"]) == DEDUPLICATED
    finally:
        drop_schemas(postgres_dsn, *datasets, *(f"{d}_staging" for d in datasets))
    assert not arrow_pages, "dlt loads PostgreSQL with insert_values from dicts: so does sluice"


@pytest.mark.parametrize("file_format", [None, "jsonl", "parquet"])
def test_filesystem(records_api: tuple[RecordsAPI, str], tmp_path: Path, file_format: str | None, arrow_pages: list[int]) -> None:
    api, url = records_api
    landed = compare(url, api, tmp_path, lambda tag: filesystem_target(tmp_path, tag, file_format))
    assert set().union(*landed["sluice"].formats.values()) == {file_format or "jsonl"}
    # Arrow lands as parquet; jsonl files are written from dicts, as dlt writes them
    assert bool(arrow_pages) == (file_format == "parquet")
    # dlt's filesystem merges only delta and iceberg tables: plain files append, with both
    assert counts(landed["sluice"]) == {**DEDUPLICATED, "merged": 18}


def test_dsn_variable_is_what_ci_exports() -> None:
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert f"export {DSN_VARIABLE}=" in ci
