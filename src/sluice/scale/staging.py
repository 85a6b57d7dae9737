"""What a shard stages, and how the coordinator reads it back.

Under the attempt's own directory (`<run>/<shard>/<attempt>/`), per resource:
- `<resource>.pages`: the engine's pages, pickled, in order: what dlt gets as dicts;
- for a resource dlt takes as Arrow, `<resource>.<n>.arrow`: its tables as sluice's Arrow path
  shapes them for the coordinator's extraction (`ArrowPageWriter` given the coordinator's
  `Extraction`), one Arrow IPC stream per table and run of pages with the same columns, in the
  order opened (a parent table's first file before its nested tables'). IPC, not parquet: the
  schema comes back exactly (types, nullability), and it reads without decoding.

The pages are staged even when the tables are: a shard's tables are shaped against the schema
the extraction started with, and when an earlier shard changed it in a way that would shape
this one differently (a column typed otherwise), the coordinator gives dlt the pages instead.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import fsspec  # type: ignore[import-untyped]
import pyarrow as pa

from ..load.arrow import ArrowPageWriter, ArrowUnsupported, Shaped

ROWS_PER_ITEM = 50_000  # rows of a staged table handed to dlt at once


@dataclass
class Segment:
    """One staged Arrow file: rows of one table with the same columns."""

    path: str
    table: str
    parent: str | None
    columns: dict[str, Any]  # dlt's column schemas, as the worker's writer made them
    rows: int = 0


@dataclass
class Staged:
    """A resource's files in one shard."""

    pages: str
    rows: int = 0
    segments: list[Segment] = field(default_factory=list)
    root: str | None = None  # the root table (Arrow only)
    arrow_refused: str | None = None  # why the worker's writer went to dicts, if it did


class Tables:
    """The Arrow files of one resource in one shard, as its writer shapes its pages."""

    def __init__(self, base: str, writer: ArrowPageWriter, staged: Staged) -> None:
        self.base = base
        self.writer: ArrowPageWriter | None = writer
        self.staged = staged
        self._open: dict[str, tuple[Segment, Any, Any, IO[bytes]]] = {}  # table -> segment, schema, stream, file

    def write(self, records: list[Any]) -> None:
        if self.writer is None:
            return
        try:
            shaped = self.writer.tables(records)
        except ArrowUnsupported as exc:
            self.writer, self.staged.arrow_refused = None, exc.reason
            return
        for table in shaped:
            segment, stream = self._stream(table)
            stream.write_table(table.table)
            segment.rows += table.table.num_rows
        self.staged.root = self.staged.root or (shaped[0].name if shaped else None)

    def _stream(self, table: Shaped) -> tuple[Segment, Any]:
        current = self._open.get(table.name)
        if current is not None and current[0].columns == table.columns and current[1].equals(table.table.schema):
            return current[0], current[2]
        self._close(table.name)
        segment = Segment(f"{self.base}.{len(self.staged.segments)}.arrow", table.name, table.parent, dict(table.columns))
        handle = _open_write(segment.path)
        stream = pa.ipc.new_stream(handle, table.table.schema)
        self._open[table.name] = (segment, table.table.schema, stream, handle)
        self.staged.segments.append(segment)
        return segment, stream

    def _close(self, name: str) -> None:
        current = self._open.pop(name, None)
        if current is not None:
            current[2].close()
            current[3].close()

    def close(self) -> None:
        for name in list(self._open):
            self._close(name)


def _open_write(path: str) -> IO[bytes]:
    fs, _, [local] = fsspec.get_fs_token_paths(path)
    fs.makedirs(fs._parent(local), exist_ok=True)
    handle: IO[bytes] = fs.open(local, "wb")
    return handle


class Pages:
    """The pickled pages of one resource in one shard."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._handle: IO[bytes] | None = None

    def write(self, records: list[Any]) -> None:
        if self._handle is None:
            self._handle = _open_write(self.path)
        pickle.dump(records, self._handle, protocol=pickle.HIGHEST_PROTOCOL)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def read_pages(path: str) -> Iterator[list[Any]]:
    """The pages a worker staged, in the order it fetched them (none if it staged none)."""
    fs, _, [local] = fsspec.get_fs_token_paths(path)
    if not fs.exists(local):
        return
    with fs.open(local, "rb") as handle:
        while True:
            try:
                yield pickle.load(handle)
            except EOFError:
                return


def read_tables(segment: Segment) -> Iterator[Any]:
    """A staged table file as Arrow tables of up to ROWS_PER_ITEM rows."""
    with fsspec.open(segment.path, "rb") as handle:
        reader = pa.ipc.open_stream(handle)
        batches: list[Any] = []
        for batch in reader:
            batches.append(batch)
            if sum(b.num_rows for b in batches) >= ROWS_PER_ITEM:
                yield pa.Table.from_batches(batches, reader.schema)
                batches = []
        if batches:
            yield pa.Table.from_batches(batches, reader.schema)


def safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
