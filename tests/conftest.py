from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from apis import PagingAPI, Server

os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")


@pytest.fixture()
def api() -> Iterator[PagingAPI]:
    paging = PagingAPI()
    with Server(paging.app()) as server:
        paging.origin = server.url
        yield paging


@pytest.fixture()
def pipeline_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.chdir(tmp_path)
    return tmp_path
