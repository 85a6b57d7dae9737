"""Differential tests against the oracle: airbyte-cdk and sluice read the same manifest from
the same loopback mock, and the tables sluice loads equal the CDK's records loaded by dlt
(`cdk.py` says what is compared). Without the CDK these tests skip, loudly; with
SLUICE_REQUIRE_CDK=1 (CI) they fail instead."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import airbyte_patterns as ap
import pytest
import yaml
from apis import Server
from cdk import again, assert_same, cdk_bin, cdk_read, compare, differences, load_records, primary_keys, sluice_load
from dlt.pipeline.exceptions import PipelineStepFailed

from sluice.airbyte import conversion
from sluice.airbyte.export import to_yaml

__all__ = ["cdk_bin"]  # a fixture


@pytest.fixture()
def patterns() -> Iterator[ap.PatternAPI]:
    api = ap.PatternAPI()
    with Server(api.app()) as server:
        api.origin = server.url
        yield api


def test_every_paginator_kind(cdk_bin, patterns, tmp_path):
    result = assert_same(ap.PAGINATORS, {"base": patterns.origin}, tmp_path)
    assert set(result.cdk.records) == {"next_url", "token_param", "page_increment", "offset_increment", "body_token"}
    assert all(len(v) == 30 for k, v in result.cdk.records.items() if k != "body_token")
    assert len(result.cdk.records["body_token"]) == 15


def test_the_comparison_sees_a_changed_value_a_missing_record_and_a_changed_child(patterns, tmp_path):
    # the comparison itself, without the CDK: sluice's table against records made by hand
    config, streams = {"base": patterns.origin}, ["offset_increment"]
    keys = primary_keys(ap.PAGINATORS)
    ours = sluice_load(ap.PAGINATORS, config, tmp_path, streams)
    records = [ap.item(i) for i in range(30)]
    assert differences(ours.rows(keys), load_records({"offset_increment": records}, ours, keys, tmp_path).rows(keys), keys) == []
    records[3]["meta"]["score"] = 99.0
    del records[5]
    records[7]["tags"] = ["zz"]
    found = differences(ours.rows(keys), load_records({"offset_increment": records}, ours, keys, tmp_path).rows(keys), keys)
    assert any(f.startswith("offset_increment: key (3,): sluice") and "99.0" in f for f in found), found
    assert "offset_increment: key (5,) only in sluice" in found
    assert any(f.startswith("offset_increment__tags:") and "zz" in f for f in found), found


def test_date_windows_epoch_windows_and_client_side_filtering(cdk_bin, patterns, tmp_path):
    start = patterns.now - timedelta(days=6, hours=3)
    result = assert_same(ap.WINDOWS, {"base": patterns.origin, "start": ap.stamp(start)}, tmp_path)
    expected = 21  # 7 hours apart back from now: 7 h ... 147 h
    assert len(result.cdk.records["events"]) == len(result.cdk.records["events_all"]) == len(result.cdk.records["events_epoch"]) == expected
    patterns.fresh = 2
    second = assert_same(ap.WINDOWS, {"base": patterns.origin, "start": ap.stamp(start)}, tmp_path, after=result)
    # the lookback (P1D) reads from a day before the newest event (7 h ago): 4 old events again, 2 new
    assert sorted(r["id"] for r in second.cdk.records["events"]) == [0, 1, 2, 3, 901, 902]
    assert sorted(r["id"] for r in second.cdk.records["events_epoch"]) == [0, 901, 902]  # no lookback: the last one again


def test_substream_with_an_incremental_child_then_its_next_read(cdk_bin, patterns, tmp_path):
    config = {"base": patterns.origin, "start": "2024-01-02T00:00:00Z"}
    first = assert_same(ap.SUBSTREAMS, config, tmp_path)
    assert len(first.cdk.records["issues"]) == 2 + 3 + 4 + 5  # project 1's first issue is at the start: included
    patterns.add_issue(2)
    patterns.add_issue(4)
    second = assert_same(ap.SUBSTREAMS, config, tmp_path, after=first)
    assert {r["id"] for r in second.cdk.records["issues"]} >= {900, 901}


def test_an_incremental_parent_without_incremental_dependency_is_read_in_full_for_its_children(cdk_bin, patterns, tmp_path):
    config = {"base": patterns.origin, "start": "2024-01-02T00:00:00Z"}
    first = assert_same(ap.independent(ap.SUBSTREAMS), config, tmp_path)
    patterns.add_issue(2, quiet=True)  # the project is not updated: only a read of every parent finds the issue
    second = compare(ap.independent(ap.SUBSTREAMS), config, tmp_path, after=first)
    assert [r["id"] for r in again(second.cdk.records, first.cdk.records, ap.SUBSTREAMS)["issues"]] == [900]
    assert not second.differences, second.differences
    # each read, by each: the projects once for their table (then from its state), once for the
    # children (sluice: a copy that keeps no state), always from the start
    sent = Counter(q.get("updated_since") for path, q in patterns.queries if path == "/projects")
    assert sent == {"2024-01-02T00:00:00Z": 2 + 2 + 2, "2024-01-05T00:00:00Z": 2}


def test_list_partitions(cdk_bin, patterns, tmp_path):
    result = assert_same(ap.LISTS, {"base": patterns.origin}, tmp_path)
    assert len(result.cdk.records["stores"]) == 5 + 5 + 4


def test_a_product_of_a_list_and_a_parent_stream(cdk_bin, patterns, tmp_path):
    """[ListPartitionRouter, SubstreamPartitionRouter]: every region with every org."""
    result = assert_same(ap.PRODUCT, {"base": patterns.origin}, tmp_path)
    assert len(result.cdk.records["org_admins"]) == 2 * 3 * 3
    assert sum(n for path, n in patterns.hits.items() if path.endswith("-t0/members")) == 2 * 2 * 3  # each reader: 2 x 3


def test_error_handler_actions_ignore_retry_and_rate_limited(cdk_bin, patterns, tmp_path):
    result = assert_same(ap.ERRORS, {"base": patterns.origin}, tmp_path)
    assert sorted(r["id"] for r in result.cdk.records["ignored"]) == [10, 11, 40, 41]
    assert len(result.cdk.records["retried"]) == len(result.cdk.records["limited"]) == 5
    assert patterns.hits["/flaky"] == patterns.hits["/limited"] == 4  # each reader: one failure, one retry


def test_a_fail_action_fails_both(cdk_bin, patterns, tmp_path):
    read = cdk_read(ap.FAILING, {"base": patterns.origin}, tmp_path)
    assert not read.records and any("the API refused the request" in e for e in read.errors), read.errors
    with pytest.raises(PipelineStepFailed) as caught:
        sluice_load(ap.FAILING, {"base": patterns.origin}, tmp_path)
    assert "400" in str(caught.value)
    assert patterns.hits["/broken"] == 2  # FAIL is not retried, by either


def test_oauth_refresh_token_flow(cdk_bin, patterns, tmp_path):
    config = {"base": patterns.origin, "client_id": "cid", "client_secret": "shh", "refresh_token": "r-1"}
    assert_same(ap.OAUTH, config, tmp_path)
    cdk_form, sluice_form = patterns.bodies
    assert cdk_form == sluice_form == {"grant_type": "refresh_token", "client_id": "cid", "client_secret": "shh", "refresh_token": "r-1"}


def test_record_filter_add_fields_and_remove_fields(cdk_bin, patterns, tmp_path):
    result = assert_same(ap.SELECTED, {"base": patterns.origin, "source": "mock"}, tmp_path)
    assert sorted(r["id"] for r in result.cdk.records["selected"]) == [6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28]
    # a filter that keeps 2 or 3 of a page's 7 records does not end PageIncrement early, in either
    assert [r["id"] for r in result.cdk.records["filtered_pages"]] == list(range(0, 30, 3))
    assert patterns.hits["/pages"] == 2 * 5


def test_a_link_header_without_stop_condition_fails_the_cdk_and_ends_in_sluice(cdk_bin, patterns, tmp_path):
    # a deliberate difference (docs/airbyte.md): sluice reads an undefined value's key as empty
    read = cdk_read(ap.LINK_NO_STOP, {"base": patterns.origin}, tmp_path)
    assert any("UndefinedError" in e for e in read.errors), read.errors
    assert len(read.records["link_no_stop"]) == 30  # every page read, then the error on the last one
    tables = sluice_load(ap.LINK_NO_STOP, {"base": patterns.origin}, tmp_path).rows()
    assert sorted(r["id"] for r in tables["link_no_stop"]) == list(range(30))


def test_a_page_token_in_a_header(cdk_bin, patterns, tmp_path):
    result = assert_same(ap.HEADER_TOKEN, {"base": patterns.origin}, tmp_path)
    assert len(result.cdk.records["header_token"]) == 30


def test_link_headers_relative_next_paths_wildcards_keysets_and_zero_based_body_pages(cdk_bin, patterns, tmp_path):
    result = assert_same(ap.MORE_PAGING, {"base": patterns.origin}, tmp_path)
    assert {k: len(v) for k, v in result.cdk.records.items()} == dict.fromkeys(
        ["link_header", "relative_path", "wildcard_lists", "wildcard_dict", "keyset", "zero_based"], 30)


def test_millisecond_epochs_dates_and_a_reformatted_cursor(cdk_bin, patterns, tmp_path):
    start = patterns.now - timedelta(days=5, hours=1)
    result = assert_same(ap.EPOCHS, {"base": patterns.origin, "start": ap.stamp(start)}, tmp_path)
    assert len(result.cdk.records["events_ms"]) == len(result.cdk.records["events_reformatted"]) == 17  # 7 h ... 119 h ago


def test_names_dlt_rewrites_nulls_drifting_types_nested_lists_composite_and_no_keys_form_bodies(cdk_bin, patterns, tmp_path):
    result = assert_same(ap.SHAPES, {"base": patterns.origin, "n": "3", "label": "hello", "tenant": "acme"}, tmp_path)
    assert len(result.cdk.records["shapes"]) == len(result.cdk.records["keyless"]) == 12
    assert result.cdk.records["form_body"][0] == {"id": 0, "n": "3", "label": "hello"}
    tables = result.ours.rows()
    assert {"shapes__matrix", "shapes__nested__deep__list", "keyless__matrix"} <= set(tables)


def test_authenticators_basic_api_key_bearer_client_credentials_session_token_selective(cdk_bin, patterns, tmp_path):
    config = {"base": patterns.origin, "password": "pw", "key": "k-123", "user": "ann", "credentials": {"auth_type": "key"}}
    result = assert_same(ap.AUTHS, config, tmp_path)
    assert {k: len(v) for k, v in result.cdk.records.items()} == dict.fromkeys(
        ["basic", "key_header", "key_query", "bearer", "client_credentials", "session", "selective"], 3)
    logins = [b for b in patterns.bodies if "user" in b]  # (the others: client credentials' token forms)
    assert patterns.hits["/login"] == 2 and logins == [{"user": "ann", "password": "pw"}] * 2


def test_a_child_with_its_parent_in_a_parameter_and_a_grandchild_of_two_routers(cdk_bin, patterns, tmp_path):
    result = assert_same(ap.GRANDCHILDREN, {"base": patterns.origin}, tmp_path)
    assert len(result.cdk.records["teams"]) == 6 and len(result.cdk.records["members"]) == 18


def test_a_converted_file_does_not_stop_the_parent_copy_at_the_day_it_was_converted():
    # without the CDK: `sluice convert` leaves out the end_value (now) of the stateless parent copy
    converted = conversion(ap.independent(ap.SUBSTREAMS), {"base": "http://127.0.0.1:9", "start": "2024-01-02T00:00:00Z"})
    every = next(r for r in converted.config["resources"] if r["name"] == "projects_every")
    assert every["selected"] is False and every["endpoint"]["incremental"]["end_value"]
    text = to_yaml(converted, "m.yaml")
    assert "end_value" not in repr(yaml.safe_load(text))
    assert "# left out: resources[2].endpoint.incremental.end_value (now, when converted" in text


def test_date_windows_in_a_post_body(cdk_bin, patterns, tmp_path):
    result = assert_same(ap.BODY_WINDOWS, {"base": patterns.origin, "start": ap.stamp(patterns.now - timedelta(days=4, hours=2))}, tmp_path)
    assert len(result.cdk.records["events_in_body"]) == 14  # 7 h ... 98 h ago
    assert all(b["project"] == "p-1" and {"gte", "lte"} <= set(b) for b in patterns.bodies)


def test_day_windows_end_one_granularity_before_the_next(cdk_bin, patterns, tmp_path):
    assert_same(ap.DAY_WINDOWS, {"base": patterns.origin, "start": ap.stamp(patterns.now - timedelta(days=4, hours=2))}, tmp_path)
