"""The bench's issue 13 section 4 cases and how its report judges them (no runs: synthetic results)."""

from __future__ import annotations

import pytest

from bench.cases import FULL, build_cases
from bench.cli import parse_args, plan
from bench.harness import Run
from bench.report import rows_of, targets


def _run(case: str, engine: str, size: str, wall: float, rows: int = 100) -> Run:
    return Run(case, engine, size, wall=wall, tables={"t": {"rows": rows, "columns": ["a"]}})


def test_the_three_ab_cases_pit_dlt_defaults_against_sluice_at_full_size() -> None:
    cases = {c.name: c for c in build_cases(FULL)["ab"]}
    assert {name: (c.counts, c.latency_ms) for name, c in cases.items()} == {
        "A/B flat 20ms": ({"flat": 20_000}, 20),
        "A/B fan-out 20ms": ({"parents": 200, "children": 100}, 20),
        "A/B cursor 0ms": ({"cursor": 10_000}, 0),
    }
    work = [w for w in plan(parse_args(["--cases", "ab"]), FULL) if w.case.name in cases]
    assert len(work) == 3
    for item in work:
        assert dict(item.schedule) == {"dlt": 3, "sluice": 3} and item.reduced is None, item


AB = [_run("A/B flat 20ms", "dlt", "20,000", 9.5), _run("A/B flat 20ms", "sluice", "20,000", 1.0),
      _run("A/B cursor 0ms", "dlt", "10,000", 10.5), _run("A/B cursor 0ms", "sluice", "10,000", 1.0)]
FLOOR = [_run(f"flat {ms} (short page)", engine, "100,000", wall) for ms in ("0ms", "20ms")
         for engine, wall in (("sluice", 1.6), ("floor", 1.0))]


@pytest.mark.parametrize(("runs", "expected"), [
    (AB, ["A/B flat 20ms [20,000]: x dlt (defaults) 9.5x (target 10x): **missed**",
          "A/B cursor 0ms [10,000]: x dlt (defaults) 10.5x (target 10x): met"]),
    (FLOOR, ["flat 0ms (short page) [100,000]: 1.60x the floor (target <= 1.5x): **missed**",
             "flat 20ms (short page) [100,000]: 1.60x the floor (target <= 2x): met"]),
], ids=["ab: 10x dlt defaults and nothing else", "flat 0ms: 1.5x the floor"])
def test_issue_13_targets(runs: list[Run], expected: list[str]) -> None:
    assert targets(rows_of(runs), 0.1) == expected
