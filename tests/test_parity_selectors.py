"""Selectors as dlt reads them (issue 9 item 14): one that matches nothing is an empty page,
and the run warns when it matched nothing on every page of a resource. JSONPath filters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from apis import Server
from difftools import both

from sluice.cli import main


class GoogleStyleAPI:
    """`items` + `nextPageToken`; like Google's APIs, the last page leaves the empty list out."""

    def __init__(self) -> None:
        self.hits = 0

    async def items(self, request: web.Request) -> web.Response:
        self.hits += 1
        page = int(request.query.get("pageToken", "0"))
        if page == 3:
            return web.json_response({"kind": "list", "totalItems": 15})  # no `items` at all
        body: dict[str, Any] = {"kind": "list", "items": [{"id": page * 5 + i, "active": i % 2 == 0} for i in range(5)],
                                "nextPageToken": str(page + 1)}
        return web.json_response(body)

    async def pokemon_list(self, request: web.Request) -> web.Response:
        offset = int(request.query.get("offset", "0"))
        names = [f"mon{i}" for i in range(offset, min(offset + 4, 10))]
        following = f"/pokemon?offset={offset + 4}" if offset + 4 < 10 else None
        return web.json_response({"count": 10, "next": following, "results": [{"name": n, "url": f"/pokemon/{n}"} for n in names]})

    async def pokemon(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return web.json_response({"name": name, "abilities": [{"ability": {"name": f"{name}-a{i}"}} for i in range(2)],
                                  "moves": [{"move": "tackle"}], "next": "/not/a/page"})

    async def empty(self, request: web.Request) -> web.Response:
        return web.json_response({"kind": "list", "results": [{"id": 1}], "meta": {"tags": ["a"]}})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/items", self.items)
        app.router.add_get("/typo", self.empty)
        app.router.add_get("/pokemon", self.pokemon_list)
        app.router.add_get("/pokemon/{name}", self.pokemon)
        return app


@pytest.fixture()
def google() -> Iterator[tuple[GoogleStyleAPI, str]]:
    api = GoogleStyleAPI()
    with Server(api.app()) as server:
        yield api, server.url


def _config(base: str, selector: str, path: str = "items") -> dict[str, Any]:
    return {"client": {"base_url": base}, "resources": [{"name": "items", "endpoint": {
        "path": path, "data_selector": selector,
        "paginator": {"type": "cursor", "cursor_path": "nextPageToken", "cursor_param": "pageToken"}}}]}


def test_a_page_without_the_list_is_an_empty_page(google, tmp_path) -> None:
    theirs, ours = both(_config(google[1], "items"), tmp_path)
    assert ours == theirs and ours["items"][1] == 15


def test_a_jsonpath_filter_selects_as_in_dlt(google, tmp_path) -> None:
    theirs, ours = both(_config(google[1], "items[?(@.active == true)]"), tmp_path)
    assert ours == theirs and ours["items"][1] == 9


def test_a_selector_that_never_matches_warns_in_the_summary(google, pipeline_dir: Path, capsys) -> None:
    config = pipeline_dir / "api.json"
    config.write_text(json.dumps(_config(google[1], "result", path="typo")))
    code = main(["run", str(config), "--summary-json", str(pipeline_dir / "summary.json"), "--log-format", "json"])
    assert code == 0
    summary = json.loads((pipeline_dir / "summary.json").read_text())
    assert summary["warnings"] == ["resource 'items': on all 1 pages, data_selector 'result' matched nothing "
                                   "(the response's keys: kind, results, meta; its lists: results, meta.tags)"]


def test_a_selector_that_matches_some_pages_does_not_warn(google, pipeline_dir: Path) -> None:
    config = pipeline_dir / "api.json"
    config.write_text(json.dumps(_config(google[1], "items")))
    assert main(["run", str(config), "--summary-json", str(pipeline_dir / "summary.json"), "--log-format", "json"]) == 0
    assert json.loads((pipeline_dir / "summary.json").read_text())["warnings"] == []


def test_a_path_ending_in_a_placeholder_is_one_object(google, tmp_path) -> None:
    # PokeAPI: the detail endpoint holds lists (abilities, moves) and even a `next` key; dlt
    # reads it as one record on one page, whatever the client's paginator.
    config = {"client": {"base_url": google[1], "paginator": {"type": "json_link", "next_url_path": "next"}}, "resources": [
        {"name": "pokemon_list", "endpoint": {"path": "pokemon", "data_selector": "results"}},
        {"name": "pokemon", "endpoint": {"path": "pokemon/{resources.pokemon_list.name}"}}]}
    theirs, ours = both(config, tmp_path)
    assert ours == theirs
    assert ours["pokemon"][1] == 10 and ours["pokemon__abilities"][1] == 20
