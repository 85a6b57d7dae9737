"""Where dlt 1.31 can run a configuration, sluice must produce the same tables."""

from __future__ import annotations

from typing import Any

import pytest
from apis import PagingAPI
from difftools import both


def configs(base: str) -> dict[str, dict[str, Any]]:
    page_number = {"type": "page_number", "base_page": 1, "total_path": "total_pages"}
    return {
        "page_number": {"client": {"base_url": base}, "resources": [
            {"name": "items", "endpoint": {"path": "page_number", "params": {"per_page": 7}, "data_selector": "items",
                                           "paginator": page_number}}]},
        "offset_total": {"client": {"base_url": base}, "resources": [
            {"name": "items", "endpoint": {"path": "offset", "paginator": {"type": "offset", "limit": 10}}}]},
        "offset_no_total": {"client": {"base_url": base}, "resources": [
            {"name": "items", "endpoint": {"path": "offset", "params": {"no_total": 1},
                                           "paginator": {"type": "offset", "limit": 10, "total_path": None}}}]},
        "cursor": {"client": {"base_url": base, "paginator": {"type": "cursor", "cursor_path": "cursors.next"}},
                   "resources": ["cursor"]},
        "header_link": {"client": {"base_url": base}, "resources": [
            {"name": "links", "endpoint": {"path": "/links", "paginator": "header_link"}}]},
        "json_link_auto": {"client": {"base_url": base + "/"}, "resources": [{"name": "jl", "endpoint": "json_link"}]},
        "parent_child": {"client": {"base_url": base}, "resource_defaults": {"primary_key": "id"}, "resources": [
            {"name": "parents", "endpoint": {"path": "offset", "paginator": {"type": "offset", "limit": 10}}},
            {"name": "kids", "primary_key": ["parent", "child"],
             "endpoint": {"path": "parents/{resources.parents.id}/children",
                          "response_actions": [{"status_code": 404, "action": "ignore"}]},
             "include_from_parent": ["name"]}]},
        "legacy_resolve": {"client": {"base_url": base}, "resources": [
            {"name": "parents", "endpoint": {"path": "offset", "paginator": {"type": "offset", "limit": 10}}},
            {"name": "kids", "endpoint": {"path": "parents/{pid}/children",
                                          "params": {"pid": {"type": "resolve", "resource": "parents", "field": "id"}},
                                          "response_actions": [{"status_code": 404, "action": "ignore"}]}}]},
        "merge_defaults": {"client": {"base_url": base},
                           "resource_defaults": {"primary_key": "id", "write_disposition": "merge",
                                                 "endpoint": {"params": {"limit": 5}}},
                           "resources": [{"name": "items", "endpoint": {"path": "offset", "params": {"extra": "x"},
                                                                         "paginator": {"type": "offset", "limit": 5}}}]},
        "table_name_and_nesting": {"client": {"base_url": base}, "resources": [
            {"name": "items", "table_name": "things", "max_table_nesting": 0,
             "endpoint": {"path": "offset", "paginator": {"type": "offset", "limit": 50}}}]},
        "incremental": {"client": {"base_url": base}, "resources": [
            {"name": "items", "endpoint": {"path": "offset", "paginator": {"type": "offset", "limit": 10},
                                           "incremental": {"cursor_path": "updated", "initial_value": "2024-01-10T00:00:00Z",
                                                           "start_param": "since"}}}]},
        "processing_steps": {"client": {"base_url": base}, "resources": [
            {"name": "items", "endpoint": {"path": "offset", "paginator": {"type": "offset", "limit": 10}},
             "processing_steps": [{"filter": lambda r: r["group"] != 1}, {"map": lambda r: {**r, "name": r["name"].upper()}}]}]},
    }


CASES = sorted(configs("http://x").keys())


@pytest.mark.parametrize("case", CASES)
def test_same_tables_as_dlt(case: str, api: PagingAPI, tmp_path) -> None:
    api.count = 37
    config = configs(api.origin)[case]
    theirs, ours = both(config, tmp_path)
    assert ours == theirs
    assert ours, "a configuration must load something"
