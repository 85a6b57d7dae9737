"""Pages that repeat the previous one: told apart cheaply, compared whole only when alike."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from apis import ListSink, PagingAPI
from difftools import load

from sluice import rest_api_source
from sluice.config import parse_source
from sluice.engine.order import Slot
from sluice.engine.repeats import PageRepeats
from sluice.engine.run import Engine, _Chain
from sluice.model import PageRequest


def page(ids: list[int], **extra: Any) -> tuple[list[Any], bytes]:
    """Records and the body they were parsed from (`data`), with other keys of the body."""
    text = orjson.dumps({"data": [{"id": i, "name": f"item {i}", "tags": [i % 3]} for i in ids], **extra})
    return orjson.loads(text)["data"], text


def test_the_same_records_under_another_cursor_repeat() -> None:
    pages = PageRepeats()
    assert not pages.sequential(*page([1, 2, 3], next="a"), "data")
    assert pages.sequential(*page([1, 2, 3], next="b"), "data")


def test_pages_alike_at_both_ends_differ_in_the_middle() -> None:
    pages = PageRepeats()
    assert not pages.sequential(*page([1, 2, 3]), "data")
    assert not pages.sequential(*page([1, 5, 3]), "data")
    assert not pages.sequential(*page([1, 5]), "data")
    assert not pages.sequential(*page([1, 6]), "data")


def test_keys_in_another_order_still_repeat() -> None:
    pages = PageRepeats()
    assert not pages.sequential([{"a": 1, "b": 2}], b'[{"a":1,"b":2}]', "$")
    assert pages.sequential([{"b": 2, "a": 1}], b'[{"b":2,"a":1}]', "$")


def test_a_page_changed_in_place_after_delivery_is_still_repeated() -> None:
    # include_from_parent and map steps change delivered records in place: the previous page
    # is read again from its text, not from its records
    pages = PageRepeats()
    records, text = page([1, 2, 3])
    assert not pages.sequential(records, text, "data")
    for record in records:
        record["_parent_id"] = 7
    assert pages.sequential(*page([1, 2, 3]), "data")


def test_an_empty_page_repeats_nothing_and_forgets_nothing() -> None:
    pages = PageRepeats()
    assert not pages.sequential(*page([1, 2]), "data")
    assert not pages.sequential(*page([]), "data")
    assert pages.sequential(*page([1, 2]), "data")


def test_planned_pages_repeat_the_page_before_the_plan_or_any_planned_page() -> None:
    pages = PageRepeats()
    assert not pages.sequential(*page([1, 2]), "data")
    assert not pages.planned(page([3, 4])[0])
    assert not pages.planned(page([5, 6])[0])
    assert pages.planned(page([3, 4])[0])
    assert pages.planned(page([1, 2])[0])
    assert not pages.planned([])


def test_distinct_pages_are_told_apart_without_serializing_them_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # ~60 us a page of 100 records went into serializing every page for its digest
    pages = [page(list(range(start, start + 100))) for start in range(0, 2000, 100)]
    serialized = []
    dumps = orjson.dumps
    monkeypatch.setattr(orjson, "dumps", lambda *a, **k: serialized.append(len(dumps(*a, **k))) or dumps(*a, **k))
    chain = _Chain("data", Slot(None))
    for records, text in pages:
        assert not chain.repeats(records, text)
    body = sum(len(text) for _, text in pages)
    assert sum(serialized) < body / 20, f"{sum(serialized)} bytes serialized for {body} bytes of pages"


def test_a_map_step_that_changes_records_in_place_does_not_hide_a_repeat(api: PagingAPI, tmp_path) -> None:
    api.count = 5

    def tag(record: dict[str, Any]) -> dict[str, Any]:
        record["tagged"] = True
        return record

    # The API ignores 'pg': every page is the same; page size unknown, so only the repeat stops it.
    config = {"client": {"base_url": api.origin}, "resources": [{"name": "items", "processing_steps": [{"map": tag}],
              "endpoint": {"path": "offset", "params": {"no_total": 1, "limit": 5},
                           "paginator": {"type": "page_number", "page_param": "pg", "total_path": None}}}]}
    tables = load(rest_api_source(config), tmp_path, "t")
    assert tables["items"][1] == 5
    assert "tagged" in tables["items"][0]
    assert api.hits("/offset") == 2


def test_pages_fetched_ahead_build_each_request_identity_once(api: PagingAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    # the paginator's guesses equal the requests it then asks for: compared as values, not by
    # building both identities (~15 us each) on every page
    api.count = 300
    built, checked = [], []
    identity, check = PageRequest.identity, _Chain.check
    monkeypatch.setattr(PageRequest, "identity", lambda self: built.append(1) or identity(self))
    monkeypatch.setattr(_Chain, "check", lambda self, *a: checked.append(1) or check(self, *a))
    config = {"client": {"base_url": api.origin}, "resources": [{"name": "items", "endpoint": {
        "path": "page_number", "data_selector": "items", "params": {"per_page": 10},
        "paginator": {"type": "page_number", "base_page": 1, "total_path": None}}}]}
    sink = ListSink()
    asyncio.run(Engine(parse_source(config), {"items"}, sink).run())
    assert len(sink.records) == 300
    assert api.hits("/page_number") > 20  # fetched ahead from the 9th page on
    assert len(built) == len(checked), f"{len(built)} identities for {len(checked)} requests"
