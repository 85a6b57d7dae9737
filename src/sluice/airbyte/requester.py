"""A requester's authenticator and error handler in sluice's terms.

Authenticators become `auth` dicts with their templates evaluated against the config
(a SelectiveAuthenticator picks its branch from the config here). Error handlers become
`response_actions` (IGNORE) and an `error_handler` (RETRY and RATE_LIMITED statuses are
retried; `max_retries`; an exponential or constant backoff as sluice's backoff factor).
FAIL is what sluice does anyway with a status it does not retry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..model import PageRequest, freeze
from .interpolation import duration
from .oauth import OAuth2RefreshToken
from .session import SessionToken

if TYPE_CHECKING:
    from .convert import Where

ALWAYS_RETRIED = {429, 500, 502, 503, 504}


def auth(raw: Any, where: Where, at: str) -> Any:
    if not isinstance(raw, Mapping) or raw.get("type") in (None, "NoAuth"):
        return None
    kind = raw["type"]
    value = _values(raw, where, at)
    if kind == "BearerAuthenticator":
        return {"type": "bearer", "token": value("api_token")}
    if kind == "BasicHttpAuthenticator":
        return {"type": "http_basic", "username": value("username"), "password": value("password") or ""}
    if kind == "ApiKeyAuthenticator":
        return _api_key(raw, where, at)
    if kind == "SelectiveAuthenticator":
        return _selective(raw, where, at)
    if kind == "OAuthAuthenticator":
        return _oauth(raw, where, at)
    if kind == "SessionTokenAuthenticator":
        return _session(raw, where, at)
    where.problem(at, f"{kind} is not supported")
    return None


def _values(raw: Mapping[str, Any], where: Where, at: str) -> Callable[[str], Any]:
    """A reader of the component's fields with their templates evaluated."""
    return lambda key: where.static(raw.get(key), f"{at}.{key}")


def _api_key(raw: Mapping[str, Any], where: Where, at: str) -> dict[str, Any] | None:
    option = raw.get("inject_into") or {"inject_into": "header", "field_name": raw.get("header")}
    location = {"header": "header", "request_parameter": "query"}.get(str(option.get("inject_into")))
    if location is None or not option.get("field_name"):
        where.problem(f"{at}.inject_into", f"an API key injected into {option.get('inject_into')} is not supported")
        return None
    return {"type": "api_key", "api_key": where.static(raw.get("api_token"), f"{at}.api_token"),
            "name": str(where.static(option["field_name"], f"{at}.inject_into.field_name")), "location": location}


def _selective(raw: Mapping[str, Any], where: Where, at: str) -> Any:
    node: Any = where.config
    for key in raw.get("authenticator_selection_path") or []:
        node = node.get(key) if isinstance(node, Mapping) else None
    choices = raw.get("authenticators") or {}
    if node not in choices:
        where.problem(f"{at}.authenticator_selection_path", f"the config selects {node!r}, not one of {sorted(choices)}")
        return None
    return auth(choices[node], where, f"{at}.authenticators.{node}")


def _oauth(raw: Mapping[str, Any], where: Where, at: str) -> Any:
    value = _values(raw, where, at)
    grant = value("grant_type") or "refresh_token"
    for unsupported in ("refresh_token_updater", "profile_assertion", "use_profile_assertion"):
        if raw.get(unsupported):
            where.problem(f"{at}.{unsupported}", "is not supported")
    if grant not in ("client_credentials", "refresh_token"):
        where.problem(f"{at}.grant_type", f"OAuth grant {grant!r} is not supported")
        return None
    common = {"access_token_url": value("token_refresh_endpoint"), "client_id": value("client_id"),
              "client_secret": value("client_secret")}
    extra = value("refresh_request_body") or {}
    if grant == "client_credentials":
        return {"type": "oauth2_client_credentials", **common, **({"access_token_request_data": extra} if extra else {})}
    return OAuth2RefreshToken(**common, access_token_request_data=dict(extra), refresh_token=value("refresh_token"),
                              access_token_name=str(value("access_token_name") or "access_token"),
                              expires_in_name=str(value("expires_in_name") or "expires_in"))


def _session(raw: Mapping[str, Any], where: Where, at: str) -> Any:
    from ..auth.schemes import parse_auth
    from ..config.reader import Reader
    from .paginators import join_url

    login = raw.get("login_requester") or {}
    value = _values(login, where, f"{at}.login_requester")
    request = PageRequest(str(value("http_method") or "POST").upper(), join_url(str(value("url_base") or ""), str(value("path") or "")),
                          freeze(value("request_parameters")), freeze({k: str(v) for k, v in (value("request_headers") or {}).items()}),
                          value("request_body_json"))
    own = auth(login.get("authenticator"), where, f"{at}.login_requester.authenticator")
    issues: list[Any] = []
    login_auth = parse_auth(own, Reader({}, f"{where.path}.{at}.login_requester", issues), "authenticator") if own else None
    where.issues.extend(issues)
    lifetime = raw.get("expiration_duration")
    session = SessionToken(request, tuple(str(p) for p in raw.get("session_token_path") or []), login_auth=login_auth,
                           lifetime=duration(str(lifetime)).total_seconds() if lifetime else None)
    use = raw.get("request_authentication") or {}
    if use.get("type") == "Bearer":
        return session
    option = use.get("inject_into") or {}
    if use.get("type") != "ApiKey" or option.get("inject_into") not in ("header", "request_parameter"):
        where.problem(f"{at}.request_authentication", "only Bearer, or ApiKey in a header or a query parameter, is supported")
        return None
    return replace(session, header=str(option.get("field_name")), prefix="", in_query=option["inject_into"] == "request_parameter")


def error_handling(raw: Any, where: Where, at: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(response_actions, error_handler) of a Default or Composite error handler."""
    actions: list[dict[str, Any]] = []
    retry: dict[str, Any] = {}
    if not isinstance(raw, Mapping):
        return actions, retry
    handlers = raw.get("error_handlers") if raw.get("type") == "CompositeErrorHandler" else [raw]
    for i, handler in enumerate(handlers or []):
        here = f"{at}.error_handlers[{i}]" if raw is not handler else at
        _handler(handler, where, here, actions, retry)
    return actions, retry


def _handler(handler: Mapping[str, Any], where: Where, at: str, actions: list[dict[str, Any]], retry: dict[str, Any]) -> None:
    if handler.get("type") != "DefaultErrorHandler":
        where.problem(at, f"{handler.get('type')} is not supported")
        return
    if handler.get("max_retries") is not None:
        retry["max_retries"] = int(where.static(handler["max_retries"], f"{at}.max_retries"))
    for i, strategy in enumerate(handler.get("backoff_strategies") or []):
        _backoff(strategy, where, f"{at}.backoff_strategies[{i}]", retry)
    for i, rule in enumerate(handler.get("response_filters") or []):
        _filter(rule, where, f"{at}.response_filters[{i}]", actions, retry)


def _backoff(strategy: Mapping[str, Any], where: Where, at: str, retry: dict[str, Any]) -> None:
    kind = strategy.get("type")
    if kind == "ExponentialBackoffStrategy":
        retry["backoff_factor"] = float(where.static(strategy.get("factor", 5), f"{at}.factor"))
    elif kind == "ConstantBackoffStrategy":
        # sluice's waits grow; a constant wait becomes the first one (documented approximation)
        retry["backoff_factor"] = float(where.static(strategy.get("backoff_time_in_seconds"), f"{at}.backoff_time_in_seconds"))
    elif kind not in ("WaitTimeFromHeader", "WaitUntilTimeFromHeader"):
        where.problem(at, f"{kind} is not supported")
    # waits from headers: sluice honours Retry-After and the rate-limit reset headers itself


def _filter(rule: Mapping[str, Any], where: Where, at: str, actions: list[dict[str, Any]], retry: dict[str, Any]) -> None:
    action = str(rule.get("action") or "")
    codes = [int(c) for c in rule.get("http_codes") or []]
    contains = rule.get("error_message_contains")
    if rule.get("predicate"):
        where.problem(f"{at}.predicate", "a response filter predicate is not supported")
    elif action == "IGNORE":
        actions.extend(_ignore(codes, contains))
    elif action in ("RETRY", "RATE_LIMITED") and not contains:
        retry["retry_on_status_codes"] = sorted({*retry.get("retry_on_status_codes", []), *codes} - ALWAYS_RETRIED)
    elif not (action == "FAIL" and not contains and all(c >= 400 and c not in ALWAYS_RETRIED for c in codes)):
        where.problem(f"{at}.action", f"{action} on {codes or 'any status'}{' with a message' if contains else ''} is not supported")


def _ignore(codes: list[int], contains: Any) -> list[dict[str, Any]]:
    """IGNORE: one response action per status; a filter with neither status nor message
    matches nothing in the CDK, so it gives none."""
    if not codes:
        return [{"content": contains, "action": "ignore"}] if contains else []
    return [{"status_code": code, **({"content": contains} if contains else {}), "action": "ignore"} for code in codes]
