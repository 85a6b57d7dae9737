"""Signals and schedulers (issue 10, section 4): SIGINT and SIGTERM stop `sluice run`
within seconds with exit code 130 / 143, the run summary (`--summary-json` with
`"status": "interrupted"`, a `run_interrupted` JSON line), and dlt's pipeline state intact:
the next run loads exactly the rows of an uninterrupted one. A second Ctrl-C aborts at once.

The CLI runs in a subprocess (`python -m sluice.cli run`); the API is a slow loopback mock
in a thread of the test process that says when the run is under way.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from aiohttp import web
from apis import Server

RECORDS = 2000  # 200 pages of 10: at a second a page and 8 at once, far longer than any test waits


class SlowAPI:
    """Offset-paged records; each answer waits `delay` seconds. `under_way` is set at the 3rd request."""

    def __init__(self) -> None:
        self.delay = 1.0
        self.records = RECORDS
        self.requests = 0
        self.under_way = threading.Event()

    async def items(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.requests >= 3:
            self.under_way.set()
        await asyncio.sleep(self.delay)
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        data = [{"id": i, "name": f"item {i}"} for i in range(offset, min(offset + limit, self.records))]
        return web.json_response({"data": data, "total": self.records})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/items", self.items)
        return app


@pytest.fixture()
def slow() -> Any:
    api = SlowAPI()
    with Server(api.app()) as server:
        api.url = server.url  # type: ignore[attr-defined]
        yield api


CONFIG = """
import time

def slow_step(record):
    time.sleep({step_seconds})  # a processing step that holds the engine's thread
    return record

config = {{
    "client": {{"base_url": {url!r}}},
    "resource_defaults": {{"primary_key": "id", "write_disposition": "merge"}},
    "resources": [{{"name": "items", "processing_steps": {steps},
                    "endpoint": {{"path": "items", "data_selector": "data",
                                  "paginator": {{"type": "offset", "limit": 10, "total_path": "total"}}}}}}],
}}
"""


def write_config(tmp_path: Path, api: Any, step_seconds: float = 0.0) -> Path:
    steps = '[{"map": slow_step}]' if step_seconds else "[]"
    path = tmp_path / "slow.py"
    path.write_text(CONFIG.format(url=api.url, step_seconds=step_seconds, steps=steps))
    return path


def start(tmp_path: Path, config: Path, *extra: str) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "sluice.cli", "run", str(config), "--pipelines-dir", str(tmp_path / "dlt"),
            "--duckdb-file", str(tmp_path / "slow.duckdb"), "--dataset-name", "d", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**os.environ, "COLUMNS": "160"})


def interrupt(proc: subprocess.Popen[str], api: SlowAPI, signum: int) -> tuple[int, str, str, float]:
    """Send `signum` once the run is under way; (exit code, stdout, stderr, seconds to exit)."""
    under_way(proc, api)
    proc.send_signal(signum)
    sent = time.monotonic()
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err, time.monotonic() - sent


def under_way(proc: subprocess.Popen[str], api: SlowAPI) -> None:
    if not api.under_way.wait(120):  # a loaded machine: importing dlt can take a while
        proc.kill()
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"the run did not start: {out[-2000:]} {err[-2000:]}")


def rows(tmp_path: Path) -> list[int]:
    with duckdb.connect(str(tmp_path / "slow.duckdb")) as con:
        return [i for (i,) in con.execute("select id from d.items order by id").fetchall()]


def rerun(tmp_path: Path, config: Path, api: SlowAPI) -> None:
    api.delay = 0.0
    proc = start(tmp_path, config)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert rows(tmp_path) == list(range(api.records))  # every row once: the interrupted run left nothing half-done


def test_ctrl_c_stops_the_run_with_a_summary_and_the_next_run_completes(slow: SlowAPI, tmp_path: Path) -> None:
    config = write_config(tmp_path, slow)
    summary = tmp_path / "summary.json"
    code, out, err, seconds = interrupt(start(tmp_path, config, "--summary-json", str(summary)), slow, signal.SIGINT)
    assert code == 130, err
    assert seconds < 10
    assert "KeyboardInterrupt" not in err and "run failed" not in err and "Traceback" not in err
    assert "interrupted by SIGINT" in err
    assert "(interrupted)" in out and "items (interrupted: not loaded)" in out  # the summary
    data = json.loads(summary.read_text())
    assert data["status"] == "interrupted" and data["signal"] == "SIGINT"
    assert data["requests"] >= 3 and data["resources"]["items"]["requests"] >= 3
    rerun(tmp_path, config, slow)


def test_sigterm_stops_the_run_with_a_json_line_and_the_next_run_completes(slow: SlowAPI, tmp_path: Path) -> None:
    config = write_config(tmp_path, slow)
    summary = tmp_path / "summary.json"
    proc = start(tmp_path, config, "--log-format", "json", "--summary-json", str(summary))
    code, out, err, seconds = interrupt(proc, slow, signal.SIGTERM)
    assert code == 143, err
    assert seconds < 10
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    last = events[-1]
    assert last["event"] == "run_interrupted" and last["status"] == "interrupted" and last["signal"] == "SIGTERM"
    assert last["requests"] >= 3
    assert json.loads(summary.read_text())["status"] == "interrupted"
    rerun(tmp_path, config, slow)


def test_a_second_ctrl_c_aborts_at_once(slow: SlowAPI, tmp_path: Path) -> None:
    # A processing step holds the engine's thread for seconds, so stopping it after the first
    # Ctrl-C waits; the second one does not.
    config = write_config(tmp_path, slow, step_seconds=1.0)
    slow.delay = 0.0
    proc = start(tmp_path, config)
    under_way(proc, slow)
    time.sleep(0.5)  # the engine is inside the step now
    proc.send_signal(signal.SIGINT)
    time.sleep(1.0)
    assert proc.poll() is None  # still stopping the engine
    proc.send_signal(signal.SIGINT)
    second = time.monotonic()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert time.monotonic() - second < 2
    assert "aborted (SIGINT again)" in err


LOAD_ANNOUNCED = """
import time
from dlt.load.load import Load

_load_package = Load.load_single_package

def _announced(self, *args, **kwargs):
    print('{"event": "test_load_started"}', flush=True)
    time.sleep(1.0)  # the test's signal comes meanwhile: dlt's handler only notes it
    return _load_package(self, *args, **kwargs)

Load.load_single_package = _announced
"""


def test_a_signal_after_extraction_is_taken_by_dlt_and_the_next_run_completes(slow: SlowAPI, tmp_path: Path) -> None:
    # Past extraction, dlt's normalize and load catch the signal themselves and stop at a safe
    # point (SignalReceivedException); the run still ends as `interrupted`, and the next run
    # loads what dlt left pending. The config announces dlt's load and holds it a second, so
    # the signal lands inside it (waiting for a line about extraction raced a fast load).
    config = write_config(tmp_path, slow)
    config.write_text(LOAD_ANNOUNCED + config.read_text())
    slow.delay, slow.records = 0.0, 5_000
    proc = start(tmp_path, config, "--log-format", "json")
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "test_load_started" not in (line := proc.stdout.readline()):
        assert line, proc.communicate(timeout=30)[1]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    last = json.loads(out.splitlines()[-1])
    assert last["event"] == "run_interrupted" and last["signal"] == "SIGINT"
    rerun(tmp_path, config, slow)


def test_dlt_signal_exceptions_map_to_their_signal() -> None:
    from dlt.common.exceptions import SignalReceivedException

    from sluice.runner import interruption

    def wrapped(inner: BaseException) -> BaseException:
        try:
            try:
                raise inner
            except BaseException as exc:
                raise RuntimeError("step failed") from exc  # as dlt's PipelineStepFailed wraps it
        except RuntimeError as outer:
            return outer

    assert interruption(wrapped(SignalReceivedException(signal.SIGTERM))) == signal.SIGTERM
    assert interruption(wrapped(KeyboardInterrupt())) == signal.SIGINT
    assert interruption(wrapped(ValueError("no"))) is None


def test_a_signal_before_dlt_starts_still_gives_the_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from rich.console import Console

    from sluice import cli, runner
    from sluice.errors import RunInterrupted

    def interrupted(*args: Any) -> None:
        raise RunInterrupted(signal.SIGTERM)  # as the handler raises it, while the config is parsed

    monkeypatch.setattr(runner, "run", interrupted)
    args = argparse.Namespace(log_format="text", summary_json=str(tmp_path / "s.json"), verbose=False)
    assert cli.execute(None, None, None, args, Console(file=io.StringIO()), "t") == 143  # type: ignore[arg-type]
    assert json.loads((tmp_path / "s.json").read_text())["status"] == "interrupted"
