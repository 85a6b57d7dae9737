"""The run summary: a table per resource, as text for people and JSON for schedulers.

For every table it shows the rows this run loaded and the rows now in the destination:
with `merge`, a rerun loads rows that replace existing ones, so the two differ.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .runner import RunResult

log = logging.getLogger("sluice")


def destination_counts(result: RunResult) -> dict[str, int]:
    """Rows now in each loaded table; {} when the destination cannot be queried."""
    tables = sorted(result.rows)
    if not tables or result.pipeline is None:
        return {}
    try:
        with result.pipeline.sql_client() as client:
            return {t: int(client.execute_sql(f"SELECT COUNT(*) FROM {client.make_qualified_table_name(t)}")[0][0])
                    for t in tables}
    except Exception as exc:  # noqa: BLE001 - a destination without SQL: the summary still shows this run's rows
        log.debug("cannot count rows in the destination: %s", exc)
        return {}


def dispositions(result: RunResult) -> dict[str, str]:
    """Write disposition per loaded table (nested tables take their root's)."""
    try:
        from dlt.common.schema.utils import get_write_disposition

        tables = result.pipeline.default_schema.tables
        return {t: str(get_write_disposition(tables, t)) for t in result.rows if t in tables}
    except (AttributeError, KeyError):  # no pipeline, or a table without hints
        return {}


def step_seconds(result: RunResult) -> dict[str, float]:
    """Seconds dlt spent in extract, normalize and load."""
    try:
        steps = result.pipeline.last_trace.steps
        return {s.step: round((s.finished_at - s.started_at).total_seconds(), 3) for s in steps if s.step != "run"}
    except (AttributeError, TypeError):  # no pipeline or no trace, a step not finished
        return {}


def summary_dict(result: RunResult, in_destination: dict[str, int] | None = None) -> dict[str, Any]:
    counts = destination_counts(result) if in_destination is None else in_destination
    data = {"status": "ok"} | result.stats.as_dict()
    data["seconds"] = round(result.seconds, 3)
    data["steps"] = step_seconds(result)
    data["pipeline"] = getattr(result.pipeline, "pipeline_name", None)
    data["dataset"] = getattr(result.pipeline, "dataset_name", None)
    data["rows"] = result.rows
    data["rows_in_destination"] = counts
    data["skipped_children"] = sum(r.skipped_children for r in result.stats.resources.values())
    for name, resource in data["resources"].items():
        resource["rows"] = result.rows_of(name)
        resource["rows_in_destination"] = {t: counts[t] for t in resource["rows"] if t in counts}
    return data


def print_summary(result: RunResult, console: Console, title: str = "sluice run") -> dict[str, int]:
    """Print the summary table; returns the destination row counts it queried."""
    counts = destination_counts(result)
    table = _table(result, counts, title)
    console.print(table)
    steps = step_seconds(result)
    if steps:
        console.print("  dlt: " + ", ".join(f"{step} {s:.2f}s" for step, s in steps.items())
                      + "; loaded = rows this run, in table = rows in the destination now", style="dim", highlight=False)
    wait = result.stats.rate_limit_wait  # wall time: resources waiting at once count once
    if wait >= 0.05:
        console.print(f"  requests waited {wait:.2f}s in all for the API's rate limit", style="yellow", highlight=False)
    for warning in result.stats.warnings:
        console.print(f"  {escape(warning)}: check the data_selector", style="yellow", highlight=False)
    skipped = sum(r.skipped_children for r in result.stats.resources.values())
    if skipped:
        console.print(f"  {skipped} child requests answered 404 after retries: those parents have no rows there",
                      style="yellow", highlight=False)
    return counts


def _table(result: RunResult, counts: dict[str, int], title: str) -> Table:
    """One block per resource: its table with the resource's numbers, then its nested tables."""
    stats = result.stats
    total = sum(result.rows.values())
    n_tables = f"{len(result.rows)} table{'s' if len(result.rows) != 1 else ''}"
    table = Table(title=f"{title}: {total:,} rows in {n_tables}, {stats.requests:,} requests, "
                        f"{stats.retries:,} retries, {result.seconds:.2f}s", title_justify="left",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    table.add_column("table", overflow="fold")  # full names: folded, never cut, when the screen is narrow
    table.add_column("write", no_wrap=True)
    for column in ("loaded", "in table", "requests", "retries", "skipped", "seconds", "rec/s"):
        table.add_column(column, justify="right", no_wrap=True)
    modes = dispositions(result)
    for name, resource in stats.resources.items():
        tables = sorted(result.rows_of(name).items(), key=lambda t: (t[0] != name, t[0]))
        if not tables:
            label = "(no rows)" if resource.records == 0 else "(not loaded: feeds its children)"
            label = "(interrupted: not loaded)" if result.interrupted else label
            table.add_row(f"[bold]{escape(name)}[/] [dim]{label}[/]", "", "", "", *_numbers(resource))
            continue
        for i, (table_name, rows) in enumerate(tables):
            in_table = f"{counts[table_name]:,}" if table_name in counts else "?"
            if i == 0:
                label = f"[bold]{escape(table_name)}[/]" + (f" [dim]<- {escape(name)}[/]" if table_name != name else "")
                table.add_row(label, modes.get(table_name, ""), f"{rows:,}", in_table, *_numbers(resource))
            else:
                table.add_row(f"[dim]  {escape(table_name)}[/]", "", f"{rows:,}", in_table)
    return table


def _numbers(resource: Any) -> list[str]:
    rate = f"{resource.records / resource.seconds:,.0f}" if resource.seconds > 0 else ""
    return [f"{resource.requests:,}", _flag(resource.retries), _flag(resource.skipped_children),
            f"{resource.seconds:.2f}", rate]


def _flag(count: int) -> str:
    return f"[yellow]{count:,}[/]" if count else "0"


def write_summary_json(result: RunResult, path: str, in_destination: dict[str, int] | None = None,
                       status: dict[str, Any] | None = None) -> dict[str, Any]:
    data = summary_dict(result, in_destination) | (status or {})
    with open(path, "w") as handle:
        json.dump(data, handle, indent=2)
    return data
