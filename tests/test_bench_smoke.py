"""The benchmark in miniature: `python -m bench --quick` runs end to end and its checks hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def quick_report(tmp_path: Path, cases: str) -> str:
    """`python -m bench --quick --cases CASES`'s report, once it has exited 0."""
    out = tmp_path / "bench.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--cases", cases, "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out.read_text()


@pytest.mark.slow
def test_quick_benchmark_runs_and_tables_agree(tmp_path: Path) -> None:
    report = quick_report(tmp_path, "flat,ceiling")
    rows = [line for line in report.splitlines() if line.startswith("| flat 0ms")]
    engines = {line.split("|")[3].strip() for line in rows}
    assert engines == {"dlt tuned (parquet + parallelized)", "sluice", "floor (aiohttp+orjson+duckdb)"}, report
    assert all(line.split("|")[2].strip() == "1,000" for line in rows), report
    assert "Tables checked equal to sluice's" in report and "MISMATCH" not in report and "ERROR" not in report
    assert "peaked at" in report and "EXCEEDED" not in report


@pytest.mark.slow
def test_quick_rate_limited_group_runs_every_engine_and_judges_the_targets(tmp_path: Path) -> None:
    """`--cases ratelimit` in miniature: one token bucket (100/s, bare 429s, 30 requests), sluice
    with no configuration, with `rate_limit` matched and with the bucket off, and dlt."""
    report = quick_report(tmp_path, "ratelimit")
    row = next(line for line in report.splitlines() if line.startswith("| bare | 100/s, burst 10 | 30 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert all(cells) and "ERROR" not in row, report  # every engine ran: sluice, matched, dlt, ratio, no limit
    target = next(line for line in report.splitlines() if line.startswith("- rate-limited bare 100/s"))
    assert "the floor (target <= 1.3x)" in target and "refused" in target and "dlt's time" in target, report
    assert "busiest second" in target and target.endswith("met"), report  # the configured ceiling held
