"""Reading a manifest: `$ref`s resolved, component types inferred, `$parameters` handed down.

The result is the tree Airbyte's CDK builds its components from, as plain dicts: every
`$ref` replaced by what it points at (its sibling keys win), every component without a
`type` given the type its place implies (`record_selector` -> RecordSelector, ...), and
each component's `$parameters` merged with its parents' and copied into its own fields
where those are unset, as the CDK does. The raw manifest is never mutated.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, Issue

# The type a component gets from the field that holds it, when it names none (the CDK's table).
DEFAULT_TYPES = {
    "DeclarativeSource.streams": "DeclarativeStream",
    "DeclarativeStream.retriever": "SimpleRetriever",
    "DeclarativeStream.schema_loader": "JsonFileSchemaLoader",
    "SimpleRetriever.requester": "HttpRequester",
    "SimpleRetriever.record_selector": "RecordSelector",
    "SimpleRetriever.paginator": "NoPagination",
    "RecordSelector.extractor": "DpathExtractor",
    "RecordSelector.record_filter": "RecordFilter",
    "HttpRequester.error_handler": "DefaultErrorHandler",
    "DefaultPaginator.page_size_option": "RequestOption",
    "DefaultPaginator.page_token_option": "RequestOption",
    "DefaultErrorHandler.response_filters": "HttpResponseFilter",
    "SubstreamPartitionRouter.parent_stream_configs": "ParentStreamConfig",
    "ParentStreamConfig.request_option": "RequestOption",
    "ParentStreamConfig.stream": "DeclarativeStream",
    "ListPartitionRouter.request_option": "RequestOption",
    "DatetimeBasedCursor.start_datetime": "MinMaxDatetime",
    "DatetimeBasedCursor.end_datetime": "MinMaxDatetime",
    "DatetimeBasedCursor.start_time_option": "RequestOption",
    "DatetimeBasedCursor.end_time_option": "RequestOption",
    "ApiKeyAuthenticator.inject_into": "RequestOption",
    "AddFields.fields": "AddedFieldDefinition",
    "SessionTokenAuthenticator.login_requester": "HttpRequester",
}
_OLD_REF = re.compile(r"^\*ref\((?P<path>[^)]+)\)$")
_MAX_DEPTH = 64


@dataclass(frozen=True)
class Manifest:
    """A resolved manifest: its streams (with their manifest paths) and what its spec asks for."""

    streams: tuple[Mapping[str, Any], ...]
    spec: Mapping[str, Any] = field(default_factory=dict)
    concurrency_level: Any = None

    def defaults(self) -> dict[str, Any]:
        """The spec's default values, the config Airbyte's UI would start from."""
        properties = self.spec.get("properties") or {}
        return {name: prop["default"] for name, prop in properties.items() if isinstance(prop, Mapping) and "default" in prop}

    def secrets(self) -> set[str]:
        properties = self.spec.get("properties") or {}
        return {name for name, prop in properties.items() if isinstance(prop, Mapping) and prop.get("airbyte_secret")}


def is_manifest(raw: Any) -> bool:
    """A YAML document of Airbyte's low-code CDK rather than a sluice configuration."""
    return isinstance(raw, Mapping) and (raw.get("type") == "DeclarativeSource" or ("streams" in raw and "spec" in raw))


def read_manifest(source: str | Path | Mapping[str, Any]) -> Manifest:
    """A manifest from a path, YAML text or a dict; a broken `$ref` is a ConfigError."""
    raw = _raw(source)
    issues: list[Issue] = []
    resolved = _resolve(raw, raw, "", issues, 0)
    if issues:
        raise ConfigError(issues)
    streams = [_typed("DeclarativeSource.streams", s, {}) for s in resolved.get("streams") or []]
    spec = (resolved.get("spec") or {}).get("connection_specification") or {}
    level = (resolved.get("concurrency_level") or {}).get("default_concurrency")
    return Manifest(tuple(streams), spec, level)


def _raw(source: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return copy.deepcopy(dict(source))
    text = Path(source).read_text() if isinstance(source, Path) or "\n" not in source else source
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([Issue(str(source)[:80], f"cannot parse the manifest: {exc}")]) from None
    if not is_manifest(raw):
        raise ConfigError([Issue("", "not an Airbyte declarative manifest", "expected `type: DeclarativeSource` and `streams`")])
    return raw  # type: ignore[no-any-return]


def _resolve(node: Any, root: Mapping[str, Any], path: str, issues: list[Issue], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        issues.append(Issue(path, "$ref nests too deep (a reference cycle?)"))
        return None
    if isinstance(node, str) and (old := _OLD_REF.match(node)):
        return _resolve(_lookup(root, old.group("path").replace(".", "/"), path, issues), root, path, issues, depth + 1)
    if isinstance(node, str) and node.startswith("#/"):  # a bare string reference, as the CDK reads one
        return _resolve(_lookup(root, node[2:], path, issues), root, path, issues, depth + 1)
    if isinstance(node, list):
        return [_resolve(item, root, f"{path}[{i}]", issues, depth + 1) for i, item in enumerate(node)]
    if not isinstance(node, Mapping):
        return node
    if isinstance(node.get("$ref"), str):
        target = _resolve(_lookup(root, node["$ref"].removeprefix("#/"), path, issues), root, path, issues, depth + 1)
        rest = {k: v for k, v in node.items() if k != "$ref"}
        node = {**(target if isinstance(target, Mapping) else {}), **rest}
    return {k: _resolve(v, root, f"{path}.{k}" if path else k, issues, depth + 1) for k, v in node.items()}


def _lookup(root: Mapping[str, Any], pointer: str, path: str, issues: list[Issue]) -> Any:
    node: Any = root
    for part in pointer.split("/"):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            issues.append(Issue(path, f"$ref '#/{pointer}' points at nothing"))
            return None
    return copy.deepcopy(node)


def _typed(where: str, component: Any, parameters: Mapping[str, Any]) -> Any:
    """The CDK's propagation: infer the type, merge `$parameters` (a component's own win over
    its parents', as in the CDK outside dynamic streams: a parent stream nested in a child's
    router keeps its own name), fill unset fields from them, recurse; a dict with no type is
    data, left alone."""
    if not isinstance(component, Mapping):
        return component
    node = dict(component)
    if "type" not in node and where in DEFAULT_TYPES:
        node["type"] = DEFAULT_TYPES[where]
    if not isinstance(node.get("type"), str) or node["type"] in ("object", "array"):
        return node
    current = {**parameters, **(node.pop("$parameters", None) or {})}
    for key, value in current.items():
        node[key] = node.get(key) or value
    for key, value in list(node.items()):
        inherited = {k: v for k, v in current.items() if k != key}
        if isinstance(value, Mapping):
            node[key] = _typed(f"{node['type']}.{key}", value, inherited)
        elif isinstance(value, list):
            node[key] = [_typed(f"{node['type']}.{key}", item, inherited) for item in value]
    node["$parameters"] = current
    return node
