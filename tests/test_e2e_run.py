"""End to end: `sluice run CONFIG` -> DuckDB file -> the expected row counts, through the CLI entry."""

from __future__ import annotations

import json

import duckdb
import yaml
from apis import PagingAPI

from sluice.cli import main


def test_sluice_run_yaml_config_into_duckdb(api: PagingAPI, tmp_path, monkeypatch) -> None:
    api.count = 33
    monkeypatch.setenv("SOURCES__TOKEN", api.token)
    monkeypatch.setenv("TOKEN", api.token)
    config = {"client": {"base_url": "http://placeholder.invalid", "auth": {"type": "bearer", "token": "${secrets.token}"}},
              "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
              "resources": [{"name": "items", "endpoint": {"path": "offset", "paginator": {"type": "offset", "limit": 10}}},
                            {"name": "secured", "endpoint": {"path": "secured", "paginator": "single_page"}},
                            {"name": "kids", "primary_key": ["parent", "child"],
                             "endpoint": "parents/{resources.items.id}/children"}]}
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(config))
    db = tmp_path / "out.duckdb"
    summary = tmp_path / "summary.json"
    code = main(["run", str(path), "--base-url", api.origin, "--duckdb-file", str(db), "--pipelines-dir", str(tmp_path / "p"),
                 "--dataset-name", "api", "--summary-json", str(summary)])
    assert code == 0
    con = duckdb.connect(str(db), read_only=True)
    got = {t: con.execute(f"select count(*) from api.{t}").fetchall()[0][0] for t in ("items", "secured", "kids")}
    con.close()
    assert got == {"items": 33, "secured": 3, "kids": sum(i % 3 for i in range(33) if i % 4 != 3)}
    data = json.loads(summary.read_text())
    assert data["resources"]["kids"]["skipped_children"] == 8
    assert data["rows"]["items"] == 33


def test_sluice_run_config_error_exits_2(tmp_path, capsys) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"client": {"base_url": "x"}, "resources": [{"name": "a", "endpoint": {"path": "a", "paginator": "offest"}}]}))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "client.base_url: must start with http:// or https://" in err
    assert "unknown paginator 'offest'" in err


def test_sluice_run_failure_exits_1(api: PagingAPI, tmp_path, capsys) -> None:
    api.fail["/offset"] = [400]
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"client": {"base_url": api.origin}, "resources": [{"name": "items", "endpoint": "offset"}]}))
    assert main(["run", str(path), "--duckdb-file", str(tmp_path / "x.duckdb"), "--pipelines-dir", str(tmp_path / "p")]) == 1
    assert "resource 'items'" in capsys.readouterr().err


def test_the_default_duckdb_destination_is_memory_bounded(tmp_path) -> None:
    # DuckDB buffers the whole package during dlt's load (~1 KB per record): capped by default.
    import dlt

    from sluice.runner import Target, _destination

    bounded = _destination(Target("p", duckdb_file=str(tmp_path / "p.duckdb")))
    unbounded = _destination(Target("q", duckdb_file=str(tmp_path / "q.duckdb"), duckdb_memory_limit=None))
    pipeline = dlt.pipeline("bounded", destination=bounded, pipelines_dir=str(tmp_path / "pipes"))
    pipeline.run([{"a": 1}], table_name="t")
    with pipeline.sql_client() as client:
        assert client.execute_sql("select current_setting('memory_limit')")[0][0] in ("122.0 MiB", "128.0 MiB", "128MB")
        assert client.execute_sql("select current_setting('preserve_insertion_order')")[0][0] is False
    assert "memory_limit" not in unbounded.config_params.get("credentials").global_config
