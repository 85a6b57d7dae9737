"""How `resource_defaults` merges into a resource, as dlt merges it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def normalize_resource(raw: Any) -> Any:
    """A string resource becomes {name, endpoint: {path}}; a string endpoint becomes {path}."""
    if isinstance(raw, str):
        return {"name": raw, "endpoint": {"path": raw}}
    if isinstance(raw, Mapping):
        resource = dict(raw)
        endpoint = resource.get("endpoint")
        if isinstance(endpoint, str):
            resource["endpoint"] = {"path": endpoint}
        elif endpoint is None and isinstance(resource.get("name"), str):
            resource["endpoint"] = {"path": resource["name"]}
        return resource
    return raw


def merge_defaults(defaults: Mapping[str, Any], resource: Mapping[str, Any]) -> dict[str, Any]:
    """Endpoint keys shallow, `params` and `json` one level deep, `columns` deep; the rest replaced."""
    merged = {**{k: v for k, v in defaults.items() if k != "endpoint"}, **resource}
    d_endpoint, endpoint = defaults.get("endpoint"), resource.get("endpoint")
    if isinstance(d_endpoint, Mapping) and isinstance(endpoint, Mapping):
        combined = {**d_endpoint, **endpoint}
        for key in ("params", "json"):
            if isinstance(d_endpoint.get(key), Mapping) and isinstance(endpoint.get(key), Mapping):
                combined[key] = {**d_endpoint[key], **endpoint[key]}
        merged["endpoint"] = combined
    if isinstance(defaults.get("columns"), Mapping) and isinstance(resource.get("columns"), Mapping):
        merged["columns"] = _deep(defaults["columns"], resource["columns"])
    return merged


def _deep(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep(out[key], value)
        else:
            out[key] = value
    return out
