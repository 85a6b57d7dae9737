"""`python -m bench [--cases flat,fanout,cursor,seeds,small,ab,manifest,scale,ceiling,ratelimit] [--repeat N] [--quick] [--out FILE.md]`"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import airbyte, ratelimit
from .cases import CONCURRENCY, FULL, QUICK, Case, Sizes, build_cases
from .harness import CaseRunner, Options, Run, Work
from .report import (
    ENGINE_LABEL,
    errors,
    mismatches,
    phases,
    refusals,
    rows_of,
    table,
    targets,
)

GROUPS = ("flat", "scale", "fanout", "cursor", "seeds", "small", "ab", "manifest", "ceiling", "ratelimit")  # the order they run in (scale needs flat's run)
DEFAULT_GROUPS = GROUPS[:-1]  # ratelimit on request: its floors alone take minutes per way of saying no
SCALE_RSS_LIMIT = 1.3


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--cases", default=",".join(DEFAULT_GROUPS),
                        help="comma-separated groups: flat, fanout, cursor, seeds, small, ab (A/B against dlt's "
                             "defaults at equal size), manifest (a seed's Airbyte manifest run by sluice and, with "
                             "--with-airbyte, by the CDK), scale, ceiling (the floor rows), ratelimit (token-bucket APIs at "
                             "5-500 req/s; not in the default, ~15 min)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of sluice and the floor per case (default 3)")
    parser.add_argument("--dlt-repeat", type=int, default=0, help="runs of tuned dlt per case (default: --repeat)")
    parser.add_argument("--budget", type=float, default=540.0,
                        help="seconds for the whole run (default 540): rounds after the first, and the scale case's "
                             "size, are cut to fit, and the report says where; 0: no limit")
    parser.add_argument("--reduced", type=float, default=0.1,
                        help="dlt runs on this fraction of the data, beside a sluice run of that size (default 0.1)")
    parser.add_argument("--dlt-full", action="store_true",
                        help="tuned dlt also runs at full size, alternating with sluice (about a minute a run here)")
    parser.add_argument("--engines", default="dlt,dlt-tuned,sluice,airbyte,floor",
                        help="comma-separated subset of: dlt (defaults, reduced size), dlt-tuned, sluice, airbyte, floor")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one run each, the first case of each group, no reduced dlt (the smoke test)")
    parser.add_argument("--out", type=Path, help="also write the report to this markdown file")
    parser.add_argument("--with-airbyte", action="store_true", help="add Airbyte's declarative CDK (if installed)")
    parser.add_argument("--airbyte-bin", help="path of source-declarative-manifest")
    parser.add_argument("--install-airbyte", action="store_true", help=f"pip install airbyte-cdk into {airbyte.VENV} and stop")
    parser.add_argument("--scale", type=int, default=0,
                        help="records of the scale case (default 1,000,000; 10000000 for issue 13's 10M check)")
    parser.add_argument("--keep", action="store_true", help="keep each run's DuckDB file and pipeline folder")
    args = parser.parse_args(argv)
    args.groups = [g.strip() for g in args.cases.split(",") if g.strip()]
    unknown = sorted(set(args.groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown case group(s) {unknown}; choose from {', '.join(GROUPS)}")
    args.engine_set = {e.strip() for e in args.engines.split(",") if e.strip()}
    if args.quick:
        args.repeat, args.dlt_repeat, args.reduced = min(args.repeat, 1), min(args.dlt_repeat, 1), 0.0
        args.dlt_full = True  # tiny sizes: tuned dlt alternates with sluice on the same data
    return args


WEIGHTS = {"flat": 1.0, "fanout": 1.0, "cursor": 0.5, "seeds": 0.25, "scale": 2.0, "small": 0.25, "ab": 1.0, "manifest": 0.25}


def plan(args: argparse.Namespace, sizes: Sizes) -> list[Work]:
    groups = {**build_cases(sizes), "manifest": airbyte.manifest_cases(sizes.seeds)}
    ceiling = "ceiling" in args.groups
    work: list[Work] = []
    for group in sorted(args.groups, key=GROUPS.index):
        for case in groups.get(group, [])[: 1 if args.quick else None]:
            engines = [e for e in case.engines if e != "dlt-tuned" or args.dlt_full or not case.reduced]
            schedule = [(e, (args.dlt_repeat or args.repeat) if e == "dlt-tuned" else args.repeat) for e in engines]
            if ceiling and case.floor is not None:
                schedule.append(("floor", args.repeat))
            if args.airbyte_bin and case.airbyte is not None:
                schedule.append(("airbyte", 1))
            schedule = [(e, 1 if group == "scale" else n) for e, n in schedule if e in args.engine_set]
            small = tuple(e for e in ("dlt", "dlt-tuned") if e in args.engine_set and not any(e == x for x, _ in schedule))
            reduced = case.scaled(args.reduced) if case.reduced and args.reduced > 0 and small else None
            work.append(Work(case, schedule, reduced, small if reduced else (), WEIGHTS.get(group, 1.0)))
    if "scale" in args.groups and "flat" not in args.groups:  # the reference the scale check needs
        work.insert(0, Work(groups["flat"][0], [("sluice", 1)], weight=0.3))
    # the scale case follows the first flat case: it sizes itself from that run, and gets its share early
    scale = [w for w in work if w.case.group == "scale"]
    rest = [w for w in work if w.case.group != "scale"]
    return rest[:1] + scale + rest[1:]


def fit_scale(case: Case, runs: list[Run], sizes: Sizes, allowance: float | None) -> Case:
    """The scale case at the largest size (1M, 500k, 250k, ...) that the time left allows."""
    reference = [r for r in runs if r.engine == "sluice" and r.case == "flat 0ms (short page)"
                 and r.size == f"{sizes.flat:,}" and not r.error and r.records]
    if allowance is None or not reference:
        return case
    per_record = statistics.median(r.wall / r.records for r in reference)
    fixed = statistics.median(r.process_wall - r.wall for r in reference)  # start-up and imports
    count = sizes.scale
    while count // 2 >= 2 * sizes.flat and (fixed + per_record * count) * 1.15 > allowance:
        count //= 2
    return replace(case, counts={"flat": count})


def notes(args: argparse.Namespace, runs: list[Run], sizes: Sizes) -> list[str]:
    rows = rows_of(runs)
    out = [
        (f"Machine: {platform.machine()}, Python {platform.python_version()}; wall = building the source to the end of "
         "the load in a fresh process (imports excluded; per-phase and whole-process times below); CPU = user + system "
         "over the same span; RSS = the process's peak. records/s counts root-table rows; rows include child tables."),
        (f"Runs: up to {args.repeat} per engine at full size, alternating A B A B against one mock process per data set "
         f"(pages warmed once before timing); dlt (both variants) once on each bench case's "
         f"reduced copy beside one sluice run of that size{'; tuned dlt also at full size' if args.dlt_full else ''}; "
         f"seeds: tuned dlt at full size; Airbyte once when enabled. Concurrency {CONCURRENCY} for sluice (its "
         "default), the floor's paged fetches and Airbyte."),
    ]
    for row in rows:
        if not row.engine.startswith("dlt") or not row.wall or args.reduced <= 0:
            continue
        full = next((r for r in rows if r.case == row.case and r.engine == "sluice" and r.wall
                     and r.records > row.records), None)
        if full is None or not full.wall:
            continue  # ran at full size
        est = row.wall / args.reduced
        out.append(f"EXTRAPOLATED: {row.case}: {ENGINE_LABEL[row.engine]} ran on {row.size} records only "
                   f"({args.reduced:g} of the case) in {row.wall:.2f} s; linearly that is ~{est:.0f} s at full size, "
                   f"~{est / full.wall:.0f}x sluice's full-size run (an overstatement by up to its fixed start-up cost "
                   "times the scale factor; the same-size ratio is in the table).")
    out.append(_jsonpath_cost())
    out += [f"BUDGET: {cut}" for cut in getattr(args, "cuts", [])]
    out += _politeness(runs, sizes.seed_rps)
    out += _scale(runs, sizes)
    found = mismatches(rows)
    checked = ("Tables checked equal to sluice's (names, rows, columns; root-table rows for the floor and Airbyte) "
               "in every run.")
    out += [f"**MISMATCH** {m}" for m in found] or [checked]
    out += airbyte.manifest_note(rows)
    out += refusals(rows)
    out += [f"**ERROR** {e}" for e in errors(rows)]
    return out


def _jsonpath_cost() -> str:
    """What a `data_selector` costs dlt per page here (it compiles the JSONPath on every page)."""
    from importlib.metadata import version

    from dlt.common.jsonpath import compile_path

    started = time.perf_counter()
    for _ in range(10):
        compile_path("data")
    each = (time.perf_counter() - started) / 10
    return (f"dlt's RESTClient compiles its data selector (configured or detected) on every page: {each * 1000:.1f} ms "
            f"a page here with jsonpath-ng {version('jsonpath-ng')}, whose parser rebuilds its tables on each parse "
            f"(~{each * 1000:.0f} s per 1,000 pages of dlt's time).")


def _politeness(runs: list[Run], rps: float) -> list[str]:
    out = []
    sluice = [r for r in runs if r.engine == "sluice" and not r.error]
    over = [r for r in sluice if r.mock.get("max_in_flight", 0) > CONCURRENCY]
    peak = max((r.mock.get("max_in_flight", 0) for r in sluice), default=0)
    out.append(f"sluice's requests in flight peaked at {peak} (limit {CONCURRENCY})"
               + (f": **EXCEEDED** in {len(over)} runs" if over else "."))
    seeds: dict[str, list[Run]] = {}
    for run in runs:
        if run.case.startswith("seed ") and run.engine == "sluice" and not run.error:
            seeds.setdefault(run.case, []).append(run)
    for case, found in seeds.items():
        throttled = sum(r.mock.get("statuses", {}).get("429", 0) for r in found)
        busiest = max(r.mock.get("busiest_second", 0) for r in found)
        verdict = "within" if busiest <= rps + 1 else "**EXCEEDED**"  # burst 1: one request above the rate
        out.append(f"{case}: busiest second {busiest} requests over {len(found)} run(s), {verdict} the configured "
                   f"{rps:g}/s ({found[0].mock.get('requests')} requests a run); 429 answers {throttled}")
    return out


def _scale(runs: list[Run], sizes: Sizes) -> list[str]:
    scaled = [r for r in runs if r.case.startswith("scale") and r.engine == "sluice" and not r.error]
    big = [r.rss_mb for r in scaled]
    base = [r.rss_mb for r in runs if r.case.startswith("flat 0ms") and r.size == f"{sizes.flat:,}"
            and r.engine == "sluice" and not r.error]
    if not big or not base:
        return []
    ratio = max(big) / statistics.median(base)
    start = statistics.median(r.rss_start_mb for r in scaled)
    verdict = "ok" if ratio <= SCALE_RSS_LIMIT else "**FAILED**"
    return [(f"Scale: sluice's peak RSS {max(big):.0f} MB at {scaled[0].size} records vs {statistics.median(base):.0f} MB "
             f"at {sizes.flat:,}: {ratio:.2f}x (limit {SCALE_RSS_LIMIT}x): {verdict}. (The process held {start:.0f} MB "
             "after its imports, before the run.)")]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.install_airbyte:  # set-up only: the bench itself is the next command (--with-airbyte)
        print(f"installed {airbyte.install()}", file=sys.stderr)
        return 0
    if args.with_airbyte or args.airbyte_bin:
        args.airbyte_bin = airbyte.find_executable(args.airbyte_bin)
        if not args.airbyte_bin:
            print("airbyte-cdk not found: skipping Airbyte (python -m bench --install-airbyte)", file=sys.stderr)
    sizes = QUICK if args.quick else FULL
    if args.scale:
        sizes = replace(sizes, scale=args.scale)
    options = Options(airbyte_bin=args.airbyte_bin, keep=args.keep)
    started = time.monotonic()
    runner = CaseRunner(options)
    runs: list[Run] = []
    work = plan(args, sizes)
    for index, item in enumerate(work):
        allowance = None
        if args.budget > 0:
            left = args.budget - (time.monotonic() - started)
            if left <= 0:
                runner.cuts.append(f"{item.case.name} [{item.case.size}]: skipped (time budget spent)")
                continue
            allowance = left * item.weight / sum(w.weight for w in work[index:])
        if item.case.group == "scale":
            fitted = fit_scale(item.case, runs, sizes, allowance)
            if fitted.counts != item.case.counts:
                runner.cuts.append(f"{item.case.name}: {fitted.size} records instead of {item.case.size} (time budget)")
            item = replace(item, case=fitted)
        engines = ", ".join(f"{ENGINE_LABEL[e]} x{n}" for e, n in item.schedule)
        small = " and ".join(ENGINE_LABEL[e] for e in item.reduced_engines)
        extra = f"; {small} and sluice once on {item.reduced.size}" if item.reduced else ""
        print(f"{item.case.name} [{item.case.size}]: {engines}{extra}", file=sys.stderr)
        runs += runner.run(item, allowance)
    args.cuts = runner.cuts
    args.limited = _rate_limited(args) if "ratelimit" in args.groups else []
    report = _report(args, runs, sizes, time.monotonic() - started)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
    return 1 if any("MISMATCH" in line or "ERROR" in line for line in report.splitlines() if line.startswith("- **")) else 0


def _rate_limited(args: argparse.Namespace) -> list[dict[str, Any]]:
    """bench.ratelimit's matrix (--quick: one small case); sluice's runs and dlt's as --engines allows."""
    quick = ratelimit.matrix([100.0], ["bare"], seconds=0.3, least=20)
    limits = quick if args.quick else ratelimit.matrix(ratelimit.RATES, ratelimit.SAYS)
    engines = [e for e in ratelimit.ENGINES if e.split("-")[0] in args.engine_set]
    print(f"rate-limited: {len(limits)} token buckets x {', '.join(engines)}", file=sys.stderr)
    return ratelimit.run(limits, engines)


def _limited_section(limited: list[dict[str, Any]]) -> list[str]:
    if not limited:
        return []
    failed = [f"- **ERROR** rate-limited {r['says']} {r['rate']:g}/s {r['engine']}: {r['error']}" for r in limited if r["error"]]
    return ["", "Rate-limited APIs (as `python -m bench.ratelimit` runs them):", "", ratelimit.table(limited), "",
            ratelimit.note(limited), *failed]


def _report(args: argparse.Namespace, runs: list[Run], sizes: Sizes, seconds: float) -> str:
    rows = rows_of(runs)
    limited = getattr(args, "limited", [])
    command = "python -m bench " + " ".join(sys.argv[1:])
    parts = [f"## sluice benchmark ({'quick' if args.quick else 'full'}; {seconds:.0f} s)", "", f"`{command.strip()}`", "",
             table(rows), "", *[f"- {n}" for n in notes(args, runs, sizes)], *_limited_section(limited), "",
             "Targets (issues 6 and 13; the dlt-defaults target is judged at the same size, the extrapolation is a guide):", "",
             *[f"- {t}" for t in targets(rows, args.reduced) + ratelimit.targets(limited)], "", "Phases (median s):", "",
             *[f"- {p}" for p in phases(rows)]]
    return "\n".join(parts)
