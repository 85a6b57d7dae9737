"""The docs cannot drift: the dialect reference is the generator's output, and every key
table the parser uses appears in it; the README's first commands are the two that work."""

from __future__ import annotations

import re
from pathlib import Path

from sluice.auth.schemes import KEYS as AUTH_KEYS
from sluice.config import keys
from sluice.docgen import generate
from sluice.pagination.registry import KEYS as PAGINATOR_KEYS

ROOT = Path(__file__).resolve().parents[1]


def test_committed_dialect_reference_is_the_generated_one() -> None:
    committed = (ROOT / "docs" / "dialect.md").read_text()
    assert committed == generate(), "run: python -m sluice.docgen > docs/dialect.md"


def test_every_key_the_parser_accepts_is_documented() -> None:
    text = generate()
    tables = [keys.TOP, keys.CLIENT, keys.RESOURCE, keys.ENDPOINT, keys.ERROR_HANDLER, keys.INCREMENTAL,
              keys.RATE_LIMIT, *PAGINATOR_KEYS.values(), *AUTH_KEYS.values()]
    for table in tables:
        for key in table:
            assert f"| `{key}` |" in text, key
    for kind in [*PAGINATOR_KEYS, *AUTH_KEYS]:
        assert f"### `{kind}`" in text


def test_docs_link_to_pages_that_exist() -> None:
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#]+\.md)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).resolve().exists(), f"{page.name} -> {target}"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "pip install -e . && sluice demo" in first_block
    assert "pip install -e '.[test]' && python -m pytest" in first_block
