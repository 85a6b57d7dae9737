"""A resolved manifest -> the dict `sluice.rest_api_source` takes, and what could not map.

One stream is one resource. The requester gives the endpoint (url_base, path, method,
parameters, headers, body, auth, error handling), the record selector the data_selector
and a filter step, the paginator a paginator, a SubstreamPartitionRouter the parent
placeholders (`stream_partition.<field>` -> `{resources.<parent>.<parent_key>}`), a
ListPartitionRouter one resource per value (all writing the stream's table), transformations
map steps, a DatetimeBasedCursor the incremental. Templates that read only `config` and
`parameters` are evaluated here, once; the ones read per response or per record run with
Airbyte's meaning in the paginator and the steps. Whatever has no meaning in sluice is an
Issue at its manifest path, never dropped in silence.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import Issue
from ..templates import TemplateError
from .incremental import cursor_spec, interval_placeholders
from .interpolation import check, evaluate, names
from .manifest import Manifest
from .paginators import ManifestCursor, TokenOption, join_url
from .requester import auth, error_handling
from .steps import AddFields, Context, DropParentFields, Partition, RecordFilter, RemoveFields

STATIC_NAMES = {"config", "parameters"}
INCLUDE = "_sluice_include_from_parent"  # on a parent stream copied for a grandchild: the keys it copies
STATELESS = "_sluice_stateless"  # on a parent stream copied to be read in full for its children
_OURS = re.compile(r"(\{resources\.[^{}]+\}|\{incremental\.\w+\})")  # the placeholders convert writes
_CONFIG_OR = re.compile(r"\{\{\s*(config\s*(?:\.\s*\w+|\[\s*['\"]\w+['\"]\s*\]))\s+or\s+(stream_(?:partition|slice)\s*(?:\.\s*\w+|\[\s*['\"]\w+['\"]\s*\]))\s*\}\}")
_PARTITION = re.compile(r"\{\{\s*stream_(?:partition|slice)\s*(?:\.\s*(\w+)|\[\s*['\"](\w+)['\"]\s*\]|\.get\(\s*['\"](\w+)['\"]\s*\))\s*\}\}")


@dataclass
class Conversion:
    config: dict[str, Any]  # what sluice.rest_api_source takes
    issues: list[Issue] = field(default_factory=list)  # what cannot run, at its manifest path
    streams: dict[str, list[Issue]] = field(default_factory=dict)  # stream -> its issues

    @property
    def supported(self) -> list[str]:
        return [name for name, found in self.streams.items() if not found]


@dataclass
class Where:
    """One stream being converted: its manifest path, its issues, the values its templates read."""

    path: str
    config: Mapping[str, Any]
    parameters: Mapping[str, Any]
    issues: list[Issue]
    placeholders: dict[str, str] = field(default_factory=dict)  # partition field -> {resources.p.k}
    constants: dict[str, Any] = field(default_factory=dict)  # partition field -> a list value
    partition_option: tuple[Mapping[str, Any], str] | None = None  # the parent key's request_option

    def problem(self, at: str, message: str, hint: str = "") -> None:
        self.issues.append(Issue(f"{self.path}.{at}" if at else self.path, message, hint))

    def static(self, value: Any, at: str) -> Any:
        """A request value with its templates evaluated now; partitions become placeholders."""
        if isinstance(value, Mapping):
            return {k: self.static(v, f"{at}.{k}") for k, v in value.items() if k != "$parameters"}
        if isinstance(value, list):
            return [self.static(v, f"{at}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, str) or "{{" not in value and "{%" not in value:
            return value
        text = _CONFIG_OR.sub(self._config_or, value)
        text = _PARTITION.sub(self._partition, text)
        text = interval_placeholders(text)
        try:
            check(text)
            late = names(text) - STATIC_NAMES
        except TemplateError as exc:
            self.problem(at, str(exc))
            return None
        if late:
            self.problem(at, f"reads {', '.join(sorted(late))} per request; sluice cannot send that", "")
            return None
        return self.evaluate(text, at)

    def request(self, value: Any, at: str) -> Any:
        """`static` for a value sluice formats (path, params, headers, body): literal braces
        doubled, so only the placeholders written here are placeholders."""
        return _escaped(self.static(value, at))

    def evaluate(self, text: str, at: str) -> Any:
        try:
            return evaluate(text, {"config": self.config, "parameters": self.parameters, "stream_slice": self.constants})
        except TemplateError as exc:
            self.problem(at, str(exc))
            return None

    def _config_or(self, match: re.Match[str]) -> str:
        """`{{ config[x] or stream_partition[y] }}`: the config's value when it is set (then
        one request, not the same one per parent), else the partition's."""
        value = self.evaluate(f"{{{{ {match.group(1)} }}}}", "")
        return str(value) if value else f"{{{{ {match.group(2)} }}}}"

    def _partition(self, match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name in self.constants:
            return str(self.constants[name])
        return self.placeholders.get(name, match.group(0))


def _escaped(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if not isinstance(value, str):
        return value
    parts = _OURS.split(value)  # odd items are our placeholders
    return "".join(p if i % 2 else p.replace("{", "{{").replace("}", "}}") for i, p in enumerate(parts))


def convert(manifest: Manifest, config: Mapping[str, Any]) -> Conversion:
    """The sluice configuration of every stream; a stream with issues (or whose parent has
    some) is left out of it. Parents the manifest does not list as streams are fetched to
    feed their children, not loaded (`selected: false`)."""
    config = {**manifest.defaults(), **config}
    out = Conversion({"client": {}, "resources": []})
    parents: dict[str, tuple[Mapping[str, Any], list[str]]] = {}  # parent -> (stream, children)
    converted: dict[str, list[dict[str, Any]]] = {}
    for i, stream in enumerate(manifest.streams):
        name = str(stream.get("name"))
        converted[name], out.streams[name] = _stream(stream, f"streams[{i}]", config, parents)
    for name, (stream, _) in list(parents.items()):
        if name not in converted:
            resources, found = _stream(stream, f"parent stream {name!r}", config, parents)
            converted[name], out.streams[name] = [{**r, "selected": False} for r in resources], found
    _orphans(out.streams, parents)
    listed = {str(s.get("name")) for s in manifest.streams}
    for name, resources in converted.items():
        if not out.streams[name]:
            out.config["resources"].extend(resources)
        else:
            out.issues.extend(out.streams[name])
    for name in set(out.streams) - listed:
        del out.streams[name]
    _hoist_client(out.config)
    if manifest.concurrency_level:
        level = evaluate(manifest.concurrency_level, {"config": config})
        if isinstance(level, int) and level > 0:
            out.config["client"]["max_concurrency"] = level
    return out


def _orphans(streams: dict[str, list[Issue]], parents: dict[str, tuple[Mapping[str, Any], list[str]]]) -> None:
    """A child of a stream that cannot run cannot run either (grandchildren too)."""
    changed = True
    while changed:
        changed = False
        for parent, (_, children) in parents.items():
            for child in children:
                if streams.get(parent) and not streams.get(child):
                    streams[child] = [Issue(f"stream {child!r}", f"its parent stream {parent!r} is not supported")]
                    changed = True


def _stream(stream: Mapping[str, Any], path: str, config: Mapping[str, Any],
            parents: dict[str, tuple[Mapping[str, Any], list[str]]]) -> tuple[list[dict[str, Any]], list[Issue]]:
    where = Where(path, config, stream.get("$parameters") or {}, [])
    if stream.get("type") != "DeclarativeStream":
        where.problem("", f"{stream.get('type')} is not supported", "only DeclarativeStream")
        return [], where.issues
    for at, kind in unsupported_types(stream):
        where.problem(at, f"{kind} is not supported")
    try:
        routers = _routers((stream.get("retriever") or {}).get("partition_router"), where)
        lists = [r for r in routers if r.get("type") == "ListPartitionRouter"]
        substreams = [r for r in routers if r.get("type") != "ListPartitionRouter"]
        if lists:
            resources = _list_copies(stream, lists, substreams, where, parents)
        else:
            resources = [_resource(stream, where, substreams, parents)]
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a shape the CDK's schema would refuse
        where.problem("", f"cannot be read: {type(exc).__name__}: {exc}")
        resources = []
    return resources, list(dict.fromkeys(where.issues))


def _resource(stream: Mapping[str, Any], where: Where, routers: list[Mapping[str, Any]],
              parents: dict[str, tuple[Mapping[str, Any], list[str]]]) -> dict[str, Any]:
    name = str(stream.get("name"))
    parent = _parent(routers, where, parents, name)
    retriever = stream.get("retriever") or {}
    endpoint = _endpoint(retriever, where)
    resource: dict[str, Any] = {"name": name, "endpoint": endpoint}
    key = _primary_key(stream.get("primary_key"), where)
    if key:
        resource["primary_key"] = key
    schema = stream.get("schema_loader") or {}
    if schema.get("type") == "InlineSchemaLoader" and isinstance(schema.get("schema"), Mapping):
        resource["json_schema"] = _schema(schema["schema"])
    cursor = stream.get("incremental_sync")
    if cursor:
        spec = cursor_spec(cursor, where, per_parent=parent is not None, stateless=bool(stream.get(STATELESS)))
        if spec:
            for option, placeholder in spec.pop("_placed", []):
                _inject(endpoint, option, placeholder, where, "incremental_sync")
            if "end_value" in spec and spec.get("start_param"):  # a range sends no last value: its start, then
                endpoint.setdefault("params", {})[spec["start_param"]] = (spec.get("convert") or str)(spec["initial_value"])
            endpoint["incremental"] = spec
    _steps(resource, stream, retriever, where, parent)
    if stream.get(INCLUDE):  # a parent fetched for a grandchild: the grandparent's key it needs
        resource["include_from_parent"] = [*resource.get("include_from_parent", []), *stream[INCLUDE]]
    if where.partition_option is not None:
        option, placeholder = where.partition_option
        _inject(endpoint, option, placeholder, where, "retriever.partition_router.parent_stream_configs[0].request_option")
    return resource


def _endpoint(retriever: Mapping[str, Any], where: Where) -> dict[str, Any]:
    requester = retriever.get("requester") or {}
    if retriever.get("type") != "SimpleRetriever":
        return {}  # reported with the stream's other unsupported components
    if requester.get("type") != "HttpRequester":
        where.problem("retriever.requester", f"{requester.get('type')} is not supported", "only HttpRequester")
        return {}
    at = "retriever.requester"
    if requester.get("url"):  # the newer single `url` in place of url_base + path
        path = where.request(requester["url"], f"{at}.url") or ""
        base = _origin(str(path))
    else:
        base = str(where.static(requester.get("url_base", ""), f"{at}.url_base") or "")
        path = where.request(requester.get("path", ""), f"{at}.path") or ""
    endpoint: dict[str, Any] = {"path": join_url(base, str(path)) if path else base, "_url_base": base}
    method = str(requester.get("http_method", "GET")).upper()
    if method != "GET":
        endpoint["method"] = method
    _request_options(endpoint, requester, where)
    endpoint["auth"] = auth(requester.get("authenticator"), where, f"{at}.authenticator")
    actions, retry = error_handling(requester.get("error_handler"), where, f"{at}.error_handler")
    if actions:
        endpoint["response_actions"] = actions
    if retry:
        endpoint["error_handler"] = retry
    _decoder(retriever, requester, where)
    endpoint["data_selector"] = _selector(retriever.get("record_selector") or {}, where)
    _paginate(endpoint, retriever.get("paginator"), where, base)
    return endpoint


def _request_options(endpoint: dict[str, Any], requester: Mapping[str, Any], where: Where) -> None:
    at = "retriever.requester"
    for key, target in (("request_parameters", "params"), ("request_headers", "headers"),
                        ("request_body_json", "json"), ("request_body_data", "data")):
        value = where.request(requester.get(key), f"{at}.{key}")
        if value not in (None, {}, ""):
            endpoint[target] = {k: str(v) for k, v in value.items()} if target == "headers" and isinstance(value, Mapping) else value
    body = requester.get("request_body")
    if isinstance(body, Mapping):
        kind = {"RequestBodyJsonObject": "json", "RequestBodyUrlEncodedForm": "data", "RequestBodyPlainText": "data"}.get(str(body.get("type")))
        if kind is None:
            where.problem(f"{at}.request_body", f"{body.get('type')} is not supported")
        else:
            endpoint[kind] = where.request(body.get("value"), f"{at}.request_body.value")


def _decoder(retriever: Mapping[str, Any], requester: Mapping[str, Any], where: Where) -> None:
    for at, holder in (("retriever", retriever), ("retriever.requester", requester)):
        decoder = holder.get("decoder")
        if isinstance(decoder, Mapping) and decoder.get("type") not in (None, "JsonDecoder"):
            where.problem(f"{at}.decoder", f"{decoder.get('type')} is not supported", "sluice reads JSON bodies")


def _selector(selector: Mapping[str, Any], where: Where) -> str:
    at = "retriever.record_selector.extractor"
    extractor = selector.get("extractor") or {}
    if extractor.get("type") not in ("DpathExtractor", None):
        where.problem(at, f"{extractor.get('type')} is not supported", "only DpathExtractor")
        return "$"
    parts = [str(where.static(p, f"{at}.field_path")) for p in extractor.get("field_path") or []]
    return dpath_to_jsonpath(parts)


def dpath_to_jsonpath(parts: list[str]) -> str:
    """DpathExtractor's field_path as a JSONPath: `*` matches every key or item, and each value
    the path matches is a record, as the CDK reads it (`[data, "*"]`: data's items or values)."""
    if not parts:
        return "$"
    steps = ["[*]" if p == "*" else (f".{p}" if re.fullmatch(r"[A-Za-z_][\w\-]*", p) else f"['{p}']") for p in parts]
    path = "".join(steps).lstrip(".")
    return path if path[0] != "[" else "$" + path


def _paginate(endpoint: dict[str, Any], paginator: Any, where: Where, base: str) -> None:
    at = "retriever.paginator"
    if not isinstance(paginator, Mapping) or paginator.get("type") == "NoPagination":
        endpoint["paginator"] = "single_page"
        return
    if paginator.get("type") != "DefaultPaginator":
        where.problem(at, f"{paginator.get('type')} is not supported")
        return
    strategy = paginator.get("pagination_strategy") or {}
    option = _token_option(paginator.get("page_token_option"), where, f"{at}.page_token_option")
    size = where.static(strategy.get("page_size"), f"{at}.pagination_strategy.page_size")
    kind = strategy.get("type")
    if option is None:
        return
    if kind == "CursorPagination":
        _cursor(endpoint, strategy, option, where, base)
    elif kind in ("PageIncrement", "OffsetIncrement"):
        _numeric(endpoint, strategy, option, (size, paginator.get("page_size_option")), where)
    else:
        where.problem(f"{at}.pagination_strategy", f"{kind} is not supported")
    size_option = paginator.get("page_size_option")
    if isinstance(size_option, Mapping) and size is not None:  # a constant: sent as given on every page
        _inject(endpoint, size_option, size, where, f"{at}.page_size_option")


def _token_option(option: Any, where: Where, at: str) -> TokenOption | None:
    if not isinstance(option, Mapping):
        where.problem(at, "is required")
        return None
    if option.get("type") == "RequestPath":
        return TokenOption("path")
    inject = str(option.get("inject_into"))
    field_name = option.get("field_name") or ".".join(option.get("field_path") or [])
    if inject not in ("request_parameter", "header", "body_json") or not field_name:
        where.problem(at, f"a page token injected into {inject} is not supported")
        return None
    return TokenOption(inject, str(where.static(field_name, f"{at}.field_name")))


def _cursor(endpoint: dict[str, Any], strategy: Mapping[str, Any], option: TokenOption, where: Where, base: str) -> None:
    at = "retriever.paginator.pagination_strategy"
    templates = {key: str(strategy.get(key) or "") for key in ("cursor_value", "stop_condition")}
    for key, text in templates.items():
        try:
            check(text)
        except TemplateError as exc:
            where.problem(f"{at}.{key}", str(exc))
            return
        late = names(text) - {"config", "parameters", "response", "headers", "last_record", "last_records", "last_page_size"}
        if late:
            where.problem(f"{at}.{key}", f"reads {', '.join(sorted(late))}; not supported in a cursor")
            return
    endpoint["paginator"] = ManifestCursor(templates["cursor_value"], option, base, templates["stop_condition"],
                                           where.config, where.parameters)


def _numeric(endpoint: dict[str, Any], strategy: Mapping[str, Any], option: TokenOption, size: tuple[Any, Any], where: Where) -> None:
    """PageIncrement -> page_number, OffsetIncrement -> offset; both stop on a page shorter
    than page_size (or an empty one), as the CDK does."""
    at = "retriever.paginator"
    if option.inject_into not in ("request_parameter", "body_json"):
        where.problem(f"{at}.page_token_option", f"a page number injected into {option.inject_into} is not supported")
        return
    body = option.inject_into == "body_json"
    page_size, size_option = size
    if strategy["type"] == "PageIncrement":
        start = where.static(strategy.get("start_from_page", 0), f"{at}.pagination_strategy.start_from_page")
        paginator: dict[str, Any] = {"type": "page_number", "base_page": int(start or 0), "total_path": None,
                                     "page_body_path" if body else "page_param": option.field_name}
        if page_size is not None:
            paginator["limit"] = int(page_size)
    elif page_size is None:
        where.problem(f"{at}.pagination_strategy.page_size", "OffsetIncrement without a page_size is not supported")
        return
    else:
        # sluice's offset paginator always sends its limit: under the page size option's name
        # when there is one (the same value), else as `limit` (documented difference)
        paginator = {"type": "offset", "limit": int(page_size), "total_path": None,
                     "offset_body_path" if body else "offset_param": option.field_name}
        if isinstance(size_option, Mapping) and size_option.get("inject_into") in ("request_parameter", "body_json"):
            place = "limit_param" if size_option["inject_into"] == "request_parameter" else "limit_body_path"
            paginator[place] = str(where.static(size_option.get("field_name"), f"{at}.page_size_option.field_name"))
    endpoint["paginator"] = paginator


def _routers(raw: Any, where: Where) -> list[Mapping[str, Any]]:
    routers = raw if isinstance(raw, list) else [raw] if isinstance(raw, Mapping) else []
    known = [r for r in routers if r.get("type") in ("SubstreamPartitionRouter", "ListPartitionRouter")]
    if len(known) != len(routers):
        where.problem("retriever.partition_router", "only SubstreamPartitionRouter and ListPartitionRouter are supported")
    # A product of lists (and of lists with one parent) is a copy per combination of values;
    # two parents are a product only as [grandparent, parent].
    substreams = [r for r in known if r.get("type") == "SubstreamPartitionRouter"]
    if len(substreams) > 1 and not (len(substreams) == 2 and _grandparent(substreams)):
        where.problem("retriever.partition_router", "a cartesian product of two parent streams is not supported")
    return [r for r in known if r.get("type") == "ListPartitionRouter"] + substreams[:2]


def _grandparent(routers: list[Mapping[str, Any]]) -> bool:
    """A product of a stream's partitions and its parent's (`[grandparent, parent]` routers,
    the parent itself a substream of the grandparent): the parent with its own grandparent,
    which is what such a product names. (The CDK pairs every parent with every grandparent;
    with one grandparent record that is the same.)"""
    configs = [(r.get("parent_stream_configs") or [None]) for r in routers]
    if any(r.get("type") != "SubstreamPartitionRouter" for r in routers) or any(len(c) != 1 for c in configs):
        return False
    grand, parent = configs[0][0], configs[1][0]
    own = _routers(((parent.get("stream") or {}).get("retriever") or {}).get("partition_router"), Where("", {}, {}, []))
    above = own[0].get("parent_stream_configs") or [{}] if len(own) == 1 else [{}]
    return str((above[0].get("stream") or {}).get("name")) == str((grand.get("stream") or {}).get("name"))


def _parent(routers: list[Mapping[str, Any]], where: Where, parents: dict[str, tuple[Mapping[str, Any], list[str]]],
            child: str) -> tuple[str, str, str] | None:
    """(parent resource, parent key, partition field) of a SubstreamPartitionRouter."""
    if len(routers) == 2:
        return _with_grandparent(routers, where, parents, child)
    router = routers[0] if routers else {}
    if router.get("type") != "SubstreamPartitionRouter":
        return None
    at = "retriever.partition_router.parent_stream_configs"
    configs = router.get("parent_stream_configs") or []
    if len(configs) != 1:
        where.problem(at, "several parent streams for one stream are not supported")
        return None
    config = configs[0]
    stream = _for_children(config.get("stream") or {}, config)
    parent = str(stream.get("name"))
    key = str(where.static(config.get("parent_key"), f"{at}[0].parent_key"))
    partition = str(where.static(config.get("partition_field"), f"{at}[0].partition_field"))
    if "/" in key or "." in key:
        where.problem(f"{at}[0].parent_key", f"a nested parent_key ({key}) is not supported")
    for unsupported in ("extra_fields", "lazy_read_pointer"):
        if config.get(unsupported):
            where.problem(f"{at}[0].{unsupported}", "is not supported")
    parents.setdefault(parent, (stream, []))[1].append(child)
    where.placeholders[partition] = f"{{resources.{parent}.{key}}}"
    option = config.get("request_option")
    if isinstance(option, Mapping):
        where.partition_option = (option, where.placeholders[partition])
    return parent, key, partition


def _for_children(stream: Mapping[str, Any], config: Mapping[str, Any]) -> Mapping[str, Any]:
    """Without `incremental_dependency`, the CDK reads every record of an incremental parent
    for its children on each run (from its start, no state): a copy that keeps none, fetched
    not loaded. With it, the parent's incremental read feeds the children (dlt's rule too)."""
    if not stream.get("incremental_sync") or config.get("incremental_dependency"):
        return stream
    return {**stream, "name": f"{stream.get('name')}_every", STATELESS: True}


def _with_grandparent(routers: list[Mapping[str, Any]], where: Where, parents: dict[str, tuple[Mapping[str, Any], list[str]]],
                     child: str) -> tuple[str, str, str] | None:
    """The parent fetched again (not loaded) with its grandparent's key copied into each
    record, so the child reads both partition fields from one parent record."""
    at = "retriever.partition_router"
    grand, config = routers[0]["parent_stream_configs"][0], routers[1]["parent_stream_configs"][0]
    for i, each in enumerate((grand, config)):
        for unsupported in ("extra_fields", "lazy_read_pointer", "request_option"):
            if each.get(unsupported):
                where.problem(f"{at}[{i}].parent_stream_configs[0].{unsupported}", "is not supported with a grandparent")
    grand_key = str(where.static(grand.get("parent_key"), f"{at}[0].parent_stream_configs[0].parent_key"))
    stream = config.get("stream") or {}
    hidden = f"{stream.get('name')}_with_{(grand.get('stream') or {}).get('name')}"
    copied = {**stream, "name": hidden, INCLUDE: [grand_key]}
    found = _parent([{"parent_stream_configs": [{**config, "stream": copied}], "type": "SubstreamPartitionRouter"}], where, parents, child)
    partition = str(where.static(grand.get("partition_field"), f"{at}[0].parent_stream_configs[0].partition_field"))
    where.placeholders[partition] = f"{{resources.{hidden}._{(grand.get('stream') or {}).get('name')}_{grand_key}}}"
    return found


def _list_copies(stream: Mapping[str, Any], lists: list[Mapping[str, Any]], substreams: list[Mapping[str, Any]],
                 where: Where, parents: dict[str, tuple[Mapping[str, Any], list[str]]]) -> list[dict[str, Any]]:
    """ListPartitionRouters: one resource per combination of their values (`<stream>_<i>`,
    `<stream>_<i>_<j>` for two lists), each writing the stream's table with its values in
    place of `stream_partition.<cursor_field>`; with a parent stream too, each copy is its child."""
    at = "retriever.partition_router"
    axes = [_list_values(router, where, at) for router in lists]
    copies = []
    for combination in itertools.product(*[list(enumerate(values)) for _, values in axes]):
        where.constants = {field_name: value for (field_name, _), (_, value) in zip(axes, combination, strict=True)}
        copy = _resource(stream, where, substreams, parents)
        suffix = "_".join(str(i) for i, _ in combination)
        copy.update(name=f"{copy['name']}_{suffix}", table_name=copy["name"])
        for router, (_, value) in zip(lists, combination, strict=True):
            if isinstance(option := router.get("request_option"), Mapping):
                _inject(copy["endpoint"], option, value, where, f"{at}.request_option")
        copies.append(copy)
    return copies


def _list_values(router: Mapping[str, Any], where: Where, at: str) -> tuple[str, list[Any]]:
    values = where.static(router.get("values"), f"{at}.values")
    return str(where.static(router.get("cursor_field"), f"{at}.cursor_field")), values if isinstance(values, list) else [values]


def _inject(endpoint: dict[str, Any], option: Mapping[str, Any], value: Any, where: Where, at: str) -> None:
    target = {"request_parameter": "params", "header": "headers", "body_json": "json", "body_data": "data"}.get(str(option.get("inject_into")))
    if target is None:
        where.problem(at, f"injecting into {option.get('inject_into')} is not supported")
        return
    value = _escaped(value) if isinstance(value, str) and not _OURS.fullmatch(value) else value
    endpoint.setdefault(target, {})[str(option.get("field_name"))] = value if target != "headers" else str(value)


def _schema(node: Any, properties: bool = False) -> Any:
    """A JSON Schema with its boolean subschemas (`true`: anything) as empty schemas, and a
    property whose schema is null (the CDK reads no hint from it) as anything too."""
    if isinstance(node, Mapping):
        return {k: ({} if isinstance(v, bool) and k not in ("additionalProperties", "airbyte_secret") or v is None and properties
                    else _schema(v, k == "properties" and not properties)) for k, v in node.items()}
    if isinstance(node, list):
        return [_schema(v) for v in node]
    return node


def _primary_key(raw: Any, where: Where) -> Any:
    if isinstance(raw, list) and any(isinstance(k, list) and len(k) > 1 for k in raw):
        where.problem("primary_key", "a nested primary key is not supported")
        return None
    if isinstance(raw, list):
        keys = [k[0] if isinstance(k, list) else k for k in raw]
        return keys[0] if len(keys) == 1 else keys
    return raw or None


def _steps(resource: dict[str, Any], stream: Mapping[str, Any], retriever: Mapping[str, Any], where: Where,
           parent: tuple[str, str, str] | None) -> None:
    copied: dict[str, str] = {}
    if parent is not None:
        name, key, partition = parent
        copied[partition] = f"_{name}_{key}"
    context = Context(where.config, where.parameters, Partition(copied, dict(where.constants)))
    steps: list[dict[str, Any]] = []
    record_filter = (retriever.get("record_selector") or {}).get("record_filter")
    if isinstance(record_filter, Mapping):
        condition = _record_template(record_filter.get("condition"), where, "retriever.record_selector.record_filter.condition")
        if condition:
            steps.append({"filter": RecordFilter(condition, context)})
    for i, transformation in enumerate(stream.get("transformations") or []):
        step = _transformation(transformation, context, where, f"transformations[{i}]")
        if step:
            steps.append(step)
    if parent is not None and any(isinstance(s.get("map"), AddFields) for s in steps):
        resource["include_from_parent"] = [parent[1]]
        steps.append({"map": DropParentFields(tuple(copied.values()))})
    if steps:
        resource["processing_steps"] = steps


_RECORD_NAMES = {"record", "config", "parameters", "stream_slice", "stream_partition"}


def _record_template(text: Any, where: Where, at: str) -> str | None:
    if not isinstance(text, str):
        return None
    try:
        check(text)
    except TemplateError as exc:
        where.problem(at, str(exc))
        return None
    late = names(text) - _RECORD_NAMES
    if late:
        where.problem(at, f"reads {', '.join(sorted(late))}; not supported on a record")
        return None
    return text


def _transformation(raw: Mapping[str, Any], context: Context, where: Where, at: str) -> dict[str, Any] | None:
    kind = raw.get("type")
    if kind == "AddFields":
        fields = []
        for i, item in enumerate(raw.get("fields") or []):
            value = item.get("value")
            if isinstance(value, str) and _record_template(value, where, f"{at}.fields[{i}].value") is None and "{{" in value:
                return None
            fields.append((tuple(str(p) for p in item.get("path") or []), value))
        return {"map": AddFields(tuple(fields), context, str(raw.get("condition") or ""))}
    if kind == "RemoveFields":
        if raw.get("condition"):
            where.problem(f"{at}.condition", "a conditional RemoveFields is not supported")
        return {"map": RemoveFields(tuple(tuple(str(p) for p in pointer) for pointer in raw.get("field_pointers") or []))}
    where.problem(at, f"{kind} is not supported")
    return None


# Component types this module maps (every other `type` found in a stream is an issue).
SUPPORTED = {
    "DeclarativeStream", "SimpleRetriever", "HttpRequester", "RecordSelector", "DpathExtractor", "RecordFilter",
    "DefaultPaginator", "NoPagination", "CursorPagination", "PageIncrement", "OffsetIncrement", "RequestOption",
    "RequestPath", "SubstreamPartitionRouter", "ParentStreamConfig", "ListPartitionRouter", "JsonDecoder",
    "InlineSchemaLoader", "JsonFileSchemaLoader", "AddFields", "AddedFieldDefinition", "RemoveFields",
    "NoAuth", "BearerAuthenticator", "ApiKeyAuthenticator", "BasicHttpAuthenticator", "SelectiveAuthenticator",
    "OAuthAuthenticator", "SessionTokenAuthenticator", "Bearer", "ApiKey", "DefaultErrorHandler", "CompositeErrorHandler", "HttpResponseFilter",
    "ExponentialBackoffStrategy", "ConstantBackoffStrategy", "WaitTimeFromHeader", "WaitUntilTimeFromHeader",
    "DatetimeBasedCursor", "MinMaxDatetime", "RequestBodyJsonObject", "RequestBodyUrlEncodedForm",
    "RequestBodyPlainText", "SchemaNormalization",
}


# Keys whose values are data (a body, a schema) or are checked where they are converted.
_DATA_KEYS = {"schema", "$parameters", "stream", "request_body_json", "request_body_data", "request_parameters",
              "request_headers", "value"}


def unsupported_types(node: Any, at: str = "") -> list[tuple[str, str]]:
    """(manifest path, type) of every component under `node` this module cannot map; a
    parent stream's own components are checked where that stream is converted."""
    found: list[tuple[str, str]] = []
    if isinstance(node, Mapping):
        kind = node.get("type")
        if isinstance(kind, str) and re.fullmatch(r"[A-Z][a-z]\w*", kind) and kind not in SUPPORTED:
            return [(at, kind)]
        for key, value in node.items():
            if key in _DATA_KEYS:
                continue
            found += unsupported_types(value, f"{at}.{key}" if at else key)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += unsupported_types(item, f"{at}[{i}]")
    return found


def _hoist_client(config: dict[str, Any]) -> None:
    """The first stream's url_base and auth become the client's; paths under that base
    become relative (so `--base-url` can point them at a mock), other bases stay absolute."""
    resources = config["resources"]
    if not resources:
        return
    base = resources[0]["endpoint"].get("_url_base") or _origin(resources[0]["endpoint"].get("path", ""))
    client = config["client"]
    client["base_url"] = base
    client_auth = resources[0]["endpoint"].get("auth")
    if client_auth is not None:
        client["auth"] = client_auth
    for resource in resources:
        endpoint = resource["endpoint"]
        own = endpoint.pop("_url_base", None)
        prefix = base.rstrip("/") + "/"
        if own == base and endpoint.get("path", "").startswith(prefix):
            endpoint["path"] = endpoint["path"][len(prefix):]
        if endpoint.get("auth") == client_auth or endpoint.get("auth") is None:
            endpoint.pop("auth", None)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""
