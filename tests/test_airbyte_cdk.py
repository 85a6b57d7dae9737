"""Differential tests against the oracle: airbyte-cdk and sluice read the same manifest from
the same loopback mock, and the tables sluice loads equal the CDK's records loaded by dlt
(`cdk.py` says what is compared). Without the CDK these tests skip, loudly; with
SLUICE_REQUIRE_CDK=1 (CI) they fail instead."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from airbyte_patterns import PAGINATORS, PatternAPI, item
from apis import Server
from cdk import assert_same, cdk_bin, differences, load_records, primary_keys, sluice_load

__all__ = ["cdk_bin"]  # a fixture


@pytest.fixture()
def patterns() -> Iterator[PatternAPI]:
    api = PatternAPI()
    with Server(api.app()) as server:
        api.origin = server.url
        yield api


def test_every_paginator_kind(cdk_bin, patterns, tmp_path):
    result = assert_same(PAGINATORS, {"base": patterns.origin}, tmp_path)
    assert set(result.cdk.records) == {"next_url", "token_param", "page_increment", "offset_increment", "body_token"}
    assert all(len(v) == 30 for k, v in result.cdk.records.items() if k != "body_token")
    assert len(result.cdk.records["body_token"]) == 15


def test_the_comparison_sees_a_changed_value_a_missing_record_and_a_changed_child(patterns, tmp_path):
    # the comparison itself, without the CDK: sluice's table against records made by hand
    config, streams = {"base": patterns.origin}, ["offset_increment"]
    keys = primary_keys(PAGINATORS)
    ours = sluice_load(PAGINATORS, config, tmp_path, streams)
    records = [item(i) for i in range(30)]
    assert differences(ours.rows(keys), load_records({"offset_increment": records}, ours, keys, tmp_path).rows(keys), keys) == []
    records[3]["meta"]["score"] = 99.0
    del records[5]
    records[7]["tags"] = ["zz"]
    found = differences(ours.rows(keys), load_records({"offset_increment": records}, ours, keys, tmp_path).rows(keys), keys)
    assert any(f.startswith("offset_increment: key (3,): sluice") and "99.0" in f for f in found), found
    assert "offset_increment: key (5,) only in sluice" in found
    assert any(f.startswith("offset_increment__tags:") and "zz" in f for f in found), found
