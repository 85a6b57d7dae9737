"""A run's tuning knobs: safety caps, fan-out bounds, fetching ahead, the Arrow hand-off.

Its own module so the run (`run.Engine`) and a chain's fetch loop (`chain.Pager`) both read
it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunOptions:
    max_pages: int | None = None  # per chain: a safety cap
    max_open_chains: int = 64  # per resource: chains running at once
    # ... and child chains started and not yet released in order (finished ones wait behind a
    # slow head: a child in retry backoff must not stall the fan-out, nor memory grow).
    max_unreleased_chains: int = 256
    max_retry_delay: float | None = None  # a run-time cap on every retry wait (demo, tests)
    # Page-number and offset chains whose end only a short page tells: after `speculate_after`
    # full pages, keep up to `speculative_window` next pages in flight. A few requests past the
    # end are wasted (counted); 0 turns it off.
    speculative_window: int = 8
    speculate_after: int = 8
    # Hand pages to dlt as Arrow tables shaped exactly as dlt's normalizer would shape them
    # (sluice.load.arrow); a resource falls back to dicts when that cannot be exact.
    arrow: bool = True
