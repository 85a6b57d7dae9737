"""Building the first request of a chain: URL join, placeholders, incremental params."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config.placeholders import render
from ..config.specs import ResourceSpec, SourceSpec
from ..errors import ResponseError
from ..jsonpath import get_dotted
from ..model import PageRequest, freeze


def join_url(base_url: str, path: str) -> str:
    """`base` + `path`; a leading '/' does not reset to the host root, absolute URLs win."""
    if path.startswith(("http://", "https://")):
        return path
    if not path:
        return base_url
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def parent_context(resource: ResourceSpec, parent_record: Any) -> dict[str, Any]:
    """Placeholder values taken from one parent record."""
    context: dict[str, Any] = {}
    for binding in resource.bindings:
        try:
            context[binding.placeholder] = get_dotted(parent_record, binding.field)
        except KeyError:
            keys = ", ".join(sorted(parent_record)[:20]) if isinstance(parent_record, dict) else type(parent_record).__name__
            raise ResponseError(
                f"needs field '{binding.field}' in every '{resource.parent}' record; a record has: {keys}",
                resource=resource.name,
            ) from None
        if binding.param:
            context[binding.param] = context[binding.placeholder]
    return context


def first_request(source: SourceSpec, resource: ResourceSpec, context: Mapping[str, Any]) -> PageRequest:
    endpoint = resource.endpoint
    params: dict[str, Any] = {}
    for key, value in endpoint.params.items():
        if isinstance(value, Mapping):
            continue  # legacy resolve / incremental params are filled below
        params[key] = render(value, context)
    for binding in resource.bindings:
        if binding.param:
            params[binding.param] = context[binding.placeholder]
    _incremental_params(resource, context, params)
    return PageRequest(
        method=endpoint.method,
        url=join_url(source.base_url, render(endpoint.path, context)),
        params=freeze(params),
        headers=freeze({k: render(v, context) for k, v in endpoint.headers.items()}),
        json=render(endpoint.json, context),
        data=render(endpoint.data, context),
    )


def _incremental_params(resource: ResourceSpec, context: Mapping[str, Any], params: dict[str, Any]) -> None:
    spec = resource.endpoint.incremental
    if spec is None:
        return
    convert = spec.convert or (lambda v: v)
    start = context.get("incremental.last_value", context.get("incremental.start_value"))
    if spec.start_param and start is not None:
        params[spec.start_param] = convert(start)
    end = context.get("incremental.end_value")
    if spec.end_param and end is not None:
        params[spec.end_param] = convert(end)


def include_parent_fields(resource: ResourceSpec, records: list[Any], parent_record: Any) -> None:
    """Copy `include_from_parent` fields into each child record as `_<parent>_<field>`."""
    for field in resource.include_from_parent:
        try:
            value = get_dotted(parent_record, field)
        except KeyError:
            raise ResponseError(f"include_from_parent field '{field}' is missing in a '{resource.parent}' record",
                                resource=resource.name) from None
        key = f"_{resource.parent}_{field}"
        for record in records:
            if isinstance(record, dict):
                record[key] = value
