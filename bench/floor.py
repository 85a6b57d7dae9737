"""The floor: a bare aiohttp GET + orjson parse of the same pages at the same concurrency,
then one DuckDB insert of the same rows from Arrow. No schema inference, no state, no
unnesting (nested lists stay LIST columns): the least work any engine must do.

A plan (built by `bench.cases`) says which pages to fetch:

    {"concurrency": 8, "selector": "data", "table": "flat", "urls": [...]}            pages known upfront
    {"concurrency": 1, "selector": "data", "table": "cursor", "next": "next", "url": u} next links, one by one
    {..., "urls": [parent pages], "children": {"table": "children", "url": ".../{id}/children?page={page}",
                                                  "pages": [1, 2, 3]}}                 fan-out
"""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path
from typing import Any

import aiohttp
import duckdb
import orjson
import pyarrow as pa


async def _get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        response.raise_for_status()
        return orjson.loads(await response.read())


async def _pages(session: aiohttp.ClientSession, urls: list[str], selector: str, permits: asyncio.Semaphore) -> list[Any]:
    async def one(url: str) -> list[Any]:
        async with permits:
            body = await _get(session, url)
        return body[selector]  # type: ignore[no-any-return]

    pages = await asyncio.gather(*(one(u) for u in urls))
    return [record for page in pages for record in page]


async def _walk(session: aiohttp.ClientSession, url: str | None, selector: str, next_key: str) -> list[Any]:
    records: list[Any] = []
    while url:
        body = await _get(session, url)
        records.extend(body[selector])
        url = body.get(next_key)
    return records


async def fetch(plan: dict[str, Any]) -> dict[str, list[Any]]:
    """Records per table, fetched as the plan says."""
    permits = asyncio.Semaphore(plan["concurrency"])
    connector = aiohttp.TCPConnector(limit=plan["concurrency"])
    async with aiohttp.ClientSession(connector=connector) as session:
        if "next" in plan:
            return {plan["table"]: await _walk(session, plan["url"], plan["selector"], plan["next"])}
        records = await _pages(session, plan["urls"], plan["selector"], permits)
        tables = {plan["table"]: records}
        children = plan.get("children")
        if children:
            urls = [children["url"].format(id=r["id"], page=p) for r in records for p in children["pages"]]
            tables[children["table"]] = await _pages(session, urls, plan["selector"], permits)
        return tables


def insert(tables: dict[str, list[Any]], file: Path) -> None:
    with duckdb.connect(str(file)) as db:
        for name, records in tables.items():
            db.register("page_rows", pa.Table.from_pylist(records))
            db.execute(f'create table "{name}" as select * from page_rows')
            db.unregister("page_rows")


def run_floor(plan: dict[str, Any], workdir: Path) -> dict[str, Any]:
    from .worker import _usage

    gc.disable()  # the engines may do the same; 100k live dicts make the collector expensive
    cpu0, _ = _usage()
    started = time.perf_counter()
    tables = asyncio.run(fetch(plan))
    fetched = time.perf_counter()
    file = workdir / "floor.duckdb"
    insert(tables, file)
    wall = time.perf_counter() - started
    cpu1, rss = _usage()
    counts = {name: {"rows": len(records), "columns": []} for name, records in tables.items()}
    phases = {"fetch+parse": round(fetched - started, 3), "arrow+insert": round(wall - (fetched - started), 3)}
    return {"wall": wall, "cpu": cpu1 - cpu0, "rss_mb": rss, "phases": phases, "tables": counts}
