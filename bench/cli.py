"""`python -m bench [--cases flat,fanout,cursor,seeds,scale,ceiling] [--repeat N] [--quick] [--out FILE.md]`"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import airbyte
from .cases import CONCURRENCY, FULL, QUICK, Case, Sizes, build_cases
from .harness import CaseRunner, Options, Run
from .report import ENGINE_LABEL, errors, mismatches, phases, refusals, rows_of, table

GROUPS = ("flat", "fanout", "cursor", "seeds", "scale", "ceiling")
SCALE_RSS_LIMIT = 1.3


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--cases", default=",".join(GROUPS),
                        help="comma-separated groups: flat, fanout, cursor, seeds, scale, ceiling (the floor rows)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of sluice and the floor per case (default 3)")
    parser.add_argument("--dlt-repeat", type=int, default=1,
                        help="runs of tuned dlt per case (default 1: it takes 10-40 s a run)")
    parser.add_argument("--reduced", type=float, default=0.1,
                        help="dlt with its defaults runs on this fraction of the data (default 0.1); 0 skips it")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one run each, the first case of each group, no reduced dlt (the smoke test)")
    parser.add_argument("--out", type=Path, help="also write the report to this markdown file")
    parser.add_argument("--with-airbyte", action="store_true", help="add Airbyte's declarative CDK (if installed)")
    parser.add_argument("--airbyte-bin", help="path of source-declarative-manifest")
    parser.add_argument("--install-airbyte", action="store_true", help=f"pip install airbyte-cdk into {airbyte.VENV}")
    parser.add_argument("--keep", action="store_true", help="keep each run's DuckDB file and pipeline folder")
    args = parser.parse_args(argv)
    args.groups = [g.strip() for g in args.cases.split(",") if g.strip()]
    unknown = sorted(set(args.groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown case group(s) {unknown}; choose from {', '.join(GROUPS)}")
    if args.quick:
        args.repeat, args.dlt_repeat, args.reduced = min(args.repeat, 1), min(args.dlt_repeat, 1), 0.0
    return args


def size_label(case: Case) -> str:
    counts = case.counts
    if case.group == "fanout":
        return f"{counts['parents']:,}x{counts['children']}"
    if case.group == "seeds":
        return ", ".join(f"{k} {v:,}" for k, v in counts.items())
    return f"{next(iter(counts.values())):,}"


def plan(args: argparse.Namespace, sizes: Sizes) -> list[tuple[Case, list[tuple[str, int]]]]:
    groups = build_cases(sizes)
    ceiling = "ceiling" in args.groups
    work: list[tuple[Case, list[tuple[str, int]]]] = []
    for group in args.groups:
        for case in groups.get(group, [])[: 1 if args.quick else None]:
            schedule = [(e, args.dlt_repeat if e == "dlt-tuned" else args.repeat if group != "scale" else 1)
                        for e in case.engines]
            if ceiling and case.floor is not None:
                schedule.append(("floor", args.repeat))
            if args.airbyte_bin and case.airbyte is not None:
                schedule.append(("airbyte", 1))
            work.append((case, schedule))
            if case.reduced and args.reduced > 0:
                work.append((case.scaled(args.reduced), [("dlt", 1), ("sluice", 1)]))
    if "scale" in args.groups and "flat" not in args.groups:  # the reference the scale check needs
        base = groups["flat"][0]
        work.insert(0, (base, [("sluice", 1)]))
    return work


def notes(args: argparse.Namespace, runs: list[Run], sizes: Sizes) -> list[str]:
    rows = rows_of(runs)
    out = [
        (f"Machine: {platform.machine()}, Python {platform.python_version()}; wall = building the source to the end of "
         "the load in a fresh process (imports excluded; per-phase and whole-process times below); CPU = user + system "
         "over the same span; RSS = the process's peak. records/s counts root-table rows; rows include child tables."),
        (f"Runs per engine: sluice and the floor {args.repeat}, tuned dlt {args.dlt_repeat}, alternating A B A B against "
         f"one mock process per data set (pages warmed once before timing); Airbyte 1 when enabled. Concurrency "
         f"{CONCURRENCY} for sluice (its default), the floor's paged fetches and Airbyte."),
    ]
    for row in rows:
        if row.engine != "dlt" or not row.wall or args.reduced <= 0:
            continue
        full = next((r for r in rows if r.case == row.case and r.engine == "sluice" and r.size != row.size), None)
        est = row.wall / args.reduced
        ratio = f", {est / full.wall:.0f}x sluice's full-size run" if full and full.wall else ""
        out.append(f"EXTRAPOLATED: {row.case}: dlt with its defaults ran on {row.size} records only "
                   f"({args.reduced:g} of the case) in {row.wall:.2f} s; linearly that is ~{est:.0f} s at full size{ratio}.")
    out += _politeness(runs)
    out += _scale(runs, sizes)
    found = mismatches(rows)
    checked = ("Tables checked equal to sluice's (names, rows, columns; root-table rows for the floor and Airbyte) "
               "in every run.")
    out += [f"**MISMATCH** {m}" for m in found] or [checked]
    out += refusals(rows)
    out += [f"**ERROR** {e}" for e in errors(rows)]
    return out


def _politeness(runs: list[Run]) -> list[str]:
    out = []
    sluice = [r for r in runs if r.engine == "sluice" and not r.error]
    over = [r for r in sluice if r.mock.get("max_in_flight", 0) > CONCURRENCY]
    peak = max((r.mock.get("max_in_flight", 0) for r in sluice), default=0)
    out.append(f"sluice's requests in flight peaked at {peak} (limit {CONCURRENCY})"
               + (f": **EXCEEDED** in {len(over)} runs" if over else "."))
    for run in runs:
        if run.case.startswith("seed ") and run.engine == "sluice" and not run.error:
            throttled = run.mock.get("statuses", {}).get("429", 0)
            out.append(f"{run.case}: busiest second {run.mock.get('busiest_second')} requests "
                       f"({run.mock.get('requests')} in {run.wall:.1f} s), 429 answers {throttled}")
    return out[:1] + sorted(set(out[1:]))


def _scale(runs: list[Run], sizes: Sizes) -> list[str]:
    big = [r.rss_mb for r in runs if r.case.startswith("scale") and r.engine == "sluice" and not r.error]
    base = [r.rss_mb for r in runs if r.case.startswith("flat 0ms") and r.size == f"{sizes.flat:,}"
            and r.engine == "sluice" and not r.error]
    if not big or not base:
        return []
    ratio = max(big) / statistics.median(base)
    verdict = "ok" if ratio <= SCALE_RSS_LIMIT else "**FAILED**"
    return [(f"Scale: sluice's peak RSS {max(big):.0f} MB at {sizes.scale:,} records vs {statistics.median(base):.0f} MB "
             f"at {sizes.flat:,}: {ratio:.2f}x (limit {SCALE_RSS_LIMIT}x): {verdict}.")]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.install_airbyte:
        print(f"installed {airbyte.install()}", file=sys.stderr)
    if args.with_airbyte or args.airbyte_bin:
        args.airbyte_bin = airbyte.find_executable(args.airbyte_bin)
        if not args.airbyte_bin:
            print("airbyte-cdk not found: skipping Airbyte (python -m bench --install-airbyte)", file=sys.stderr)
    sizes = QUICK if args.quick else FULL
    options = Options(repeat=args.repeat, dlt_repeat=args.dlt_repeat, airbyte_bin=args.airbyte_bin, keep=args.keep)
    started = time.monotonic()
    runs: list[Run] = []
    for case, schedule in plan(args, sizes):
        size = size_label(case)
        print(f"{case.name} [{size}]: {', '.join(f'{ENGINE_LABEL[e]} x{n}' for e, n in schedule)}", file=sys.stderr)
        runs += CaseRunner(case, size, options).run(schedule)
    report = _report(args, runs, sizes, time.monotonic() - started)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
    return 1 if any("MISMATCH" in line or "ERROR" in line for line in report.splitlines() if line.startswith("- **")) else 0


def _report(args: argparse.Namespace, runs: list[Run], sizes: Sizes, seconds: float) -> str:
    rows = rows_of(runs)
    command = "python -m bench " + " ".join(sys.argv[1:])
    parts = [f"## sluice benchmark ({'quick' if args.quick else 'full'}; {seconds:.0f} s)", "", f"`{command.strip()}`", "",
             table(rows), "", *[f"- {n}" for n in notes(args, runs, sizes)], "", "Phases (median s):", "",
             *[f"- {p}" for p in phases(rows)]]
    return "\n".join(parts)
