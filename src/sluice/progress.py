"""Live progress of a run, read from the engine's `RunStats` while dlt runs.

dlt runs in the main thread; the engine fills `source.sluice_runtime.runs[-1].stats` from
its own thread, and a watcher reads those counters from a third one: rich's refresh thread
for people at a terminal, a small polling thread that logs JSON lines for schedulers.
Counters are plain ints and floats, so reading them without a lock is safe (a refresh may
be one request behind).

    with watcher("text", console, "sluice run tickets")(source):
        pipeline.run(source)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .engine.stats import ResourceStats, RunStats
from .errors import ResourceError

log = logging.getLogger("sluice.progress")
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

Watch = Callable[[Any], AbstractContextManager[Any]]


def watcher(log_format: str, console: Console, title: str, *, heartbeat: float = 10.0) -> Watch | None:
    """The progress display that fits where the output goes; None: stay quiet."""
    if log_format == "json":
        return lambda source: json_progress(source, heartbeat)
    if console.is_terminal:
        return lambda source: live_progress(source, console, title)
    return None


@dataclass(frozen=True)
class _Row:
    name: str
    depth: int


class Snapshot:
    """What one refresh shows: the resources of the run in order, and the run's state."""

    def __init__(self, source: Any) -> None:
        self.runtime = source.sluice_runtime
        self.rows = _rows(self.runtime.spec, _selected(source))
        self.started = time.monotonic()

    @property
    def run(self) -> Any:
        runs = self.runtime.runs
        return runs[-1] if runs else None

    @property
    def stats(self) -> RunStats:
        run = self.run
        return run.stats if run is not None else RunStats()

    def phase(self) -> str:
        run = self.run
        if run is None or not run.started:
            return "starting"
        if run.error is not None:
            return "failed"
        return "extracting" if run.stats.finished is None else "normalizing and loading"

    def failed_resource(self) -> str | None:
        run = self.run
        error = getattr(run, "error", None)
        return error.resource if isinstance(error, ResourceError) else None


def _selected(source: Any) -> set[str]:
    try:
        return set(source.selected_resources)
    except AttributeError:  # a source without dlt's view of it: show every resource
        return {r.name for r in source.sluice_runtime.spec.resources}


def _rows(spec: Any, selected: set[str]) -> list[_Row]:
    """Selected resources and the parents they need, children under their parent."""
    needed: set[str] = set()
    known = {r.name: r.parent for r in spec.resources}
    for name in selected:
        while name in known and name not in needed:
            needed.add(name)
            name = known[name] or ""
    rows: list[_Row] = []

    def add(parent: str | None, depth: int) -> None:
        for resource in spec.resources:
            if resource.parent == parent and resource.name in needed:
                rows.append(_Row(resource.name, depth))
                add(resource.name, depth + 1)

    add(None, 0)
    return rows


# -- the live table ---------------------------------------------------------------------------

_COLUMNS = ("", "resource", "pages", "records", "requests", "in flight", "retries", "skipped", "waited", "time", "rec/s")


def render(snapshot: Snapshot) -> RenderableType:
    stats, now = snapshot.stats, time.monotonic()
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1))
    for i, column in enumerate(_COLUMNS):
        table.add_column(column, justify="left" if i < 2 else "right", no_wrap=True, overflow="ellipsis")
    failed, stopped = snapshot.failed_resource(), snapshot.phase() == "failed"
    for row in snapshot.rows:
        state = "failed" if failed == row.name else "stopped" if stopped else ""
        table.add_row(*_cells(row, stats.resources.get(row.name), state, now))
    return Group(_headline(snapshot, stats, now), table, _footer(snapshot, stats))


def _headline(snapshot: Snapshot, stats: RunStats, now: float) -> Text:
    phase = snapshot.phase()
    style = {"failed": "bold red", "normalizing and loading": "bold cyan"}.get(phase, "bold yellow")
    spin = _SPINNER[int(now * 10) % len(_SPINNER)] if phase != "failed" else "✗"
    return Text.assemble((f"{spin} {phase}", style), f"  {now - snapshot.started:5.1f}s")


def _cells(row: _Row, stats: ResourceStats | None, run_state: str, now: float) -> list[str | Text]:
    name = "  " * row.depth + ("└ " if row.depth else "") + row.name
    if stats is None or stats.started is None:
        return [Text("·", style="dim"), Text(name, style="dim"), *[""] * (len(_COLUMNS) - 2)]
    rate = f"{stats.records / stats.seconds:,.0f}" if stats.seconds > 0.2 else ""
    return [
        _state(stats, run_state, now), name, f"{stats.pages:,}", f"{stats.records:,}", f"{stats.requests:,}",
        str(stats.in_flight) if stats.finished is None else "",
        _warn(stats.retries), _warn(stats.skipped_children),
        f"{stats.rate_limit_wait:.1f}s" if stats.rate_limit_wait >= 0.05 else "", f"{stats.seconds:.1f}s", rate,
    ]


def _state(stats: ResourceStats, run_state: str, now: float) -> Text:
    if run_state == "failed":
        return Text("✗", style="bold red")
    if stats.finished is not None:
        return Text("✓", style="green")
    if run_state == "stopped":  # another resource failed: this one was cancelled
        return Text("-", style="dim")
    return Text(_SPINNER[int(now * 10) % len(_SPINNER)], style="yellow")


def _warn(count: int) -> Text | str:
    return Text(f"{count:,}", style="yellow") if count else "0"


def _footer(snapshot: Snapshot, stats: RunStats) -> Text:
    limit = snapshot.runtime.spec.http.max_concurrency
    wait = stats.rate_limit_wait  # wall time: resources waiting at once count once
    return Text(f"{stats.requests:,} requests, {stats.in_flight}/{limit} in flight, {stats.retries:,} retries, "
                f"{sum(r.records for r in stats.resources.values()):,} records, rate-limit waits {wait:.1f}s"
                "   (· waiting, ⠋ fetching, ✓ done, ✗ failed)", style="dim")


@contextmanager
def live_progress(source: Any, console: Console, title: str) -> Iterator[Snapshot]:
    """A rich Live table, refreshed 8 times a second by rich's own thread."""
    snapshot = Snapshot(source)
    console.print(f"[bold]{title}[/]")
    live = Live(get_renderable=lambda: render(snapshot), console=console, refresh_per_second=8, transient=True)
    with live:
        try:
            yield snapshot
        except BaseException:
            live.transient = False  # keep the last picture: it shows where the run stopped
            raise


# -- JSON lines for schedulers ------------------------------------------------------------------

@contextmanager
def json_progress(source: Any, heartbeat: float = 10.0, poll: float = 0.2) -> Iterator[Snapshot]:
    """Log `resource_done` when a resource finishes fetching and `progress` every `heartbeat` s."""
    reporter = _JsonReporter(Snapshot(source), heartbeat)
    stop = threading.Event()
    thread = threading.Thread(target=reporter.loop, args=(stop, poll), name="sluice-progress", daemon=True)
    log.info("run started", extra={"fields": {"event": "run_started", "resources": [r.name for r in reporter.snapshot.rows]}})
    thread.start()
    try:
        yield reporter.snapshot
    finally:
        stop.set()
        thread.join()
        reporter.report_done()  # what finished between the last poll and the end


class _JsonReporter:
    def __init__(self, snapshot: Snapshot, heartbeat: float) -> None:
        self.snapshot = snapshot
        self.heartbeat = heartbeat
        self.reported: set[str] = set()
        self.last = time.monotonic()

    def loop(self, stop: threading.Event, poll: float) -> None:
        while not stop.wait(poll):
            self.report_done()
            if time.monotonic() - self.last >= self.heartbeat:
                self.last = time.monotonic()
                self.report_progress()

    def report_progress(self) -> None:
        stats = self.snapshot.stats
        log.info("progress", extra={"fields": {
            "event": "progress", "phase": self.snapshot.phase(), "requests": stats.requests, "in_flight": stats.in_flight,
            "retries": stats.retries, "records": {n: r.records for n, r in list(stats.resources.items())},
        }})

    def report_done(self) -> None:
        for name, stats in list(self.snapshot.stats.resources.items()):
            if stats.finished is None or name in self.reported:
                continue
            self.reported.add(name)
            fields = {"event": "resource_done", "resource": name} | stats.as_dict()
            for key in ("name", "rows"):
                fields.pop(key, None)
            log.info("resource '%s' fetched: %d records in %d requests", name, stats.records, stats.requests,
                     extra={"fields": fields})
