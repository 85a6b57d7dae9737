"""Where an engine's time goes: one run of one case under py-spy, summarized.

    python -m bench.profile [--case "flat 0ms (short page)"] [--engine sluice] [--top 25]
                            [--raw out.txt] [--quick]

Needs `py-spy` (pip install py-spy). Prints the functions with the most samples, by self
time and inclusive, with file paths shortened; `--raw` keeps py-spy's collapsed stacks
(load them into speedscope or flamegraph.pl for a picture).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .cases import FULL, QUICK, build_cases
from .floor import fetch
from .mockproc import REPO, MockProcess, child_env

_FRAME = re.compile(r"(.*) \((.*?):\d+\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    name, path = match.groups()
    path = re.sub(r".*site-packages/", "", re.sub(r".*/src/", "", path))
    return f"{name} ({path})"


def summarize(raw: Path, top: int) -> str:
    total = 0
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = [_short(f) for f in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    lines = [f"{total} samples", "", "self:"]
    lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top * 2)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--case", default="flat 0ms (short page)")
    parser.add_argument("--engine", default="sluice", choices=("sluice", "dlt-tuned", "dlt", "floor"))
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    parser.add_argument("--quick", action="store_true", help="the --quick sizes")
    args = parser.parse_args(argv)
    if not shutil.which("py-spy"):
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 2
    cases = {c.name: c for group in build_cases(QUICK if args.quick else FULL).values() for c in group}
    case = cases.get(args.case)
    if case is None or case.config is None or case.floor is None:
        print(f"choose a case of the bench mock: {', '.join(n for n, c in cases.items() if c.config)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="sluice-profile-") as tmp, MockProcess(case.mock, counts=case.counts) as mock:
        work = Path(tmp)
        asyncio.run(fetch(case.floor(mock.origin)))
        mock.set_latency(case.latency_ms)
        job = {"engine": args.engine, "workdir": str(work / "run"), "config": case.config(mock.origin),
               "plan": case.floor(mock.origin)}
        (work / "job.json").write_text(json.dumps(job))
        raw = args.raw or work / "stacks.txt"
        command = [sys.executable, "-m", "bench.worker", str(work / "job.json"), str(work / "result.json")]
        subprocess.run(["py-spy", "record", "--format", "raw", "--rate", "100", "--subprocesses", "-o", str(raw),
                        "--", *command], cwd=REPO, env=child_env(), capture_output=True, check=False)
        result = json.loads((work / "result.json").read_text())
        print(f"{case.name} [{case.size}] {args.engine}: wall {result.get('wall', 0):.2f} s, phases "
              f"{result.get('phases')}, error {result.get('error')}\n")
        print(summarize(raw, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
