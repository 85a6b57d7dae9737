"""Running a source with people or schedulers watching: the live progress (or JSON lines),
SIGINT/SIGTERM handling, and the run summary (table, JSON line, --summary-json).

Shared by `sluice run` and `sluice demo`; the command line itself lives in `cli`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

from .configfile import LoadedConfig
from .engine.run import RunOptions
from .errors import RunInterrupted, SluiceError

EXIT_OK = 0
log = logging.getLogger("sluice")


def execute(loaded: LoadedConfig, target: Any, options: RunOptions, args: argparse.Namespace, console: Console,
            title: str, checkpoints: Any = None) -> int:
    """Run with progress, then the summary (table, JSON line, --summary-json); shared with demo."""
    from . import runner
    from .progress import watcher

    seen = _Seen(watcher(args.log_format, console, title))
    with _Signals() as signals:
        try:
            result = runner.run(loaded, target, options, seen.watch, checkpoints)
        except SluiceError as exc:
            if getattr(args, "summary_json", None):
                _write_failed_summary(args.summary_json, exc, seen.source)
            raise
        except RunInterrupted as stop:
            signals.received = True  # dlt's load may have taken the first signal: the next one aborts
            _finish(stop.result or _nothing_yet(stop.signum), args, console, title, stop.signum)
            return 128 + stop.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
    _finish(result, args, console, title)
    return EXIT_OK


def _nothing_yet(signum: int) -> Any:
    """The result of a run stopped before dlt started it."""
    from .engine.stats import RunStats
    from .runner import RunResult

    return RunResult(None, RunStats(), {}, {}, 0.0, interrupted=signum)


class _Signals:
    """SIGINT and SIGTERM (Ctrl-C; how Kubernetes, systemd and Airflow stop a job) during a run.

    The first raises RunInterrupted in the main thread, where dlt runs: extraction stops at
    once, and nothing half-done is committed (dlt's own state survives even SIGKILL). dlt's
    normalize and load steps take the signal themselves and stop at their next safe point.
    A second signal aborts at once, whatever is running."""

    def __init__(self) -> None:
        self.received = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        from dlt.common.runtime import signals as dlt_signals

        if self.received or dlt_signals.was_signal_received():
            os.write(2, f"aborted ({signal.Signals(signum).name} again)\n".encode())
            os._exit(128 + signum)
        self.received = True
        raise RunInterrupted(signum)


class _Seen:
    """Wraps the progress watcher and keeps the source, so a failed run can still report stats."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.source: Any = None

    @contextmanager
    def watch(self, source: Any) -> Iterator[None]:
        self.source = source
        if self.inner is None:
            yield
            return
        with self.inner(source):
            yield


def _finish(result: Any, args: argparse.Namespace, console: Console, title: str, signum: int | None = None) -> None:
    """The summary of a run that finished, or that a signal stopped (`signum`)."""
    from .summary import print_summary, summary_dict, write_summary_json

    status = {"status": "interrupted", "signal": signal.Signals(signum).name} if signum else {"status": "ok"}
    if args.log_format == "json":
        data = summary_dict(result) | status
        event = "run_interrupted" if signum else "run_finished"
        log.info("%s: %d rows in %.2fs", event.replace("_", " "), sum(result.rows.values()), result.seconds,
                 extra={"fields": {"event": event} | data})
        counts = data["rows_in_destination"]
    else:
        counts = print_summary(result, console, title=f"{title} (interrupted)" if signum else title)
        if signum:
            _report_interruption(signum)
    if getattr(args, "summary_json", None):
        write_summary_json(result, args.summary_json, counts, status)


def _report_interruption(signum: int) -> None:
    Console(stderr=True).print(f"[bold yellow]interrupted[/] by {signal.Signals(signum).name}: dlt's pipeline state is "
                               "intact (nothing committed half-way, checkpoints kept); run again to resume", highlight=False)


def _write_failed_summary(path: str, exc: BaseException, source: Any) -> None:
    import json

    runs = getattr(getattr(source, "sluice_runtime", None), "runs", None)
    stats = runs[-1].stats.as_dict() if runs else {}
    with open(path, "w") as handle:
        json.dump({"status": "failed", "error": str(exc)} | stats, handle, indent=2)
