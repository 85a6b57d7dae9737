"""dlt's meaning where the engine decides it: children fed from the processed parent (issue 9
item 3), tables in dlt's order whatever order concurrent chains finish in (item 15)."""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
from aiohttp import web
from apis import Server
from difftools import load


class ShopAPI:
    """Parents whose children answer after a random delay, with fields that differ per parent:
    completion order differs from start order, and the first-seen field order depends on it."""

    def __init__(self, parents: int = 24) -> None:
        self.parents = parents
        self.hits: list[str] = []
        self.rng = random.Random(7)

    def orders(self) -> list[dict[str, Any]]:
        return [{"id": i, "status": "open" if i % 3 else "closed", "updated": f"2024-01-{1 + i:02d}"} for i in range(self.parents)]

    async def list_orders(self, request: web.Request) -> web.Response:
        self.hits.append(request.path_qs)
        return web.json_response({"data": self.orders()})

    async def lines(self, request: web.Request) -> web.Response:
        self.hits.append(request.path_qs)
        order = int(request.match_info["id"])
        await asyncio.sleep(self.rng.uniform(0, 0.03) if order else 0.08)  # the first parent answers last
        line = {"sku": f"s{order}", f"extra_{order % 5}": order, "qty": order % 4}
        return web.json_response({"data": [line, {**line, "sku": f"t{order}"}]})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/orders", self.list_orders)
        app.router.add_get("/orders/{id}/lines", self.lines)
        return app


@pytest.fixture()
def shop() -> Iterator[tuple[ShopAPI, str]]:
    api = ShopAPI()
    with Server(api.app()) as server:
        yield api, server.url


def _config(base: str, **parent: Any) -> dict[str, Any]:
    return {"client": {"base_url": base}, "resources": [
        {"name": "orders", "endpoint": {"path": "orders", "paginator": "single_page"}, **parent},
        {"name": "lines", "endpoint": {"path": "orders/{resources.orders.id}/lines", "paginator": "single_page"},
         "include_from_parent": ["status"]}]}


def _columns(file: Path, table: str) -> list[str]:
    con = duckdb.connect(str(file), read_only=True)
    try:
        return [r[0] for r in con.execute("select column_name from information_schema.columns where table_schema = 'data' "
                                          "and table_name = ? order by ordinal_position", [table]).fetchall()]
    finally:
        con.close()


def _run(source: Any, tmp: Path, tag: str, name: str | None = None) -> Path:
    file = tmp / f"{tag}.duckdb"
    pipeline = dlt.pipeline(name or tag, destination=dlt.destinations.duckdb(str(file)), dataset_name="data",
                            pipelines_dir=str(tmp / "pipes"))
    pipeline.run(source)
    return file


def _line_parents(hits: list[str]) -> list[int]:
    return sorted(int(h.split("/")[2]) for h in hits if h.endswith("/lines"))


def _both_hits(shop: tuple[ShopAPI, str], config: dict[str, Any], tmp: Path) -> tuple[list[int], list[int], Any, Any]:
    from dlt.sources.rest_api import rest_api_source as dlt_source

    from sluice import rest_api_source

    api, _ = shop
    theirs = load(dlt_source(copy.deepcopy(config)), tmp, "dlt")
    dlt_hits, api.hits[:] = list(api.hits), []
    ours = load(rest_api_source(config), tmp, "sluice")
    return _line_parents(dlt_hits), _line_parents(api.hits), theirs, ours


def test_a_filtered_parent_starts_no_children(shop, tmp_path) -> None:
    config = _config(shop[1], processing_steps=[{"filter": lambda r: r["status"] == "open"}])
    theirs_hits, our_hits, theirs, ours = _both_hits(shop, config, tmp_path)
    assert our_hits == theirs_hits == [i for i in range(shop[0].parents) if i % 3]
    assert ours == theirs


def test_children_read_the_mapped_parent(shop, tmp_path) -> None:
    # The map renames the key the child path reads: the raw record has no `order_id`.
    config = _config(shop[1], processing_steps=[{"map": lambda r: {"order_id": r["id"], "status": r["status"].upper()}}])
    config["resources"][1]["endpoint"]["path"] = "orders/{resources.orders.order_id}/lines"
    theirs_hits, our_hits, theirs, ours = _both_hits(shop, config, tmp_path)
    assert our_hits == theirs_hits == list(range(shop[0].parents))
    assert ours == theirs


def test_parents_the_incremental_filters_out_start_no_children(shop, tmp_path) -> None:
    # No start_param: the API returns every order, the incremental drops the old ones client-side.
    config = _config(shop[1], primary_key="id",
                     endpoint={"path": "orders", "paginator": "single_page",
                               "incremental": {"cursor_path": "updated", "initial_value": "2024-01-20"}})
    theirs_hits, our_hits, theirs, ours = _both_hits(shop, config, tmp_path)
    assert our_hits == theirs_hits == [i for i in range(shop[0].parents) if 1 + i >= 20]
    assert ours == theirs


def test_incremental_and_steps_children_see_both(shop, tmp_path) -> None:
    config = _config(shop[1], primary_key="id", processing_steps=[{"filter": lambda r: r["status"] == "open"}],
                     endpoint={"path": "orders", "paginator": "single_page",
                               "incremental": {"cursor_path": "updated", "initial_value": "2024-01-10"}})
    theirs_hits, our_hits, theirs, ours = _both_hits(shop, config, tmp_path)
    assert our_hits == theirs_hits == [i for i in range(shop[0].parents) if 1 + i >= 10 and i % 3]
    assert ours == theirs


def test_a_map_runs_once_per_record(shop, tmp_path) -> None:
    from sluice import rest_api_source

    calls: list[int] = []
    config = _config(shop[1], processing_steps=[{"map": lambda r: calls.append(r["id"]) or r}])
    _run(rest_api_source(config), tmp_path, "once")
    assert sorted(calls) == list(range(shop[0].parents))


def test_column_order_is_dlts_and_the_same_every_run(shop, tmp_path) -> None:
    from dlt.sources.rest_api import rest_api_source as dlt_source

    from sluice import rest_api_source

    config = _config(shop[1])
    theirs = _columns(_run(dlt_source(copy.deepcopy(config)), tmp_path, "dlt"), "lines")
    runs = [_columns(_run(rest_api_source(config), tmp_path, f"sluice{i}"), "lines") for i in range(3)]
    assert runs[0] == runs[1] == runs[2] == theirs


def test_rows_arrive_in_dlts_order(shop, tmp_path) -> None:
    from sluice import rest_api_source

    file = _run(rest_api_source(_config(shop[1])), tmp_path, "order")
    con = duckdb.connect(str(file), read_only=True)
    try:
        skus = [r[0] for r in con.execute("select sku from data.lines order by _dlt_load_id, rowid").fetchall()]
    finally:
        con.close()
    assert skus == [f"{p}{i}" for i in range(shop[0].parents) for p in "st"]


@pytest.mark.parametrize("incremental", [False, True])
def test_a_failure_names_the_resource_not_our_generators(api, tmp_path, incremental: bool) -> None:
    from sluice import rest_api_source

    api.fail["/offset"] = [404]
    endpoint: dict[str, Any] = {"path": "offset", "paginator": {"type": "offset", "limit": 10}}
    if incremental:
        endpoint["incremental"] = {"cursor_path": "updated", "initial_value": "2024-01-01T00:00:00Z"}
    with pytest.raises(Exception) as failure:
        _run(rest_api_source({"client": {"base_url": api.origin}, "resources": [{"name": "tickets", "endpoint": endpoint}]}),
             tmp_path, "fails")
    message = str(failure.value)
    assert "extraction of resource `tickets` in `generator` `tickets`" in message
    assert "resource 'tickets': HTTP 404" in message
    for internal in ("_to_dlt", "_as_arrow", "stream", "fetch"):
        assert f"`{internal}`" not in message


def test_a_slow_first_child_does_not_stall_the_fan_out(tmp_path) -> None:
    # Pages reach dlt in order, so finished chains wait behind the head: the head (child 0) is
    # stuck until 150 other children were requested, or 5 s. Finished chains keep their place
    # in the order (up to 256), not a running slot (64): the fan-out goes on meanwhile.
    from sluice import rest_api_source

    others: set[int] = set()
    enough = asyncio.Event()
    while_stuck: list[int] = []

    async def parents(request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": i} for i in range(200)]})

    async def child(request: web.Request) -> web.Response:
        parent = int(request.match_info["id"])
        if parent == 0:
            try:
                await asyncio.wait_for(enough.wait(), 5)
            except TimeoutError:
                pass
            while_stuck.append(len(others))
        else:
            others.add(parent)
            if len(others) >= 150:
                enough.set()
        return web.json_response({"data": [{"parent": parent}]})

    app = web.Application()
    app.router.add_get("/parents", parents)
    app.router.add_get("/parents/{id}/kids", child)
    with Server(app) as server:
        config = {"client": {"base_url": server.url, "paginator": "single_page"}, "resources": [
            {"name": "parents", "endpoint": "parents"},
            {"name": "kids", "endpoint": "parents/{resources.parents.id}/kids"}]}
        _run(rest_api_source(config), tmp_path, "stall")
    assert while_stuck and while_stuck[0] >= 150, f"only {while_stuck} other children were requested while the first one was stuck"
