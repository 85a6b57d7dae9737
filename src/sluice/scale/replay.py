"""The coordinator's side of the one load: a resource's staged files into dlt's extraction.

Runs in dlt's extraction thread, as the resource's stream: shards in plan order, so dlt sees
a local run's pages in a local run's order. A resource dlt takes as Arrow gets the tables the
workers shaped (marked here, for the running resource); the rest get the pages, as dicts.

A worker shaped its tables against the schema the extraction started with. A local run shapes
each page against the schema as the pages before it left it: the same tables unless an earlier
page typed a column otherwise (an int column that a later shard alone would type as text).
So before a shard's tables go, every column is checked against dlt's live schema; from the
first shard that disagrees (or whose worker's writer refused a page) the resource goes as
dicts, as the local Arrow path does from its first refused page, and dlt's normalizer makes
what it always makes (a variant column, ...).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dlt
from dlt.common.schema import Schema

from ..config.specs import ResourceSpec
from ..engine.run import RunOptions
from ..load import _arrow_dlt as dltx
from ..load.arrow import Marks, Shaped
from ..load.source import Ready, lands_as_arrow
from .staging import Segment, Staged, read_pages, read_tables
from .worker import ShardResult


def replay(spec: ResourceSpec, options: RunOptions, results: Sequence[ShardResult], shaped: bool) -> Iterator[Any]:
    """The resource's items for dlt; `shaped`: its workers staged Arrow tables."""
    staged = [result.files[spec.name] for result in results if spec.name in result.files]
    resource = dltx.current_resource()
    if shaped and lands_as_arrow(spec, options, resource):
        yield from _tables(staged, resource)
    else:
        for files in staged:
            yield from read_pages(files.pages)  # as a local run's stream: the resource's writer decides


def _tables(staged: Sequence[Staged], resource: Any) -> Iterator[Ready]:
    marks: Marks | None = None
    dicts = False
    for files in staged:
        dicts = dicts or files.arrow_refused is not None or not agrees(dlt.current.source_schema(), files.segments)
        if dicts:
            yield from (Ready([page]) for page in read_pages(files.pages))
            continue
        if files.root is not None:
            marks = marks or Marks(resource, files.root)
        for segment in files.segments:
            assert marks is not None  # a shard with tables names its root table
            for table in read_tables(segment):
                yield Ready([marks(Shaped(segment.table, segment.parent, table, segment.columns))])


def agrees(schema: Schema, segments: Sequence[Segment]) -> bool:
    """Whether `schema` types every column of the tables as the worker that shaped them did."""
    for segment in segments:
        known = schema.tables.get(segment.table, {}).get("columns", {})
        for name, column in segment.columns.items():
            have = known.get(name, {}).get("data_type")
            if have is not None and have != column.get("data_type"):
                return False
    return True
