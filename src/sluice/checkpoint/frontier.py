"""The frontier: where every unfinished chain of a run restarts, as plain data.

A `ChainPoint` is one chain (resource x parent record [x window]) and the request of its first
page not yet handed to dlt (None: its first request). `Snapshot` is the engine's view at a
checkpoint; `to_state` / `from_state` turn it into what dlt's pipeline state can hold (JSON
values; dlt's encoder keeps dates and datetimes) and back. Secrets never go in: a string that
holds one of the source's secrets stores a reference to it instead, and headers are not
stored at all (a resumed chain takes them from its first request, rendered again).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from ..model import PageRequest, freeze

VERSION = 1
_SECRET = "\x00sluice-secret:"


@dataclass(frozen=True)
class ChainPoint:
    resource: str
    parent: Any = None
    window: tuple[Any, Any] | None = None
    request: PageRequest | None = None  # None: start the chain from its first request
    skip: bool = False  # the request's page already went to dlt: refetch it for the paginator only
    # The chain's first request, rendered from the configuration: the params it already has are
    # not stored (a resumed chain renders them again), only what the paginator changed.
    first: PageRequest | None = field(default=None, compare=False)
    extends_first: bool = False


@dataclass
class Snapshot:
    chains: list[ChainPoint] = field(default_factory=list)
    walks: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # windowed resource -> (next start, end)
    needed: set[str] = field(default_factory=set)


def to_state(snapshot: Snapshot, secrets: tuple[str, ...]) -> dict[str, Any]:
    return {
        "chains": [_point_state(p, secrets) for p in snapshot.chains],
        "walks": {name: list(masked(list(bounds), secrets)) for name, bounds in snapshot.walks.items()},
        "needed": sorted(snapshot.needed),
    }


def from_state(state: Mapping[str, Any], secrets: tuple[str, ...]) -> Snapshot:
    chains = [_point(p, secrets) for p in state.get("chains", [])]
    walks = {name: (bounds[0], bounds[1]) for name, bounds in unmasked(dict(state.get("walks", {})), secrets).items()}
    return Snapshot(chains, walks, set(state.get("needed", [])))


def _point_state(point: ChainPoint, secrets: tuple[str, ...]) -> dict[str, Any]:
    request = point.request
    params, extends = _own_params(request, point.first)
    saved = None if request is None else {
        "method": request.method, "url": request.url, "params": params, "json": request.json,
        "data": request.data, "state": dict(request.state), "extends_first": extends,
    }
    window = list(point.window) if point.window is not None else None
    kept: dict[str, Any] = masked({"resource": point.resource, "parent": point.parent, "window": window, "request": saved,
                                   "skip": point.skip}, secrets)
    return kept


def _point(state: Mapping[str, Any], secrets: tuple[str, ...]) -> ChainPoint:
    state = unmasked(state, secrets)
    saved, window = state.get("request"), state.get("window")
    request = None if saved is None else PageRequest(
        saved["method"], saved["url"], freeze(saved["params"]), json=saved["json"], data=saved["data"], state=freeze(saved["state"]))
    bounds = (window[0], window[1]) if window else None
    extends = bool(saved and saved.get("extends_first"))
    return ChainPoint(state["resource"], state.get("parent"), bounds, request, bool(state.get("skip")), extends_first=extends)


def _own_params(request: PageRequest | None, first: PageRequest | None) -> tuple[dict[str, Any], bool]:
    """The request's params less those it shares with the chain's first request, and whether it
    has all of them (else every param is stored)."""
    if request is None:
        return {}, False
    if first is None or any(request.params.get(k, _MISSING) != v for k, v in first.params.items()):
        return dict(request.params), False
    return {k: v for k, v in request.params.items() if k not in first.params}, True


_MISSING = object()


def masked(value: Any, secrets: tuple[str, ...]) -> Any:
    """`value` with every secret replaced by a reference to it (by its place in `secrets`)."""
    if isinstance(value, str):
        for index, secret in enumerate(secrets):
            if secret and secret in value:
                value = value.replace(secret, f"{_SECRET}{index}\x00")
        return value
    if isinstance(value, Mapping):
        return {k: masked(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(v, secrets) for v in value]
    return value


def unmasked(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for index, secret in enumerate(secrets):
            value = value.replace(f"{_SECRET}{index}\x00", secret)
        return value
    if isinstance(value, Mapping):
        return {k: unmasked(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [unmasked(v, secrets) for v in value]
    return value


def spec_hash(secrets: tuple[str, ...], *specs: Any) -> str:
    """A stable digest of configuration objects (functions by name, secrets masked): two runs
    of the same configuration agree, a changed resource does not."""
    text = masked(repr([_stable(s) for s in specs]), secrets)
    return hashlib.sha256(str(text).encode()).hexdigest()[:16]


def _stable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, [(f.name, _stable(getattr(value, f.name))) for f in fields(value)])
    if isinstance(value, Mapping):
        return sorted(((str(k), _stable(v)) for k, v in value.items()), key=lambda kv: kv[0])
    if isinstance(value, (list, tuple, set, frozenset)):
        items: Iterable[Any] = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [_stable(v) for v in items]
    if callable(value):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', type(value).__name__)}"
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    # an object without its own repr would show its address: its type and attributes instead
    own = getattr(value, "__dict__", None)
    plain = getattr(type(value), "__repr__", None) is getattr(object, "__repr__", None)
    return (type(value).__name__, _stable(own)) if plain else repr(value)
