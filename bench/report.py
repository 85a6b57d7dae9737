"""Aggregating runs into the markdown table, and the checks printed beneath it."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .cases import AB_PREFIX
from .harness import Run

ENGINE_ORDER = ("dlt", "dlt-tuned", "airbyte", "sluice", "floor")
ENGINE_LABEL = {
    "dlt": "dlt (defaults)",
    "dlt-tuned": "dlt tuned (parquet + parallelized)",
    "airbyte": "airbyte declarative (extract only)",
    "sluice": "sluice",
    "floor": "floor (aiohttp+orjson+duckdb)",
}
COLUMNS = ("case", "size", "engine", "runs", "wall s (median)", "records/s", "peak RSS MB", "CPU s", "requests",
           "rows", "wall / sluice", "sluice / floor")


@dataclass
class Row:
    case: str
    size: str
    engine: str
    runs: list[Run]

    @property
    def ok(self) -> list[Run]:
        return [r for r in self.runs if not r.error]

    @property
    def wall(self) -> float | None:
        return statistics.median(r.wall for r in self.ok) if self.ok else None

    @property
    def cpu(self) -> float | None:
        return statistics.median(r.cpu for r in self.ok) if self.ok else None

    @property
    def rss(self) -> float | None:
        return max(r.rss_mb for r in self.ok) if self.ok else None

    @property
    def records(self) -> int:
        return self.ok[-1].records if self.ok else 0

    @property
    def rows(self) -> int:
        return self.ok[-1].rows if self.ok else 0

    def requests(self) -> str:
        counts = sorted({r.mock.get("requests", 0) for r in self.ok})
        return "" if not counts else str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


def rows_of(runs: Iterable[Run]) -> list[Row]:
    grouped: dict[tuple[str, str, str], list[Run]] = {}
    for run in runs:
        grouped.setdefault((run.case, run.size, run.engine), []).append(run)
    return [Row(case, size, engine, found) for (case, size, engine), found in grouped.items()]


def _find(rows: list[Row], case: str, size: str, engine: str) -> Row | None:
    return next((r for r in rows if (r.case, r.size, r.engine) == (case, size, engine)), None)


def _num(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _ratio(top: float | None, bottom: float | None) -> str:
    return "" if not top or not bottom else f"{top / bottom:.1f}x"


def _runs(row: Row) -> str:
    failed = len(row.runs) - len(row.ok)
    if not failed:
        return str(len(row.ok))
    return "cannot run" if all(cannot_run(r) for r in row.runs) else f"{len(row.ok)} ({failed} failed)"


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        sluice = _find(rows, row.case, row.size, "sluice")
        floor = _find(rows, row.case, row.size, "floor")
        wall = row.wall
        cells = [
            row.case, row.size, ENGINE_LABEL.get(row.engine, row.engine),
            _runs(row),
            _num(wall), f"{row.records / wall:,.0f}" if wall else "", _num(row.rss, 0), _num(row.cpu),
            row.requests(), f"{row.rows:,}",
            _ratio(wall, sluice.wall) if sluice and row.engine != "sluice" and row.engine != "floor" else "",
            _ratio(wall, floor.wall) if floor and row.engine == "sluice" else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _tables_differ(ours: dict[str, Any], theirs: dict[str, Any], roots_only: bool) -> list[str]:
    problems = []
    names = [n for n in theirs if "__" not in n] if roots_only else sorted(set(ours) | set(theirs))
    for name in names:
        a, b = ours.get(name), theirs.get(name)
        if a is None or b is None:
            problems.append(f"table {name!r} only in {'theirs' if a is None else 'sluice'}")
        elif a["rows"] != b["rows"]:
            problems.append(f"table {name!r}: sluice {a['rows']:,} rows, theirs {b['rows']:,}")
        elif not roots_only and sorted(a["columns"]) != sorted(b["columns"]):
            only_a = sorted(set(a["columns"]) - set(b["columns"]))
            only_b = sorted(set(b["columns"]) - set(a["columns"]))
            problems.append(f"table {name!r}: columns only in sluice {only_a}, only in theirs {only_b}")
    return problems


def mismatches(rows: list[Row]) -> list[str]:
    """Every difference between sluice's tables and another engine's, table by table."""
    found = []
    for row in rows:
        sluice = _find(rows, row.case, row.size, "sluice")
        if not row.ok or not sluice or not sluice.ok:
            continue
        reference = sluice.ok[0].tables
        for run in row.ok:
            if row.engine == "sluice" and run is sluice.ok[0]:
                continue
            roots_only = row.engine in ("floor", "airbyte")
            for problem in _tables_differ(reference, run.tables, roots_only):
                found.append(f"{row.case} ({row.size}) {row.engine}: {problem}")
    return sorted(set(found))


def cannot_run(run: Run) -> bool:
    """dlt refusing a configuration it does not understand (a sluice extension): a finding, not a failure."""
    return run.engine.startswith("dlt") and bool(run.error) and "DictValidationException" in (run.error or "")


def errors(rows: list[Row]) -> list[str]:
    return sorted({f"{r.case} ({r.size}) {r.engine}: {run.error}" for r in rows for run in r.runs
                   if run.error and not cannot_run(run)})


def refusals(rows: list[Row]) -> list[str]:
    return sorted({f"{r.case}: dlt's rest_api_source cannot run this configuration: {run.error}"
                   for r in rows for run in r.runs if cannot_run(run)})


def phases(rows: list[Row]) -> list[str]:
    """Median seconds per phase (dlt's extract/normalize/load; the floor's fetch/insert)."""
    lines = []
    for row in rows:
        keys = sorted({k for run in row.ok for k in run.phases})
        if keys:
            parts = ", ".join(f"{k} {statistics.median(run.phases.get(k, 0.0) for run in row.ok):.2f}" for k in keys)
            lines.append(f"{row.case} ({row.size}) {row.engine}: {parts}; process incl. imports "
                         f"{statistics.median(run.process_wall for run in row.ok):.2f} s")
    return lines


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _goals(case: str) -> tuple[tuple[str, float], ...]:
    if case.startswith("small"):  # issue 13: small runs cost less than dlt's, whatever the setting
        return ("dlt", 1.0), ("dlt-tuned", 1.0)
    if case.startswith(AB_PREFIX):  # issue 13 section 4: dlt's defaults on the same data
        return (("dlt", 10),)
    return ("dlt", 15 if case.startswith("fan-out") else 10), ("dlt-tuned", 3)


def floor_goal(case: str) -> float:
    """Issue 13: flat records at 0 ms within 1.5x of the floor; issue 6's 2x elsewhere."""
    return 1.5 if case.startswith("flat 0ms") else 2.0


def targets(rows: list[Row], reduced: float) -> list[str]:
    """Issue 6's targets, case by case: x dlt's defaults (10x; fan-out 15x), x tuned dlt (3x), RSS, x floor (2x);
    issue 13's: small runs ahead of both dlt settings, the A/B cases 10x dlt's defaults at equal size, flat
    0 ms within 1.5x of the floor.
    dlt is judged against sluice at the size it ran at (the reduced copy unless --dlt-full)."""
    out = []
    for row in rows:
        if row.engine != "sluice" or not row.wall or row.case.startswith(("seed", "scale")):
            continue
        if any(r.case == row.case and r.engine == "sluice" and r.records > row.records for r in rows):
            continue  # the reduced copy
        parts = []
        for engine, goal in _goals(row.case):
            theirs = next((r for r in rows if r.case == row.case and r.engine == engine and r.wall), None)
            ours = theirs and _find(rows, row.case, theirs.size, "sluice")
            if theirs and ours and ours.wall and theirs.wall:
                ratio = theirs.wall / ours.wall
                at = "" if theirs.size == row.size else f" at {theirs.size}"
                guess = f", ~{theirs.wall / reduced / row.wall:.0f}x extrapolated" if at and reduced > 0 else ""
                parts.append(f"x {ENGINE_LABEL[engine]} {ratio:.1f}x{at}{guess} (target {goal}x): {_verdict(ratio >= goal)}")
        if row.rss:
            parts.append(f"peak RSS {row.rss:.0f} MB (target <= 500): {_verdict(row.rss <= 500)}")
        floor, goal = _find(rows, row.case, row.size, "floor"), floor_goal(row.case)
        if floor and floor.wall:
            ratio = row.wall / floor.wall
            parts.append(f"{ratio:.2f}x the floor (target <= {goal:g}x): {_verdict(ratio <= goal)}")
        if parts:
            out.append(f"{row.case} [{row.size}]: " + "; ".join(parts))
    return out
