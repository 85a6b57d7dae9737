"""A conversion written as a sluice YAML file (`sluice convert`), and a manifest's config read
the way the command line reads it.

The file dialect holds data only: what the conversion made of Python objects is written in
its plain-dialect form where one exists (a cursor paginator with `cursor_value` and
`stop_condition`), and otherwise left out and listed in the file's header (record steps,
the date cursor's reformatting, an OAuth refresh-token flow): `sluice run MANIFEST` and
`manifest_source` keep them. Without a config, each spec property becomes a reference the
file loader resolves: `${secrets.name}` for `airbyte_secret` ones, `${config.name}` otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, Issue
from .convert import Conversion
from .interpolation import names
from .manifest import Manifest


def references(manifest: Manifest) -> dict[str, Any]:
    """A config whose every unset value is a `${secrets.x}` / `${config.x}` reference."""
    secrets = manifest.secrets()
    properties = manifest.spec.get("properties") or {}
    refs = {name: f"${{{'secrets' if name in secrets else 'config'}.{name}}}" for name in properties}
    return {**refs, **manifest.defaults()}


def read_config(path: str | None, manifest: Manifest) -> dict[str, Any]:
    """config.json, then dlt secrets / config (env vars) for what it leaves out; a required
    property found nowhere is a ConfigError (all of them at once)."""
    given: dict[str, Any] = {}
    if path:
        try:
            given = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError([Issue(path, f"cannot read the Airbyte config: {exc}")]) from None
    issues = []
    for name in manifest.spec.get("required") or []:
        if name not in given:
            value = _from_dlt(name, name in manifest.secrets())
            if value is None:
                issues.append(Issue(f"config.{name}", "is required by the manifest's spec",
                                    f"set it in --airbyte-config or as the environment variable {name.upper()}"))
            else:
                given[name] = value
    if issues:
        raise ConfigError(issues)
    return given


def _from_dlt(name: str, secret: bool) -> Any:
    import dlt

    try:
        return (dlt.secrets if secret else dlt.config)[name]
    except KeyError:
        return None


def to_yaml(converted: Conversion, source: str) -> str:
    left_out: list[str] = []
    plain = _plain(converted.config, "", left_out)
    head = [f"# sluice configuration converted from the Airbyte manifest {source}"]
    head += [f"# not convertible: {issue}" for issue in converted.issues]
    head += [f"# left out (Python objects; `sluice run {source}` keeps them): {item}" for item in left_out]
    head += [f"# left out: {at} (now, when converted: `sluice run {source}` reads this parent from its start on every run)"
             for at in _ranges_to_now(plain)]
    return "\n".join(head) + "\n" + yaml.safe_dump(plain, sort_keys=False, allow_unicode=True, width=120)


def _ranges_to_now(plain: Mapping[str, Any]) -> list[str]:
    """Drops the `end_value` convert sets to now (a parent copy read in full for its children,
    no state): in a file it would stop that parent at the day it was converted."""
    dropped = []
    for i, resource in enumerate(plain.get("resources") or []):
        incremental = (resource.get("endpoint") or {}).get("incremental") or {}
        if incremental.pop("end_value", None) is not None:
            dropped.append(f"resources[{i}].endpoint.incremental.end_value")
    return dropped


def _plain(value: Any, at: str, left_out: list[str]) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            converted = _plain(item, f"{at}.{key}" if at else str(key), left_out)
            if converted is not _DROP:
                out[str(key)] = converted
        return out
    if isinstance(value, (list, tuple)):
        items = [_plain(item, f"{at}[{i}]", left_out) for i, item in enumerate(value)]
        return [item for item in items if item is not _DROP]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    dialect = getattr(value, "dialect", None)
    if callable(dialect) and not _reads_config(dialect()):
        return dialect()
    left_out.append(f"{at}: {type(value).__name__}")
    return _DROP


def _reads_config(plain: Mapping[str, Any]) -> bool:
    # sluice's own cursor templates see no `config`: such a paginator has no plain form
    return any(names(v) & {"config", "parameters", "last_records"} for v in plain.values())


_DROP = object()
