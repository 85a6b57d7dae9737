"""What every paginator is: a frozen strategy with two methods.

    first(request) -> PageRequest            the chain's first request
    next(request, page) -> PageRequest|None  the next request, or None: the chain ends

Per-chain state (current page, offset, cursor) travels in `PageRequest.state`, so one
paginator instance serves any number of concurrent chains. The paginator alone decides when
to stop; the fetch loop only adds safety (repeated request, page cap).

Example, a paginator that follows `{"next_token": ...}` in the body:

    @dataclass(frozen=True)
    class TokenPaginator:
        def first(self, request): return request
        def next(self, request, page):
            token = page.body.get("next_token")
            return request.with_params(token=token) if token else None
"""

from __future__ import annotations

from typing import Any, Protocol

from ..errors import ResponseError
from ..jsonpath import find_first, set_at_path
from ..model import Page, PageRequest


class Paginator(Protocol):
    def first(self, request: PageRequest) -> PageRequest: ...

    def next(self, request: PageRequest, page: Page) -> PageRequest | None: ...


def put_value(request: PageRequest, param: str | None, body_path: str | None, value: Any) -> PageRequest:
    """Place a paging value in the query string or at a path of the JSON body."""
    if body_path:
        return request.with_json(set_at_path(request.json, body_path, value))
    assert param is not None
    return request.with_params(**{param: value})


def read_int(page: Page, path: str, what: str) -> int | None:
    """An integer paging field (total, ...) or None when the response has none."""
    value = find_first(path, page.body)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ResponseError(f"'{path}' ({what}) is not an integer in the response: {value!r}") from None


# The strings dlt's `str2bool` reads as booleans (any case); any other string is an error.
TRUE_STRINGS = ("yes", "true", "t", "y", "1")
FALSE_STRINGS = ("no", "false", "f", "n", "0")


def read_has_more(page: Page, path: str) -> bool:
    """A boolean, or one of dlt's boolean strings; a number is no boolean (dlt's rule)."""
    value = find_first(path, page.body)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in (*TRUE_STRINGS, *FALSE_STRINGS):
        return value.lower() in TRUE_STRINGS
    if value is None:
        raise ResponseError(f"has_more_path '{path}' is missing from the response")
    raise ResponseError(f"has_more_path '{path}' is not a boolean in the response: {value!r}")
