"""Concurrency limits are never exceeded: the mock's in-flight counters prove it."""

from __future__ import annotations

import pytest
from difftools import load

from sluice import rest_api_source
from sluice.mock import Fault, MockServer


@pytest.mark.parametrize("limit", [1, 3, 6])
def test_client_max_concurrency_is_never_exceeded(tmp_path, limit: int) -> None:
    with MockServer("bench", counts={"parents": 30, "children": 10}, faults={"*": Fault(latency_ms=15)}) as mock:
        source = rest_api_source({"client": {"base_url": mock.base_url, "max_concurrency": limit}, "resources": [
            {"name": "parents", "endpoint": {"path": "parents", "data_selector": "data", "params": {"per_page": 10},
                                             "paginator": {"type": "page_number", "base_page": 1}}},
            {"name": "children", "endpoint": {"path": "parents/{resources.parents.id}/children", "data_selector": "data",
                                              "paginator": "single_page"}}]})
        tables = load(source, tmp_path, "t")
        assert tables["children"][1] == 300
        assert mock.max_in_flight == limit  # reached, never exceeded


def test_resource_max_concurrency_bounds_one_resource(tmp_path) -> None:
    with MockServer("bench", counts={"parents": 20, "children": 10}, faults={"*": Fault(latency_ms=15)}) as mock:
        source = rest_api_source({"client": {"base_url": mock.base_url, "max_concurrency": 8}, "resources": [
            {"name": "parents", "endpoint": {"path": "parents", "data_selector": "data", "params": {"per_page": 50},
                                             "paginator": "single_page"}},
            {"name": "children", "endpoint": {"path": "parents/{resources.parents.id}/children", "data_selector": "data",
                                              "paginator": "single_page", "max_concurrency": 2}}]})
        load(source, tmp_path, "t")
        assert mock.max_in_flight_route("children") == 2
