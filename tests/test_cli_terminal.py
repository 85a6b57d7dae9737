"""`sluice run` in a real terminal (a pty, through pexpect): the live progress is on screen
while the run goes on, and the summary replaces it at the end."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pexpect

from sluice.demo import yaml_file
from sluice.mock import Fault, MockServer

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def spawn(args: list[str], tmp: Path, key: str) -> pexpect.spawn:
    env = dict(os.environ, API_KEY=key, DLT_DATA_DIR=str(tmp / "dlt"), RUNTIME__DLTHUB_TELEMETRY="false",
               TERM="xterm-256color", COLUMNS="140", LINES="40")
    return pexpect.spawn(sys.executable, ["-m", "sluice.cli", *args], cwd=str(tmp), env=env,
                         encoding="utf-8", dimensions=(40, 140), timeout=60)


def test_live_progress_is_visible_mid_run_then_the_summary(tmp_path: Path) -> None:
    # 25 events, 40 ms per response, 8 requests at once: about a second of fetching to watch
    with MockServer("ticketing", counts={"events": 25, "tags": 3}, faults={"*": Fault(latency_ms=40)}) as mock:
        child = spawn(["run", str(yaml_file("ticketing")), "--base-url", mock.base_url,
                       "--pipelines-dir", str(tmp_path / "p")], tmp_path, mock.api_key)
        screen = io.StringIO()
        child.logfile_read = screen
        child.expect("extracting")  # the live table, while requests are still being made
        child.expect(r"[1-9]\d*/8 in flight")
        requests_mid_run = len(mock.log)
        mid_run = ANSI.sub("", screen.getvalue())
        child.expect(r"rows in \d+ tables?", timeout=90)  # the summary
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 0, ANSI.sub("", screen.getvalue())
    assert "sluice run ticketing" in mid_run
    for column in ("pages", "records", "requests", "in flight", "retries", "time"):
        assert column in mid_run
    assert "in flight, " in mid_run and "⠋ fetching" in mid_run  # the footer and its legend
    assert requests_mid_run < len(mock.log)  # the display was there before the last request
    assert "└ orders" in mid_run  # children under their parent
    end = ANSI.sub("", screen.getvalue())
    assert re.search(r"events\s+merge\s+\d+\s+\d+\s", end) and "in table" in end
    assert (tmp_path / "ticketing.duckdb").exists()


def test_no_live_display_when_stdout_is_not_a_terminal(tmp_path: Path) -> None:
    with MockServer("tickets", counts={"tickets": 20}) as mock:
        child = spawn(["run", str(yaml_file("tickets")), "--base-url", mock.base_url,
                       "--pipelines-dir", str(tmp_path / "p"), "--log-format", "json"], tmp_path, mock.api_key)
        child.expect(pexpect.EOF)
        child.close()
    lines = [ANSI.sub("", line) for line in (child.before or "").splitlines() if line.strip()]
    assert child.exitstatus == 0
    assert lines and all(line.startswith("{") for line in lines), lines  # JSON lines only, even at a terminal
    assert "extracting" not in "".join(lines)
