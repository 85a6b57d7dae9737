"""Per-parent cursors across shards, without a cluster: what a shard is handed (its parents'
cursors, nothing advanced) and how the coordinator merges what shards advanced."""

from __future__ import annotations

from typing import Any

from sluice import rest_api_source
from sluice.engine.cursors import ParentCursors
from sluice.scale.cursors import advanced, for_shard, merge
from sluice.scale.shards import Shard


def setup() -> tuple[Any, dict[str, Any]]:
    incremental = {"cursor_path": "updated", "initial_value": 0, "start_param": "since", "per_parent": True}
    config = {"client": {"base_url": "http://127.0.0.1:9/"}, "resources": [
        {"name": "users", "endpoint": {"path": "users"}},
        {"name": "orders", "endpoint": {"path": "users/{resources.users.id}/orders", "incremental": incremental}}]}
    spec = rest_api_source(config).sluice_runtime.spec
    saved = {"1": [5, "a"], "2": [7, "b"], "3": [9, "c"]}
    cursors = ParentCursors("orders", spec.resource("orders").endpoint.incremental, saved)
    return spec, {"orders": {"initial_value": 0, "per_parent": cursors}}


def test_a_shard_gets_its_parents_cursors_and_nothing_advanced() -> None:
    spec, incremental = setup()
    run = incremental["orders"]["per_parent"]
    run.keep({"resources.users.id": 1}, [{"updated": 6}])  # the coordinator's own, not the shard's
    shard = Shard("orders[0:2]", "orders", frozenset({"orders"}), parents=({"id": 1}, {"id": 4}))
    mine = for_shard(incremental, spec, shard)["orders"]["per_parent"]
    assert mine is not run and mine.saved == {"1": [5, "a"]} and advanced({"orders": {"per_parent": mine}}) == {"orders": {}}
    assert mine.context({"resources.users.id": 1})["incremental.start_value"] == 5
    assert mine.context({"resources.users.id": 4})["incremental.start_value"] == 0  # a parent never seen
    other = Shard("users", "users", frozenset({"users"}), frozenset({"orders"}))
    assert for_shard(incremental, spec, other)["orders"]["per_parent"].saved == run.saved  # not its parents: all


def test_shards_advances_merge_as_one_run_advances_them() -> None:
    spec, incremental = setup()
    shards = [for_shard(incremental, spec, Shard(f"orders[{i}]", "orders", frozenset({"orders"}), parents=({"id": 1},)))
              for i in range(3)]
    pages = [[{"updated": 8, "n": 1}], [{"updated": 8, "n": 2}], [{"updated": 6, "n": 3}]]
    for shard, page in zip(shards, pages):
        shard["orders"]["per_parent"].keep({"resources.users.id": 1}, page)
    one = setup()[1]["orders"]["per_parent"]
    for page in pages:
        one.keep({"resources.users.id": 1}, page)
    for shard in shards:
        merge(incremental, advanced(shard))
    merged = incremental["orders"]["per_parent"]
    assert merged._new == one._new and merged._new["1"][0] == 8 and len(merged._new["1"]) == 3  # 8, both hashes at it
    merged.commit()
    assert merged.saved["1"] == one._new["1"] and merged.saved["2"] == [7, "b"]
