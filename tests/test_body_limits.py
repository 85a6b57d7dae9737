"""Hostile bodies (issue 10, section 5): a decoded body stops at `max_response_bytes`, and
failures that cannot change on retry (a body over the cap, a redirect loop, JSON nested past
the parser's limit) fail at once, naming the resource, the sanitized URL and why.

The API is a loopback aiohttp app that counts the requests it answers: one request each,
where the default error handler would retry a retryable failure five times.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import dlt
import pytest
from aiohttp import web
from apis import Server

from sluice import ConfigError, ResponseError, rest_api_source
from sluice.runner import unwrap

MB = 1024 * 1024
HERE = Path(__file__).parent


class HostileBodies:
    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def _hit(self, request: web.Request) -> None:
        self.calls[request.path] = self.calls.get(request.path, 0) + 1

    async def bomb(self, request: web.Request) -> web.StreamResponse:
        """Valid JSON, gzip-compressed as it streams: `mb` megabytes once decoded, a few KB on the wire."""
        self._hit(request)
        response = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        await response.prepare(request)
        gz = zlib.compressobj(1, zlib.DEFLATED, 31)
        block = b"a" * MB
        try:
            await response.write(gz.compress(b'{"data": [{"id": 1}], "pad": "'))
            for _ in range(int(request.query["mb"])):
                await response.write(gz.compress(block))
            await response.write(gz.compress(b'"}') + gz.flush())
            await response.write_eof()
        except ConnectionError:
            pass  # the client stopped reading at its cap: what the test wants
        return response

    async def loop(self, request: web.Request) -> web.Response:
        self._hit(request)
        raise web.HTTPFound(f"http://{request.host}/loop?token=s3cr3t-token")

    async def deep(self, request: web.Request) -> web.Response:
        self._hit(request)
        return web.Response(body=b'{"data": ' + b"[" * 2000 + b"]" * 2000 + b"}", content_type="application/json")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/bomb", self.bomb)
        app.router.add_get("/loop", self.loop)
        app.router.add_get("/deep", self.deep)
        return app


@pytest.fixture(scope="module")
def hostile() -> Any:
    api = HostileBodies()
    with Server(api.app()) as server:
        api.url = server.url  # type: ignore[attr-defined]
        yield api


def config(api: Any, endpoint: dict[str, Any], **client: Any) -> dict[str, Any]:
    endpoint = {"data_selector": "data", "paginator": "single_page", **endpoint}
    return {"client": {"base_url": api.url, **client}, "resources": [{"name": "things", "endpoint": endpoint}]}


def pipeline(tmp_path: Path) -> Any:
    return dlt.pipeline("limits", destination=dlt.destinations.duckdb(str(tmp_path / "limits.duckdb")),
                        pipelines_dir=str(tmp_path / "dlt"), dataset_name="d")


def load(cfg: dict[str, Any], tmp_path: Path) -> BaseException | None:
    """Run `cfg` through a real dlt pipeline into DuckDB; the sluice error behind dlt's, if any."""
    try:
        pipeline(tmp_path).run(rest_api_source(cfg))
    except Exception as exc:  # noqa: BLE001 - dlt wraps the engine's error
        return unwrap(exc)
    return None


def test_a_gzip_bomb_stops_at_the_cap_and_is_not_retried(hostile: Any, tmp_path: Path) -> None:
    before = hostile.calls.get("/bomb", 0)
    error = load(config(hostile, {"path": "bomb", "params": {"mb": 5}}, max_response_bytes=MB), tmp_path)
    assert isinstance(error, ResponseError), error
    assert error.resource == "things" and error.url.startswith(f"{hostile.url}/bomb")
    assert f"response body larger than max_response_bytes={MB} (decoded; not retried)" in str(error)
    assert hostile.calls["/bomb"] - before == 1


def test_an_endpoint_cap_replaces_the_clients(hostile: Any, tmp_path: Path) -> None:
    cfg = config(hostile, {"path": "bomb", "params": {"mb": 5}, "max_response_bytes": 8 * MB}, max_response_bytes=MB)
    assert load(cfg, tmp_path) is None
    with pipeline(tmp_path).sql_client() as client:
        assert client.execute_sql("select id from things") == [(1,)]


def test_a_redirect_loop_fails_at_once(hostile: Any, tmp_path: Path) -> None:
    before = hostile.calls.get("/loop", 0)
    error = load(config(hostile, {"path": "loop"}), tmp_path)
    assert isinstance(error, ResponseError), error
    assert error.resource == "things" and error.url == f"{hostile.url}/loop"
    assert "too many redirects (10)" in str(error) and "not retried" in str(error)
    assert "s3cr3t-token" not in str(error)  # the redirect's URL is sanitized too
    assert hostile.calls["/loop"] - before == 10  # one attempt: aiohttp gives up at its 10th response


def test_json_nested_past_the_parsers_limit_fails_at_once(hostile: Any, tmp_path: Path) -> None:
    before = hostile.calls.get("/deep", 0)
    error = load(config(hostile, {"path": "deep"}), tmp_path)
    assert isinstance(error, ResponseError), error
    assert error.resource == "things" and error.url == f"{hostile.url}/deep"
    assert "JSON nested deeper than the parser's limit of 1024 levels" in str(error) and "not retried" in str(error)
    assert hostile.calls["/deep"] - before == 1


def test_max_response_bytes_must_be_a_positive_integer(hostile: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        rest_api_source(config(hostile, {"path": "x", "max_response_bytes": "1MB"}, max_response_bytes=0))
    assert [str(issue) for issue in caught.value.issues] == [
        "client.max_response_bytes: must be >= 1, got 0",
        "resources[0].endpoint.max_response_bytes: expected an integer, got a string '1MB'"]


RSS_PROBE = """
import asyncio, json, sys
from sluice.config import parse_source
from sluice.engine.run import Engine
from sluice.errors import ResponseError
sys.path.insert(0, {tests!r})
from apis import ListSink
cfg = json.loads(sys.argv[1])
try:
    asyncio.run(Engine(parse_source(cfg), {{"things"}}, ListSink()).run())
except ResponseError as exc:
    # VmHWM, not ru_maxrss: Linux carries the parent's (pytest's) peak across exec into ru_maxrss
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(json.dumps({{"error": str(exc), "peak_mb": int(hwm.split()[1]) // 1024}}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM in /proc is Linux's")
def test_a_one_gigabyte_bomb_does_not_balloon_memory(hostile: Any) -> None:
    # 1 GB of decoded JSON against a 32 MB cap, in a process of its own so its peak RSS is its own
    cfg = config(hostile, {"path": "bomb", "params": {"mb": 1024}}, max_response_bytes=32 * MB)
    probe = subprocess.run([sys.executable, "-c", RSS_PROBE.format(tests=str(HERE)), json.dumps(cfg)],
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    outcome = json.loads(probe.stdout)
    assert "max_response_bytes" in outcome["error"]
    print(f"\n1 GB gzip bomb, 32 MB cap: peak RSS {outcome['peak_mb']} MB")
    assert outcome["peak_mb"] < 250, outcome  # whole, it peaked at 3.2 GB
