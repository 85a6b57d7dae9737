"""Destinations for the differential tests: a PostgreSQL server on 127.0.0.1, and one reader
per destination (DuckDB, PostgreSQL, the filesystem destination's parquet and jsonl files)
that gives back what landed: tables, column types, rows, file formats.

PostgreSQL comes from `SLUICE_TEST_PG_DSN` (`.ci/run` starts Debian's cluster and sets it).
Without it, `postgres_server()` starts a private server from the installed binaries in a
temporary directory; when that cannot be done the PostgreSQL tests skip, and say why.
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import duckdb

DSN_VARIABLE = "SLUICE_TEST_PG_DSN"
# columns whose values are random per run: rows are compared without them
RANDOM_COLUMNS = {"_dlt_id", "_dlt_load_id", "_dlt_parent_id", "_dlt_root_id"}


@dataclass
class Landed:
    """What one pipeline left in its destination, data tables only."""

    types: dict[str, dict[str, str]]  # table -> column -> the destination's type
    rows: dict[str, list[dict[str, Any]]]  # table -> rows as the destination returns them
    formats: dict[str, set[str]]  # table -> file extensions (filesystem only)


# -- PostgreSQL ---------------------------------------------------------------------------

class PostgresUnavailable(Exception):
    pass


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A DSN: the one CI exported, or a private server started here and stopped afterwards."""
    dsn = os.environ.get(DSN_VARIABLE)
    if dsn:
        yield dsn
        return
    with _private_server() as dsn:
        yield dsn


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise PostgresUnavailable("no PostgreSQL binaries (initdb): apt-get install postgresql, or set " + DSN_VARIABLE)
    return Path(initdb).resolve().parent


def _as_owner(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: the `postgres` OS user owns the server then
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str]) -> None:
    done = subprocess.run(_as_owner(command), capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise PostgresUnavailable(f"{' '.join(command[:2])} failed: {(done.stderr or done.stdout).strip()[-500:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _private_server() -> Iterator[str]:
    bin_dir = _binaries()
    home = Path(tempfile.mkdtemp(prefix="sluice-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    data, port = home / "data", _free_port()
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {home} -c fsync=off"
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "-t", "30", "start"])
        try:
            yield f"postgresql://postgres:trust@127.0.0.1:{port}/postgres"  # dlt wants a password; trust ignores it
        finally:
            _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(home, ignore_errors=True)


def postgres_connect(dsn: str) -> Any:
    import psycopg2

    return psycopg2.connect(dsn, connect_timeout=10)


def drop_schemas(dsn: str, *schemas: str) -> None:
    with contextlib.closing(postgres_connect(dsn)) as con, con.cursor() as cur:
        con.autocommit = True
        for schema in schemas:
            cur.execute(f'drop schema if exists "{schema}" cascade')


# -- what landed --------------------------------------------------------------------------

def data_tables(pipeline: dlt.Pipeline) -> list[str]:
    return sorted(t["name"] for t in pipeline.default_schema.data_tables())


def landed_in_duckdb(pipeline: dlt.Pipeline, file: Path) -> Landed:
    with duckdb.connect(str(file), read_only=True) as con:
        return _landed_sql(pipeline, con.execute, "?")


def landed_in_postgres(pipeline: dlt.Pipeline, dsn: str) -> Landed:
    with contextlib.closing(postgres_connect(dsn)) as con, con.cursor() as cur:
        def execute(sql: str, params: list[Any] | None = None) -> Any:
            cur.execute(sql, params)
            return cur

        return _landed_sql(pipeline, execute, "%s")


def _landed_sql(pipeline: dlt.Pipeline, execute: Any, mark: str) -> Landed:
    dataset, types, rows = pipeline.dataset_name, {}, {}
    for table in data_tables(pipeline):
        found = execute("select column_name, data_type from information_schema.columns "
                        f"where table_schema = {mark} and table_name = {mark}", [dataset, table]).fetchall()
        types[table] = dict(sorted(found))
        cursor = execute(f'select * from "{dataset}"."{table}"')
        names = [d[0] for d in cursor.description]
        rows[table] = [dict(zip(names, row)) for row in cursor.fetchall()]
    return Landed(types, rows, {})


def landed_in_files(pipeline: dlt.Pipeline, bucket: Path) -> Landed:
    """Every data file of every table, read back: parquet with pyarrow, jsonl line by line."""
    types, rows, formats = {}, {}, {}
    for table in data_tables(pipeline):
        files = sorted(p for p in (bucket / pipeline.dataset_name / table).rglob("*") if p.is_file())
        formats[table] = {_extension(p) for p in files}
        rows[table], types[table] = [], {}
        for path in files:
            rows[table] += _read_file(path, types[table])
    return Landed(types, rows, formats)


def _extension(path: Path) -> str:
    return "parquet" if path.suffix == ".parquet" else "jsonl" if ".jsonl" in path.suffixes else path.name


def _read_file(path: Path, types: dict[str, str]) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        types.update({f.name: str(f.type) for f in table.schema})
        return list(table.to_pylist())
    raw = path.read_bytes()
    text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    return [json.loads(line) for line in text.decode().splitlines() if line.strip()]


# -- comparable forms ---------------------------------------------------------------------

def schema_columns(pipeline: dlt.Pipeline) -> dict[str, dict[str, tuple[Any, ...]]]:
    """dlt's schema of every data table: (data_type, nullable, primary_key, precision, scale) per column."""
    out = {}
    for table in pipeline.default_schema.data_tables():
        out[table["name"]] = {
            name: (col.get("data_type"), col.get("nullable", True), col.get("primary_key"), col.get("precision"), col.get("scale"))
            for name, col in table["columns"].items()
        }
    return out


def content(landed: Landed, pipeline: dlt.Pipeline) -> dict[str, list[str]]:
    """Rows without their random ids, as sorted canonical strings (values compared as values);
    a nested row carries its parent's row in place of `_dlt_parent_id`, so links are compared too."""
    parents = {t["name"]: t.get("parent") for t in pipeline.default_schema.data_tables()}
    by_id = {table: {row.get("_dlt_id"): row for row in rows} for table, rows in landed.rows.items()}

    def canonical(table: str, row: dict[str, Any]) -> str:
        kept = {k: v for k, v in row.items() if k not in RANDOM_COLUMNS}
        parent = parents.get(table)
        if parent is not None:
            kept["^parent"] = canonical(parent, by_id[parent][row["_dlt_parent_id"]])
        return json.dumps(kept, sort_keys=True, default=repr, ensure_ascii=False)

    return {table: sorted(canonical(table, row) for row in rows) for table, rows in landed.rows.items()}
