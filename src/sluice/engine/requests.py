"""Building the first request of a chain: URL join, placeholders, incremental params."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config.placeholders import INCREMENTAL_FIELDS, find, render
from ..config.specs import EndpointSpec, ResourceSpec, SourceSpec
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
    return context


def first_request(source: SourceSpec, resource: ResourceSpec, context: Mapping[str, Any]) -> PageRequest:
    endpoint = resource.endpoint
    static = path_params(endpoint)
    values = {**static, **context, **_incremental_values(resource, context)}
    params = render({k: v for k, v in endpoint.params.items() if not isinstance(v, Mapping) and k not in static}, values)
    for binding in resource.bindings:
        if binding.param:  # a legacy resolve param not bound in the path: dlt < 1.0 sent it as a query parameter
            params[binding.param] = context[binding.placeholder]
    _incremental_params(resource, context, params)
    return PageRequest(
        method=endpoint.method,
        url=join_url(source.base_url, render(endpoint.path, values)),
        params=freeze(params),
        headers=freeze(_headers(source, endpoint, values)),
        json=render(endpoint.json, values, keep_types=True),
        data=render(endpoint.data, values),
    )


def _headers(source: SourceSpec, endpoint: EndpointSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Endpoint headers are templates, as in dlt; the client's own are sent as written (dlt puts
    them on the session), so a brace in a client header is just a brace."""
    own = {k: v for k, v in endpoint.headers.items() if source.headers.get(k) != v}
    return {**{k: v for k, v in endpoint.headers.items() if k not in own}, **render(own, values)}


def path_params(endpoint: EndpointSpec) -> dict[str, Any]:
    """Static params named in the path (`repos/{owner}/...`): dlt binds them there, not in the query."""
    named = set(find(endpoint.path))
    return {k: v for k, v in endpoint.params.items() if k in named and not isinstance(v, Mapping)}


def _incremental_values(resource: ResourceSpec, context: Mapping[str, Any]) -> dict[str, Any]:
    """The `{incremental.*}` placeholders, through `convert` as dlt does for every one of them."""
    spec = resource.endpoint.incremental
    if spec is None:
        return {}
    convert = spec.convert or (lambda v: v)
    names = [f"incremental.{name}" for name in INCREMENTAL_FIELDS]
    return {name: None if context.get(name) is None else convert(context[name]) for name in names}


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
