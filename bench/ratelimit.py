"""Rate-limited cases (issue 13): sluice with no configuration, sluice with `rate_limit`
matched by hand, and dlt 1.31, on one token-bucket mock, against the floor.

    python -m bench.ratelimit                               # 5, 20, 100, 500 req/s; three ways of saying no
    python -m bench.ratelimit --rates 5,20 --says bare --out rl.md
    python -m bench --cases ratelimit                       # the same matrix as a group of the benchmark

The mock (its own process: `python -m bench.ratelimit serve ...`) serves parents on pages of
100 (and an empty last page) and one page of children per parent, behind one token bucket of
`rate` requests per second and `burst` tokens. The workload is sized to the rate: `rate x
--seconds` requests (10 s: 200 at 20/s, 5,000 at 500/s), and never fewer than `MIN_REQUESTS`
(100, so that 5% refused is five requests, not a share of the first requests sent before any
answer). Past the bucket, a 429, said one of three ways (`--says`):

- `retry-after`: `Retry-After` with the exact wait for the next token (milliseconds);
- `reset`: no `Retry-After`; every answer carries `X-RateLimit-Limit / -Remaining / -Reset`
  (the reset: seconds until the bucket is full again);
- `bare`: a 429 and nothing else.

The floor is `(requests - burst) / rate`: a bucket that starts full admits at most `burst +
rate x t` requests in `t` seconds, so no engine can load the workload faster; it leaves out
each engine's fixed cost (pipeline start, normalize, load: about a second here), which the
workload's size makes a small share; a fourth run, sluice with the bucket off, shows that
cost. Each run is a fresh `bench.worker` process (wall: building the source to the end of the
load into DuckDB). The mock counts the requests in its busiest sliding second: with
`rate_limit` matched it must be at most `burst + rate`.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .harness import run_worker
from .mockproc import REPO, child_env

PER_PAGE = 100
SECONDS = 10.0  # the floor of every case, whatever the rate: the pipeline's fixed cost (about a second) a small share
MIN_REQUESTS = 100
RATES = (5.0, 20.0, 100.0, 500.0)
SAYS = ("retry-after", "reset", "bare")
BURSTS = {5.0: 2, 20.0: 5, 100.0: 10, 500.0: 25}
ENGINES = ("sluice", "sluice-matched", "dlt", "sluice-unlimited")  # the last: the bucket off
FLOOR_GOAL, REFUSED_GOAL = 1.3, 0.05


@dataclass(frozen=True)
class Limit:
    """One case: the API's bucket, how it says no, and the workload sized to its rate."""

    rate: float
    says: str
    seconds: float = SECONDS
    least: int = MIN_REQUESTS

    @property
    def burst(self) -> int:
        return BURSTS.get(self.rate, max(2, int(self.rate / 10)))

    @property
    def parents(self) -> int:
        """The most parents whose fan-out needs no more than the requests wanted."""
        wanted = max(round(self.rate * self.seconds), self.least)
        count = wanted
        while requests_for(count) > wanted:
            count -= 1
        return count

    @property
    def requests(self) -> int:
        return requests_for(self.parents)

    @property
    def floor(self) -> float:
        return (self.requests - self.burst) / self.rate


def requests_for(parents: int) -> int:
    """Parent pages, the empty page that ends them, one child request per parent."""
    return math.ceil(parents / PER_PAGE) + 1 + parents


# -- the mock ----------------------------------------------------------------------------------


def busiest_second(stamps: list[float]) -> int:
    """The most arrivals in any sliding one-second window."""
    best, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamps[first] <= stamp - 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def _app(limit: Limit) -> Any:
    from aiohttp import web

    rate, burst, says = limit.rate, limit.burst, limit.says
    state: dict[str, Any] = {}

    def reset() -> None:
        state.update(tokens=float(burst), at=time.monotonic(), statuses={}, arrivals=[], open=False)

    def take() -> tuple[bool, dict[str, str]]:
        now = time.monotonic()
        state["arrivals"].append(now)
        if state["open"]:  # no limit, and nothing said about one
            return True, {}
        state["tokens"] = min(burst, state["tokens"] + (now - state["at"]) * rate)
        state["at"] = now
        ok = state["tokens"] >= 1
        state["tokens"] -= 1 if ok else 0
        if says == "reset":
            return ok, {"X-RateLimit-Limit": str(burst), "X-RateLimit-Remaining": str(int(state["tokens"])),
                        "X-RateLimit-Reset": f"{(burst - state['tokens']) / rate:.3f}"}
        if not ok and says == "retry-after":
            return ok, {"Retry-After": f"{(1 - state['tokens']) / rate:.3f}"}
        return ok, {}

    def answer(body: Any) -> web.Response:
        ok, headers = take()
        status = 200 if ok else 429
        state["statuses"][status] = state["statuses"].get(status, 0) + 1
        return web.json_response(body if ok else {"error": "rate limited"}, status=status, headers=headers)

    async def parents(request: web.Request) -> web.Response:
        page = int(request.query.get("page", 1))
        ids = range((page - 1) * PER_PAGE + 1, min(page * PER_PAGE, limit.parents) + 1)
        return answer({"data": [{"id": i, "name": f"parent {i}"} for i in ids]})

    async def children(request: web.Request) -> web.Response:
        parent = int(request.match_info["id"])
        return answer({"data": [{"id": parent * 10 + i, "value": i} for i in range(2)]})

    async def control(request: web.Request) -> web.Response:
        if request.match_info["what"] in ("reset", "open"):
            reset()
            state["open"] = request.match_info["what"] == "open"
        found = {str(k): v for k, v in state["statuses"].items()}
        return web.json_response({**found, "busiest_second": busiest_second(state["arrivals"])})

    reset()
    app = web.Application()
    app.router.add_get("/parents", parents)
    app.router.add_get("/parents/{id}/children", children)
    app.router.add_get("/_/{what}", control)
    return app


def serve(limit: Limit) -> None:
    import asyncio

    from aiohttp import web

    async def main() -> None:
        runner = web.AppRunner(_app(limit), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"READY http://127.0.0.1:{port}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the harness closes stdin
        await runner.cleanup()

    asyncio.run(main())


class Mock:
    def __init__(self, limit: Limit) -> None:
        argv = [sys.executable, "-m", "bench.ratelimit", "serve", str(limit.rate), limit.says, str(limit.seconds),
                str(limit.least)]
        self._proc = subprocess.Popen(argv, cwd=REPO, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        self.origin = self._proc.stdout.readline().split()[1]

    def control(self, what: str) -> dict[str, int]:
        import urllib.request

        with urllib.request.urlopen(f"{self.origin}/_/{what}") as response:  # noqa: S310 - loopback
            return {k: int(v) for k, v in json.loads(response.read()).items()}

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)


# -- the runs ----------------------------------------------------------------------------------


def config(origin: str, engine: str, limit: Limit) -> dict[str, Any]:
    client: dict[str, Any] = {"base_url": origin + "/"}
    if engine == "sluice-matched":
        client["rate_limit"] = {"requests_per_second": limit.rate, "burst": limit.burst}
    page = {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": None}  # ends on the empty page
    return {"client": client, "resources": [
        {"name": "parents", "endpoint": {"path": "parents", "data_selector": "data", "paginator": page}},
        {"name": "children", "endpoint": {"path": "parents/{resources.parents.id}/children", "data_selector": "data",
                                          "paginator": "single_page"}},
    ]}


def one(mock: Mock, engine: str, limit: Limit) -> dict[str, Any]:
    mock.control("reset")
    time.sleep(limit.burst / limit.rate + 0.05)  # the bucket full again
    mock.control("open" if engine == "sluice-unlimited" else "reset")
    job = {"engine": "dlt" if engine == "dlt" else "sluice", "config": config(mock.origin, engine, limit)}
    result = run_worker(job)
    statuses = mock.control("stats")
    rows = sum(t["rows"] for t in result.get("tables", {}).values())
    return {"wall": result.get("wall"), "error": result.get("error"), "ok": statuses.get("200", 0),
            "refused": statuses.get("429", 0), "rows": rows, "busiest": statuses.get("busiest_second", 0),
            "says": limit.says, "rate": limit.rate, "burst": limit.burst, "requests": limit.requests,
            "floor": limit.floor, "engine": engine, "limit": limit}


def run(limits: Sequence[Limit], engines: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for limit in limits:
        mock = Mock(limit)
        try:
            for engine in engines:
                found = one(mock, engine, limit)
                print(f"  {limit.says:<11} {limit.rate:>5g}/s {engine:<15} {found['wall'] or 0:7.2f} s "
                      f"(floor {limit.floor:.2f})  {found['refused']} x 429"
                      f"{'  ERROR ' + str(found['error'])[:120] if found['error'] else ''}", file=sys.stderr, flush=True)
                out.append(found)
        finally:
            mock.close()
    return out


def matrix(rates: Sequence[float], says: Sequence[str], seconds: float = SECONDS, least: int = MIN_REQUESTS) -> list[Limit]:
    return [Limit(rate, mode, seconds, least) for mode in says for rate in rates]


# -- the report --------------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| API says | limit | requests | floor s | sluice s (x floor, 429s) | sluice matched s (x floor, 429s, "
             "busiest second) | dlt 1.31 s (x floor, 429s) | sluice / dlt | sluice, no limit s |", "|---" * 9 + "|"]
    for group in _grouped(results).values():
        first = group[0]
        cells = {r["engine"]: _cell(r) for r in group}
        ours, dlt, free = _ok(group, "sluice"), _ok(group, "dlt"), _ok(group, "sluice-unlimited")
        cells["ratio"] = f"{ours['wall'] / dlt['wall']:.2f}" if ours and dlt else ""
        cells["free"] = f"{free['wall']:.2f}" if free else ""
        shown = " | ".join(cells.get(k, "") for k in ("sluice", "sluice-matched", "dlt", "ratio", "free"))
        lines.append(f"| {first['says']} | {first['rate']:g}/s, burst {first['burst']} | {first['requests']:,} "
                     f"| {first['floor']:.2f} | {shown} |")
    return "\n".join(lines)


def _grouped(results: list[dict[str, Any]]) -> dict[tuple[str, float], list[dict[str, Any]]]:
    groups: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["says"], r["rate"]), []).append(r)
    return groups


def _ok(group: list[dict[str, Any]], engine: str) -> dict[str, Any] | None:
    return next((r for r in group if r["engine"] == engine and r["wall"] and not r["error"]), None)


def _cell(r: dict[str, Any]) -> str:
    if r["error"] or not r["wall"]:
        return f"ERROR {str(r['error'])[:60]}"
    busiest = f", {r['busiest']}/s" if r["engine"] == "sluice-matched" else ""
    return f"{r['wall']:.2f} ({r['wall'] / r['floor']:.2f}x, {r['refused']}{busiest})"


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def targets(results: list[dict[str, Any]]) -> list[str]:
    """Issue 13.1, per rate and way of saying no: sluice with no configuration within 1.3x of the
    floor, <= 5% of its requests refused, never slower than dlt; `rate_limit` matched never
    over `burst + rate` requests in any sliding second."""
    return [_judged(group) for group in _grouped(results).values()]


def _judged(group: list[dict[str, Any]]) -> str:
    first = group[0]
    where = f"rate-limited {first['says']} {first['rate']:g}/s ({first['requests']:,} requests)"
    ours, dlt, matched = _ok(group, "sluice"), _ok(group, "dlt"), _ok(group, "sluice-matched")
    if ours is None:
        return f"{where}: sluice failed: **missed**"
    sent = ours["ok"] + ours["refused"]
    parts = [f"{ours['wall'] / first['floor']:.2f}x the floor (target <= {FLOOR_GOAL}x): "
             f"{_met(ours['wall'] <= FLOOR_GOAL * first['floor'])}",
             f"{ours['refused']} of {sent} refused, {ours['refused'] / max(sent, 1):.1%} (target <= 5%): "
             f"{_met(ours['refused'] <= REFUSED_GOAL * sent)}"]
    if dlt is not None:
        parts.append(f"{ours['wall'] / dlt['wall']:.2f}x dlt's time (target <= 1x): {_met(ours['wall'] <= dlt['wall'])}")
    if matched is not None:  # + 1: arrivals bunch on loopback (the send times are held to the ceiling in tests)
        ceiling = first["burst"] + first["rate"]
        parts.append(f"rate_limit matched: busiest second at the mock {matched['busiest']} (ceiling {ceiling:g}, "
                     f"+ 1 for arrival jitter): {_met(matched['busiest'] <= ceiling + 1)}")
    return f"{where}: " + "; ".join(parts)


def report(results: list[dict[str, Any]], command: str) -> str:
    lines = [f"`{command}`", "", table(results), "", note(results), "", "Targets:", ""]
    return "\n".join(lines + [f"- {t}" for t in targets(results)])


FLOOR_NOTE = ("floor = (requests - burst) / rate: a token bucket that starts full admits at most burst + rate x t "
              "requests in t seconds, so no engine loads the workload sooner; engines' fixed costs (about a second) "
              "are not in it. Workload: rate x {seconds:g} s requests, at least {least} (a fan-out of parents on pages of 100, "
              "one child request each). Busiest second: the most requests the mock saw in any sliding second. "
              "sluice, no limit: the same workload with the bucket off, the engine's own time for it.")


def note(results: list[dict[str, Any]]) -> str:
    limit = results[0]["limit"] if results else Limit(0.0, "")
    return FLOOR_NOTE.format(seconds=limit.seconds, least=limit.least)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ratelimit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default=",".join(f"{r:g}" for r in RATES), help="requests per second of the mock's bucket")
    parser.add_argument("--says", default=",".join(SAYS), help="how the mock says no")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--seconds", type=float, default=SECONDS, help="the floor each case is sized to (default 10)")
    parser.add_argument("--least", type=int, default=MIN_REQUESTS, help="the fewest requests of a case (default 100)")
    parser.add_argument("--out", type=Path)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        serve(Limit(float(argv[1]), argv[2], float(argv[3]), int(argv[4])))
        return 0
    args = parse_args(argv)
    limits = matrix([float(r) for r in args.rates.split(",")], args.says.split(","), args.seconds, args.least)
    results = run(limits, args.engines.split(","))
    text = report(results, "python -m bench.ratelimit " + " ".join(argv))
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
