"""Finding a configuration path in the user's file, for every file type `validate` reads."""

from __future__ import annotations

import pytest

from sluice.snippets import locate, mask_secrets, parse_path

YAML = """\
client:
  base_url: https://x/
resource_defaults:
  write_disposition: merj
resources:
  - name: a
    endpoint:
      path: /a
  - name: b
    endpoint:
      path: /b
      paginator:
        type: offest
"""

JSON = """{
  "client": {"base_url": "https://x/"},
  "resources": [
    {"name": "a", "endpoint": {"path": "/a"}},
    {"name": "b",
     "endpoint": {"path": "/b",
                  "paginator": {"type": "offest"}}}
  ]
}
"""

PY = """\
import dlt
from sluice import rest_api_source

PAGINATOR = {
    "type": "offest",
}
source = rest_api_source({
    "client": {"base_url": "https://x/"},
    "resources": [
        {"name": "a", "endpoint": {"path": "/a"}},
        {"name": "b", "endpoint": {"path": "/b", "paginator": PAGINATOR}},
    ],
})
"""

TOML = """\
[client]
base_url = "https://x/"

[[resources]]
name = "a"
endpoint = { path = "/a" }

[[resources]]
name = "b"

[resources.endpoint]
path = "/b"
paginator = { type = "offest" }
"""


def test_parse_path() -> None:
    assert parse_path("resources[2].endpoint.paginator.type") == ["resources", 2, "endpoint", "paginator", "type"]


@pytest.mark.parametrize(("suffix", "text", "line"), [(".yaml", YAML, 13), (".json", JSON, 7), (".py", PY, 5),
                                                      (".toml", TOML, 13)])
def test_the_line_of_a_nested_key(suffix: str, text: str, line: int) -> None:
    assert locate(text, suffix, "resources[1].endpoint.paginator.type") == line


def test_a_missing_key_points_at_its_nearest_ancestor() -> None:
    assert locate(YAML, ".yaml", "resources[0].endpoint.data_selector") == 7


def test_a_value_from_resource_defaults_points_at_the_default() -> None:
    assert locate(YAML, ".yaml", "resources[1].write_disposition") == 4


def test_nothing_found() -> None:
    assert locate(YAML, ".yaml", "") is None
    assert locate("not: [valid", ".yaml", "nothing.here") is None


def test_inline_secrets_are_masked_references_kept() -> None:
    assert mask_secrets('"token": "abc123",') == '"token": "***",'
    assert mask_secrets("  api_key: sk_live_1") == "  api_key: ***"
    assert mask_secrets('api_key: "${secrets.api_key}"') == 'api_key: "${secrets.api_key}"'
    assert mask_secrets('"password": dlt.secrets["pw"]') == '"password": dlt.secrets["pw"]'
