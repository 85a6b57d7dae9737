"""The benchmark in miniature: `python -m bench --quick` runs end to end and its checks hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmark_runs_and_tables_agree(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--cases", "flat,ceiling", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = out.read_text()
    rows = [line for line in report.splitlines() if line.startswith("| flat 0ms")]
    engines = {line.split("|")[3].strip() for line in rows}
    assert engines == {"dlt tuned (parquet + parallelized)", "sluice", "floor (aiohttp+orjson+duckdb)"}, report
    assert all(line.split("|")[2].strip() == "1,000" for line in rows), report
    assert "Tables checked equal to sluice's" in report and "MISMATCH" not in report and "ERROR" not in report
    assert "peaked at" in report and "EXCEEDED" not in report
