"""Per-parent incremental cursors (`incremental.per_parent`): one cursor per parent record.

Two runs where parents change at different times, through the public API into DuckDB, against a
loopback mock that logs requests: the second run asks each parent from its own last value, loads
exactly the new children (append: none twice, none lost); dlt's single cursor, on the same mock,
loses the children of parents that changed earlier than the newest change.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import dlt
import duckdb
import pytest
from aiohttp import web
from apis import Server

from sluice import rest_api_source
from sluice.config.specs import IncrementalSpec
from sluice.engine.cursors import ParentCursors


def day(n: int) -> str:
    return f"2024-01-{n:02d}T00:00:00Z"


class ShopAPI:
    """Users and their orders; `since` (when sent) keeps orders updated at or after it."""

    def __init__(self) -> None:
        self.orders: dict[int, list[int]] = {1: [1, 2], 2: [5, 6], 3: [3]}  # user -> order days
        self.log: list[tuple[int, str | None]] = []
        self.refuse: set[int] = set()

    async def users(self, request: web.Request) -> web.Response:
        return web.json_response([{"id": u} for u in sorted(self.orders)])

    async def user_orders(self, request: web.Request) -> web.Response:
        user, since, until = int(request.match_info["id"]), request.query.get("since"), request.query.get("until")
        self.log.append((user, since) if until is None else (user, since, until))  # type: ignore[arg-type]
        if user in self.refuse:
            return web.json_response({"error": "forbidden"}, status=403)
        found = [{"id": f"{user}-{d}", "user": user, "updated": day(d)} for d in self.orders[user]]
        return web.json_response([o for o in found if (since is None or o["updated"] >= since) and (until is None or o["updated"] < until)])

    def change(self) -> None:
        """Between the runs: user 1 changes early (day 3), user 2 late (day 7), user 4 appears."""
        self.orders[1].append(3)
        self.orders[2].append(7)
        self.orders[4] = [1]

    def all_orders(self) -> list[str]:
        return sorted(f"{u}-{d}" for u, days in self.orders.items() for d in days)


@pytest.fixture()
def shop() -> Iterator[ShopAPI]:
    api = ShopAPI()
    app = web.Application()
    app.router.add_get("/users", api.users)
    app.router.add_get("/users/{id}/orders", api.user_orders)
    with Server(app) as server:
        api.origin = server.url  # type: ignore[attr-defined]
        yield api


def config(api: ShopAPI, per_parent: bool | None, start_param: bool = True) -> dict[str, Any]:
    incremental: dict[str, Any] = {"cursor_path": "updated", "initial_value": day(1)}
    if start_param:
        incremental["start_param"] = "since"
    if per_parent is not None:
        incremental["per_parent"] = per_parent
    return {"client": {"base_url": api.origin}, "resources": [  # type: ignore[attr-defined]
        {"name": "users", "endpoint": {"path": "users", "paginator": "single_page"}},
        {"name": "orders", "primary_key": "id", "write_disposition": "append", "endpoint": {
            "path": "users/{resources.users.id}/orders", "paginator": "single_page", "incremental": incremental}},
    ]}


def pipeline(tmp_path, name: str) -> Any:
    return dlt.pipeline(name, destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
                        dataset_name="data", pipelines_dir=str(tmp_path / "pipes"))


def orders(tmp_path, name: str) -> list[str]:
    con = duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True)
    try:
        return [r[0] for r in con.execute("select id from data.orders order by id").fetchall()]
    finally:
        con.close()


def two_runs(shop: ShopAPI, tmp_path, source: Any, name: str, per_parent: bool | None, start_param: bool = True) -> list[tuple[int, str | None]]:
    """Run, change the parents, run again: the second run's requests."""
    p = pipeline(tmp_path, name)
    p.run(source(config(shop, per_parent, start_param)))
    shop.change()
    shop.log.clear()
    p.run(source(config(shop, per_parent, start_param)))
    return sorted(shop.log)


def test_each_parent_resumes_from_its_own_cursor(shop: ShopAPI, tmp_path) -> None:
    second = two_runs(shop, tmp_path, rest_api_source, "ours", per_parent=True)
    # each parent from its own last value; the new parent from initial_value
    assert second == [(1, day(2)), (2, day(6)), (3, day(3)), (4, day(1))]
    # append: every order exactly once (those at a parent's last value were fetched again and dropped)
    assert orders(tmp_path, "ours") == shop.all_orders()
    state = pipeline(tmp_path, "ours").state["sources"]["rest_api"]["resources"]["orders"]
    assert {k: v[0] for k, v in state["per_parent"].items()} == {"1": day(3), "2": day(7), "3": day(3), "4": day(1)}
    assert "incremental" not in state  # no dlt single cursor beside it


def test_dlt_single_cursor_loses_children_of_parents_that_changed_earlier(shop: ShopAPI, tmp_path) -> None:
    from dlt.sources.rest_api import rest_api_source as dlt_source

    second = two_runs(shop, tmp_path, lambda c: dlt_source(copy.deepcopy(c)), "dlt", per_parent=None)
    assert second == [(1, day(6)), (2, day(6)), (3, day(6)), (4, day(6))]  # one cursor for all parents
    lost = sorted(set(shop.all_orders()) - set(orders(tmp_path, "dlt")))
    assert lost == ["1-3", "4-1"]
    # and sluice without per_parent keeps dlt's meaning
    shop.__init__()  # type: ignore[misc]
    assert two_runs(shop, tmp_path, rest_api_source, "same", per_parent=False) == second
    assert orders(tmp_path, "same") == orders(tmp_path, "dlt")


def test_client_side_filter_per_parent(shop: ShopAPI, tmp_path) -> None:
    """An API with no `since`: every child comes back every run; only the new ones load."""
    second = two_runs(shop, tmp_path, rest_api_source, "ours", per_parent=True, start_param=False)
    assert second == [(1, None), (2, None), (3, None), (4, None)]
    assert orders(tmp_path, "ours") == shop.all_orders()


def test_a_failed_run_keeps_the_cursors_of_the_last_good_one(shop: ShopAPI, tmp_path) -> None:
    p = pipeline(tmp_path, "ours")
    p.run(rest_api_source(config(shop, True)))
    shop.change()
    shop.refuse = {3}
    with pytest.raises(Exception, match="403"):
        p.run(rest_api_source(config(shop, True)))
    shop.refuse, shop.log = set(), []
    p.run(rest_api_source(config(shop, True)))
    assert sorted(shop.log) == [(1, day(2)), (2, day(6)), (3, day(3)), (4, day(1))]
    assert orders(tmp_path, "ours") == shop.all_orders()


def test_windows_per_parent_walk_from_each_parents_cursor(shop: ShopAPI, tmp_path) -> None:
    def windowed(api: ShopAPI) -> dict[str, Any]:
        cfg = config(api, True)
        cfg["resources"][1]["endpoint"]["incremental"].update(end_param="until", end_value=day(9), window="P3D")
        return cfg

    p = pipeline(tmp_path, "ours")
    p.run(rest_api_source(windowed(shop)))
    assert sorted(shop.log)[:3] == [(1, day(1), day(4)), (1, day(4), day(7)), (1, day(7), day(9))]
    shop.change()
    shop.log.clear()
    p.run(rest_api_source(windowed(shop)))
    # user 2 resumes at day 6: windows [6, 9); user 1 at day 2: [2, 5), [5, 8), [8, 9)
    assert [w for w in sorted(shop.log) if w[0] in (1, 2)] == [
        (1, day(2), day(5)), (1, day(5), day(8)), (1, day(8), day(9)), (2, day(6), day(9))]
    assert orders(tmp_path, "ours") == shop.all_orders()


@pytest.mark.parametrize(("ids", "limit"), [(range(20_000), 48), ([f"{i:08x}-7c1e-4a9b-8d2f-8e6a4c0b9d1f" for i in range(20_000)], 55)])
def test_state_stays_compact(ids: Any, limit: int) -> None:
    """Bytes of JSON state per parent with an ISO cursor: int ids, and UUIDs (keys hashed). At 1M
    parents: 48 and 54 bytes (48 MB of JSON; 13 and 21 MB zlib-compressed, as dlt stores
    it in the destination)."""
    saved: dict[str, Any] = {}
    cursors = ParentCursors("orders", IncrementalSpec(cursor_path="updated", initial_value=day(1)), saved, ("id",))
    for i, parent in enumerate(ids):
        cursors.keep({"resources.users.id": parent}, [{"id": i, "updated": day(1 + i % 28)}])
    cursors.commit()
    per_parent = len(json.dumps(saved, separators=(",", ":"))) / len(saved)
    assert len(saved) == len(ids) and per_parent <= limit, per_parent
