from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from apis import PagingAPI, Server

os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # tests reach nothing but 127.0.0.1


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


@pytest.fixture(autouse=True)
def _restore_logging():
    """The CLI configures logging for its process; tests call it in-process, so undo that."""
    import logging

    names = ["", *[n for n, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)]]
    names += ["sluice", "dlt", "aiohttp", "aiohttp.access"]
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = list(logging.getLogger().handlers)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    logging.getLogger().handlers[:] = handlers
