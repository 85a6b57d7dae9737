"""Wrong configurations: every problem reported at once, each with its path and an exact message.

The cases live in `bad_configs.py`; here they are run through the public entry points
(`validate`, `rest_api_source`, `sluice validate`) and checked line by line.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from apis import PagingAPI
from bad_configs import BAD, BASE_URL, SECRET, C, Case, keep
from difftools import both, load

from sluice import ConfigError, rest_api_source, validate
from sluice.cli import main
from sluice.config import keys


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
    assert SECRET not in str(caught.value)


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
        "resource_defaults.write_disposition: unknown write disposition 'upsert' ('upsert' is a merge strategy: write {disposition: merge, strategy: upsert})",
        "resources[2].endpoint.data_selector: invalid JSONPath 'data[?': Parse error near the end of string!",
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
    # values sluice leaves to dlt: still a configuration error, before any request
    ({"write_disposition": {"disposition": "merge", "strategy": "scd2", "boundary_timestamp": "not a date"}},
     "resource 'events': dlt rejects the resource hints: could not parse `boundary_timestamp` value `not a date`"),
    ({"write_disposition": {"disposition": "merge", "strategy": "upsert", "source_filter": "{bogus} > 1"}},
     "resource 'events': dlt rejects the resource hints: `source_filter` `{bogus} > 1` uses unknown placeholders"),
], ids=["scd2 boundary", "merge source_filter"])
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


# -- dlt's meaning: what dlt refuses, sluice refuses before the first request; what dlt accepts, sluice accepts

def _cursor_resource(**extra: object) -> dict[str, object]:
    return {"name": "items", "endpoint": {"path": "cursor", "data_selector": "results"}, **extra}


REFUSED_BY_BOTH = {
    "step typo": _cursor_resource(processing_steps=[{"filtr": keep}]),
    "merge strategy": _cursor_resource(primary_key="id", write_disposition={"disposition": "merge", "strategy": "scd3"}),
    "strategy option": _cursor_resource(primary_key="id", write_disposition={"disposition": "merge", "strategy": "upsert", "deduplicated": True}),
    "data_type": _cursor_resource(columns={"name": {"data_type": "strng"}}),
    "column hint": _cursor_resource(columns={"name": {"nulable": False}}),
    "header int": {"name": "items", "endpoint": {"path": "cursor", "data_selector": "results", "headers": {"X-Api-Key": SECRET, "X-Count": 5}}},
    "incremental cursor_path": {"name": "items", "endpoint": {"path": "cursor", "data_selector": "results",
                                                              "incremental": {"cursor_path": "$.[updated", "initial_value": "2024"}}},
}


@pytest.mark.parametrize(("resource", "client"), [*((r, {}) for r in REFUSED_BY_BOTH.values()),
                                                  (_cursor_resource(), {"headers": {"X-Api-Key": SECRET, "X-Count": None}})],
                         ids=[*REFUSED_BY_BOTH, "client header none"])
def test_what_dlt_refuses_sluice_refuses_before_any_request(resource: dict[str, object], client: dict[str, object],
                                                            api: PagingAPI, tmp_path: Path) -> None:
    from dlt.sources.rest_api import rest_api_source as dlt_source

    config = {"client": {"base_url": api.origin + "/", **client}, "resources": [resource]}
    with pytest.raises(Exception):  # noqa: B017 - dlt: at config time, or when the first record is extracted (any of its errors)
        load(dlt_source(copy.deepcopy(config)), tmp_path, "dlt")
    api.log.clear()
    with pytest.raises(ConfigError) as caught:
        rest_api_source(config)
    assert api.log == []
    assert SECRET not in str(caught.value)


ACCEPTED_BY_BOTH = {
    "scd2 options": {"write_disposition": {"disposition": "merge", "strategy": "scd2", "validity_column_names": ["f", "t"],
                                           "active_record_timestamp": None}},
    "upsert options": {"primary_key": "id", "write_disposition": {"disposition": "merge", "strategy": "upsert", "skip_unchanged_rows": True}},
    "strategy on replace": {"write_disposition": {"disposition": "replace", "strategy": "scd2"}},
    "callable disposition": {"write_disposition": lambda item: "append", "table_name": lambda item: "items"},
    "columns list": {"columns": [{"name": "id", "data_type": "bigint", "nullable": False}]},
    "column x- key": {"columns": {"id": {"data_type": "bigint", "x-owner": "me", "dedup_sort": "desc"}}},
    "empty step": {"processing_steps": [{}]},
}


@pytest.mark.parametrize("hints", list(ACCEPTED_BY_BOTH.values()), ids=list(ACCEPTED_BY_BOTH))
def test_hints_dlt_accepts_are_accepted(hints: dict[str, object]) -> None:
    rest_api_source(C(resources=[{"name": "items", "endpoint": "items", **hints}]))


def test_a_step_with_several_keys_runs_in_dlts_order(api: PagingAPI, tmp_path: Path) -> None:
    """dlt runs a step's filter, then its map, whatever the dict's order: filtering after
    this map would keep nothing."""
    step = {"map": lambda r: {**r, "id": r["id"] * 10 + 1}, "filter": lambda r: r["id"] % 2 == 0}
    config = {"client": {"base_url": api.origin + "/"}, "resources": [_cursor_resource(processing_steps=[step])]}
    theirs, ours = both(config, tmp_path)
    assert theirs == ours
    assert ours["items"][1] == 13  # the even ids of 0..24


def test_key_tables_match_dlts_typing() -> None:
    """keys.py restates dlt's TypedDicts (the config package does not import dlt): kept equal here."""
    from typing import get_type_hints

    from dlt.common.data_types.typing import DATA_TYPES
    from dlt.common.schema import typing as schema

    assert set(keys.DATA_TYPES) == DATA_TYPES
    assert set(keys.WRITE_DISPOSITIONS) == set(schema.WRITE_DISPOSITIONS)
    assert set(keys.MERGE_STRATEGIES) - {None} == set(schema.MERGE_STRATEGIES)
    assert set(keys.COLUMN) == set(get_type_hints(schema.TColumnSchema)) - {"x-normalizer"}
    by_strategy = {"delete-insert": schema.TDeleteInsertStrategyDict, "scd2": schema.TScd2StrategyDict,
                   "upsert": schema.TUpsertStrategyDict, "cdc": schema.TCdcStrategyDict}
    for strategy, typed in by_strategy.items():
        assert set(keys.MERGE_STRATEGIES[strategy]) == set(typed.__annotations__) - {"disposition", "strategy"}, strategy


def test_an_endpoint_header_set_to_none_removes_the_clients(api: PagingAPI, tmp_path: Path) -> None:
    """As requests merges session and request headers: names in any case, None unsets."""
    config = {"client": {"base_url": api.origin + "/", "headers": {"X-Drop": "1", "X-Keep": "k", "X-Case": "client"}},
              "resources": [{"name": "items", "endpoint": {"path": "cursor", "data_selector": "results",
                                                           "headers": {"x-drop": None, "x-case": "endpoint"}}}]}
    theirs, ours = both(config, tmp_path)
    assert theirs == ours
    sent = [{k.lower(): v for k, v in r.headers.items() if k.lower().startswith("x-")} for r in api.log]
    assert len(sent) == 6  # three pages each, dlt's then sluice's
    assert all(h == {"x-keep": "k", "x-case": "endpoint"} for h in sent)
