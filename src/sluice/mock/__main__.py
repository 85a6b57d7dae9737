"""`python -m sluice.mock NAME [--port P] [--count resource=N ...] [--latency-ms X] ...`"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from ._faults import Fault
from ._registry import MOCK_NAMES
from ._server import serve_forever


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sluice.mock", description="Serve a sluice mock API.")
    parser.add_argument("name", choices=MOCK_NAMES)
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", action="append", default=[], metavar="RESOURCE=N")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=JSON")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="on every route")
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    return parser.parse_args(argv)


def _pairs(items: Sequence[str], flag: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"{flag} expects NAME=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def _option_value(raw: str) -> Any:
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return frozenset(value) if isinstance(value, list) else value


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    counts = {k: int(v) for k, v in _pairs(args.count, "--count").items()}
    options = {k: _option_value(v) for k, v in _pairs(args.option, "--option").items()}
    faults = (
        {"*": Fault(latency_ms=args.latency_ms, jitter_ms=args.jitter_ms)} if args.latency_ms or args.jitter_ms else {}
    )
    serve_forever(args.name, args.port, args.host, counts=counts, seed=args.seed, faults=faults, options=options)


if __name__ == "__main__":
    main()
