"""The command line by its output: `sluice.cli.main([...])` against the mock APIs, with capsys."""

from __future__ import annotations

import json
import logging
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sluice.cli import main
from sluice.demo import yaml_file
from sluice.mock import Fault, MockServer


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {n: logging.getLogger(n).level for n in ("sluice", "dlt", "urllib3", "asyncio", "filelock")}
    yield tmp_path
    root.handlers[:] = handlers  # main() configures logging for a process; give pytest its own back
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


def run_args(mock: MockServer, config: Path, tmp: Path, *extra: str) -> list[str]:
    return ["run", str(config), "--base-url", mock.base_url, "--pipelines-dir", str(tmp / "p"),
            "--duckdb-file", str(tmp / "out.duckdb"), "--max-retry-delay", "0.05", *extra]


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


TICKETS_YAML = yaml_file("tickets")


# -- validate ----------------------------------------------------------------------------------

BAD_YAML = """\
client:
  base_url: https://api.example.com/
  auth: {type: api_key, name: api_key, api_key: "${secrets.tickets_key}", location: query}
resource_defaults:
  write_disposition: merj
resources:
  - name: tickets
    endpoint:
      path: /v1/tickets
      data_selectr: data
      paginator:
        type: offest
        limit: 100
"""


def test_validate_lists_every_problem_with_the_lines_of_the_file(env: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TICKETS_KEY", raising=False)
    code = main(["validate", str(write(env, "bad.yaml", BAD_YAML))])
    out = capsys.readouterr().out
    assert code == 2
    assert "4 problems in" in out
    assert "${secrets.tickets_key} is not set" in out and "TICKETS_KEY" in out
    assert "resources[0].endpoint.data_selectr: unknown key" in out and "did you mean 'data_selector'?" in out
    assert "unknown paginator 'offest'" in out and "did you mean 'offset'?" in out
    assert "did you mean 'merge'?" in out
    # each problem quotes its line: the file name, the line number, the offending text
    assert "bad.yaml, line 10:" in out and "data_selectr: data" in out
    assert "bad.yaml, line 12:" in out and "type: offest" in out
    assert "bad.yaml, line 5:" in out and "write_disposition: merj" in out


BAD_PY = '''\
import dlt
from sluice import rest_api_source

source = rest_api_source({
    "client": {
        "base_url": "https://api.example.com/v1/",
        "auth": {"type": "bearer", "token": "s3cr3t-inline-token"},
    },
    "resources": [
        {"name": "events", "endpoint": {"path": "/events", "paginator": {"type": "page_number", "limit": "30"}}},
        {"name": "orders", "endpoint": "/events/{resources.evnts.id}/orders"},
    ],
})
'''


def test_validate_python_config_points_at_lines_and_masks_inline_secrets(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(write(env, "bad.py", BAD_PY))])
    out = capsys.readouterr().out
    assert code == 2
    assert "resources[0].endpoint.paginator.limit: expected an integer" in out
    assert "bad.py, line 10:" in out
    assert "evnts" in out and "bad.py, line 11:" in out
    assert "s3cr3t-inline-token" not in out  # quoted lines never echo a secret


def test_validate_ok_prints_the_resource_tree(env: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", "k")
    code = main(["validate", str(yaml_file("ticketing"))])
    out = capsys.readouterr().out
    assert code == 0
    assert "valid, 4 resources" in out
    assert "└ orders" in out and "/events/{eventid}/orders" in out and "page_number(" in out


def test_check_connection_reports_auth_and_selector_per_resource(env: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer("ticketing", counts={"events": 5, "tags": 3}) as mock:
        monkeypatch.setenv("API_KEY", mock.api_key)
        code = main(["validate", str(yaml_file("ticketing")), "--check-connection", "--base-url", mock.base_url])
        out = capsys.readouterr().out
        assert code == 0, out
        assert out.count(" ok ") >= 4 or out.count("ok") >= 4
        monkeypatch.setenv("API_KEY", "wrong-key")
        code = main(["validate", str(yaml_file("ticketing")), "--check-connection", "--base-url", mock.base_url])
        out = capsys.readouterr().out
        assert code == 1
        assert "auth" in out and "credentials refused" in out
        assert "not checked: parent 'events' failed" in out
        assert "wrong-key" not in out
        monkeypatch.setenv("API_KEY", mock.api_key)
        text = yaml_file("ticketing").read_text().replace("data_selector: tags", "data_selector: tag")
        code = main(["validate", str(write(env, "t.yaml", text)), "--check-connection", "--base-url", mock.base_url])
        out = " ".join(capsys.readouterr().out.replace("│", " ").split())
        assert code == 1
        assert "selector: data_selector 'tag' matched nothing" in out
        assert "look like they are at 'tags'" in out


# -- run -----------------------------------------------------------------------------------------

def test_run_summary_table_and_summary_json(env: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer("tickets", counts={"tickets": 120}) as mock:
        monkeypatch.setenv("API_KEY", mock.api_key)
        code = main(run_args(mock, TICKETS_YAML, env, "--summary-json", str(env / "s.json")))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = captured.out
    assert "sluice run tickets: 120 rows in 1 table, 2 requests" in out
    assert re.search(r"ticket_data\s+merge\s+120\s+120\s+2\s+0\s+0", out), out
    assert "loaded" in out and "in table" in out
    assert "extracting" not in out  # no live display when stdout is not a terminal
    summary = json.loads((env / "s.json").read_text())
    assert summary["status"] == "ok"
    assert summary["rows"] == {"ticket_data": 120} and summary["rows_in_destination"] == {"ticket_data": 120}
    resource = summary["resources"]["ticket_data"]
    assert resource["requests"] == 2 and resource["records"] == 120 and resource["retries"] == 0
    assert resource["rows"] == {"ticket_data": 120}
    assert set(summary["steps"]) == {"extract", "normalize", "load"}


def test_summary_tells_rows_this_run_from_rows_in_the_table(env: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """With append, a rerun adds rows: 'loaded' is this run's, 'in table' the destination's."""
    text = TICKETS_YAML.read_text().replace("write_disposition: merge", "write_disposition: append")
    config = write(env, "append.yaml", text)
    with MockServer("tickets", counts={"tickets": 30}) as mock:
        monkeypatch.setenv("API_KEY", mock.api_key)
        assert main(run_args(mock, config, env)) == 0
        assert main(run_args(mock, config, env, "--summary-json", str(env / "s.json"))) == 0
    summary = json.loads((env / "s.json").read_text())
    assert summary["rows"] == {"ticket_data": 30} and summary["rows_in_destination"] == {"ticket_data": 60}
    last = capsys.readouterr().out.split("sluice run append")[-1]
    assert re.search(r"ticket_data\s+append\s+30\s+60\s", last), last


def test_failed_run_exit_1_message_and_summary_json(env: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer("tickets", faults={"*": Fault(persistent_status=500)}) as mock:
        monkeypatch.setenv("API_KEY", mock.api_key)
        code = main(run_args(mock, TICKETS_YAML, env, "--summary-json", str(env / "s.json")))
    err = capsys.readouterr().err
    assert code == 1
    assert "run failed" in err and "ticket_data" in err and "500" in err and "attempts: 5" in err
    assert mock.api_key not in err
    summary = json.loads((env / "s.json").read_text())
    assert summary["status"] == "failed" and "500" in summary["error"]
    assert summary["resources"]["ticket_data"]["retries"] == 4


def test_rate_limit_waits_and_retries_are_counted(env: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer("tickets", counts={"tickets": 20}, faults={"*": Fault(rate_limit_429=(2, 0.2))}) as mock:
        monkeypatch.setenv("API_KEY", mock.api_key)
        code = main(run_args(mock, TICKETS_YAML, env, "--max-retry-delay", "0.2", "--summary-json", str(env / "s.json")))
    out = capsys.readouterr().out
    assert code == 0
    resource = json.loads((env / "s.json").read_text())["resources"]["ticket_data"]
    assert resource["retries"] == 2 and resource["rate_limit_wait"] >= 0.3  # Retry-After honoured, and measured
    assert "waited" in out and "for the API's rate limit" in out


def test_configuration_error_exit_2(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(write(env, "bad.yaml", BAD_YAML.replace("${secrets.tickets_key}", "k")))]) == 2
    err = capsys.readouterr().err
    assert "3 problems" in err and "did you mean 'offset'?" in err
    assert main(["run", str(env / "missing.yaml")]) == 2
    assert main(["run"]) == 2  # argparse: a wrong command line


def test_json_logs_for_schedulers(env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer("tickets", counts={"tickets": 50}) as mock:
        monkeypatch.setenv("API_KEY", mock.api_key)
        code = main(run_args(mock, TICKETS_YAML, env, "--log-format", "json"))
    out = capsys.readouterr().out
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]  # stdout holds JSON lines and nothing else
    events = [line.get("event") for line in lines]
    assert events[0] == "run_started" and "resource_done" in events and events[-1] == "run_finished"
    finished = lines[-1]
    assert finished["status"] == "ok" and finished["rows"] == {"ticket_data": 50} and finished["level"] == "info"
    done = lines[events.index("resource_done")]
    assert done["resource"] == "ticket_data" and done["records"] == 50


def test_json_logs_on_failure(env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer("tickets", faults={"*": Fault(persistent_status=401)}) as mock:
        monkeypatch.setenv("API_KEY", mock.api_key)
        code = main(run_args(mock, TICKETS_YAML, env, "--log-format", "json"))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert lines[-1]["event"] == "run_failed" and lines[-1]["level"] == "error" and "401" in lines[-1]["error"]


# -- preview, show, bench ----------------------------------------------------------------------------

def test_preview_shows_sample_schema_paginator_and_loads_nothing(env: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer("ticketing", counts={"events": 12, "tags": 3}) as mock:
        monkeypatch.setenv("API_KEY", mock.api_key)
        code = main(["preview", str(yaml_file("ticketing")), "--base-url", mock.base_url])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "events: GET" in out and "12 records in 1 page" in out
        assert "page_number(" in out and "(configured)" in out and "selector   events" in out
        assert "next page  none" in out  # 12 < limit 100: the paginator stops
        assert "events: first 5 of 12 rows" in out
        assert "inferred schema" in out and "events__dates (31 rows in the sample, nested in events)" in out
        assert "│ capacity " in out and " bigint " in out and "null)" in out  # type and nullability per column
        assert "nothing was loaded" in out
        code = main(["preview", str(yaml_file("ticketing")), "orders", "--base-url", mock.base_url, "--rows", "2"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "parent events:" in out and "feeds orders" in out and "orders: GET" in out
    assert not list(env.glob("*.duckdb"))


def test_preview_unknown_resource_and_detected_selector(env: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer("tickets", counts={"tickets": 7}) as mock:
        monkeypatch.setenv("API_KEY", mock.api_key)
        assert main(["preview", str(TICKETS_YAML), "tickets", "--base-url", mock.base_url]) == 2
        assert "did you mean 'ticket_data'?" in capsys.readouterr().err
        text = "\n".join(line for line in TICKETS_YAML.read_text().splitlines() if "data_selector" not in line)
        assert main(["preview", str(write(env, "t.yaml", text)), "--base-url", mock.base_url]) == 0
        out = capsys.readouterr().out
        assert "selector   data  (detected" in out


def test_show_lists_tables_and_prints_rows(env: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer("tickets", counts={"tickets": 25}) as mock:
        monkeypatch.setenv("API_KEY", mock.api_key)
        assert main(["run", str(TICKETS_YAML), "--base-url", mock.base_url, "--pipelines-dir", str(env / "p")]) == 0
    capsys.readouterr()
    assert (env / "tickets.duckdb").exists()  # the default: <pipeline>.duckdb here, dataset <pipeline>_dataset
    assert main(["show"]) == 0
    out = capsys.readouterr().out
    assert "tickets_dataset" in out and "ticket_data" in out and " 25 " in out and "load" in out
    assert main(["show", "--pipeline-name", "tickets", "--pipelines-dir", str(env / "p"), "ticket_data", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "tickets_dataset.ticket_data: 3 of 25 rows" in out and "event_name" in out
    assert main(["show", "ticket_dat"]) == 2
    assert "did you mean 'ticket_data'?" in capsys.readouterr().err
    with duckdb.connect(str(env / "tickets.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from tickets_dataset.ticket_data").fetchone() == (25,)


def test_show_without_a_database(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show"]) == 2
    assert "no .duckdb file" in capsys.readouterr().err


def test_bench_runs_the_bench_module_from_the_checkout(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(subprocess, "call", lambda argv, cwd: calls.append((argv, cwd)) or 0)
    assert main(["bench", "--quick", "-v"]) == 0
    argv, cwd = calls[0]
    assert argv[1:] == ["-m", "bench", "--quick", "-v"] and (Path(cwd) / "bench").is_dir()


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("validate", "run", "preview", "show", "demo", "mock", "bench"):
        assert command in out
