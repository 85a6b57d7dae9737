"""Reading a configuration from a file: Python, YAML, JSON or TOML.

A `.py` file defines `config` (the dict) or `source = rest_api_source({...})`; the call is
captured, not run, so the command line can adjust it (`--base-url`) before building.
In YAML/JSON/TOML files, secrets are referenced, never inline: a string value
`${secrets.api_key}` is read from dlt's secrets (env var API_KEY, .dlt/secrets.toml),
`${config.name}` from dlt's config and `${env.NAME}` from the environment.
"""

from __future__ import annotations

import json
import re
import runpy
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, Issue

_REFERENCE = re.compile(r"^\$\{\s*(secrets|config|env)\.([A-Za-z_][\w.\-]*)\s*\}$")


@dataclass
class LoadedConfig:
    config: Any
    kwargs: dict[str, Any] = field(default_factory=dict)  # rest_api_source's other arguments
    path: Path | None = None


def load_config(path: str | Path, *, missing: list[Issue] | None = None) -> LoadedConfig:
    """The configuration in `path`. With `missing` (validate), unset `${...}` references are
    collected there and left as text, so the rest can still be checked."""
    file = Path(path)
    if not file.exists():
        raise ConfigError([Issue(str(file), "no such file")])
    suffix = file.suffix.lower()
    if suffix == ".py":
        return _load_python(file)
    text = file.read_text()
    try:
        if suffix in (".yaml", ".yml"):
            raw = yaml.safe_load(text)
        elif suffix == ".json":
            raw = json.loads(text)
        elif suffix == ".toml":
            raw = tomllib.loads(text)
        else:
            raise ConfigError([Issue(str(file), f"unknown configuration file type '{suffix}'", "use .py, .yaml, .json or .toml")])
    except (yaml.YAMLError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([Issue(str(file), f"cannot parse: {exc}")]) from None
    issues: list[Issue] = []
    config = resolve_references(raw, "", issues)
    if issues:
        if missing is None:
            raise ConfigError(issues)
        missing.extend(issues)
    return LoadedConfig(config, {}, file)


def resolve_references(value: Any, path: str, issues: list[Issue]) -> Any:
    if isinstance(value, str):
        match = _REFERENCE.match(value)
        return _lookup(match.group(1), match.group(2), path, issues) if match else value
    if isinstance(value, Mapping):
        return {k: resolve_references(v, f"{path}.{k}" if path else str(k), issues) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_references(v, f"{path}[{i}]", issues) for i, v in enumerate(value)]
    return value


def _lookup(kind: str, name: str, path: str, issues: list[Issue]) -> Any:
    import os

    import dlt

    try:
        if kind == "env":
            return os.environ[name]
        return (dlt.secrets if kind == "secrets" else dlt.config)[name]
    except KeyError:
        where = f"environment variable {name}" if kind == "env" else f"dlt {kind} '{name}' (env var {name.upper().replace('.', '__')} or .dlt/{'secrets' if kind == 'secrets' else 'config'}.toml)"
        issues.append(Issue(path, f"${{{kind}.{name}}} is not set", f"set the {where}"))
        return f"${{{kind}.{name}}}"


class _Captured(Exception):
    pass


def _load_python(file: Path) -> LoadedConfig:
    import sluice

    captured: list[tuple[Any, dict[str, Any]]] = []

    def capture(config: Any, *args: Any, **kwargs: Any) -> Any:
        captured.append((config, dict(zip(["name", "section", "max_table_nesting", "root_key", "schema", "schema_contract", "parallelized"], args)) | kwargs))
        return None

    original = sluice.rest_api_source
    sluice.rest_api_source = capture
    try:
        namespace = runpy.run_path(str(file), run_name="__sluice_config__")
    except ConfigError:
        raise
    except KeyError as exc:
        raise ConfigError([Issue(str(file), f"a secret or config value is missing: {exc}",
                                 "set it as an environment variable (e.g. API_KEY) or in .dlt/secrets.toml")]) from None
    finally:
        sluice.rest_api_source = original
    if captured:
        config, kwargs = captured[-1]
        return LoadedConfig(config, kwargs, file)
    if isinstance(namespace.get("config"), Mapping):
        return LoadedConfig(namespace["config"], {}, file)
    raise ConfigError([Issue(str(file), "defines neither `config` (a dict) nor `source = rest_api_source({...})`")])


def with_base_url(config: Any, base_url: str | None) -> Any:
    """A copy of the configuration pointed at another host (a local mock, a staging API)."""
    if not base_url or not isinstance(config, Mapping):
        return config
    client = dict(config.get("client") or {})
    client["base_url"] = base_url
    return {**config, "client": client}
