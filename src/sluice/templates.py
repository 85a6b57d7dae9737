"""Jinja expressions of templated cursors, compiled once and run in a sandbox.

A template is `{{ expr }}` (evaluated to a native Python value) or text mixing literal
parts and `{{ ... }}` (rendered to a string). The sandbox forbids private and dunder
attributes, has no loader (so no `import`/`include` of anything) and no globals that
reach files or the network.
"""

from __future__ import annotations

import datetime
import decimal
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

_WHOLE = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.S)


_MAX_SIZE = 100_000  # characters or items one expression may build: a cursor never needs more
_MAX_EXPONENT = 1024


class _Sandbox(ImmutableSandboxedEnvironment):
    # Intercepted so that `'x' * 10**10` or `10 ** 10**9` fails at once instead of taking the
    # memory or the CPU of the whole run; the sandbox itself only guards attributes.
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and right > _MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is too large (at most {_MAX_EXPONENT})")
        if operator == "*":
            size = _repeated_size(left, right) or _repeated_size(right, left)
            if size > _MAX_SIZE:
                raise SecurityError(f"the result would hold {size} items (at most {_MAX_SIZE})")
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # `response.items` is the JSON key `items`, not the dict's method: the data comes first.
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr.startswith("_") or attr in {"mro", "func_globals", "gi_frame", "cr_frame", "f_globals"}:
            return False
        return super().is_safe_attribute(obj, attr, value)


def _repeated_size(sequence: Any, count: Any) -> int:
    if isinstance(sequence, (str, bytes, list, tuple)) and isinstance(count, int) and not isinstance(count, bool):
        return len(sequence) * count
    return 0


_DATA = (str, int, float, decimal.Decimal, datetime.date, datetime.time, datetime.timedelta, range, type(None))


def _data(value: Any) -> Any:
    """A template's result is data: a function, method, class, generator or one of Jinja's
    own objects (`self`, `loop`, a macro) would go to the API as its printed internals."""
    if isinstance(value, (list, tuple)):
        for item in value:
            _data(item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _data(key)
            _data(item)
    elif not isinstance(value, _DATA) and not isinstance(value, Undefined):
        hint = " (add |list)" if hasattr(value, "__iter__") else ""
        raise SecurityError(f"it evaluates to {type(value).__name__}, not data{hint}")
    return value


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, finalize=_data)
_ENV.globals.clear()
# The sandbox's range refuses more than 100,000 items; the builtin would build any list asked for.
_ENV.globals.update({"range": safe_range, "dict": dict, "len": len})


def sandbox(undefined: type[Undefined], globals: Mapping[str, Any], filters: Mapping[str, Any]) -> Environment:
    """Another dialect's Jinja (Airbyte's: lenient undefined, its macros) on sluice's sandbox:
    the same refusals of private names, imports and internals, more names and filters."""
    env = _ENV.overlay(undefined=undefined)
    env.globals = {**_ENV.globals, **globals}
    env.filters = {**_ENV.filters, **filters}
    return env


def sandbox_globals() -> frozenset[str]:
    return frozenset(_ENV.globals)


class TemplateError(ValueError):
    """A template that does not compile, or fails when evaluated."""


@dataclass(frozen=True)
class Template:
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", _compile(self.source))

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        kind, compiled = self._compiled  # type: ignore[attr-defined]
        try:
            if kind == "expr":
                return _data(_defined(compiled(**context)))
            return compiled.render(**context)
        except SecurityError as exc:
            raise TemplateError(f"template {self.source!r} is not allowed: {exc}") from None
        except UndefinedError as exc:
            raise TemplateError(f"template {self.source!r}: {exc}") from None
        except Exception as exc:  # a user expression can raise anything; report it, do not crash
            raise TemplateError(f"template {self.source!r} failed: {type(exc).__name__}: {exc}") from None


def _defined(value: Any) -> Any:
    # An unsafe or missing attribute comes back as an Undefined object: fail now, not later.
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


def _compile(source: str) -> tuple[str, Any]:
    try:
        _check_allowed(source, _ENV.parse(source))
        whole = _WHOLE.match(source)
        if whole and "{{" not in whole.group("expr") and "}}" not in whole.group("expr"):
            return "expr", _ENV.compile_expression(whole.group("expr"), undefined_to_none=False)
        return "text", _ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template {source!r} does not compile: {exc.message}") from None


_LOADING = (nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends)


def _check_allowed(source: str, tree: nodes.Template) -> None:
    """Refuse at compile time what the sandbox would refuse on the first response: a
    configuration that can never run is a configuration error, reported before any request.
    Single-underscore names stay allowed (`last_record._id` reads a JSON key)."""
    for node in tree.find_all(_LOADING):
        raise TemplateError(f"template {source!r} is not allowed: templates cannot load other templates or files "
                            f"({type(node).__name__.lower()})")
    for accessed in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        name = _accessed_name(accessed)
        if name is not None and "__" in name:
            raise TemplateError(f"template {source!r} is not allowed: access to the internal attribute {name!r}")
    for name in _bare_names(tree):
        raise TemplateError(f"template {source!r} is not allowed: {name!r} is {_INTERNAL[name]}, not data")


# Names a template sees that are not data: printed, they show the template's internals.
_INTERNAL = {"self": "the template itself", "super": "the template itself", "loop": "the loop's state",
             "caller": "a macro's caller", "range": "a function", "dict": "a function", "len": "a function"}
# Where such a name may stand: called, or read through (`loop.index`); `self` nowhere.
_USES = {"self": (), "super": (), "loop": (nodes.Call, nodes.Getattr, nodes.Getitem)}


def _bare_names(tree: nodes.Template) -> list[str]:
    used = set()  # ids of the Name nodes that stand where they may
    for node in tree.find_all((nodes.Call, nodes.Getattr, nodes.Getitem)):
        target = getattr(node, "node", None)
        if isinstance(target, nodes.Name) and isinstance(node, _USES.get(target.name, (nodes.Call,))):
            used.add(id(target))
    return [n.name for n in tree.find_all(nodes.Name) if n.name in _INTERNAL and n.ctx == "load" and id(n) not in used]


def _accessed_name(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Getattr):
        return str(node.attr)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    if isinstance(node, nodes.Filter) and node.name == "attr" and node.args and isinstance(node.args[0], nodes.Const):
        return str(node.args[0].value)
    return None


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class CaseInsensitiveHeaders(dict[str, Any]):
    """Response headers for templates: `headers['X-Next']`, `headers.x_next`, `headers.link`."""

    def __init__(self, headers: Mapping[str, str], links: Mapping[str, Any]) -> None:
        super().__init__({k.lower(): v for k, v in headers.items()})
        self["link"] = dict(links)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getattr__(self, name: str) -> Any:
        for key in (name.lower(), name.lower().replace("_", "-")):
            if key in self:
                return super().__getitem__(key)
        raise AttributeError(name)
