"""The connectors are the seed configurations byte for byte, bar the import of rest_api_source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sluice.connectors import CONNECTORS, Connector
from sluice.mock import MOCK_NAMES

ROOT = Path(__file__).resolve().parents[1]
SEEDS = Path("/work/shared/seeds")
DLT_IMPORT = "from dlt.sources.rest_api import rest_api_source\n"
SLUICE_IMPORT = "from sluice import rest_api_source\n"


def seed_block(seed_file: str) -> str:
    text = (SEEDS / seed_file).read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", text, re.S)
    assert match, f"no python block in {seed_file}"
    return match.group(1)


def connector_path(connector: Connector) -> Path:
    return ROOT / "src" / Path(*connector.module.split(".")).with_suffix(".py")


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed files not available")
@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_connector_is_the_seed_block_with_only_the_import_replaced(name: str) -> None:
    connector = CONNECTORS[name]
    block = seed_block(connector.seed_file)
    assert block.count(DLT_IMPORT) == 1
    expected = block.replace(DLT_IMPORT, SLUICE_IMPORT)
    assert connector_path(connector).read_bytes() == expected.encode("utf-8")


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_connector_metadata_is_consistent(name: str) -> None:
    connector = CONNECTORS[name]
    source = connector_path(connector).read_text(encoding="utf-8")
    assert connector.name == name
    assert connector.mock in MOCK_NAMES
    assert f'dlt.secrets["{connector.secret}"]' in source
    assert source.startswith("import dlt\n" + SLUICE_IMPORT)
    assert connector.title


def test_all_five_seeds_have_a_connector() -> None:
    assert sorted(c.seed_file[:3] for c in CONNECTORS.values()) == ["000", "001", "002", "003", "004"]
