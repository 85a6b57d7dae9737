"""Incremental loading: dlt's cursor state, start/end params, placeholders, client-side filtering."""

from __future__ import annotations

import dlt
import duckdb
from apis import PagingAPI

from sluice import rest_api_source


def pipeline(tmp_path):
    return dlt.pipeline("inc", destination=dlt.destinations.duckdb(str(tmp_path / "inc.duckdb")),
                        dataset_name="data", pipelines_dir=str(tmp_path / "pipes"))


def config(api: PagingAPI, **endpoint):
    return {"client": {"base_url": api.origin}, "resources": [{"name": "items", "primary_key": "id", "write_disposition": "merge",
            "endpoint": {"path": "offset", "paginator": {"type": "offset", "limit": 10}, **endpoint}}]}


def rows(tmp_path) -> int:
    con = duckdb.connect(str(tmp_path / "inc.duckdb"), read_only=True)
    try:
        return con.execute("select count(*) from data.items").fetchall()[0][0]
    finally:
        con.close()


def test_start_param_and_client_side_filter(api: PagingAPI, tmp_path) -> None:
    api.count = 40  # 'updated' runs 2024-01-01 .. 2024-01-28, then wraps
    p = pipeline(tmp_path)
    p.run(rest_api_source(config(api, incremental={"cursor_path": "updated", "initial_value": "2024-01-20T00:00:00Z",
                                                   "start_param": "since"})))
    assert {r.query.get("since") for r in api.log} == {"2024-01-20T00:00:00Z"}
    expected = [r for r in api.records() if r["updated"] >= "2024-01-20T00:00:00Z"]
    assert rows(tmp_path) == len(expected)
    api.log.clear()
    p.run(rest_api_source(config(api, incremental={"cursor_path": "updated", "initial_value": "2024-01-20T00:00:00Z",
                                                   "start_param": "since"})))
    # the second run starts from the state dlt kept: the highest cursor seen
    assert {r.query.get("since") for r in api.log} == {"2024-01-28T00:00:00Z"}
    assert rows(tmp_path) == len(expected)


def test_incremental_placeholders_and_end_value(api: PagingAPI, tmp_path) -> None:
    api.count = 30
    pipeline(tmp_path).run(rest_api_source(config(api, params={"from": "{incremental.start_value}", "to": "{incremental.end_value}"},
                                                  incremental={"cursor_path": "updated", "initial_value": "2024-01-05T00:00:00Z",
                                                               "end_value": "2024-01-10T00:00:00Z"})))
    assert {(r.query["from"], r.query["to"]) for r in api.log} == {("2024-01-05T00:00:00Z", "2024-01-10T00:00:00Z")}
    expected = [r for r in api.records() if "2024-01-05T00:00:00Z" <= r["updated"] < "2024-01-10T00:00:00Z"]
    assert rows(tmp_path) == len(expected)


def test_legacy_incremental_param_and_convert(api: PagingAPI, tmp_path) -> None:
    api.count = 20
    pipeline(tmp_path).run(rest_api_source(config(api, params={"since": {
        "type": "incremental", "cursor_path": "updated", "initial_value": "2024-01-15T00:00:00Z"}})))
    assert {r.query["since"] for r in api.log} == {"2024-01-15T00:00:00Z"}
    api.log.clear()
    pipeline(tmp_path).run(rest_api_source(config(api, incremental={
        "cursor_path": "updated", "initial_value": "2024-01-01T00:00:00Z", "start_param": "since",
        "convert": lambda v: v[:10]})))
    assert {r.query["since"] for r in api.log} == {"2024-01-20"}
