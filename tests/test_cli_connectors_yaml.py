"""Each seed also ships as YAML (`src/sluice/connectors/<name>.yaml`, secret referenced as
`${secrets.x}`): the same dictionary as the Python seed, and the same tables when run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sluice.cli import main
from sluice.configfile import load_config
from sluice.connectors import CONNECTORS
from sluice.demo import connector_file, yaml_file
from sluice.mock import MockServer

COUNTS: dict[str, dict[str, int]] = {
    "ticketing": {"events": 8, "tags": 3},
    "tickets": {"tickets": 130},
    "servicedesk": {"tickets": 6, "assets": 31, "requesters": 5, "changes": 5, "vendors": 5, "applications": 5,
                    "products": 5, "agents": 5},
    "incidents": {"incidents": 12, "alerts": 30},
}


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield tmp_path
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("sluice").setLevel(logging.NOTSET)


@pytest.mark.parametrize("name", list(CONNECTORS))
def test_yaml_is_the_python_seed_with_the_secret_referenced(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = CONNECTORS[name].secret
    monkeypatch.setenv(secret.upper(), "the-secret")
    text = yaml_file(name).read_text()
    assert "the-secret" not in text and f"${{secrets.{secret}}}" in text
    assert load_config(yaml_file(name)).config == load_config(connector_file(CONNECTORS[name].module)).config


# `events` is `tickets` again as far as loading goes (offset paging, key in the query): its
# dictionaries are compared above, and its run is left out to keep the suite quick.
@pytest.mark.parametrize("name", [n for n in CONNECTORS if n != "events"])
def test_yaml_and_python_seeds_load_identical_tables(name: str, env: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    database = env / "both.duckdb"
    with MockServer(CONNECTORS[name].mock, counts=COUNTS[name]) as mock:
        monkeypatch.setenv(CONNECTORS[name].secret.upper(), mock.api_key)
        for form, config in (("py", connector_file(CONNECTORS[name].module)), ("yaml", yaml_file(name))):
            code = main(["run", str(config), "--base-url", mock.base_url, "--pipeline-name", f"{name}_{form}",
                         "--dataset-name", form, "--duckdb-file", str(database), "--pipelines-dir", str(env / "p"),
                         "--max-retry-delay", "0.02"])
            assert code == 0, capsys.readouterr().err
    with duckdb.connect(str(database), read_only=True) as con:
        py, yml = _tables(con, "py"), _tables(con, "yaml")
        assert py == yml and py  # the same tables, the same columns, the same row counts
        for table in py:
            assert _difference(con, table, py[table][0]) == 0, table


def _tables(con: Any, dataset: str) -> dict[str, tuple[tuple[str, ...], int]]:
    names = [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ? and table_name not like '_dlt%'",
        [dataset]).fetchall()]
    out = {}
    for table in names:
        columns = tuple(sorted(r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [dataset, table]).fetchall()))
        out[table] = (columns, con.execute(f'select count(*) from "{dataset}"."{table}"').fetchone()[0])
    return out


def _difference(con: Any, table: str, columns: tuple[str, ...]) -> int:
    """Rows in one dataset's table and not the other's, dlt's random ids left out."""
    data = ", ".join(f'"{c}"' for c in columns if not c.startswith("_dlt_"))
    query = (f'select count(*) from ((select {data} from py."{table}" except all select {data} from yaml."{table}") '
             f'union all (select {data} from yaml."{table}" except all select {data} from py."{table}"))')
    return int(con.execute(query).fetchone()[0])
