"""`manifest_source(manifest, config)`: an Airbyte manifest as a dlt source run by sluice."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Issue
from .convert import Conversion, convert
from .manifest import Manifest, read_manifest


def conversion(manifest: str | Path | Mapping[str, Any] | Manifest, config: Mapping[str, Any] | None = None,
               streams: Collection[str] | None = None) -> Conversion:
    """The manifest in sluice's dialect, limited to `streams` (and the parents they need)."""
    converted = convert(manifest if isinstance(manifest, Manifest) else read_manifest(manifest), config or {})
    if streams is not None:
        unknown = sorted(set(streams) - set(converted.streams))
        if unknown:
            raise ConfigError([Issue("streams", f"no stream {name!r} in the manifest", f"expected one of: {', '.join(converted.streams)}")
                               for name in unknown])
        converted.issues = [i for name in streams for i in converted.streams[name]]
        _select(converted.config, set(streams))
    return converted


def _select(config: dict[str, Any], streams: set[str]) -> None:
    for resource in config["resources"]:
        table = resource.get("table_name", resource["name"])
        if table not in streams and resource.get("selected", True):
            resource["selected"] = False


def manifest_source(manifest: str | Path | Mapping[str, Any], config: Mapping[str, Any] | None = None, *,
                    streams: Collection[str] | None = None, skip_unsupported: bool = False, name: str | None = None) -> Any:
    """A dlt source of the manifest's streams (a path, YAML text or a dict) with `config` (what
    the manifest's spec asks for). Every stream that cannot run is a ConfigError, all at once,
    before any request; with `skip_unsupported`, those streams are left out instead."""
    from .. import rest_api_source

    converted = conversion(manifest, config, streams)
    if converted.issues and not skip_unsupported:
        raise ConfigError(converted.issues)
    if not converted.config["resources"]:
        raise ConfigError(converted.issues or [Issue("streams", "the manifest has no stream sluice can run")])
    return rest_api_source(converted.config, name=name)
