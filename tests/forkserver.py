"""A process that imports dlt once and forks a child per run, and the tests' handle on it.

The worker scripts (`crash_worker.py`, `checkpoint_worker.py`) call `serve(child)`: JSON
commands on stdin, one JSON line out per command:

    {"op": "run", ...}        -> {"pid": P}   a forked child runs `child(command)` and exits with its code
    {"op": "wait", "pid": P}  -> {"pid": P, "status": S}   S: exit code, or -signal
    {"op": "ping"}            -> {"ok": true}  once the imports are done: runs are timed from here
    {"op": "quit"}

Forking keeps a run's start cheap (importing dlt takes seconds), so dozens of kill points fit
in the time of a few cold starts. Nothing here runs a thread before a fork.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def serve(child: Callable[[dict[str, Any]], int]) -> None:
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "quit":
            return
        if command["op"] == "ping":
            answer: dict[str, Any] = {"ok": True}
        elif command["op"] == "run":
            answer = {"pid": _fork(child, command)}
        else:
            _, status = os.waitpid(command["pid"], 0)
            answer = {"pid": command["pid"], "status": os.waitstatus_to_exitcode(status)}
        print(json.dumps(answer), flush=True)


def _fork(child: Callable[[dict[str, Any]], int], command: dict[str, Any]) -> int:
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        sys.stdin.close()
        code = child(command)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return pid


class ForkServer:
    """A worker script (in tests/) running `serve`, asked one command at a time."""

    def __init__(self, script: str, timeout: float) -> None:
        self.script, self.timeout = script, timeout
        env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
        self.proc = subprocess.Popen([sys.executable, str(HERE / script)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)

    def ask(self, timeout: float | None = None, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout or self.timeout)
        assert ready, f"{self.script} did not answer {command['op']} in {timeout or self.timeout}s"
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write('{"op": "quit"}\n')
        self.proc.stdin.close()
        self.proc.wait(10)
