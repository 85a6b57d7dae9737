"""Parsing: resource_defaults merging, implicit parents, seed dialect, the input is never mutated,
and a table of invalid configurations with the exact message each must produce."""

from __future__ import annotations

import copy

import pytest

from sluice import ConfigError, validate
from sluice.pagination import OffsetPaginator, PageNumberPaginator

BASE = {"base_url": "https://api.example.com/v1/"}


def test_resource_defaults_merge_like_dlt() -> None:
    spec = validate({
        "client": BASE,
        "resource_defaults": {"primary_key": "id", "write_disposition": "merge",
                              "columns": {"a": {"data_type": "text", "nullable": False}},
                              "endpoint": {"params": {"per_page": 50, "sort": "asc"}, "data_selector": "data",
                                           "paginator": {"type": "offset", "limit": 50}}},
        "resources": [
            {"name": "r", "columns": {"a": {"nullable": True}}, "primary_key": "uid",
             "endpoint": {"path": "r", "params": {"sort": "desc"}, "paginator": "single_page"}},
            "s",
        ],
    })
    r, s = spec.resource("r"), spec.resource("s")
    assert dict(r.endpoint.params) == {"per_page": 50, "sort": "desc"}  # params merge one level
    assert r.hints["columns"] == {"a": {"data_type": "text", "nullable": True}}  # columns merge deep
    assert r.hints["primary_key"] == "uid" and r.hints["write_disposition"] == "merge"
    assert r.endpoint.data_selector == "data"
    assert type(r.endpoint.paginator).__name__ == "SinglePagePaginator"  # paginator replaced, not merged
    assert s.endpoint.path == "s" and isinstance(s.endpoint.paginator, OffsetPaginator)


def test_implicit_parent_binds_to_the_parent_primary_key() -> None:
    spec = validate({
        "client": BASE, "resource_defaults": {"primary_key": "_id"},
        "resources": [{"name": "events", "endpoint": "/events"},
                      {"name": "orders", "endpoint": {"path": "/events/{eventid}/orders"}}],
    })
    orders = spec.resource("orders")
    assert orders.parent == "events"
    assert [(b.placeholder, b.field) for b in orders.bindings] == [("eventid", "_id")]
    assert [r.name for r in spec.resources] == ["events", "orders"]


def test_seed_dialect_starts_page_numbers_at_one_and_plain_dlt_at_zero() -> None:
    seed = validate({"client": BASE, "resources": [
        {"name": "a", "endpoint": {"path": "a", "paginator": {"type": "page_number", "limit": 30}}}]})
    plain = validate({"client": BASE, "resources": [
        {"name": "a", "endpoint": {"path": "a", "paginator": {"type": "page_number"}}}]})
    assert isinstance(seed.resource("a").endpoint.paginator, PageNumberPaginator)
    assert seed.resource("a").endpoint.paginator.start == 1
    assert seed.resource("a").endpoint.paginator.total_path is None  # seed 'total' counts records
    assert plain.resource("a").endpoint.paginator.start == 0
    assert plain.resource("a").endpoint.paginator.total_path == "total"


def test_input_is_never_mutated() -> None:
    config = {"client": {**BASE, "auth": {"type": "basic", "username": "u", "password": "p"}},
              "resource_defaults": {"primary_key": "id", "endpoint": {"params": {"x": 1}}},
              "resources": ["a", {"name": "b", "endpoint": {"path": "/a/{resources.a.id}/b", "params": {"y": 2}},
                                  "processing_steps": [{"map": lambda r: r}]}]}
    before = copy.deepcopy({k: v for k, v in config.items() if k != "resources"})
    resources_before = repr(config["resources"])
    validate(config)
    assert {k: v for k, v in config.items() if k != "resources"} == before
    assert repr(config["resources"]) == resources_before


INVALID = [
    ({"client": BASE, "resources": [{"name": "a", "endpoint": {"path": "a", "paginator": {"type": "offest", "limit": 1}}}]},
     "resources[0].endpoint.paginator.type: unknown paginator 'offest' (did you mean 'offset'?)"),
    ({"client": BASE, "resources": [{"name": "a", "endpoint": {"path": "a", "paginator": {"type": "offset"}}}]},
     "resources[0].endpoint.paginator.limit: is required for an 'offset' paginator"),
    ({"client": BASE, "resources": [{"name": "a", "endpont": {"path": "a"}}]},
     "resources[0].endpont: unknown key in a resource (did you mean 'endpoint'?)"),
    ({"client": {"base_url": "api.example.com"}, "resources": ["a"]},
     "client.base_url: must start with http:// or https://, got 'api.example.com'"),
    ({"resources": ["a"]}, "client: is required"),
    ({"client": BASE, "resources": []}, "resources: is empty: give at least one resource"),
    ({"client": BASE, "resources": ["a", "a"]}, "resources[1].name: duplicate resource name 'a' (also resources[0])"),
    ({"client": BASE, "resources": [{"name": "b", "endpoint": "/x/{resources.c.id}/b"}, "c2"]},
     "resources[0].endpoint.path: placeholder '{resources.c.id}' refers to unknown resource 'c' (did you mean 'c2'?)"),
    ({"client": BASE, "resources": [{"name": "a", "endpoint": "/b/{resources.b.id}"}, {"name": "b", "endpoint": "/a/{resources.a.id}"}]},
     "resources depend on each other in a cycle"),
    ({"client": BASE, "resources": [{"name": "a", "endpoint": {"path": "a", "data_selector": "$.[["}}]},
     "resources[0].endpoint.data_selector: invalid JSONPath '$.[['"),
    ({"client": BASE, "resources": [{"name": "a", "endpoint": {"path": "a", "paginator": {"type": "cursor", "cursor_value": "{{ response.next "}}}]},
     "resources[0].endpoint.paginator.cursor_value: template '{{ response.next ' does not compile"),
    ({"client": {**BASE, "auth": {"type": "api_key", "location": "body", "api_key": "k"}}, "resources": ["a"]},
     "client.auth.location: unknown location 'body' (expected one of: cookie, header, query)"),
    ({"client": {**BASE, "auth": {"type": "bearer"}}, "resources": ["a"]}, "client.auth.token: is required"),
    ({"client": {**BASE, "auth": {"type": "oauth2"}}, "resources": ["a"]},
     "client.auth.type: unknown auth type 'oauth2'"),
    ({"client": {**BASE, "session": object()}, "resources": ["a"]},
     "client.session: a requests session has no meaning in sluice (use client keys timeout, max_concurrency, rate_limit, headers and auth instead)"),
    ({"client": BASE, "resources": [{"name": "a", "endpoint": {"path": "a", "paginator": {"type": "offset", "limit": -5}}}]},
     "resources[0].endpoint.paginator.limit: must be >= 1, got -5"),
    ({"client": BASE, "resources": [{"name": "o", "endpoint": "/events/{eventid}/orders"}]},
     "resources[0].endpoint.path: implicit parent placeholder '{eventid}': no resource has the path '/events' (write the explicit form {resources.<parent>.<field>})"),
    ({"client": BASE, "resources": ["events", {"name": "o", "endpoint": "/events/{eventid}/orders"}]},
     "resources[1].endpoint.path: implicit parent placeholder '{eventid}': parent 'events' needs a single-column primary_key, got None (write the explicit form {resources.events.<field>})"),
    ({"client": BASE, "resources": [{"name": "a", "endpoint": {"path": "a", "paginator": {"type": "page_number", "base_page": 0, "start_from_page": 1}}}]},
     "resources[0].endpoint.paginator.start_from_page: is an alias of base_page, but they differ (1 != 0)"),
    ({"client": BASE, "resources": [{"name": "a", "write_disposition": "upsert", "endpoint": "a"}]},
     "resources[0].write_disposition: unknown write disposition 'upsert'"),
    ({"client": BASE, "resources": [{"name": "a", "endpoint": {"path": "a", "error_handler": {"retry_on_status_codes": [403, "x"]}}}]},
     "resources[0].endpoint.error_handler.retry_on_status_codes: expected HTTP status codes (100-599), got ['x']"),
    ({"client": BASE, "resources": [{"name": "a", "endpoint": {"path": "a", "method": "DELETE"}}]},
     "resources[0].endpoint.method: unsupported method 'DELETE' (expected GET or POST)"),
    ({"client": BASE, "resources": [{"name": "a", "endpoint": {"path": "a", "params": {"since": "{incremental.start_value}"}}}]},
     "resources[0].endpoint.params: placeholder '{incremental.start_value}' needs an endpoint.incremental"),
    ({"client": BASE, "resources": [{"name": "a", "include_from_parent": ["id"], "endpoint": "a"}]},
     "resources[0].include_from_parent: resource 'a' has include_from_parent but no parent resource"),
    ("not a dict", "the configuration must be a dict, got str"),
]


@pytest.mark.parametrize("config,message", INVALID, ids=[m[:40] for _, m in INVALID])
def test_invalid_configuration_messages(config, message) -> None:
    with pytest.raises(ConfigError) as raised:
        validate(config)
    assert any(message in str(issue) for issue in raised.value.issues), str(raised.value)


def test_every_problem_is_reported_at_once() -> None:
    config = {"client": {"base_url": "ftp://x", "auth": {"type": "bearer"}},
              "resources": [{"name": "a", "endpoint": {"path": "a", "paginator": {"type": "offest"}}},
                            {"name": "b", "endpont": "b"}, "a"]}
    with pytest.raises(ConfigError) as raised:
        validate(config)
    text = str(raised.value)
    assert text.startswith("5 problems in the configuration:")
    for fragment in ("client.base_url", "client.auth.token", "paginator.type", "endpont", "duplicate resource name"):
        assert fragment in text


def test_secrets_are_not_echoed_in_config_errors() -> None:
    with pytest.raises(ConfigError) as raised:
        validate({"client": {**BASE, "auth": {"type": "api_key", "api_key": 12345678901, "location": "nowhere"}}, "resources": ["a"]})
    assert "12345678901" not in str(raised.value)
