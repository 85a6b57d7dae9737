"""`sluice run | validate | convert` on an Airbyte manifest of our own, against the loopback
PagingAPI: the manifest run and the run of its converted YAML load the same rows."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml
from test_airbyte_source import CHILDREN, manifest

from sluice.cli import main


@pytest.fixture()
def files(pipeline_dir: Path, api) -> Path:
    (pipeline_dir / "manifest.yaml").write_text(yaml.safe_dump(manifest(CHILDREN)))
    (pipeline_dir / "config.json").write_text(json.dumps({"base": api.origin}))
    return pipeline_dir


def rows(file: Path) -> dict[str, list[tuple[int, ...]]]:
    con = duckdb.connect(str(file), read_only=True)
    try:
        return {"pages": con.execute("select id from data.pages order by 1").fetchall(),
                "children": con.execute("select owner, child from data.children order by 1, 2").fetchall()}
    finally:
        con.close()


def run(config: Path, out: Path, *extra: str) -> int:
    return main(["run", str(config), "--duckdb-file", str(out), "--dataset-name", "data", "--pipelines-dir",
                 str(out.parent / f"pipes_{out.stem}"), "--log-format", "json", *extra])


def test_run_a_manifest_and_its_conversion(files: Path, api, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(files / "manifest.yaml", files / "manifest.duckdb", "--airbyte-config", str(files / "config.json")) == 0
    direct = rows(files / "manifest.duckdb")
    assert len(direct["pages"]) == 25 and direct["children"]
    assert main(["convert", str(files / "manifest.yaml"), "-o", str(files / "converted.yaml")]) == 0
    text = (files / "converted.yaml").read_text()
    assert "base_url: ${config.base}" in text and "left out" in text  # the AddFields step has no file form
    monkeypatch.setenv("BASE", api.origin)
    assert run(files / "converted.yaml", files / "converted.duckdb") == 0
    con = duckdb.connect(str(files / "converted.duckdb"), read_only=True)
    assert con.execute("select id from data.pages order by 1").fetchall() == direct["pages"]


def test_validate_names_every_unsupported_component(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = manifest(CHILDREN)
    raw["streams"][1]["retriever"]["decoder"] = {"type": "XmlDecoder"}
    raw["streams"][0]["retriever"]["requester"]["authenticator"] = {"type": "CustomAuthenticator", "class_name": "x.Y"}
    (files / "bad.yaml").write_text(yaml.safe_dump(raw))
    code = main(["validate", str(files / "bad.yaml"), "--airbyte-config", str(files / "config.json")])
    out = capsys.readouterr().out
    assert code == 2
    assert "0 of 2 streams run" in out
    assert "streams[0].retriever.requester.authenticator: CustomAuthenticator is not supported" in out
    assert "streams[1].retriever.decoder: XmlDecoder is not supported" in out


def test_a_required_config_value_missing_is_a_config_error(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = manifest(CHILDREN)
    raw["spec"]["connection_specification"]["required"] = ["base", "token"]
    (files / "needs.yaml").write_text(yaml.safe_dump(raw))
    code = run(files / "needs.yaml", files / "x.duckdb", "--airbyte-config", str(files / "config.json"))
    assert code == 2
    assert "config.token" in capsys.readouterr().out  # JSON log lines go to stdout
