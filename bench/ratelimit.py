"""Rate-limited cases (issue 13): sluice with no configuration, sluice with `rate_limit`
matched by hand, and dlt 1.31, on one token-bucket mock, against the theoretical floor.

    python -m bench.ratelimit                               # 20, 100, 500 req/s; three ways of saying no
    python -m bench.ratelimit --rates 5,20 --says bare --out rl.md

The mock (its own process: `python -m bench.ratelimit serve ...`) serves 300 parents on 3
pages (and an empty 4th) and one page of children per parent: a fan-out of 300 child requests (304 requests in
all, each engine's own retries aside) behind one token bucket of `rate` requests per second
and `burst` tokens. Past it, a 429, said one of three ways (`--says`):

- `retry-after`: `Retry-After` with the exact wait for the next token (milliseconds);
- `reset`: no `Retry-After`; every answer carries `X-RateLimit-Limit / -Remaining / -Reset`
  (the reset: seconds until the bucket is full again);
- `bare`: a 429 and nothing else.

The floor is `(requests - burst) / rate`: the API's own limit, no engine cost. Each run is a
fresh `bench.worker` process (wall: building the source to the end of the load into DuckDB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .harness import run_worker
from .mockproc import REPO, child_env

PARENTS = 300
PER_PAGE = 100
BURSTS = {5.0: 2, 20.0: 5, 100.0: 10, 500.0: 25}
ENGINES = ("sluice", "sluice-matched", "dlt")


# -- the mock ----------------------------------------------------------------------------------


def _app(rate: float, burst: int, says: str) -> Any:
    from aiohttp import web

    state: dict[str, Any] = {}

    def reset() -> None:
        state.update(tokens=float(burst), at=time.monotonic(), statuses={})

    def take() -> tuple[bool, dict[str, str]]:
        now = time.monotonic()
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
        ids = range((page - 1) * PER_PAGE + 1, min(page * PER_PAGE, PARENTS) + 1)
        return answer({"data": [{"id": i, "name": f"parent {i}"} for i in ids]})

    async def children(request: web.Request) -> web.Response:
        parent = int(request.match_info["id"])
        return answer({"data": [{"id": parent * 10 + i, "value": i} for i in range(2)]})

    async def control(request: web.Request) -> web.Response:
        if request.match_info["what"] == "reset":
            reset()
        return web.json_response({str(k): v for k, v in state["statuses"].items()})

    reset()
    app = web.Application()
    app.router.add_get("/parents", parents)
    app.router.add_get("/parents/{id}/children", children)
    app.router.add_get("/_/{what}", control)
    return app


def serve(rate: float, burst: int, says: str) -> None:
    import asyncio

    from aiohttp import web

    async def main() -> None:
        runner = web.AppRunner(_app(rate, burst, says), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"READY http://127.0.0.1:{port}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the harness closes stdin
        await runner.cleanup()

    asyncio.run(main())


class Mock:
    def __init__(self, rate: float, burst: int, says: str) -> None:
        argv = [sys.executable, "-m", "bench.ratelimit", "serve", str(rate), str(burst), says]
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


def config(origin: str, engine: str, rate: float, burst: int) -> dict[str, Any]:
    client: dict[str, Any] = {"base_url": origin + "/"}
    if engine == "sluice-matched":
        client["rate_limit"] = {"requests_per_second": rate, "burst": burst}
    page = {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": None}  # ends on the empty 4th page
    return {"client": client, "resources": [
        {"name": "parents", "endpoint": {"path": "parents", "data_selector": "data", "paginator": page}},
        {"name": "children", "endpoint": {"path": "parents/{resources.parents.id}/children", "data_selector": "data",
                                          "paginator": "single_page"}},
    ]}


def one(mock: Mock, engine: str, rate: float, burst: int) -> dict[str, Any]:
    mock.control("reset")
    time.sleep(burst / rate + 0.05)  # the bucket full again
    mock.control("reset")
    job = {"engine": "dlt" if engine == "dlt" else "sluice", "config": config(mock.origin, engine, rate, burst)}
    result = run_worker(job)
    statuses = mock.control("stats")
    rows = sum(t["rows"] for t in result.get("tables", {}).values())
    return {"wall": result.get("wall"), "error": result.get("error"), "ok": statuses.get("200", 0),
            "refused": statuses.get("429", 0), "rows": rows}


def run(rates: list[float], says: list[str], engines: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for mode in says:
        for rate in rates:
            burst = BURSTS.get(rate, max(2, int(rate / 10)))
            mock = Mock(rate, burst, mode)
            try:
                for engine in engines:
                    found = one(mock, engine, rate, burst)
                    found.update(says=mode, rate=rate, burst=burst, engine=engine)
                    print(f"  {mode:<11} {rate:>5g}/s {engine:<15} {found['wall'] or 0:7.2f} s  {found['refused']} x 429"
                          f"{'  ERROR ' + str(found['error'])[:120] if found['error'] else ''}", file=sys.stderr, flush=True)
                    out.append(found)
            finally:
                mock.close()
    return out


def report(results: list[dict[str, Any]], command: str) -> str:
    lines = [f"`{command}`", "",
             "| API says | limit | floor s | sluice s (x floor, 429s) | sluice matched s (x floor, 429s) | dlt 1.31 s (x floor, 429s) "
             "| sluice / dlt |", "|---|---|---|---|---|---|---|"]
    for (mode, rate), group in _grouped(results).items():
        burst = group[0]["burst"]
        requests = max(r["ok"] for r in group) or PARENTS + 4
        floor = (requests - burst) / rate
        cells = {r["engine"]: _cell(r, floor) for r in group}
        walls = {r["engine"]: r["wall"] for r in group if r["wall"] and not r["error"]}
        ratio = f"{walls['sluice'] / walls['dlt']:.2f}" if "sluice" in walls and "dlt" in walls else ""
        lines.append(f"| {mode} | {rate:g}/s, burst {burst} | {floor:.2f} | {cells.get('sluice', '')} "
                     f"| {cells.get('sluice-matched', '')} | {cells.get('dlt', '')} | {ratio} |")
    lines += ["", targets(results)]
    return "\n".join(lines)


def _grouped(results: list[dict[str, Any]]) -> dict[tuple[str, float], list[dict[str, Any]]]:
    groups: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["says"], r["rate"]), []).append(r)
    return groups


def _cell(r: dict[str, Any], floor: float) -> str:
    if r["error"] or not r["wall"]:
        return f"ERROR {str(r['error'])[:60]}"
    return f"{r['wall']:.2f} ({r['wall'] / floor:.2f}x, {r['refused']})"


def targets(results: list[dict[str, Any]]) -> str:
    """Issue 13.1: no configuration within 1.3x of the floor, <= 5% refused, never worse than dlt."""
    misses = []
    for (mode, rate), group in _grouped(results).items():
        ours = next((r for r in group if r["engine"] == "sluice" and r["wall"] and not r["error"]), None)
        dlt = next((r for r in group if r["engine"] == "dlt" and r["wall"] and not r["error"]), None)
        if ours is None:
            misses.append(f"{mode} {rate:g}/s: sluice failed")
            continue
        floor = (max(r["ok"] for r in group) - group[0]["burst"]) / rate
        if ours["wall"] > 1.3 * floor:
            misses.append(f"{mode} {rate:g}/s: {ours['wall'] / floor:.2f}x the floor")
        if ours["refused"] > 0.05 * (ours["ok"] + ours["refused"]):
            misses.append(f"{mode} {rate:g}/s: {ours['refused']} refused")
        if dlt is not None and ours["wall"] > dlt["wall"]:
            misses.append(f"{mode} {rate:g}/s: slower than dlt")
    return "Targets (sluice, no configuration: <= 1.3x floor, <= 5% refused, never slower than dlt): " + (
        "met" if not misses else "missed: " + "; ".join(misses))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        serve(float(argv[1]), int(argv[2]), argv[3])
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.ratelimit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="20,100,500", help="requests per second of the mock's bucket (5, 20, 100, 500)")
    parser.add_argument("--says", default="retry-after,reset,bare", help="how the mock says no")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results = run([float(r) for r in args.rates.split(",")], args.says.split(","), args.engines.split(","))
    text = report(results, "python -m bench.ratelimit " + " ".join(argv))
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
