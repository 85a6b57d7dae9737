"""The garbage collector while a run extracts: rarely triggered, still collecting, put back after."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import dlt
import pytest
from apis import PagingAPI

from sluice import rest_api_source
from sluice.load.runtime import _FROZEN, RUN_GC_THRESHOLD


@pytest.fixture()
def default_threshold() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # CPython's default
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def _run(api: PagingAPI, tmp_path: Any, seen: list[int]) -> None:
    def note(record: dict[str, Any]) -> dict[str, Any]:
        seen.append(gc.get_threshold()[0])
        return record

    config = {"client": {"base_url": api.origin + "/"}, "resources": [
        {"name": "items", "endpoint": {"path": "page_number", "data_selector": "items",
                                       "paginator": {"type": "page_number", "base_page": 1, "total_path": "total_pages"}},
         "processing_steps": [{"map": note}]}]}
    pipeline = dlt.pipeline("gc_run", destination=dlt.destinations.duckdb(str(tmp_path / "gc.duckdb")),
                            pipelines_dir=str(tmp_path / "pipelines"))
    pipeline.run(rest_api_source(config))


def test_a_run_raises_the_first_threshold_and_puts_it_back(api: PagingAPI, tmp_path: Any,
                                                           default_threshold: tuple[int, int, int]) -> None:
    seen: list[int] = []
    _run(api, tmp_path, seen)
    assert len(seen) == api.count and set(seen) == {RUN_GC_THRESHOLD}
    assert gc.get_threshold() == default_threshold


def test_a_threshold_the_process_set_higher_is_left_alone(api: PagingAPI, tmp_path: Any,
                                                          default_threshold: tuple[int, int, int]) -> None:
    gc.set_threshold(RUN_GC_THRESHOLD * 3, 5, 5)
    seen: list[int] = []
    _run(api, tmp_path, seen)
    assert set(seen) == {RUN_GC_THRESHOLD * 3} and gc.get_threshold() == (RUN_GC_THRESHOLD * 3, 5, 5)


class _Cycle:
    alive = 0

    def __init__(self) -> None:
        _Cycle.alive += 1
        self.me = self

    def __del__(self) -> None:
        _Cycle.alive -= 1


def test_cyclic_garbage_is_still_collected_during_a_run(default_threshold: tuple[int, int, int]) -> None:
    """Memory stays bounded: garbage in cycles triggers a collection once RUN_GC_THRESHOLD
    containers of it pile up (each _Cycle is two: the object and its __dict__)."""
    made = 2 * RUN_GC_THRESHOLD
    _FROZEN.enter()
    try:
        assert gc.get_threshold()[0] == RUN_GC_THRESHOLD
        for _ in range(made):
            _Cycle()
        assert 0 < _Cycle.alive <= RUN_GC_THRESHOLD
    finally:
        _FROZEN.leave()
        gc.collect()
    assert _Cycle.alive == 0 and gc.get_threshold() == default_threshold


def test_the_setting_lasts_until_dlt_has_loaded(api: PagingAPI, tmp_path: Any,
                                                default_threshold: tuple[int, int, int]) -> None:
    # dlt's load still walks the pages' objects: put back when the engine ended, the threshold
    # made the collector walk every object still young (~50 ms at 100k records)
    loading: list[int] = []

    @dlt.destination(batch_size=0, name="gc_sink")
    def sink(items: Any, table: Any) -> None:
        loading.append(gc.get_threshold()[0])

    config = {"client": {"base_url": api.origin + "/"}, "resources": [
        {"name": "items", "endpoint": {"path": "page_number", "data_selector": "items",
                                       "paginator": {"type": "page_number", "base_page": 1, "total_path": "total_pages"}}}]}
    pipeline = dlt.pipeline("gc_sink_run", destination=sink, pipelines_dir=str(tmp_path / "pipelines"))
    pipeline.run(rest_api_source(config))
    assert loading and set(loading) == {RUN_GC_THRESHOLD}
    assert gc.get_threshold() == default_threshold
