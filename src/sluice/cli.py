"""The `sluice` command: validate | run | preview | show | demo | mock | bench.

Exit codes: 0 done, 1 the run failed, 2 the configuration (or the command line) is wrong.
Output: a live progress table and a summary at a terminal; no live display when stdout is
not a terminal; with `--log-format json`, JSON lines on stdout and nothing else there.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from .configfile import LoadedConfig, load_config, with_base_url
from .engine.run import RunOptions
from .errors import ConfigError, Issue, SluiceError
from .execute import EXIT_OK, execute
from .runner import DUCKDB_MEMORY_LIMIT

EXIT_RUN, EXIT_CONFIG = 1, 2
log = logging.getLogger("sluice")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # everything after `bench` belongs to the benchmark module
        return bench(argv[1:], Console())
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help is 0, a wrong command line is 2
        return int(exc.code or 0)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_CONFIG
    from .logs import setup

    setup(args.log_format, args.verbose)
    if not args.verbose:
        # dlt warns about columns that only saw nulls on every run; keep the CLI's output readable.
        os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    # No network but the API's: dlt's anonymous telemetry stays off unless the user turns it on.
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    console = Console(width=None if sys.stdout.isatty() else 120)
    try:
        return int(args.handler(args, console))
    except ConfigError as exc:
        _report_config_error(exc, args, Console(stderr=True, width=console.width))
        return EXIT_CONFIG
    except KeyboardInterrupt as exc:  # outside a run's summary: before it started, or as it ended
        Console(stderr=True).print("[yellow]interrupted[/]")
        return 128 + getattr(exc, "signum", signal.SIGINT)
    except Exception as exc:  # noqa: BLE001 - SluiceError or dlt's own (a failed load): exit 1, never a traceback
        _report_failure(exc, args)
        return EXIT_RUN


# -- the command line --------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sluice", description="Load REST APIs described in dlt's rest_api dialect into DuckDB (or any dlt destination).",
        epilog="Start with `sluice demo`; then `sluice validate`, `sluice preview` and `sluice run` your own CONFIG.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _command(sub, "validate", "check a configuration: every problem at once, with the lines of the file")
    p.add_argument("config", help=".py (defines `source` or `config`), .yaml, .json or .toml")
    p.add_argument("--check-connection", action="store_true", help="also make one request per resource (auth, paths, selectors)")
    p.add_argument("--base-url", help="point the configuration at another host for --check-connection")
    p.add_argument("--airbyte-config", metavar="JSON", help="an Airbyte manifest's config (what its spec asks for)")
    p.set_defaults(handler=cmd_validate)

    p = _command(sub, "run", "run a configuration into a destination (DuckDB by default)")
    p.add_argument("config")
    _run_options(p)
    p.add_argument("--airbyte-config", metavar="JSON", help="an Airbyte manifest's config (what its spec asks for)")
    p.set_defaults(handler=cmd_run)

    p = _command(sub, "preview", "fetch the first page of a resource: sample rows, inferred schema; loads nothing")
    p.add_argument("config")
    p.add_argument("resource", nargs="?", help="resource to preview (default: the first one)")
    p.add_argument("--base-url", help="point the configuration at another host, e.g. a local mock")
    p.add_argument("--pages", type=int, default=1, help="pages to fetch (default 1)")
    p.add_argument("--rows", type=int, default=5, help="sample rows to show (default 5)")
    p.set_defaults(handler=cmd_preview)

    p = _command(sub, "show", "list the loaded tables with row counts and last load; `show TABLE` prints rows")
    p.add_argument("table", nargs="?", help="a table (or dataset.table) to print a few rows of")
    p.add_argument("--pipeline-name", help="the pipeline of `sluice run` (default: the config file's name)")
    p.add_argument("--duckdb-file", help="the DuckDB file (default: found from the pipeline, or the only one here)")
    p.add_argument("--pipelines-dir", help="where dlt keeps pipeline state (as given to `sluice run`)")
    p.add_argument("--limit", type=int, default=10, help="rows to print with TABLE (default 10)")
    p.set_defaults(handler=cmd_show)

    p = _command(sub, "demo", "start a mock seed API, run its seed configuration, load DuckDB, show a summary")
    p.add_argument("name", nargs="?", default="ticketing", help="ticketing (default), tickets, events, servicedesk, incidents or all")
    p.add_argument("--dir", default="sluice-demo", help="where DuckDB files and dlt state go (default ./sluice-demo)")
    p.add_argument("--max-retry-delay", type=float, default=0.5, help="cap on retry waits, seconds (default 0.5 for the demo)")
    p.add_argument("--latency-ms", type=float, default=0.0, help="slow every mock response down (to watch the progress)")
    p.set_defaults(handler=cmd_demo)

    p = _command(sub, "mock", "serve a mock seed API in the foreground (Ctrl-C stops it)")
    p.add_argument("name", help="ticketing, tickets, events, servicedesk, incidents or bench")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--count", action="append", default=[], metavar="RESOURCE=N", help="records of a resource")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.set_defaults(handler=cmd_mock)

    p = _command(sub, "bench", "run the benchmarks in bench/ (python -m bench ARGS) from a source checkout")
    p.add_argument("args", nargs=argparse.REMAINDER, help="passed to `python -m bench`")
    p.set_defaults(handler=cmd_bench)
    _airbyte_commands(sub)
    return parser


def _command(sub: Any, name: str, help: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help)
    p.add_argument("-v", "--verbose", action="store_true", help="log requests, retries and dlt's own messages")
    p.add_argument("--log-format", choices=("text", "json"), default="text",
                   help="json: JSON lines on stdout for schedulers, no live display")
    return p


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--destination", default="duckdb", help="any dlt destination name (default duckdb)")
    p.add_argument("--duckdb-file", help="DuckDB file (default <pipeline-name>.duckdb)")
    p.add_argument("--duckdb-memory-limit", default=DUCKDB_MEMORY_LIMIT,
                   help=f"DuckDB's memory_limit while dlt loads (default {DUCKDB_MEMORY_LIMIT}; DuckDB spills to disk past it; 0: no limit)")
    p.add_argument("--dataset-name", help="default: the pipeline name")
    p.add_argument("--pipeline-name", help="default: the config file's name")
    p.add_argument("--pipelines-dir", help="where dlt keeps pipeline state (default ~/.dlt/pipelines)")
    p.add_argument("--resources", help="comma-separated resource names to load (their parents are fetched too)")
    p.add_argument("--base-url", help="point the configuration at another host, e.g. a local mock")
    p.add_argument("--max-retry-delay", type=float, help="cap every wait before a retry (seconds)")
    p.add_argument("--max-pages", type=int, help="safety cap of pages per chain")
    p.add_argument("--summary-json", metavar="FILE", help="write the run summary as JSON to FILE (also when the run fails)")
    p.add_argument("--checkpoint-every", type=int, default=50_000, metavar="N",
                   help="commit a checkpoint every N records (default 50000; 0: off, all or nothing)")
    p.add_argument("--checkpoint-seconds", type=float, default=300.0, metavar="S",
                   help="... or every S seconds, whichever comes first (default 300)")
    p.add_argument("--fresh", action="store_true", help="discard the last checkpoint's frontier: start the run from the beginning")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local (default), or dask: fetch on a Dask cluster, one load (docs/scale-out.md)")
    p.add_argument("--workers", type=int, metavar="N", help="--executor dask: a LocalCluster of N worker processes (default 2)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="--executor dask: an existing cluster, e.g. tcp://host:8786")
    p.add_argument("--staging", metavar="DIR_OR_URL",
                   help="--executor dask: where shards stage their pages, reachable by every worker (default: a temp dir)")


# -- validate ----------------------------------------------------------------------------------

def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    from .config import parse_source

    if _is_manifest_file(args.config):
        return cmd_validate_manifest(args, console)

    missing: list[Issue] = []
    loaded = load_config(args.config, missing=missing)
    try:
        spec = parse_source(with_base_url(loaded.config, args.base_url))
    except ConfigError as exc:
        raise ConfigError(missing + exc.issues) from None
    if missing:
        raise ConfigError(missing)
    count = len(spec.resources)
    console.print(f"[green]✓[/] {escape(args.config)}: valid, {count} resource{'s' if count != 1 else ''}", highlight=False)
    console.print(_resource_tree(spec))
    if not args.check_connection:
        return EXIT_OK
    from .preview import check_connection, checks_table

    probes = check_connection(spec)
    console.print(checks_table(probes))
    return EXIT_OK if all(p.ok or p.problem == "parent" for p in probes) else EXIT_RUN


def _resource_tree(spec: Any) -> Table:
    from .preview import describe_paginator

    table = Table(box=None, header_style="bold", padding=(0, 1, 0, 0))
    for column in ("resource", "write", "path", "data_selector", "paginator"):
        table.add_column(column, no_wrap=column != "paginator")
    depth: dict[str, int] = {}
    for resource in _parents_first(spec):
        depth[resource.name] = depth[resource.parent] + 1 if resource.parent else 0
        indent = "  " * depth[resource.name] + ("└ " if resource.parent else "")
        paginator = describe_paginator(resource.endpoint.paginator) if resource.endpoint.paginator else "auto"
        write = resource.hints.get("write_disposition", "append")
        write = write.get("disposition", "append") if isinstance(write, dict) else write
        method = "POST " if resource.endpoint.method == "POST" else ""
        table.add_row(escape(indent + resource.name) + ("" if resource.selected else " [dim](not loaded)[/]"),
                      str(write), escape(method + resource.endpoint.path),
                      escape(resource.endpoint.data_selector or "(detected)"), escape(paginator))
    return table


def _parents_first(spec: Any) -> Iterator[Any]:
    def walk(parent: str | None) -> Iterator[Any]:
        for resource in spec.resources:
            if resource.parent == parent:
                yield resource
                yield from walk(resource.name)

    return walk(None)


def _report_config_error(exc: ConfigError, args: argparse.Namespace, err: Console) -> None:
    if args.log_format == "json":
        log.error("configuration error", extra={"fields": {
            "event": "config_error", "issues": [{"path": i.path, "message": i.message, "hint": i.hint} for i in exc.issues]}})
        return
    file = Path(args.config) if getattr(args, "config", None) else None
    out = Console(width=err.width) if args.command == "validate" else err  # validate's answer is its output
    print_issues(exc, file, out)


def print_issues(exc: ConfigError, file: Path | None, out: Console) -> None:
    """Every problem: its path, what is wrong, the hint, and the lines of the file around it.
    Problems with one cause (a bad value in resource_defaults) are shown once, with every path."""
    count = len(exc.issues)
    where = f" in {escape(str(file))}" if file else ""
    out.print(f"[bold red]✗ {count} problem{'s' if count != 1 else ''}[/]{where}", highlight=False)
    for n, (paths, issue, found) in enumerate(_grouped(exc.issues, file), 1):
        place = f"[cyan]{escape(paths[0])}[/]: " if paths[0] else ""
        out.print(f"\n[bold]{n}.[/] {place}{escape(issue.message)}", highlight=False)
        if len(paths) > 1:
            out.print(f"   [dim]also {escape(', '.join(paths[1:]))}[/]", highlight=False)
        if issue.hint:
            out.print(f"   [green]→ {escape(issue.hint)}[/]", highlight=False)
        if found is not None and file is not None:
            line, syntax = found
            out.print(f"   [dim]{escape(file.name)}, line {line}:[/]", highlight=False)
            out.print(Padding(syntax, (0, 0, 0, 3), expand=False))


def _grouped(issues: list[Issue], file: Path | None) -> list[tuple[list[str], Issue, Any]]:
    from .snippets import snippet

    groups: dict[Any, tuple[list[str], Issue, Any]] = {}
    for issue in issues:
        found = snippet(file, issue.path, message=issue.message) if file is not None and file.is_file() else None
        key = (issue.message, issue.hint, found[0]) if found is not None else id(issue)
        groups.setdefault(key, ([], issue, found))[0].append(issue.path)
    return list(groups.values())


def _report_failure(exc: Exception, args: argparse.Namespace) -> None:
    if args.log_format == "json":
        log.error("run failed: %s", exc, extra={"fields": {"event": "run_failed", "error": str(exc),
                                                            "error_type": type(exc).__name__}})
        return
    err = Console(stderr=True)
    if args.verbose:
        err.print_exception()
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    shown = [line for line in lines if line.strip()][:12]
    more = " [dim](-v shows everything)[/]" if len(shown) < len(lines) and not args.verbose else ""
    err.print(f"[bold red]✗ run failed[/]: {escape(chr(10).join(shown))}{more}", highlight=False)
    if isinstance(exc, SluiceError):
        err.print("[dim]nothing of this run was committed; fix the cause and run again "
                  "(-v logs every request and retry)[/]", highlight=False)


# -- run -----------------------------------------------------------------------------------------

def _load(config: str, base_url: str | None, args: argparse.Namespace | None = None) -> LoadedConfig:
    if _is_manifest_file(config):
        return _load_manifest(config, base_url, args)
    loaded = load_config(config)
    return LoadedConfig(with_base_url(loaded.config, base_url), loaded.kwargs, loaded.path)


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from . import runner

    loaded = _load(args.config, args.base_url, args)
    name = args.pipeline_name or Path(args.config).stem
    target = runner.Target(
        pipeline_name=name, destination=args.destination, dataset_name=args.dataset_name,
        pipelines_dir=args.pipelines_dir, duckdb_file=args.duckdb_file,
        resources=tuple(r.strip() for r in (args.resources or "").split(",") if r.strip()),
        duckdb_memory_limit=None if args.duckdb_memory_limit in ("0", "none") else args.duckdb_memory_limit,
    )
    options = RunOptions(max_pages=args.max_pages, max_retry_delay=args.max_retry_delay)
    checkpoints = runner.Checkpointing(args.checkpoint_every, args.checkpoint_seconds, args.fresh, _announce(args))
    if args.executor != "dask":
        return execute(loaded, target, options, args, console, f"sluice run {name}", checkpoints)
    from .scale.cluster import connect

    with connect(args.workers, args.scheduler, args.staging) as executor:
        return execute(loaded, target, options, args, console, f"sluice run {name}", replace(checkpoints, executor=executor))


def _announce(args: argparse.Namespace) -> Any:
    def announce(resumed: Any) -> None:
        if args.log_format == "json":
            log.info("%s", resumed, extra={"fields": {"event": "run_resumed", "open_chains": resumed.open_chains,
                                                      "records_loaded": resumed.records}})
        else:
            Console(stderr=True).print(str(resumed), highlight=False)

    return announce


# -- preview, show, demo, mock, bench ------------------------------------------------------------

def cmd_preview(args: argparse.Namespace, console: Console) -> int:
    from .config import parse_source
    from .preview import (
        infer_tables,
        print_probe_header,
        print_problem,
        probe,
        sample_table,
        schema_tables,
    )

    loaded = _load(args.config, args.base_url, args)
    spec = parse_source(loaded.config)
    name = args.resource or spec.resources[0].name
    if name not in [r.name for r in spec.resources]:
        from .config.reader import suggest

        known = [r.name for r in spec.resources]
        raise ConfigError([Issue("RESOURCE", f"no resource {name!r}", suggest(name, known) or f"resources: {', '.join(known)}")])
    probes = probe(spec, name, max(args.pages, 1))
    for p in probes[:-1]:
        console.print(f"[dim]parent {escape(p.resource)}: {escape(p.url)} -> {p.status}, "
                      f"{len(p.records)} records; its first record feeds {escape(name)}[/]", highlight=False)
    last = probes[-1]
    if not last.ok:
        print_problem(last, console)
        return EXIT_RUN
    print_probe_header(last, console)
    if last.records:
        shapes = infer_tables(spec.resource(name), last.records, loaded.kwargs)
        root = next((s for s in shapes if s.parent is None), None)
        if root is not None:
            console.print(sample_table(root, args.rows, console.width))
        console.print("\n[bold]inferred schema[/]: the tables dlt would create from this sample", highlight=False)
        for table in schema_tables(shapes):
            console.print(table)
    others = [r.name for r in spec.resources if r.name != name]
    console.print(f"[dim]nothing was loaded. Other resources: {escape(', '.join(others)) or '-'}; "
                  f"`sluice preview {escape(args.config)} NAME` shows one.[/]", highlight=False)
    return EXIT_OK


# -- Airbyte manifests (sluice.airbyte) ---------------------------------------------------------

def _airbyte_commands(sub: Any) -> None:
    p = _command(sub, "convert", "write an Airbyte declarative manifest in sluice's dialect (YAML)")
    p.add_argument("manifest", help="the manifest.yaml of a low-code (declarative) Airbyte connector")
    p.add_argument("-o", "--output", help="the YAML file to write (default: standard output)")
    p.add_argument("--airbyte-config", metavar="JSON", help="the manifest's config; without it, values are "
                   "${secrets.NAME} / ${config.NAME} references")
    p.set_defaults(handler=cmd_convert)


def _is_manifest_file(path: str) -> bool:
    """A YAML file holding an Airbyte manifest rather than a sluice configuration."""
    import yaml

    from .airbyte import is_manifest

    file = Path(path)
    if file.suffix.lower() not in (".yaml", ".yml") or not file.is_file():
        return False
    try:
        return is_manifest(yaml.safe_load(file.read_text()))
    except yaml.YAMLError:
        return False  # the configuration loader reports it


def _converted(path: str, args: argparse.Namespace | None) -> Any:
    from .airbyte import conversion, read_manifest
    from .airbyte.export import read_config

    manifest = read_manifest(Path(path))
    wanted = [r.strip() for r in (getattr(args, "resources", None) or "").split(",") if r.strip()]
    return conversion(manifest, read_config(getattr(args, "airbyte_config", None), manifest), wanted or None)


def _load_manifest(path: str, base_url: str | None, args: argparse.Namespace | None) -> LoadedConfig:
    converted = _converted(path, args)
    if converted.issues:
        runnable = ",".join(converted.supported)
        raise ConfigError([*converted.issues, Issue("", "these streams cannot run", f"run the others with --resources {runnable}")])
    return LoadedConfig(with_base_url(converted.config, base_url), {}, Path(path))


def cmd_validate_manifest(args: argparse.Namespace, console: Console) -> int:
    """Which streams run, and every component that does not with its manifest path."""
    from .airbyte.coverage import checked

    converted = checked(_converted(args.config, args))
    table = Table("stream", "runs", box=None)
    for name, issues in converted.streams.items():
        table.add_row(escape(name), "[green]yes[/]" if not issues else f"[red]no[/] ({len(issues)} problem{'s' if len(issues) != 1 else ''})")
    console.print(f"{escape(args.config)}: {len(converted.supported)} of {len(converted.streams)} streams run with sluice", highlight=False)
    console.print(table)
    if converted.issues:
        raise ConfigError(converted.issues)
    return EXIT_OK


def cmd_convert(args: argparse.Namespace, console: Console) -> int:
    from .airbyte import convert, read_manifest
    from .airbyte.export import read_config, references, to_yaml

    manifest = read_manifest(Path(args.manifest))
    config = read_config(args.airbyte_config, manifest) if args.airbyte_config else references(manifest)
    text = to_yaml(convert(manifest, config), args.manifest)
    if not args.output:
        print(text, end="")
        return EXIT_OK
    Path(args.output).write_text(text)
    console.print(f"[green]✓[/] wrote {escape(args.output)}", highlight=False)
    return EXIT_OK


def cmd_show(args: argparse.Namespace, console: Console) -> int:
    from .show import connect, find_databases, print_rows, print_tables

    found = find_databases(args.duckdb_file, args.pipeline_name, args.pipelines_dir)
    if args.table and len(found) > 1:
        files = ", ".join(str(w.database) for w in found)
        raise ConfigError([Issue("--duckdb-file", f"several DuckDB files here ({files})", "say which one holds the table")])
    for where in found:
        con = connect(where)
        try:
            if args.table:
                print_rows(con, where, args.table, args.limit, console)
            else:
                print_tables(con, where, console)
        finally:
            con.close()
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    from .demo import run_demo

    return run_demo(args, console)


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


def cmd_bench(args: argparse.Namespace, console: Console) -> int:
    return bench(args.args, console)


def bench(argv: list[str], console: Console) -> int:
    root = Path(__file__).resolve().parents[2]
    if not (root / "bench" / "__main__.py").is_file():
        console.print("`sluice bench` runs the benchmarks in bench/ of a source checkout (git clone, "
                      "`pip install -e '.[bench]'`, then `sluice bench`); this installation has none.")
        return EXIT_RUN
    return subprocess.call([sys.executable, "-m", "bench", *argv], cwd=root)


if __name__ == "__main__":
    sys.exit(main())
