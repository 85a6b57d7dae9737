"""No secret ever leaves the process through anything a run writes.

For each way a secret reaches the API (a bearer token, an api key in a header or in the
query, a basic password, an oauth2 client secret and the token it buys), runs that succeed
and runs that fail are made, and everything they write is searched for the secret values:
log lines at DEBUG (sluice, dlt, aiohttp), stdout/stderr, exception messages and
tracebacks, the run summary (text and JSON), dlt's trace (str and asdict), every file of the
pipelines directory and the DuckDB file's bytes.

The API here is hostile on purpose: its error bodies echo the request's URL and headers,
and its next URLs echo the query string (keys included), as some real APIs do.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import traceback
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from apis import Server
from rich.console import Console

from sluice import RunOptions, SluiceError
from sluice.cli import main
from sluice.configfile import LoadedConfig
from sluice.runner import Target, run
from sluice.summary import print_summary, summary_dict

TOKEN = "tok-7Hq2xP9vLmZ4"
API_KEY = "key-Rb8Nw3Kc1Ys6"
USER = "svc-user-Dk5Fj"
PASSWORD = "pw-Gt4Mn8Qz2Lx7"
CLIENT_ID = "cid-Vc3Xs9Ke"
CLIENT_SECRET = "csec-Jp6Wd2Hr8Tn1"
OAUTH_TOKEN = "oat-Zm5Bq7Yu3Fa9"
TENANT_HEADER = "tenant-Ue4Lo8Pi"  # a secret passed as a plain configured header


def basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


AUTHS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "bearer": ({"type": "bearer", "token": TOKEN}, [TOKEN]),
    "api key header": ({"type": "api_key", "name": "X-Api-Key", "api_key": API_KEY}, [API_KEY]),
    "api key query": ({"type": "api_key", "name": "api_key", "api_key": API_KEY, "location": "query"}, [API_KEY]),
    "basic": ({"type": "http_basic", "username": USER, "password": PASSWORD}, [PASSWORD, basic(USER, PASSWORD)]),
    "oauth2": ({"type": "oauth2_client_credentials", "client_auth": "basic", "access_token_url": "TOKEN_URL", "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET}, [CLIENT_SECRET, OAUTH_TOKEN, basic(CLIENT_ID, CLIENT_SECRET)]),
}


class SecretAPI:
    """Accepts exactly the credentials above. /items pages 3 x 5 records; /echo fails with
    the request echoed in its body; /loop links to itself with the query echoed."""

    loops = 0

    def authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return (header in (f"Bearer {TOKEN}", f"Basic {basic(USER, PASSWORD)}", f"Bearer {OAUTH_TOKEN}")
                or request.headers.get("X-Api-Key") == API_KEY or request.query.get("api_key") == API_KEY)

    def echo(self, request: web.Request) -> str:
        return json.dumps({"url": str(request.url), "headers": dict(request.headers)})

    async def items(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return web.json_response({"error": "unauthorized", "request": self.echo(request)}, status=401)
        page = int(request.query.get("page", 1))
        data = [{"id": page * 10 + i, "note": "ok"} for i in range(5)] if page <= 3 else []
        return web.json_response({"data": data})

    async def echo_error(self, request: web.Request) -> web.Response:
        return web.json_response({"error": "boom", "request": self.echo(request)}, status=500)

    async def loop(self, request: web.Request) -> web.Response:
        self.loops += 1  # new records every time: only the repeated URL can end it
        return web.json_response({"data": [{"id": self.loops}], "next": str(request.url)})

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if request.headers.get("Authorization") != f"Basic {basic(CLIENT_ID, CLIENT_SECRET)}" or form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "invalid_client", "request": self.echo(request)}, status=401)
        return web.json_response({"access_token": OAUTH_TOKEN, "expires_in": 3600})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/items", self.items)
        app.router.add_get("/echo", self.echo_error)
        app.router.add_get("/loop", self.loop)
        app.router.add_post("/token", self.token)
        return app


@pytest.fixture(scope="module")
def server() -> Any:
    with Server(SecretAPI().app()) as running:
        yield running


def config(server: Server, auth: dict[str, Any], path: str = "items", paginator: Any = None) -> dict[str, Any]:
    auth = {k: (f"{server.url}/token" if v == "TOKEN_URL" else v) for k, v in auth.items()}
    return {
        "client": {"base_url": server.url, "auth": auth, "headers": {"X-Tenant": TENANT_HEADER},
                   "error_handler": {"max_retries": 1}},
        "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
        "resources": [{"name": "items", "endpoint": {"path": path, "data_selector": "data", "paginator": paginator or {
            "type": "page_number", "base_page": 1}}}],
    }


def everything_written(tmp_path: Path) -> list[tuple[str, bytes]]:
    """Every file under tmp_path: the DuckDB file, the pipelines directory, summaries."""
    return [(str(p.relative_to(tmp_path)), p.read_bytes()) for p in sorted(tmp_path.rglob("*")) if p.is_file()]


def assert_clean(secrets: list[str], texts: dict[str, str], files: list[tuple[str, bytes]]) -> None:
    for secret in secrets:
        for where, text in texts.items():
            assert secret not in text, f"secret {secret[:4]}... in {where}"
        for name, data in files:
            assert secret.encode() not in data, f"secret {secret[:4]}... in file {name}"


@pytest.fixture()
def debug_logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")  # dlt's own logger
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")  # no network from a test
    caplog.set_level(logging.DEBUG)  # every logger: sluice, dlt, aiohttp, asyncio
    return caplog


def target(tmp_path: Path) -> Target:
    return Target("secrets", duckdb_file=str(tmp_path / "secrets.duckdb"), pipelines_dir=str(tmp_path / "pipelines"),
                  dataset_name="d")


@pytest.mark.parametrize("kind", list(AUTHS))
def test_a_successful_run_writes_no_secret(kind: str, server: Server, tmp_path: Path, debug_logs: pytest.LogCaptureFixture,
                                          capfd: pytest.CaptureFixture[str]) -> None:
    auth, secrets = AUTHS[kind]
    result = run(LoadedConfig(config(server, auth)), target(tmp_path), RunOptions(max_retry_delay=0.01))
    assert sum(result.rows.values()) == 15
    buffer = io.StringIO()
    print_summary(result, Console(file=buffer, width=200))
    (tmp_path / "summary.json").write_text(json.dumps(summary_dict(result)))
    trace = result.pipeline.last_trace
    texts = {
        "logs": "\n".join(r.getMessage() for r in debug_logs.records) + debug_logs.text,
        "summary": buffer.getvalue(),
        "trace str": str(trace),
        "trace asdict": json.dumps(trace.asdict(), default=str),
        "stats": repr(result.stats.as_dict()),
        "std streams": "".join(capfd.readouterr()),
    }
    assert_clean([*secrets, TENANT_HEADER], texts, everything_written(tmp_path))


FAILURES = {
    "error body echoes the request": ("echo", "single_page"),
    "next url echoes the query: loop": ("loop", {"type": "json_link", "next_url_path": "next"}),
}


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("kind", list(AUTHS))
def test_a_failed_run_writes_no_secret(kind: str, failure: str, server: Server, tmp_path: Path,
                                      debug_logs: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    auth, secrets = AUTHS[kind]
    path, paginator = FAILURES[failure]
    with pytest.raises(SluiceError) as caught:
        run(LoadedConfig(config(server, auth, path, paginator)), target(tmp_path), RunOptions(max_retry_delay=0.01))
    error = caught.value
    texts = {
        "message": str(error),
        "repr": repr(error),
        "traceback": "".join(traceback.format_exception(error)),
        "attributes": repr(vars(error)),
        "logs": "\n".join(r.getMessage() for r in debug_logs.records) + debug_logs.text,
        "std streams": "".join(capfd.readouterr()),
    }
    assert "resource 'items'" in str(error)
    assert_clean([*secrets, TENANT_HEADER] if failure.startswith("next") else secrets, texts, everything_written(tmp_path))


def test_a_wrong_key_failure_names_no_key(server: Server, tmp_path: Path, debug_logs: pytest.LogCaptureFixture) -> None:
    wrong = "key-WRONG-Aa1Bb2Cc3"
    auth = {"type": "api_key", "name": "api_key", "api_key": wrong, "location": "query"}
    with pytest.raises(SluiceError) as caught:
        run(LoadedConfig(config(server, auth)), target(tmp_path), RunOptions(max_retry_delay=0.01))
    assert "status: 401" in str(caught.value)
    assert_clean([wrong], {"message": str(caught.value), "logs": debug_logs.text}, everything_written(tmp_path))


def test_the_command_line_writes_no_secret(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`sluice run -v` on a YAML file whose secrets come from the environment."""
    monkeypatch.setenv("SLUICE_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    file = tmp_path / "api.yaml"
    file.write_text(
        "client:\n  base_url: BASE\n  auth: {type: bearer, token: '${env.SLUICE_TEST_TOKEN}'}\n"
        "resources:\n  - name: items\n    endpoint: {path: items, data_selector: data, paginator: {type: page_number, base_page: 1}}\n"
        "  - name: broken\n    endpoint: {path: echo, paginator: single_page}\n".replace("BASE", server.url))
    common = ["--duckdb-file", str(tmp_path / "cli.duckdb"), "--pipelines-dir", str(tmp_path / "pipelines"),
              "--max-retry-delay", "0.01"]
    ok = main(["run", "-v", str(file), "--resources", "items", "--summary-json", str(tmp_path / "summary.json"), *common])
    failed = main(["run", "-v", str(file), "--resources", "broken", *common])
    out = capsys.readouterr()
    assert (ok, failed) == (0, 1)
    assert "resource 'broken'" in " ".join((out.out + out.err).split())
    assert_clean([TOKEN], {"stdout": out.out, "stderr": out.err}, everything_written(tmp_path))
    logging.getLogger().handlers.clear()  # the CLI configured the root logger for this process


def test_config_errors_never_echo_a_secret() -> None:
    from sluice import ConfigError, validate

    bad = {"client": {"base_url": "https://a/", "auth": {"type": "bearer", "token": [TOKEN], "tokn": TOKEN}},
           "resources": [{"name": "x", "endpoint": {"path": "x", "auth": {"type": "api_key", "api_key": {"v": API_KEY}, "location": "body"}}}]}
    with pytest.raises(ConfigError) as caught:
        validate(bad)
    assert TOKEN not in str(caught.value) and API_KEY not in str(caught.value)


def test_auth_objects_do_not_show_their_secrets() -> None:
    from sluice.auth import APIKeyAuth, BasicAuth, BearerAuth, OAuth2ClientCredentials

    shown = " ".join(map(repr, [BearerAuth(TOKEN), APIKeyAuth(API_KEY), BasicAuth(USER, PASSWORD),
                                OAuth2ClientCredentials("https://a/token", CLIENT_ID, CLIENT_SECRET)]))
    assert_clean([TOKEN, API_KEY, PASSWORD, CLIENT_SECRET], {"repr": shown}, [])


def test_no_secret_in_a_failed_token_request(tmp_path: Path, debug_logs: pytest.LogCaptureFixture) -> None:
    """The token endpoint refuses and echoes the request (client id and secret in Basic)."""
    calls: list[str] = []

    async def token(request: web.Request) -> web.Response:
        calls.append(request.headers.get("Authorization", ""))
        return web.json_response({"error": "invalid_client", "echo": dict(request.headers)}, status=401)

    app = web.Application()
    app.router.add_post("/token", token)
    with Server(app) as other:
        auth = {"type": "oauth2_client_credentials", "client_auth": "basic", "access_token_url": f"{other.url}/token", "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET}
        cfg = {"client": {"base_url": other.url, "auth": auth},
               "resources": [{"name": "items", "endpoint": {"path": "items", "paginator": "single_page"}}]}
        with pytest.raises(SluiceError) as caught:
            asyncio.run(_engine_only(cfg))
    assert calls and CLIENT_SECRET not in calls[0]  # it went base64-encoded, as the header must
    assert_clean([CLIENT_SECRET, basic(CLIENT_ID, CLIENT_SECRET)],
                 {"message": str(caught.value), "traceback": "".join(traceback.format_exception(caught.value)),
                  "logs": debug_logs.text}, [])


async def _engine_only(cfg: dict[str, Any]) -> None:
    from sluice.config import parse_source
    from sluice.engine.run import Engine

    class Drop:
        async def put(self, resource: str, records: list[Any]) -> None:
            pass

        def finish(self, resource: str) -> None:
            pass

    await Engine(parse_source(cfg), {"items"}, Drop()).run()
