"""Reading raw user input with every problem collected, never the first one only."""

from __future__ import annotations

import builtins
import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import Issue
from ..jsonpath import JSONPathSyntaxError, compile_path

_NOTHING = object()


def suggest(word: str, options: Iterable[str], aliases: Mapping[str, str] | None = None) -> str:
    """A did-you-mean for `word`; `aliases` are other names users write for an option."""
    aliases = aliases or {}
    close = difflib.get_close_matches(str(word), [*options, *aliases], n=1, cutoff=0.6)
    return f"did you mean '{aliases.get(close[0], close[0])}'?" if close else ""


def type_name(value: Any) -> str:
    return {dict: "a dict", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


class Reader:
    """Typed access to one raw mapping; problems go to a shared list with their path."""

    def __init__(self, raw: Mapping[builtins.str, Any], path: builtins.str, issues: list[Issue]) -> None:
        self.raw = raw
        self.path = path
        self.issues = issues

    def at(self, key: builtins.str | builtins.int) -> str:
        if isinstance(key, builtins.int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: builtins.str | builtins.int | None, message: builtins.str, hint: builtins.str = "") -> None:
        self.issues.append(Issue(self.path if key is None else self.at(key), message, hint))

    def check_keys(self, allowed: Iterable[builtins.str], what: builtins.str) -> None:
        allowed = list(allowed)
        for key in self.raw:
            if key not in allowed:
                hint = suggest(key, allowed) or f"expected one of: {', '.join(sorted(allowed))}"
                self.problem(key, f"unknown key in {what}", hint)

    def get(self, key: builtins.str, types: type | tuple[type, ...], default: Any = None, *, required: builtins.bool = False) -> Any:
        value = self.raw.get(key, _NOTHING)
        if value is _NOTHING or (value is None and not required):
            if required:
                self.problem(key, "is required")
            return default
        if isinstance(value, builtins.bool) and builtins.bool not in _as_tuple(types):
            self.problem(key, f"expected {_expected(types)}, got {type_name(value)} {value!r}")
            return default
        if not isinstance(value, types):
            self.problem(key, f"expected {_expected(types)}, got {type_name(value)} {short(value)}")
            return default
        return value

    def str(self, key: builtins.str, default: builtins.str | None = None, *, required: builtins.bool = False, nonempty: builtins.bool = True) -> Any:
        value = self.get(key, builtins.str, default, required=required)
        if nonempty and value == "" and key in self.raw:
            self.problem(key, "must not be empty")
            return default
        return value

    def int(self, key: builtins.str, default: builtins.int | None = None, *, minimum: builtins.int | None = None) -> Any:
        value = self.get(key, builtins.int, default)
        if value is not None and minimum is not None and value < minimum and key in self.raw:
            self.problem(key, f"must be >= {minimum}, got {value}")
            return default
        return value

    def number(self, key: builtins.str, default: float | None = None, *, minimum: float | None = None) -> Any:
        value = self.get(key, (builtins.int, float), default)
        if value is not None and minimum is not None and value < minimum and key in self.raw:
            self.problem(key, f"must be >= {minimum}, got {value}")
            return default
        return None if value is None else float(value)

    def bool(self, key: builtins.str, default: builtins.bool | None = None) -> Any:
        return self.get(key, builtins.bool, default)

    def jsonpath(self, key: builtins.str, default: builtins.str | None = None, *, required: builtins.bool = False) -> Any:
        """A JSONPath that compiles: dlt would only find out on the first response."""
        value = self.str(key, default, required=required)
        if value is None or value == default:
            return value
        try:
            compile_path(value)
        except JSONPathSyntaxError as exc:
            self.problem(key, f"invalid JSONPath {value!r}: {exc}")
            return default
        return value

    def kind(self, key: builtins.str, value: Any, options: Iterable[builtins.str], aliases: Mapping[builtins.str, builtins.str],
             what: builtins.str) -> builtins.str | None:
        """A `type` value resolved through aliases, or None with an issue that suggests a name."""
        known = list(options)
        kind = aliases.get(value, value) if isinstance(value, builtins.str) else value  # lists are not hashable
        if isinstance(kind, builtins.str) and kind in known:
            return kind
        names = sorted([*known, *aliases])
        hint = suggest(builtins.str(kind), names) or f"expected one of: {', '.join(names)}"
        self.problem(key, f"unknown {what} {kind!r}" if kind else "is required", hint)
        return None

    def mapping(self, key: builtins.str) -> dict[builtins.str, Any]:
        return dict(self.get(key, dict, {}) or {})

    def child(self, key: builtins.str, *, required: builtins.bool = False) -> Reader | None:
        value = self.get(key, dict, None, required=required)
        return None if value is None else Reader(value, self.at(key), self.issues)


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _expected(types: type | tuple[type, ...]) -> str:
    names = {dict: "a dict", list: "a list", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
    return " or ".join(names.get(t, t.__name__) for t in _as_tuple(types))


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
