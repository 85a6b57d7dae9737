"""The run summary: a table per resource, as text for people and JSON for schedulers."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from .runner import RunResult


def summary_dict(result: RunResult) -> dict[str, Any]:
    data = result.stats.as_dict()
    data["seconds"] = round(result.seconds, 3)
    data["rows"] = result.rows
    for name, resource in data["resources"].items():
        resource["rows"] = result.rows_of(name)
    return data


def print_summary(result: RunResult, console: Console, title: str = "sluice run") -> None:
    table = Table(title=f"{title}: {result.stats.requests} requests, {result.stats.retries} retries, "
                        f"{sum(result.rows.values())} rows in {result.seconds:.2f}s")
    for column, justify in (("resource", "left"), ("table", "left"), ("rows", "right"), ("requests", "right"),
                            ("retries", "right"), ("skipped", "right"), ("time s", "right"), ("rows/s", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for name, stats in result.stats.resources.items():
        tables = result.rows_of(name) or {"-": 0}
        for i, (table_name, rows) in enumerate(sorted(tables.items())):
            first = i == 0
            rate = f"{stats.records / stats.seconds:,.0f}" if first and stats.seconds > 0 else ""
            table.add_row(name if first else "", table_name, f"{rows:,}",
                          str(stats.requests) if first else "", str(stats.retries) if first else "",
                          str(stats.skipped_children) if first else "",
                          f"{stats.seconds:.2f}" if first else "", rate)
    console.print(table)
    if result.stats.rate_limit_wait:
        console.print(f"waited {result.stats.rate_limit_wait:.2f}s for rate limits")


def write_summary_json(result: RunResult, path: str) -> None:
    with open(path, "w") as handle:
        json.dump(summary_dict(result), handle, indent=2)
