"""One mock API in its own process, steered over stdin/stdout one line at a time.

Run as `python -m bench.mockproc NAME [--count r=N ...] [--option k=JSON ...] [--latency-ms X]`:
it prints `READY <base_url> <api_key>`, then answers each command with one JSON line:

    reset           empty the mock's log and counters           -> {}
    latency X       latency of every route, ms (0: none)         -> {}
    stats           requests per route and status, in-flight max -> {...}
    quit            stop

The harness talks to it through `MockProcess`. The mock runs in its own process so its CPU
does not count against the engines, which run in processes of their own too.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

REPO = Path(__file__).resolve().parent.parent


class _Clock:
    """Arrival times of requests, to find the busiest one-second window (rate-limit checks)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._lock = threading.Lock()

    def wrap(self, mock: Any) -> None:
        stats = getattr(mock, "_stats", None)  # a private hook: without it, no rate is reported
        if stats is None or not hasattr(stats, "enter"):
            return
        enter = stats.enter

        def timed(route: str) -> None:
            with self._lock:
                self.times.append(time.monotonic())
            enter(route)

        stats.enter = timed

    def busiest_second(self) -> int:
        with self._lock:
            times = list(self.times)
        return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)

    def reset(self) -> None:
        with self._lock:
            self.times = []


def _stats(mock: Any, clock: _Clock) -> dict[str, Any]:
    log = mock.log
    return {
        "requests": len(log),
        "per_route": dict(Counter(entry.route for entry in log)),
        "statuses": {str(k): v for k, v in Counter(entry.status for entry in log).items()},
        "max_in_flight": mock.max_in_flight,
        "busiest_second": clock.busiest_second(),
        "errors": len(mock.errors),
    }


def _serve(args: argparse.Namespace) -> None:
    from sluice.mock import Fault, MockServer

    counts = {k: int(v) for k, v in (item.split("=", 1) for item in args.count)}
    options = {k: _option(v) for k, v in (item.split("=", 1) for item in args.option)}
    faults = {"*": Fault(latency_ms=args.latency_ms)} if args.latency_ms else {}
    clock = _Clock()
    with MockServer(args.name, counts=counts, options=options, faults=faults, seed=args.seed) as mock:
        clock.wrap(mock)
        print(f"READY {mock.base_url} {mock.api_key}", flush=True)
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "quit":
                break
            reply: dict[str, Any] = {}
            if command == "reset":
                mock.reset_log()
                clock.reset()
            elif command == "latency":
                mock.clear_faults()
                if float(arg):
                    mock.set_fault("*", Fault(latency_ms=float(arg)))
            elif command == "stats":
                reply = _stats(mock, clock)
            else:
                reply = {"error": f"unknown command {command!r}"}
            print(json.dumps(reply), flush=True)


def _option(raw: str) -> Any:
    value = json.loads(raw)
    return frozenset(value) if isinstance(value, list) else value


class MockProcess:
    """A running `bench.mockproc`; `with MockProcess("bench", counts={...}) as m: m.base_url`."""

    def __init__(self, name: str, *, counts: Mapping[str, int] | None = None, options: Mapping[str, Any] | None = None,
                 latency_ms: float = 0.0) -> None:
        argv = [sys.executable, "-m", "bench.mockproc", name, "--latency-ms", str(latency_ms)]
        argv += [f"--count={k}={v}" for k, v in (counts or {}).items()]
        argv += [f"--option={k}={json.dumps(sorted(v) if isinstance(v, (set, frozenset)) else v)}"
                 for k, v in (options or {}).items()]
        self.name = name
        self._proc = subprocess.Popen(argv, cwd=REPO, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, bufsize=1)
        assert self._proc.stdout is not None
        first = self._proc.stdout.readline().split()
        if not first or first[0] != "READY":
            self.close()
            raise RuntimeError(f"mock {name!r} did not start (exit {self._proc.poll()})")
        self.base_url, self.api_key = first[1], first[2]
        self.origin = "/".join(self.base_url.split("/")[:3])

    def command(self, line: str) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        reply: dict[str, Any] = json.loads(self._proc.stdout.readline())
        return reply

    def reset(self) -> None:
        self.command("reset")

    def set_latency(self, ms: float) -> None:
        self.command(f"latency {ms}")

    def stats(self) -> dict[str, Any]:
        return self.command("stats")

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write("quit\n")
                self._proc.stdin.flush()
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every benchmark process: the repo importable, dlt quiet."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    env.update(extra or {})
    return env


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mockproc")
    parser.add_argument("name")
    parser.add_argument("--count", action="append", default=[])
    parser.add_argument("--option", action="append", default=[])
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    _serve(parser.parse_args(argv))


if __name__ == "__main__":
    main()
