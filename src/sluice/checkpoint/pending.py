"""A killed run's pending package, made safe for dlt to load again.

dlt's load runs a job in three steps: the job file moves to `started_jobs`, the destination
commits its rows, then dlt writes the job's pending-transition marker. On the next run a
started job with a marker counts as done and one without is run again. A run killed between
the commit and the marker so loads that job's rows twice (append; the insert of
truncate-and-insert replace too).

Every row of a job file carries its row key (`_dlt_id`, random per row), so before dlt runs
such a job again the rows it may have committed are deleted by those keys: the destination
reads the job's file into a scratch table with its own load job (so every file format it
loads is read as it loads it), and the rows of the target table with those keys go. A job
that had not committed has no rows to delete. SQL destinations only: the filesystem
destination writes a job to a file named after its load id and file id, so its rerun
overwrites that same file.
"""

from __future__ import annotations

import logging
import os
import shutil
from contextlib import nullcontext
from pathlib import Path
from threading import BoundedSemaphore
from typing import Any

log = logging.getLogger("sluice")
SCRATCH = "_sluice_undo"
_DATA_FORMATS = {"parquet", "jsonl", "typed-jsonl", "csv", "insert_values"}  # not .sql followups, not references


def prepare(pipeline: Any) -> None:
    """Before dlt loads `pipeline`'s pending packages: leftovers of a killed normalize are
    dropped, and jobs that may have committed without dlt knowing are undone."""
    from dlt.destinations.job_client_impl import SqlJobClientBase

    _drop_normalized_leftovers(pipeline)
    packages = _normalized(pipeline)
    for load_id in pipeline.list_normalized_load_packages():
        uncertain = _uncertain_jobs(packages, load_id)
        if not uncertain:
            continue
        client = pipeline.destination_client(packages.load_schema(load_id).name)
        if isinstance(client, SqlJobClientBase):
            for file_path in uncertain:
                _undo(client, load_id, file_path)


def _drop_normalized_leftovers(pipeline: Any) -> None:
    """dlt's normalize renames its output into load/normalized, then deletes the extracted
    package: killed between the two, the package is in both, and normalizing it again fails
    (OSError: directory not empty). The normalized copy is complete (a rename): drop the other."""
    for load_id in set(pipeline.list_extracted_load_packages()) & set(pipeline.list_normalized_load_packages()):
        shutil.rmtree(Path(pipeline.working_dir) / "normalize" / "extracted" / load_id, ignore_errors=True)


def _normalized(pipeline: Any) -> Any:
    from dlt.common.storages import FileStorage, LoadStorage, PackageStorage

    root = os.path.join(pipeline.working_dir, "load", LoadStorage.NORMALIZED_FOLDER)
    return PackageStorage(FileStorage(root), "normalized")


def _uncertain_jobs(packages: Any, load_id: str) -> list[str]:
    """Full paths of the data jobs dlt started in `load_id` and will run again (no marker)."""
    from dlt.common.storages import ParsedLoadJobFileName

    uncertain = []
    for path in packages.list_started_jobs(load_id):
        name = os.path.basename(path)
        if ParsedLoadJobFileName.parse(name).file_format in _DATA_FORMATS and packages.load_pending_transition(load_id, name) is None:
            uncertain.append(packages.storage.make_full_path(path))
    return uncertain


def _undo(client: Any, load_id: str, file_path: str) -> None:
    """Deletes from the job's table (in the dataset dlt loads it into) the rows of its file."""
    from dlt.common.destination.client import WithStagingDataset
    from dlt.common.schema.utils import get_first_column_name_with_prop
    from dlt.common.storages import ParsedLoadJobFileName

    table = client.prepare_load_table(ParsedLoadJobFileName.parse(file_path).table_name)
    key = get_first_column_name_with_prop(table, "row_key")
    if key is None:
        log.warning("table '%s' has no row key: a job run again after a kill may load its rows twice", table["name"])
        return
    staging = isinstance(client, WithStagingDataset) and client.should_load_data_to_staging_dataset(table["name"])
    with client.with_staging_dataset() if staging else nullcontext():
        _load_scratch(client, load_id, file_path, table)
        with client:
            sql = client.sql_client
            target, scratch, column = sql.make_qualified_table_name(table["name"]), _scratch(sql), sql.escape_column_name(key)
            sql.execute_sql(f"DELETE FROM {target} WHERE {column} IN (SELECT {column} FROM {scratch})")
            sql.execute_sql(f"DROP TABLE {scratch}")


def _load_scratch(client: Any, load_id: str, file_path: str, table: Any) -> None:
    """The job's file, loaded by the destination's own job into an empty copy of its table."""
    with client:
        sql = client.sql_client
        sql.execute_sql(f"DROP TABLE IF EXISTS {_scratch(sql)}")  # left by a run killed here
        sql.execute_sql(f"CREATE TABLE {_scratch(sql)} AS SELECT * FROM {sql.make_qualified_table_name(table['name'])} WHERE 1 = 0")
    scratch_table = {**table, "name": SCRATCH}
    job = client.create_load_job(scratch_table, file_path, load_id)
    job.set_run_vars(load_id, client.schema, scratch_table)
    job.run_managed(client, BoundedSemaphore(1))  # opens and closes the client's connection itself
    if job.state() != "completed":
        raise RuntimeError(f"could not read back the rows of {os.path.basename(file_path)}: {job.exception()}")


def _scratch(sql: Any) -> str:
    return str(sql.make_qualified_table_name(SCRATCH))
