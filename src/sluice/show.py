"""`sluice show`: what a run left in DuckDB, without writing SQL.

    sluice show                         tables, row counts, last load of the .duckdb files here
    sluice show events                  a few rows of a table ('dataset.table' when ambiguous)
    sluice show --pipeline-name tickets the database that pipeline last loaded

The database is found from `--duckdb-file`, else from the pipeline's last load (dlt keeps
a trace of it in the pipelines directory), else `<pipeline-name>.duckdb`, else the
`.duckdb` files in the current directory (or in `sluice-demo/`). It is opened read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .errors import ConfigError, Issue

_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")


@dataclass(frozen=True)
class Where:
    database: Path
    dataset: str | None = None  # None: every dataset in the file


def find_databases(duckdb_file: str | None, pipeline_name: str | None, pipelines_dir: str | None) -> list[Where]:
    """The database(s) to show: the one named, the pipeline's, or every .duckdb file here."""
    if duckdb_file:
        return [Where(_existing(Path(duckdb_file)))]
    if pipeline_name:
        return [_from_pipeline(pipeline_name, pipelines_dir)]
    candidates = sorted(Path.cwd().glob("*.duckdb")) or sorted(Path.cwd().glob("sluice-demo/*.duckdb"))
    if not candidates:
        raise ConfigError([Issue("", f"no .duckdb file in {Path.cwd()} (or its sluice-demo/)",
                                 "run `sluice run CONFIG` or `sluice demo` first, or give --duckdb-file FILE "
                                 "or --pipeline-name NAME")])
    return [Where(c) for c in candidates]


def _existing(path: Path) -> Path:
    if not path.exists():
        raise ConfigError([Issue("--duckdb-file", f"no such file: {path}")])
    return path


def _from_pipeline(name: str, pipelines_dir: str | None) -> Where:
    import dlt
    from dlt.pipeline.exceptions import CannotRestorePipelineException

    try:
        pipeline = dlt.attach(name, pipelines_dir=pipelines_dir)  # type: ignore[arg-type]
    except CannotRestorePipelineException:  # never run here: dlt's default file name for the pipeline
        return Where(_existing(Path(f"{name}.duckdb")), None)
    dataset = pipeline.dataset_name
    info = pipeline.last_trace.last_load_info if pipeline.last_trace else None
    location = getattr(info, "destination_displayable_credentials", None) or ""
    if location.startswith("duckdb:///"):
        return Where(_existing(Path(location.removeprefix("duckdb:///"))), dataset)
    return Where(_existing(Path(f"{name}.duckdb")), dataset)


def connect(where: Where) -> Any:
    import duckdb

    try:
        return duckdb.connect(str(where.database), read_only=True)
    except duckdb.Error as exc:
        raise ConfigError([Issue(str(where.database), f"cannot open: {exc}")]) from None


def tables(con: Any, dataset: str | None) -> list[tuple[str, str]]:
    """(dataset, table) pairs of data tables; dlt's own tables and staging datasets left out."""
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' ORDER BY table_schema, table_name"
    ).fetchall()
    loaded = {s for s, t in rows if t == "_dlt_loads"}  # datasets dlt loaded (not its staging copies)
    return [(s, t) for s, t in rows
            if s not in _SYSTEM_SCHEMAS and (s in loaded or not loaded) and not t.startswith("_dlt")
            and (dataset is None or s == dataset)]


def _columns(con: Any, dataset: str, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position", [dataset, table]).fetchall()
    return [r[0] for r in rows]


def _loads(con: Any, dataset: str) -> dict[str, tuple[Any, int]]:
    import duckdb

    try:
        rows = con.execute(f'SELECT load_id, inserted_at, status FROM "{dataset}"._dlt_loads').fetchall()
    except duckdb.Error:  # no _dlt_loads: not a dataset dlt loaded
        return {}
    return {str(load_id): (inserted, status) for load_id, inserted, status in rows}


def print_tables(con: Any, where: Where, console: Console) -> None:
    found = tables(con, where.dataset)
    if not found:
        console.print(f"{where.database}: no tables yet")
        return
    table = Table(title=f"{where.database}", title_justify="left")
    for name, justify in (("dataset", "left"), ("table", "left"), ("rows", "right"), ("last load", "left")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    loads: dict[str, dict[str, tuple[Any, int]]] = {}
    for dataset, name in found:
        loads.setdefault(dataset, _loads(con, dataset))
        count = con.execute(f'SELECT COUNT(*) FROM "{dataset}"."{name}"').fetchone()[0]
        table.add_row(dataset, name, f"{count:,}", _last_load(con, dataset, name, loads[dataset]))
    console.print(table)
    console.print("[dim]`sluice show TABLE` prints a few rows; any DuckDB client opens the file for SQL[/]", highlight=False)


def _last_load(con: Any, dataset: str, name: str, loads: dict[str, tuple[Any, int]]) -> str:
    if "_dlt_load_id" not in _columns(con, dataset, name):
        return "[dim](nested: loaded with its parent)[/]"
    load_id = con.execute(f'SELECT MAX(_dlt_load_id) FROM "{dataset}"."{name}"').fetchone()[0]
    if load_id is None:
        return ""
    inserted, status = loads.get(str(load_id), (None, 0))
    when = inserted.strftime("%Y-%m-%d %H:%M:%S") if hasattr(inserted, "strftime") else "?"
    return f"{when} (load {load_id}{', status ' + str(status) if status not in (0, None) else ''})"


def print_rows(con: Any, where: Where, name: str, limit: int, console: Console) -> None:
    """A few rows: as a table when the columns fit the screen, else one block per row."""
    dataset, table_name = _resolve(con, where, name)
    columns = [c for c in _columns(con, dataset, table_name) if not c.startswith("_dlt_")]
    total = con.execute(f'SELECT COUNT(*) FROM "{dataset}"."{table_name}"').fetchone()[0]
    quoted = ", ".join(f'"{c}"' for c in columns)
    rows = con.execute(f'SELECT {quoted} FROM "{dataset}"."{table_name}" LIMIT {int(limit)}').fetchall()
    title = f"{dataset}.{table_name}: {len(rows)} of {total:,} rows"
    widths = [max([len(c), *(min(len(str(r[i])), 40) for r in rows)]) + 3 for i, c in enumerate(columns)]
    if sum(widths) <= console.width:
        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="ellipsis", max_width=40)
        for row in rows:
            table.add_row(*(_value(v) for v in row))
        console.print(table)
        return
    console.print(f"[bold]{escape(title)}[/] [dim]({len(columns)} columns: one block per row)[/]", highlight=False)
    for n, row in enumerate(rows, 1):
        block = Table(title=f"row {n}", title_justify="left", show_header=False, box=None, padding=(0, 2, 0, 2))
        block.add_column(style="cyan", no_wrap=True)
        block.add_column(overflow="ellipsis", no_wrap=True)
        for column, value in zip(columns, row):
            block.add_row(column, _value(value))
        console.print(block)


def _value(value: Any) -> str:
    return "[dim]null[/]" if value is None else escape(str(value))


def _resolve(con: Any, where: Where, name: str) -> tuple[str, str]:
    dataset, _, table_name = name.rpartition(".")
    found = [(s, t) for s, t in tables(con, dataset or where.dataset) if t == table_name]
    if len(found) == 1:
        return found[0]
    known = list(dict.fromkeys(t for _, t in tables(con, where.dataset)))
    if not found:
        from .config.reader import suggest

        hint = suggest(table_name, known) or f"tables: {', '.join(known[:12])}" + (", ..." if len(known) > 12 else "")
        raise ConfigError([Issue("TABLE", f"no table {name!r} in {where.database}", hint)])
    raise ConfigError([Issue("TABLE", f"{name!r} is in several datasets", "write it as DATASET.TABLE: "
                             + ", ".join(f"{s}.{t}" for s, t in found))])
