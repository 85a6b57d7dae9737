"""The `sluice` command: validate | run | demo | mock | bench.

Exit codes: 0 done, 1 the run failed, 2 the configuration is wrong.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from .configfile import LoadedConfig, load_config, with_base_url
from .engine.run import RunOptions
from .errors import ConfigError, SluiceError

EXIT_OK, EXIT_RUN, EXIT_CONFIG = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_CONFIG
    _logging(getattr(args, "log_format", "text"), getattr(args, "verbose", False))
    if not args.verbose:
        # dlt warns about columns that only saw nulls on every run; keep the CLI's output readable.
        os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    console = Console(stderr=False, width=None if sys.stdout.isatty() else 120)
    try:
        return int(args.handler(args, console))
    except ConfigError as exc:
        Console(stderr=True).print(f"[bold red]configuration error[/]\n{exc}", markup=True, highlight=False)
        return EXIT_CONFIG
    except SluiceError as exc:
        Console(stderr=True).print(f"[bold red]run failed[/]: {exc}", markup=True, highlight=False)
        return EXIT_RUN
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sluice", description="Load REST APIs into a database through dlt.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log requests and retries")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("validate", help="check a configuration; every problem at once")
    p.add_argument("config", help=".py (defines `source` or `config`), .yaml, .json or .toml")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("run", help="run a configuration into a destination (DuckDB by default)")
    p.add_argument("config")
    _run_options(p)
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("demo", help="start a mock seed API, run its seed configuration, load DuckDB")
    p.add_argument("name", nargs="?", default="ticketing", help="ticketing (default), tickets, events, servicedesk, incidents or all")
    p.add_argument("--dir", default="sluice-demo", help="where DuckDB files and dlt state go (default ./sluice-demo)")
    p.add_argument("--max-retry-delay", type=float, default=0.5, help="cap on retry waits, seconds (default 0.5 for the demo)")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("mock", help="serve a mock seed API in the foreground")
    p.add_argument("name")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--count", action="append", default=[], metavar="RESOURCE=N")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.set_defaults(handler=cmd_mock)
    return parser


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--destination", default="duckdb")
    p.add_argument("--duckdb-file", help="DuckDB file (default <pipeline-name>.duckdb)")
    p.add_argument("--dataset-name")
    p.add_argument("--pipeline-name")
    p.add_argument("--pipelines-dir", help="where dlt keeps pipeline state")
    p.add_argument("--resources", help="comma-separated resource names to load")
    p.add_argument("--base-url", help="point the configuration at another host, e.g. a local mock")
    p.add_argument("--max-retry-delay", type=float, help="cap every wait before a retry (seconds)")
    p.add_argument("--max-pages", type=int, help="safety cap of pages per chain")
    p.add_argument("--summary-json", help="write the run summary as JSON to this file")
    p.add_argument("--log-format", choices=("text", "json"), default="text")


def _logging(fmt: str, verbose: bool) -> None:
    level = logging.INFO if verbose else logging.WARNING
    if fmt == "json":
        from .logs import JsonFormatter

        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=level, handlers=[handler], force=True)
    else:
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    from .config import parse_source

    loaded = load_config(args.config)
    spec = parse_source(loaded.config)
    console.print(f"[green]ok[/]: {args.config}: {len(spec.resources)} resources "
                  f"({', '.join(r.name + (f' <- {r.parent}' if r.parent else '') for r in spec.resources)})")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from . import runner
    from .summary import print_summary, write_summary_json

    loaded = load_config(args.config)
    loaded = LoadedConfig(with_base_url(loaded.config, args.base_url), loaded.kwargs, loaded.path)
    name = args.pipeline_name or Path(args.config).stem
    target = runner.Target(
        pipeline_name=name, destination=args.destination, dataset_name=args.dataset_name,
        pipelines_dir=args.pipelines_dir, duckdb_file=args.duckdb_file,
        resources=tuple(r.strip() for r in (args.resources or "").split(",") if r.strip()),
    )
    options = RunOptions(max_pages=args.max_pages, max_retry_delay=args.max_retry_delay)
    result = runner.run(loaded, target, options)
    print_summary(result, console, title=f"sluice run {name}")
    if args.summary_json:
        write_summary_json(result, args.summary_json)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    from .demo import run_demo

    return run_demo(args.name, Path(args.dir), args.max_retry_delay, console)


def cmd_mock(args: argparse.Namespace, console: Console) -> int:
    from .mock import serve_forever

    counts = {}
    for item in args.count:
        key, _, value = item.partition("=")
        counts[key] = int(value)
    kwargs: dict[str, object] = {"counts": counts or None}
    if args.latency_ms:
        from .mock import Fault

        kwargs["faults"] = {"*": Fault(latency_ms=args.latency_ms)}
    serve_forever(args.name, args.port, host=args.host, **kwargs)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
