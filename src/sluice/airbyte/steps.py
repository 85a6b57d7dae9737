"""A manifest's record steps as sluice processing steps: RecordFilter, AddFields, RemoveFields.

Each is a frozen callable (a `filter` or a `map` step) that evaluates the manifest's
templates with Airbyte's meaning (`interpolation.evaluate`). A stream's partition (the
parent's key in `stream_partition`) reaches a step through the parent fields that
`include_from_parent` copied into the record (`_<parent>_<key>`): `Partition` reads them
back under the manifest's partition field name, and `DropParentFields` removes them last.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .interpolation import evaluate, is_true


@dataclass(frozen=True)
class Partition:
    """`stream_partition` of a record: {partition_field: record[_<parent>_<parent_key>]}, plus
    the constant values of a ListPartitionRouter copy."""

    copied: Mapping[str, str] = field(default_factory=dict)  # partition field -> copied column
    constants: Mapping[str, Any] = field(default_factory=dict)

    def of(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.constants, **{name: record.get(column) for name, column in self.copied.items()}}


@dataclass(frozen=True)
class Context:
    config: Mapping[str, Any]
    parameters: Mapping[str, Any]
    partition: Partition = Partition()

    def of(self, record: Any) -> dict[str, Any]:
        return {"config": self.config, "parameters": self.parameters, "record": record,
                "stream_slice": self.partition.of(record)}


@dataclass(frozen=True)
class RecordFilter:
    """Keeps a record when the manifest's `condition` holds (InterpolatedBoolean's reading)."""

    condition: str
    context: Context

    def __call__(self, record: Any) -> bool:
        return is_true(self.condition, self.context.of(record))


@dataclass(frozen=True)
class AddFields:
    """Sets each (path, value template) on the record, in order; `condition` gates each field."""

    fields: tuple[tuple[tuple[str, ...], Any], ...]
    context: Context
    condition: str = ""

    def __call__(self, record: Any) -> Any:
        for path, template in self.fields:
            context = self.context.of(record)
            if self.condition and not is_true(self.condition, context):
                continue
            _set(record, path, evaluate(template, context))
        return record


def _set(record: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = record
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


@dataclass(frozen=True)
class RemoveFields:
    """Removes each field pointer (a path whose parts may be `*`) from the record."""

    pointers: tuple[tuple[str, ...], ...]

    def __call__(self, record: Any) -> Any:
        for pointer in self.pointers:
            _remove(record, pointer)
        return record


def _remove(node: Any, path: tuple[str, ...]) -> None:
    if not path or not isinstance(node, (dict, list)):
        return
    head, rest = path[0], path[1:]
    keys = (range(len(node)) if isinstance(node, list) else list(node)) if head == "*" else [head]
    for key in keys:
        if isinstance(node, dict) and key in node:
            _remove(node[key], rest) if rest else node.pop(key)
        elif isinstance(node, list) and isinstance(key, int):
            _remove(node[key], rest)


@dataclass(frozen=True)
class DropParentFields:
    """Removes the parent columns copied only for `stream_partition`, which Airbyte never writes."""

    columns: tuple[str, ...]

    def __call__(self, record: Any) -> Any:
        for column in self.columns:
            record.pop(column, None)
        return record
