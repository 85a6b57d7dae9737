"""Raw configuration -> `SourceSpec`, with every problem reported at once.

Nothing downstream reads the user's dict: it is read here, once, and never mutated.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Mapping
from typing import Any

from ..auth import parse_auth
from ..engine import windows
from ..errors import ConfigError, Issue
from ..model import freeze
from ..pagination.links import SinglePagePaginator
from ..pagination.registry import SEED_DIALECT_KEYS, parse_paginator
from . import keys
from .json_schema import columns_from_json_schema
from .merge import merge_defaults, normalize_resource
from .placeholders import INCREMENTAL_FIELDS, fields, find, strings
from .reader import Reader, short, suggest, type_name
from .specs import (
    MAX_RESPONSE_BYTES,
    Binding,
    EndpointSpec,
    HttpSpec,
    IncrementalSpec,
    RateLimitSpec,
    ResourceSpec,
    ResponseAction,
    RetrySpec,
    SourceSpec,
)

HINT_KEYS = ("primary_key", "merge_key", "write_disposition", "columns", "table_name", "max_table_nesting",
             "schema_contract", "table_format", "file_format", "references", "nested_hints")
# Header names whose values may be secrets: a bad value there is named, never echoed.
_SECRET_HEADER = re.compile(r"auth|key|token|secret|passw|cookie|signature|session", re.IGNORECASE)


def parse_source(config: Any) -> SourceSpec:
    """Parse a whole configuration; raise `ConfigError` listing every problem found."""
    issues: list[Issue] = []
    if not isinstance(config, Mapping):
        raise ConfigError([Issue("", f"the configuration must be a dict, got {type(config).__name__}")])
    top = Reader(config, "", issues)
    top.check_keys(keys.TOP, "the configuration")
    # A missing client is one problem, not also a missing base_url: its stand-in reports nowhere.
    client = top.child("client", required=True) or Reader({}, "client", [])
    seed = uses_seed_dialect(config)
    base = _client_defaults(client, seed)
    defaults = top.get("resource_defaults", dict, {}) or {}
    if defaults:
        d = Reader(defaults, "resource_defaults", issues)
        d.check_keys([k for k in keys.RESOURCE if k != "name"], "resource_defaults")
    raw_list = top.get("resources", list, None, required=True) or []
    if "resources" in config and isinstance(config["resources"], list) and not raw_list:
        top.problem("resources", "is empty: give at least one resource")
    resources, extra = _merged_resources(raw_list, defaults, issues)
    specs = _parse_resources(resources, base, seed, issues)
    if issues:
        raise ConfigError(_blame_defaults(issues, defaults, raw_list))
    return SourceSpec(
        base_url=base["base_url"], headers=freeze(base["headers"]), resources=tuple(specs),
        http=base["http"], extra_resources=tuple(extra),
    )


_RESOURCE_KEY = re.compile(r"^resources\[(\d+)\]\.(endpoint\.)?([^.\[]+)(.*)$")


def _blame_defaults(issues: list[Issue], defaults: Mapping[str, Any], raw_list: list[Any]) -> list[Issue]:
    """A problem in a key that resources took from `resource_defaults` is reported once, at
    `resource_defaults...` where it was written, not once per resource at a path the user never wrote."""
    out: list[Issue] = []
    for issue in issues:
        moved = _moved_to_defaults(issue, defaults, raw_list)
        if moved not in out:
            out.append(moved)
    return out


def _moved_to_defaults(issue: Issue, defaults: Mapping[str, Any], raw_list: list[Any]) -> Issue:
    match = _RESOURCE_KEY.match(issue.path)
    if not defaults or match is None or int(match[1]) >= len(raw_list):
        return issue
    index, in_endpoint, key, rest = int(match[1]), match[2] or "", match[3], match[4]
    own = normalize_resource(raw_list[index])
    own_scope = own.get("endpoint") if in_endpoint and isinstance(own, Mapping) else own
    default_scope = defaults.get("endpoint") if in_endpoint else defaults
    if not isinstance(default_scope, Mapping) or key not in default_scope:
        return issue
    if isinstance(own_scope, Mapping) and key in own_scope:
        return issue
    return Issue(f"resource_defaults.{in_endpoint}{key}{rest}", issue.message, issue.hint)


def uses_seed_dialect(config: Mapping[str, Any]) -> bool:
    """True when any page_number paginator uses the seed extensions (limit, ...)."""

    def walk(node: Any) -> bool:
        if isinstance(node, Mapping):
            if node.get("type") == "page_number" and any(k in node for k in SEED_DIALECT_KEYS):
                return True
            return any(walk(v) for v in node.values())
        if isinstance(node, list):
            return any(walk(v) for v in node)
        return False

    return walk(config)


def _client_defaults(client: Reader, seed: bool) -> dict[str, Any]:
    client.check_keys([*keys.CLIENT, "session"], "client")  # session gets its own message below
    if "session" in client.raw:
        client.problem("session", "a requests session has no meaning in sluice",
                       "use client keys timeout, max_concurrency, rate_limit, headers and auth instead")
    base_url = client.str("base_url", required=True) or ""
    if base_url and not base_url.startswith(("http://", "https://")):
        client.problem("base_url", f"must start with http:// or https://, got {base_url!r}")
    headers = _headers(client)
    return {
        "base_url": base_url,
        "headers": headers,
        "auth": parse_auth(client.raw.get("auth"), client, "auth"),
        "paginator": _paginator(client, "paginator", seed),
        "error_handler": client.get("error_handler", dict, {}) or {},
        "max_retry_delay": client.number("max_retry_delay", 60.0, minimum=0) or 0.0,
        "http": HttpSpec(
            max_concurrency=client.int("max_concurrency", 8, minimum=1) or 8,
            rate_limit=_rate_limit(client),
            timeout=client.number("timeout", 60.0, minimum=0.001) or 60.0,
            max_response_bytes=client.int("max_response_bytes", MAX_RESPONSE_BYTES, minimum=1) or MAX_RESPONSE_BYTES,
        ),
    }


def _headers(reader: Reader, *, unset: bool = False) -> dict[str, str | None]:
    """Header names and values must be strings (dlt checks; requests would fail at the first
    request, in a message that can print the header); with `unset`, None too (an endpoint's
    None removes the client's header, as requests merges them). A value is echoed only when
    the header's name says it cannot be a secret."""
    raw = reader.raw.get("headers")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        reader.problem("headers", f"expected a dict of header names to strings, got {type_name(raw)}")
        return {}
    good = {k: v for k, v in raw.items() if isinstance(k, str) and (isinstance(v, str) or (unset and v is None))}
    for name, value in raw.items():
        if not isinstance(name, str):
            reader.problem("headers", f"header names must be strings, got {type_name(name)} {name!r}")
        elif name not in good:
            shown = "(masked: the header may carry a secret)" if _SECRET_HEADER.search(name) else short(value)
            reader.problem(f"headers.{name}", f"expected a string, got {type_name(value)} {shown}")
    return good


def _merged_headers(client: Mapping[str, str], endpoint: Mapping[str, str | None]) -> dict[str, str]:
    """requests' merge: header names match in any case, and an endpoint's None drops the header."""
    own = {name.lower() for name in endpoint}
    merged = {k: v for k, v in client.items() if k.lower() not in own}
    return {**merged, **{k: v for k, v in endpoint.items() if v is not None}}


def _paginator(reader: Reader, key: str, seed: bool) -> Any:
    """None for no paginator, None and `auto` alike: an endpoint's then falls back to the
    client's, as in dlt, and the client's to detection."""
    raw = reader.raw.get(key)
    return None if raw is None else parse_paginator(raw, key, reader, seed)


def _rate_limit(client: Reader) -> RateLimitSpec | None:
    sub = client.child("rate_limit")
    if sub is None:
        return None
    sub.check_keys(keys.RATE_LIMIT, "rate_limit")
    rps = sub.number("requests_per_second", minimum=0.001)
    if rps is None:
        if "requests_per_second" not in sub.raw:
            sub.problem("requests_per_second", "is required")
        return None
    return RateLimitSpec(rps, sub.int("burst", 1, minimum=1) or 1)


def _merged_resources(raw_list: list[Any], defaults: Mapping[str, Any], issues: list[Issue]) -> tuple[list[tuple[int, dict[str, Any]]], list[Any]]:
    merged: list[tuple[int, dict[str, Any]]] = []
    extra: list[Any] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_list):
        at = f"resources[{i}]"
        resource = normalize_resource(raw)
        if not isinstance(resource, Mapping):
            if hasattr(resource, "name") and hasattr(resource, "selected"):
                extra.append(resource)  # a dlt resource, passed through as dlt does
            else:
                issues.append(Issue(at, f"expected a name, a dict or a dlt resource, got {type(raw).__name__}"))
            continue
        reader = Reader(resource, at, issues)
        reader.check_keys(keys.RESOURCE, "a resource")
        name = reader.str("name", required=True)
        if name is None:
            continue
        if name in seen:
            issues.append(Issue(f"{at}.name", f"duplicate resource name {name!r} (also resources[{seen[name]}])"))
            continue
        seen[name] = i
        merged.append((i, merge_defaults(defaults, resource)))
    return merged, extra


def _parse_resources(resources: list[tuple[int, dict[str, Any]]], base: dict[str, Any], seed: bool, issues: list[Issue]) -> list[ResourceSpec]:
    names = [r["name"] for _, r in resources]
    paths = {r["name"]: _strip(r.get("endpoint", {}).get("path", "")) for _, r in resources if isinstance(r.get("endpoint"), Mapping)}
    keys_by_name = {r["name"]: r.get("primary_key") for _, r in resources}
    specs = []
    for i, raw in resources:
        spec = _resource(Reader(raw, f"resources[{i}]", issues), base, seed, (names, paths, keys_by_name))
        if spec is not None:
            specs.append(spec)
    _check_graph(specs, {r["name"]: i for i, r in resources}, issues)
    return _topological(specs)


def _strip(path: Any) -> str:
    return path.strip("/") if isinstance(path, str) else ""


def _resource(reader: Reader, base: dict[str, Any], seed: bool, known: tuple[Any, ...]) -> ResourceSpec | None:
    name = reader.raw["name"]
    # An endpoint of the wrong type is one problem, not also a missing path.
    ep = reader.child("endpoint") or Reader({}, reader.at("endpoint"), [])
    ep.check_keys(keys.ENDPOINT, "an endpoint")
    endpoint = _endpoint(ep, base, seed)
    bindings, parent = _bindings(ep, name, endpoint, known)
    _check_per_parent(ep, endpoint, parent)
    include = reader.get("include_from_parent", list, []) or []
    if include and parent is None:
        reader.problem("include_from_parent", f"resource '{name}' has include_from_parent but no parent resource")
    hints = {k: reader.raw[k] for k in HINT_KEYS if k in reader.raw}
    _check_hints(reader, hints)
    schema = reader.raw.get("json_schema")
    if schema is not None:
        columns = columns_from_json_schema(schema, reader, "json_schema")
        if columns:
            hints["columns"] = {**columns, **(hints.get("columns") or {})} if isinstance(hints.get("columns"), (Mapping, type(None))) else hints["columns"]
    if endpoint is None:
        return None
    return ResourceSpec(
        name=name, endpoint=endpoint, parent=parent, bindings=bindings,
        include_from_parent=tuple(str(f) for f in include), hints=freeze(hints),
        processing_steps=_steps(reader), selected=reader.bool("selected", True),
    )


def _check_hints(reader: Reader, hints: dict[str, Any]) -> None:
    _check_write_disposition(reader, hints.get("write_disposition"))
    _check_columns(reader, hints.get("columns"))
    for key in ("primary_key", "merge_key"):
        value = hints.get(key)
        if value is not None and not (isinstance(value, str) or (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value))):
            reader.problem(key, f"expected a column name or a list of column names, got {value!r}")
    nesting = hints.get("max_table_nesting")
    if nesting is not None and (not isinstance(nesting, int) or isinstance(nesting, bool) or nesting < 0):
        reader.problem("max_table_nesting", f"expected an integer >= 0, got {nesting!r}")
    if "table_name" in hints and not (isinstance(hints["table_name"], str) and hints["table_name"] or callable(hints["table_name"])):
        reader.problem("table_name", f"expected a non-empty string or a callable, got {hints['table_name']!r}")


def _check_write_disposition(reader: Reader, wd: Any) -> None:
    """dlt checks a write disposition when the resource is made, or (a strategy's options)
    against its TypedDicts: both happen here, with the key that is wrong."""
    if wd is None or callable(wd):
        return  # a callable is a dynamic hint, resolved by dlt per record
    if isinstance(wd, str) and wd in keys.MERGE_STRATEGIES:
        reader.problem("write_disposition", f"unknown write disposition {wd!r}",
                       f"{wd!r} is a merge strategy: write {{disposition: merge, strategy: {wd}}}")
        return
    if not isinstance(wd, Mapping):
        reader.kind("write_disposition", wd, keys.WRITE_DISPOSITIONS, {}, "write disposition")
        return
    sub = Reader(wd, reader.at("write_disposition"), reader.issues)
    sub.kind("disposition", wd.get("disposition"), keys.WRITE_DISPOSITIONS, {}, "write disposition")
    strategy = wd.get("strategy")
    if strategy is not None:
        strategy = sub.kind("strategy", strategy, [s for s in keys.MERGE_STRATEGIES if s], {}, "merge strategy")
        if strategy is None:
            return  # the options of an unknown strategy cannot be judged
    _check_strategy_options(sub, strategy)


def _check_strategy_options(sub: Reader, strategy: str | None) -> None:
    allowed = ["disposition", "strategy", *keys.MERGE_STRATEGIES[strategy]]
    known = list(dict.fromkeys(k for options in keys.MERGE_STRATEGIES.values() for k in options))
    sub.check_keys([*allowed, *known], "a write disposition")
    for key in [k for k in sub.raw if k in known and k not in allowed]:
        owners = [s for s, options in keys.MERGE_STRATEGIES.items() if s and key in options]
        what = f"the '{strategy}' strategy" if strategy else "a write disposition without a strategy"
        sub.problem(key, f"is not an option of {what}", f"an option of: {', '.join(map(str, owners))}")


def _check_columns(reader: Reader, columns: Any) -> None:
    """dlt checks column hints only when the first record is extracted: here, before any request."""
    if isinstance(columns, Mapping):
        items = [(f"columns.{name}", column) for name, column in columns.items()]
    elif isinstance(columns, (list, tuple)):
        items = [(f"columns[{i}]", column) for i, column in enumerate(columns)]
    else:
        return  # None, a callable or a pydantic model: dlt reads those itself
    for at, column in items:
        if isinstance(column, Mapping):
            _check_column(Reader(column, reader.at(at), reader.issues))
        else:
            reader.problem(at, f"expected a dict of column hints, got {type_name(column)} {short(column)}")


_BOOL_COLUMN_HINTS = ("nullable", "timezone", "partition", "cluster", "unique", "sort", "primary_key", "row_key",
                      "parent_key", "root_key", "merge_key", "variant", "hard_delete", "incremental")


def _check_column(column: Reader) -> None:
    extensions = [k for k in column.raw if isinstance(k, str) and k.startswith("x-")]  # dlt ignores x- keys
    column.check_keys([*keys.COLUMN, *extensions], "column hints")
    data_type = column.raw.get("data_type")
    if data_type is not None and not (isinstance(data_type, str) and data_type in keys.DATA_TYPES):
        hint = suggest(str(data_type).lower(), keys.DATA_TYPES, keys.DATA_TYPE_NAMES)
        column.problem("data_type", f"unknown data type {data_type!r}", hint or f"expected one of: {', '.join(keys.DATA_TYPES)}")
    for key in _BOOL_COLUMN_HINTS:
        column.bool(key)
    column.int("precision")
    column.int("scale")
    if column.raw.get("dedup_sort") not in (None, "asc", "desc"):
        column.problem("dedup_sort", f"expected 'asc' or 'desc', got {column.raw['dedup_sort']!r}")


def _endpoint(ep: Reader, base: dict[str, Any], seed: bool) -> EndpointSpec | None:
    path = ep.str("path", required=True)
    method = ep.get("method", str, "GET") or "GET"
    if method.upper() not in ("GET", "POST"):
        ep.problem("method", f"unsupported method {method!r}", "expected GET or POST")
    params = ep.mapping("params")
    selector = ep.jsonpath("data_selector")
    paginator = _paginator(ep, "paginator", seed) or base["paginator"]
    if single_entity_path(path):  # dlt: `.../{id}` is one object, on one page, unless told otherwise
        selector = "$" if ep.raw.get("data_selector") is None else selector
        paginator = SinglePagePaginator() if ep.raw.get("paginator") is None else paginator
    auth = parse_auth(ep.raw["auth"], ep, "auth") if ep.raw.get("auth") is not None else base["auth"]
    if path is None:
        return None
    return EndpointSpec(
        path=path, method=method.upper(), params=freeze(params), json=ep.raw.get("json"),
        data=ep.raw.get("data"), headers=freeze(_merged_headers(base["headers"], _headers(ep, unset=True))),
        paginator=paginator, data_selector=selector, response_actions=_actions(ep),
        incremental=_incremental(ep, params), auth=auth, retry=_retry(ep, base),
        max_concurrency=ep.int("max_concurrency", minimum=1), timeout=ep.number("timeout", minimum=0.001),
        max_response_bytes=ep.int("max_response_bytes", minimum=1),
    )


def single_entity_path(path: str | None) -> bool:
    """dlt's rule: a path whose last segment holds a placeholder names one object."""
    last = (path or "").rstrip("/").rsplit("/", 1)[-1]
    return re.search(r"\{([a-zA-Z0-9.\-_]+)\}", last) is not None


def _retry(ep: Reader, base: dict[str, Any]) -> RetrySpec:
    raw = {**base["error_handler"], **(ep.get("error_handler", dict, {}) or {})}
    where = ep.at("error_handler") if "error_handler" in ep.raw else "client.error_handler"
    sub = Reader(raw, where, ep.issues)
    if raw:
        sub.check_keys(keys.ERROR_HANDLER, "error_handler")
    codes = sub.get("retry_on_status_codes", list, []) or []
    bad = [c for c in codes if not isinstance(c, int) or isinstance(c, bool) or not 100 <= c <= 599]
    if bad:
        sub.problem("retry_on_status_codes", f"expected HTTP status codes (100-599), got {bad!r}")
    delay = ep.number("max_retry_delay", base["max_retry_delay"], minimum=0)
    return RetrySpec(
        max_retries=sub.int("max_retries", 4, minimum=0) if "max_retries" in raw else 4,
        backoff_factor=sub.number("backoff_factor", 1.0, minimum=0) if "backoff_factor" in raw else 1.0,
        extra_status=frozenset(c for c in codes if c not in bad),
        max_retry_delay=delay if delay is not None else 60.0,
    )


def _actions(ep: Reader) -> tuple[ResponseAction, ...]:
    raw = ep.get("response_actions", list, []) or []
    actions = []
    for i, item in enumerate(raw):
        at = f"response_actions[{i}]"
        if callable(item):
            actions.append(ResponseAction(None, None, (item,)))
            continue
        if not isinstance(item, Mapping):
            ep.problem(at, f"expected a dict or a callable, got {type(item).__name__}")
            continue
        sub = Reader(item, ep.at(at), ep.issues)
        sub.check_keys(["status_code", "content", "action"], "a response action")
        action = item.get("action")
        hooks = tuple(action) if isinstance(action, list) else (action,)
        if action != "ignore" and not all(callable(h) for h in hooks):
            sub.problem("action", f"expected 'ignore', a callable or a list of callables, got {action!r}")
            continue
        actions.append(ResponseAction(sub.int("status_code"), sub.str("content"), "ignore" if action == "ignore" else hooks))
    return tuple(actions)


def _incremental(ep: Reader, params: dict[str, Any]) -> IncrementalSpec | None:
    legacy = [(k, v) for k, v in params.items() if isinstance(v, Mapping) and v.get("type") == "incremental"]
    sub = ep.child("incremental")
    if legacy and sub is not None:
        ep.problem("incremental", "given both as endpoint.incremental and as an incremental param", "keep one")
    if legacy:
        name, raw = legacy[0]
        sub = Reader({k: v for k, v in raw.items() if k != "type"}, ep.at(f"params.{name}"), ep.issues)
        start_param = name
    elif sub is None:
        return None
    else:
        start_param = sub.str("start_param")
    sub.check_keys(keys.INCREMENTAL, "incremental")
    cursor = sub.jsonpath("cursor_path", required=True)
    missing = sub.str("on_cursor_value_missing", "raise")
    if missing not in ("raise", "include", "exclude"):
        sub.problem("on_cursor_value_missing", f"unknown value {missing!r}", "expected raise, include or exclude")
    convert = sub.raw.get("convert")
    if convert is not None and not callable(convert):
        sub.problem("convert", "expected a callable")
    func = sub.raw.get("last_value_func")
    if func is not None and not callable(func) and func not in ("max", "min"):
        sub.problem("last_value_func", f"expected 'max', 'min' or a callable, got {func!r}")
    if cursor is None:
        return None
    window = _window(sub, func)
    return IncrementalSpec(
        cursor_path=cursor, initial_value=sub.raw.get("initial_value"), end_value=sub.raw.get("end_value"),
        start_param=start_param, end_param=sub.str("end_param"), last_value_func=func,
        lag=sub.number("lag", minimum=0), on_cursor_value_missing=missing or "raise",
        convert=convert if callable(convert) else None,
        range_start=sub.str("range_start"), range_end=sub.str("range_end"),
        window=window, window_granularity=_granularity(sub, window), per_parent=_per_parent(sub),
    )


def _window(sub: Reader, func: Any) -> Any:
    """`window`: checked against the start and end it walks between, before any request."""
    step = _step(sub, "window", "'P7D' or 'PT6H'")
    if step is None:
        return None
    found = windows.problem(step, sub.raw.get("initial_value"), sub.raw.get("end_value"))
    if found is None and func not in (None, "max", max):
        found = ("windows walk forward: last_value_func must be max", "")
    if found is not None:
        sub.problem("window", *found)
    return step if found is None else None


def _step(sub: Reader, key: str, examples: str) -> Any:
    """A window-like step under `key`: None when absent, or reported when it is none."""
    raw = sub.raw.get(key)
    if raw is None:
        return None
    step = windows.parse_step(raw)
    if step is None:
        sub.problem(key, f"expected an ISO-8601 duration such as {examples}, or a positive number, got {raw!r}")
    return step


def _granularity(sub: Reader, window: Any) -> Any:
    """`window_granularity`: a step of the same kind as the (parsed) `window`, and only beside one."""
    step = _step(sub, "window_granularity", "'PT1S' or 'P1D'")
    if step is None:
        return None
    if sub.raw.get("window") is None:
        sub.problem("window_granularity", "steps back the end of each window: it needs a window", "add a window, or remove window_granularity")
    elif window is not None and windows.is_duration(step) != windows.is_duration(window):
        sub.problem("window_granularity", "must be a duration when window is one, and a number when window is a number")
    return step


def _per_parent(sub: Reader) -> bool:
    return bool(sub.bool("per_parent", False))


def _check_per_parent(ep: Reader, endpoint: EndpointSpec | None, parent: str | None) -> None:
    if endpoint is not None and endpoint.incremental is not None and endpoint.incremental.per_parent and parent is None:
        ep.problem("incremental.per_parent", "needs a parent resource: one cursor per parent record",
                   "use a {resources.<parent>.<field>} placeholder, or remove per_parent")


def _steps(reader: Reader) -> tuple[Mapping[str, Any], ...]:
    """One single-key step per function, in the order dlt applies them: a step with several
    keys runs its filter, then its map, then its yield_map, whatever the dict's order."""
    steps: list[Mapping[str, Any]] = []
    for i, step in enumerate(reader.get("processing_steps", list, []) or []):
        if not isinstance(step, Mapping):
            reader.problem(f"processing_steps[{i}]", f"expected a dict {{filter|map|yield_map: callable}}, got {type_name(step)}")
            continue
        sub = Reader(step, reader.at(f"processing_steps[{i}]"), reader.issues)
        sub.check_keys(keys.PROCESSING_STEP, "a processing step")
        steps.extend(freeze({kind: step[kind]}) for kind in keys.PROCESSING_STEP if kind in step and _callable(sub, kind))
    return tuple(steps)


def _callable(reader: Reader, key: str) -> bool:
    if not callable(reader.raw[key]):
        reader.problem(key, f"expected a callable, got {type_name(reader.raw[key])} {short(reader.raw[key])}")
    return callable(reader.raw[key])


def _bindings(ep: Reader, name: str, endpoint: EndpointSpec | None, known: tuple[Any, ...]) -> tuple[tuple[Binding, ...], str | None]:
    names, paths, primary_keys = known
    if endpoint is None:
        return (), None
    found: dict[str, tuple[str, str, str | None]] = {}  # placeholder -> (parent, field, param)
    for pname, value in endpoint.params.items():
        if isinstance(value, Mapping) and value.get("type") == "resolve":
            _legacy_resolve(ep, pname, value, (names, endpoint.path), found)
        elif isinstance(value, Mapping) and value.get("type") != "incremental":
            ep.problem(f"params.{pname}", f"unknown param type {value.get('type')!r}", "expected 'resolve' or 'incremental'")
    where = {"path": endpoint.path, "params": {k: v for k, v in endpoint.params.items() if not isinstance(v, Mapping)},
             "json": endpoint.json, "data": endpoint.data, "headers": ep.raw.get("headers")}  # client headers are not templates
    for key, value in where.items():
        for text in _fields(ep, key, value):
            _placeholder(ep, key, text, name, endpoint, (names, paths, primary_keys), found)
    parents = sorted({p for p, _, _ in found.values()})
    if len(parents) > 1:
        ep.problem("path", f"resource '{name}' takes placeholders from several parents ({', '.join(parents)}); one parent per resource")
    if name in parents:
        ep.problem("path", f"resource '{name}' refers to itself")
        return (), None
    bindings = tuple(Binding(text, field, param) for text, (_, field, param) in found.items())
    return bindings, (parents[0] if parents else None)


def _fields(ep: Reader, key: str, value: Any) -> list[str]:
    """The placeholder names in one part of the endpoint; a lone brace is a problem, as in dlt."""
    out: list[str] = []
    for text in strings(value):
        try:
            out += fields(text)
        except ValueError as exc:
            shown = "" if key == "headers" else f" in {text!r}"  # a header value may be a secret
            ep.problem(key, f"{exc}{shown}", "write {{ and }} for a literal brace")
    return out


def _legacy_resolve(ep: Reader, pname: str, value: Mapping[str, Any], known: tuple[list[str], str], found: dict[str, Any]) -> None:
    names, path = known
    sub = Reader(value, ep.at(f"params.{pname}"), ep.issues)
    sub.check_keys(["type", "resource", "field"], "a resolve param")
    parent, field = sub.str("resource", required=True), sub.str("field", required=True)
    if parent and parent not in names:
        sub.problem("resource", f"unknown resource {parent!r}", suggest(parent, names))
    elif parent and field:
        # Bound in the path, it fills the path only (dlt 1.31); elsewhere it is a query parameter
        # (older dlt; dlt 1.31 rejects that configuration).
        found[pname] = (parent, field, None if pname in find(path) else pname)


def _placeholder(ep: Reader, key: str, text: str, name: str, endpoint: EndpointSpec, known: tuple[Any, ...], found: dict[str, Any]) -> None:
    names, paths, primary_keys = known
    parts = text.split(".")
    if parts[0] == "resources":
        if len(parts) < 3:
            ep.problem(key, f"placeholder '{{{text}}}' needs a resource and a field", "write {resources.<resource>.<field>}")
        elif parts[1] not in names:
            ep.problem(key, f"placeholder '{{{text}}}' refers to unknown resource {parts[1]!r}", suggest(parts[1], names))
        else:
            found[text] = (parts[1], ".".join(parts[2:]), None)
    elif parts[0] == "incremental":
        _incremental_placeholder(ep, key, text, endpoint)
    elif text in found or (key == "path" and _static_param(ep, text, endpoint)):
        return  # a legacy resolve param or a static param bound in the path
    elif len(parts) == 1 and key == "path":
        _implicit_parent(ep, text, name, endpoint.path, known, found)
    else:
        expected = "expected {resources.<resource>.<field>} or {incremental.start_value}"
        hint = suggest(parts[0], ("resources", "incremental")) if len(parts) > 1 else f"{expected}; write {{{{ and }}}} for a literal brace"
        ep.problem(key, f"unknown placeholder '{{{text}}}'", hint or expected)


def _incremental_placeholder(ep: Reader, key: str, text: str, endpoint: EndpointSpec) -> None:
    known = [f"incremental.{f}" for f in INCREMENTAL_FIELDS]
    if text not in known:
        hint = suggest(text.partition(".")[2], INCREMENTAL_FIELDS) or f"expected one of: {', '.join(known)}"
        ep.problem(key, f"unknown placeholder '{{{text}}}'", hint)
    elif endpoint.incremental is None:
        ep.problem(key, f"placeholder '{{{text}}}' needs an endpoint.incremental")


def _static_param(ep: Reader, text: str, endpoint: EndpointSpec) -> bool:
    """A plain param named in the path fills the path (dlt's `_bind_path_params`)."""
    value = endpoint.params.get(text)
    if isinstance(value, Mapping) and value.get("type") == "incremental":
        ep.problem("path", f"placeholder '{{{text}}}' names an incremental param", "a path binds plain and resolve params only")
    return text in endpoint.params


def _implicit_parent(ep: Reader, text: str, name: str, path: str, known: tuple[Any, ...], found: dict[str, Any]) -> None:
    names, paths, primary_keys = known
    prefix = _strip(path.split("{" + text + "}")[0])
    matches = [n for n in names if n != name and paths.get(n) == prefix]
    explicit = "{resources.<parent>.<field>}"
    if len(matches) != 1:
        what = "no resource has" if not matches else f"several resources ({', '.join(matches)}) have"
        ep.problem("path", f"implicit parent placeholder '{{{text}}}': {what} the path '/{prefix}'",
                   f"write the explicit form {explicit}")
        return
    parent = matches[0]
    key = primary_keys.get(parent)
    if isinstance(key, (list, tuple)) and len(key) == 1:
        key = key[0]
    if not isinstance(key, str):
        ep.problem("path", f"implicit parent placeholder '{{{text}}}': parent '{parent}' needs a single-column primary_key, got {key!r}",
                   f"write the explicit form {{resources.{parent}.<field>}}")
        return
    found[text] = (parent, key, None)


def _check_graph(specs: list[ResourceSpec], index: dict[str, int], issues: list[Issue]) -> None:
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for spec in specs:
        sorter.add(spec.name, *([spec.parent] if spec.parent else []))
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        first = cycle[0]
        issues.append(Issue(f"resources[{index.get(first, 0)}]", f"resources depend on each other in a cycle: {' -> '.join(cycle)}"))


def _topological(specs: list[ResourceSpec]) -> list[ResourceSpec]:
    by_name = {s.name: s for s in specs}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for spec in specs:
        sorter.add(spec.name, *([spec.parent] if spec.parent and spec.parent in by_name else []))
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError:
        return specs
    return [by_name[n] for n in order if n in by_name]
