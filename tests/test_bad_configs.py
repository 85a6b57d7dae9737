"""Wrong configurations: every problem reported at once, each with its path and an exact message.

The cases live in `bad_configs.py`; here they are run through the public entry points
(`validate`, `rest_api_source`, `sluice validate`) and checked line by line.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from bad_configs import BAD, BASE_URL, Case, C
from sluice import ConfigError, rest_api_source, validate
from sluice.cli import main


@pytest.mark.parametrize("case", BAD, ids=[case.id for case in BAD])
def test_wrong_configuration_reports_exactly(case: Case) -> None:
    before = repr(case.config)
    with pytest.raises(ConfigError) as caught:
        validate(case.config)
    assert [str(issue) for issue in caught.value.issues] == case.issues
    lines = str(caught.value).splitlines()
    count = len(case.issues)
    assert lines[0] == f"{count} problem{'s' if count != 1 else ''} in the configuration:"
    assert lines[1:] == [f"  - {issue}" for issue in case.issues]
    assert repr(case.config) == before  # the input is never mutated


def test_there_are_at_least_sixty_wrong_configurations() -> None:
    assert len(BAD) >= 60
    assert len({case.id for case in BAD}) == len(BAD)


def test_every_problem_of_one_configuration_is_reported_together() -> None:
    config = {
        "client": {"base_url": "api.example.com", "timeout": "60", "auth": {"type": "beare", "token": "t"},
                   "rate_limit": {"requests_per_second": 0}},
        "resource_defaults": {"write_disposition": "upsert"},
        "resources": [
            {"name": "events", "primary_key": "id", "endpoint": {"path": "events", "paginator": {"type": "offest", "limit": 10}}},
            {"name": "events", "endpoint": "again"},
            {"name": "orders", "endpoint": {"path": "events/{resources.evnts.id}/orders", "data_selector": "data[?"}},
            {"name": "a", "endpoint": "b/{resources.b.id}"},
            {"name": "b", "endpoint": "a/{resources.a.id}"},
            {"name": "c", "endpoint": {"path": "c", "paginator": {"type": "cursor", "cursor_value": "{{ response.next "}}},
            {"name": "d", "endpoint": {"path": "d", "params": {"since": "{incremental.start_value}"}}},
        ],
    }
    with pytest.raises(ConfigError) as caught:
        validate(config)
    assert [str(issue) for issue in caught.value.issues] == [
        "client.base_url: must start with http:// or https://, got 'api.example.com'",
        "client.auth.type: unknown auth type 'beare' (did you mean 'bearer'?)",
        "client.rate_limit.requests_per_second: must be >= 0.001, got 0",
        "client.timeout: expected an integer or a number, got a string '60'",
        "resources[1].name: duplicate resource name 'events' (also resources[0])",
        "resources[0].endpoint.paginator.type: unknown paginator 'offest' (did you mean 'offset'?)",
        # written once in resource_defaults, taken by 6 resources: reported once, where it was written
        "resource_defaults.write_disposition: unknown write disposition 'upsert' (expected one of: append, replace, merge, skip)",
        "resources[2].endpoint.data_selector: invalid JSONPath 'data[?': Error on line 1, col 5: Unexpected character: ? ",
        "resources[2].endpoint.path: placeholder '{resources.evnts.id}' refers to unknown resource 'evnts' (did you mean 'events'?)",
        "resources[5].endpoint.paginator.cursor_value: template '{{ response.next ' does not compile: unexpected end of template, expected 'end of print statement'.",
        "resources[6].endpoint.params: placeholder '{incremental.start_value}' needs an endpoint.incremental",
        "resources[3]: resources depend on each other in a cycle: a -> b -> a",
    ]


def test_rest_api_source_raises_before_any_request() -> None:
    # Port 9 (discard) on loopback: a request would fail with a connection error, not ConfigError.
    with pytest.raises(ConfigError, match="unknown paginator 'offest'"):
        rest_api_source({"client": {"base_url": "http://127.0.0.1:9/"},
                         "resources": [{"name": "x", "endpoint": {"path": "x", "paginator": {"type": "offest"}}}]})


@pytest.mark.parametrize(("hints", "message"), [
    ({"write_disposition": {"disposition": "merge", "strategy": "scd3"}},
     "resource 'events': dlt rejects the resource hints: Received invalid value `write_disposition['strategy']=scd3`"),
    ({"columns": [1]}, "resource 'events': dlt rejects the resource hints: "),
], ids=["merge strategy", "columns list of ints"])
def test_hints_dlt_rejects_are_configuration_errors(hints: dict[str, object], message: str) -> None:
    config = C(resources=[{"name": "events", "endpoint": "events", **hints}])
    with pytest.raises(ConfigError) as caught:
        rest_api_source(config)
    assert str(caught.value.issues[0]).startswith(message)


def test_a_config_file_with_problems_exits_2_listing_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "api.yaml"
    file.write_text(
        f"client:\n  base_url: {BASE_URL}\n  max_concurrency: 0\n"
        "resources:\n  - name: events\n    endpoint:\n      path: events\n      paginator: {type: page_numbr}\n"
        "  - name: events\n"
    )
    assert main(["validate", str(file)]) == 2
    out = capsys.readouterr()
    text = " ".join((out.out + out.err).split())
    assert "3 problems" in text
    assert "client.max_concurrency: must be >= 1, got 0" in text
    assert "resources[0].endpoint.paginator.type: unknown paginator 'page_numbr'" in text
    assert "did you mean 'page_number'?" in text  # the CLI may lay hints out on their own line
    assert "resources[1].name: duplicate resource name 'events' (also resources[0])" in text


def test_an_unparsable_config_file_is_a_configuration_error(tmp_path: Path) -> None:
    from sluice.configfile import load_config

    file = tmp_path / "api.yaml"
    file.write_text("client: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(file)


def test_a_missing_secret_reference_is_a_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sluice.configfile import load_config

    monkeypatch.delenv("SLUICE_TEST_MISSING_KEY", raising=False)
    file = tmp_path / "api.json"
    file.write_text('{"client": {"base_url": "https://a/", "auth": {"token": "${secrets.sluice_test_missing_key}"}}, "resources": ["x"]}')
    with pytest.raises(ConfigError) as caught:
        load_config(file)
    assert str(caught.value.issues[0]).startswith("client.auth.token: ${secrets.sluice_test_missing_key} is not set")


def test_bad_config_cases_are_independent() -> None:
    """The builders return fresh dicts: a case cannot leak into another."""
    first, second = C(), C()
    first["resources"].append("x")
    assert second == copy.deepcopy(C())
