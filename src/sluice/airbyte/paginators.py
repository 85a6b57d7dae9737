"""CursorPagination with Airbyte's meaning, as a sluice paginator.

The CDK evaluates `stop_condition` first, then `cursor_value`, both with its lenient Jinja
(a missing key is empty, not an error) and `config`; the token goes where
`page_token_option` says: a query parameter, a JSON body field, a header, or the request
path (`RequestPath`: a path or a full URL, joined to `url_base`). PageIncrement and
OffsetIncrement need no templates: they become sluice's own `page_number` and `offset`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ResponseError
from ..jsonpath import set_at_path
from ..model import Page, PageRequest, freeze
from ..templates import CaseInsensitiveHeaders, TemplateError
from .interpolation import evaluate, is_true


@dataclass(frozen=True)
class TokenOption:
    """Where a page token goes: inject_into request_parameter | body_json | header | path."""

    inject_into: str
    field_name: str = ""

    def put(self, request: PageRequest, value: Any, url_base: str) -> PageRequest:
        if self.inject_into == "path":
            # the CDK keeps the request's parameters on a RequestPath page; sluice's sent URL
            # lets a parameter replace a same-named one of the next URL, so none doubles
            return replace(request, url=join_url(url_base, str(value)))
        if self.inject_into == "header":
            return replace(request, headers=freeze({**request.headers, self.field_name: str(value)}))
        if self.inject_into == "body_json":
            return request.with_json(set_at_path(request.json, self.field_name, value))
        return request.with_params(**{self.field_name: value})


def join_url(url_base: str, path: str) -> str:
    """The CDK's join: a full URL as is, a path appended to url_base (one slash between)."""
    if path.startswith(("http://", "https://")):
        return path
    return url_base.rstrip("/") + "/" + path.lstrip("/")


@dataclass(frozen=True)
class ManifestCursor:
    """CursorPagination: `next` evaluates the manifest's templates against the last page."""

    cursor_value: str
    option: TokenOption
    url_base: str = ""
    stop_condition: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def first(self, request: PageRequest) -> PageRequest:
        return request

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        context = self._context(page)
        try:
            if self.stop_condition and is_true(self.stop_condition, context):
                return None
            token = evaluate(self.cursor_value, context)
        except TemplateError as exc:
            raise ResponseError(str(exc)) from None
        return self.option.put(request, token, self.url_base) if token else None

    def _context(self, page: Page) -> dict[str, Any]:
        records = page.records
        return {
            "response": page.body, "headers": CaseInsensitiveHeaders(page.headers, page.links()),
            "last_record": records[-1] if records else None, "last_records": records,
            "last_page_size": len(records), "config": self.config, "parameters": self.parameters,
        }

    def dialect(self) -> dict[str, Any]:
        """The nearest plain-dialect form (for `sluice convert`): sluice's strict templates."""
        out: dict[str, Any] = {"type": "cursor", "cursor_value": self.cursor_value}
        if self.stop_condition:
            out["stop_condition"] = self.stop_condition
        if self.option.inject_into == "body_json":
            out["cursor_body_path"] = self.option.field_name
        elif self.option.inject_into == "request_parameter":
            out["cursor_param"] = self.option.field_name
        return out
