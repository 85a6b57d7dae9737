"""scale/ (the Dask executor) drives the engine and the pacer through their public API only,
and that API does what scale/ used to do by reaching into their internals."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sluice.config.specs import RateLimitSpec
from sluice.http.headers import Budget
from sluice.http.pacing import POLL, Pacer

SCALE = Path(__file__).resolve().parents[1] / "src" / "sluice" / "scale"
# Private names scale/ still uses, each owned elsewhere and not renamed yet (say why when adding one).
KNOWN = {
    ("pages.py", "_total"),  # pagination.numeric's reading of a page's total
    ("replay.py", "_arrow_dlt"),  # load's private module over dlt's internals
    ("staging.py", "_parent"),  # fsspec's: a URL's parent directory, for any filesystem
}


def _private_uses(path: Path) -> set[tuple[str, str]]:
    """(module, name) for each `_name` the module imports or reads off anything but self/cls."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.ImportFrom) else []
        if isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            names = [node.attr]
        found |= {(path.name, n) for n in names if n.startswith("_") and not n.startswith("__")}
    return found


def test_scale_touches_no_private_name_of_another_package() -> None:
    used = set().union(*(_private_uses(path) for path in SCALE.glob("*.py")))
    assert used - KNOWN == set()


def test_try_start_starts_or_says_how_long_to_wait() -> None:
    pacer = Pacer(RateLimitSpec(2.0), clock=lambda: 0.0)
    assert pacer.try_start(0.0) is None  # the bucket's token
    assert pacer.try_start(0.0) == pytest.approx(0.5) and pacer.try_start(0.5) is None


def test_calm_until_there_is_something_to_pace_by() -> None:
    clock = [0.0]
    pacer = Pacer(clock=lambda: clock[0])
    assert not pacer.calm(0.0)  # the slow start
    assert pacer.try_start(0.0) is None and pacer.try_start(0.0) == POLL  # one in flight before the first answer
    assert pacer.calm(0.5)  # the slow start has run its course
    clock[0] = 0.5
    pacer.pause(1.0)
    assert not pacer.calm(0.5) and pacer.calm(1.5)
    pacer.refused(sent_at=0.0)
    assert not pacer.calm(2.0)  # a learned rate


def test_a_start_reported_late_counts_in_time_order() -> None:
    clock = [0.0]
    pacer = Pacer(clock=lambda: clock[0])
    assert pacer.try_start(0.0) is None
    pacer.release()
    clock[0] = 0.5
    pacer.started_elsewhere(0.5)
    pacer.started_elsewhere(0.05)  # started earlier, heard last
    pacer.budget(Budget(0, 10, None), sent_at=0.5)  # none left after the request sent at 0.5
    assert pacer.try_start(0.6) == pytest.approx(10.5 - 0.6)  # the one sent at 0.05 was counted in it
