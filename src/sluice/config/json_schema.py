"""JSON Schema -> dlt column hints (`json_schema` on a resource)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .reader import Reader


def columns_from_json_schema(raw: Any, reader: Reader, key: str) -> dict[str, dict[str, Any]]:
    schema = _load(raw, reader, key)
    if schema is None:
        return {}
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        reader.problem(key, "a JSON Schema for a resource needs an object 'properties'")
        return {}
    required = set(schema.get("required") or [])
    columns: dict[str, dict[str, Any]] = {}
    for name, prop in properties.items():
        if not isinstance(prop, Mapping):
            reader.problem(f"{key}.properties.{name}", "expected a schema dict")
            continue
        column = _column(prop, name in required)
        if column:
            columns[name] = column
    return columns


def _load(raw: Any, reader: Reader, key: str) -> Mapping[str, Any] | None:
    if isinstance(raw, (str, Path)):
        try:
            raw = json.loads(Path(raw).read_text())
        except (OSError, ValueError) as exc:
            reader.problem(key, f"cannot read JSON Schema file {str(raw)!r}: {exc}")
            return None
    if not isinstance(raw, Mapping):
        reader.problem(key, f"expected a JSON Schema dict or a path to a .json file, got {type(raw).__name__}")
        return None
    return raw


def _column(prop: Mapping[str, Any], required: bool) -> dict[str, Any]:
    types = prop.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    nullable = "null" in types or not required
    kinds = [t for t in types if t != "null"]
    if len(kinds) != 1:
        return {"nullable": nullable} if kinds == [] and types else {}
    data_type = _data_type(kinds[0], prop.get("format"))
    if data_type is None:
        return {}  # objects and arrays stay nested: dlt unnests them (or stores JSON at max_table_nesting)
    column: dict[str, Any] = {"data_type": data_type, "nullable": nullable}
    if isinstance(prop.get("description"), str):
        column["description"] = prop["description"]
    return column


def _data_type(kind: str, fmt: Any) -> str | None:
    if kind == "string":
        return {"date-time": "timestamp", "date": "date", "time": "time"}.get(fmt, "text")
    return {"integer": "bigint", "number": "double", "boolean": "bool"}.get(kind)
