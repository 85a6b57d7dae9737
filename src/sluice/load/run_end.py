"""When dlt's run of a pipeline ends: callbacks registered from inside the run (a sluice
source's first pull), called from dlt's trace of it as it ends, failed or not.

dlt has no public hook for the end of a run; its trace calls every module in
`dlt.pipeline.trace.TRACKING_MODULES` (dlt registers its own there: tracking, the platform,
workspace artifacts). This module registers one more, once. A run without a trace (dlt's
runtime trace off) or an extraction outside a pipeline gets no callback: `at_end_of_this_run`
says so, and its caller does without."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_pending: dict[int, list[Callable[[], None]]] = {}  # id(pipeline) -> callbacks for its current run
_registered = False


def current_traced_pipeline() -> Any | None:
    """The pipeline whose traced run this thread is in, or None."""
    from dlt.common.configuration.container import Container
    from dlt.common.pipeline import PipelineContext

    context = Container()[PipelineContext]
    if not context.is_active():
        return None  # iterated outside a pipeline
    pipeline = context.pipeline()
    return pipeline if getattr(pipeline, "_trace", None) is not None else None


def at_end_of_this_run(pipeline: Any, callback: Callable[[], None]) -> bool:
    """Calls `callback` when `pipeline`'s current run ends; False (and no call) when nothing
    would say so."""
    from dlt.pipeline import trace

    global _registered
    with _lock:
        if not _registered:
            if trace.TRACKING_MODULES is None:
                return False
            trace.TRACKING_MODULES.append(_Tracker())
            _registered = True
        _pending.setdefault(id(pipeline), []).append(callback)
    return True


class _Tracker:
    """dlt's `SupportsTracking`: only the end of a run matters here."""

    def on_start_trace(self, trace: Any, step: Any, pipeline: Any) -> None:
        pass

    def on_start_trace_step(self, trace: Any, step: Any, pipeline: Any) -> None:
        pass

    def on_end_trace_step(self, trace: Any, step: Any, pipeline: Any, step_info: Any, send_state: bool) -> None:
        pass

    def on_end_trace(self, trace: Any, pipeline: Any, send_state: bool) -> None:
        with _lock:
            callbacks = _pending.pop(id(pipeline), [])
        for callback in callbacks:
            callback()
