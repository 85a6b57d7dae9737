"""A Dask run's frontier (the shards a failed run did not finish) as the pipeline's state holds
it: every kind of shard comes back as it was, secrets are not stored, and a frontier of another
configuration is not applied."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sluice import rest_api_source
from sluice.scale.resume import STATE_KEY, VERSION, _hashes, _plain, saved
from sluice.scale.shards import Shard

SECRET = "s3cr3t-token-value"


def spec(path: str = "users") -> Any:
    config = {"client": {"base_url": "http://127.0.0.1:9/", "auth": {"type": "bearer", "token": SECRET}}, "resources": [
        {"name": "users", "endpoint": {"path": path}},
        {"name": "orders", "endpoint": {"path": "users/{resources.users.id}/orders"}}]}
    return rest_api_source(config).sluice_runtime.spec


def stored(shards: list[Shard], of: Any) -> Any:
    """As `resume.write` puts it in the state, and as dlt stores and reads the state back."""
    from dlt.common import json

    from sluice.checkpoint.frontier import masked

    state = {"version": VERSION, "hashes": _hashes(of), "shards": [masked(_plain(s), of.secrets) for s in shards],
             "origins": {"orders": {"start_value": 3}}}
    state = json.typed_loads(json.typed_dumps(state))
    return SimpleNamespace(state={"sources": {"rest_api": {STATE_KEY: state}}}), SimpleNamespace(name="rest_api")


def test_every_kind_of_shard_comes_back_as_it_was_without_its_secrets() -> None:
    day = datetime(2024, 1, 2, tzinfo=UTC)
    shards = [Shard("users", "users", frozenset({"users"}), frozenset({"orders"}), head=True),
              Shard("orders[0:2]", "orders", frozenset({"orders"}), parents=({"id": 1, "note": f"key {SECRET}"}, {"id": 2})),
              Shard("users[pages 2:5]", "users", frozenset({"users"}), pages=(2, 5)),
              Shard("users[windows 0:1]", "users", frozenset({"users"}), windows=((day, day),))]
    pipeline, source = stored(shards, spec())
    assert SECRET not in repr(pipeline.state)
    frontier = saved(pipeline, source, spec())
    assert frontier is not None and frontier.shards == shards and frontier.origins == {"orders": {"start_value": 3}}
    assert [s.parents for s in frontier.shards] == [s.parents for s in shards]  # not compared by Shard's equality


def test_a_frontier_of_another_configuration_is_not_applied() -> None:
    pipeline, source = stored([Shard("users", "users", frozenset({"users"}))], spec())
    assert saved(pipeline, source, spec("people")) is None
