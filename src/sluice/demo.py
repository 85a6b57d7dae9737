"""`sluice demo`: a seed API's mock, its unchanged configuration, a DuckDB file, a summary.

Works with no network and no set-up: the mock serves on 127.0.0.1 and its API key is handed
to the configuration the way a user would (the env var dlt reads for `dlt.secrets[...]`).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from . import runner
from .configfile import LoadedConfig, load_config, with_base_url
from .engine.run import RunOptions


def connector_file(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    return Path(spec.origin)


def yaml_file(name: str) -> Path:
    """The YAML form of a seed configuration, next to its Python form."""
    return connector_file(f"sluice.connectors.{name}").with_suffix(".yaml")


def run_demo(args: argparse.Namespace, console: Console) -> int:
    from .connectors import CONNECTORS

    names = list(CONNECTORS) if args.name == "all" else [args.name]
    unknown = [n for n in names if n not in CONNECTORS]
    if unknown:
        console.print(f"unknown demo {unknown[0]!r}; choose one of: {', '.join(CONNECTORS)}, all")
        return 2
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    for demo in names:
        run_one(demo, directory, args, console)
    if args.log_format != "json":
        _next_steps(names[-1], directory, console)
    return 0


def run_one(name: str, directory: Path, args: argparse.Namespace, console: Console) -> None:
    from .connectors import CONNECTORS
    from .execute import execute
    from .mock import Fault, MockServer

    connector = CONNECTORS[name]
    pipelines = directory / "pipelines"
    shutil.rmtree(pipelines / f"demo_{name}", ignore_errors=True)
    (directory / f"demo_{name}.duckdb").unlink(missing_ok=True)
    faults = {"*": Fault(latency_ms=args.latency_ms)} if args.latency_ms else None
    with MockServer(connector.mock, faults=faults) as mock:
        if args.log_format != "json":
            console.print(f"[bold]{escape(connector.title)}[/]\n  mock API  {mock.base_url}\n"
                          f"  config    {escape(str(_shown(connector_file(connector.module))))} (the seed, unchanged)",
                          highlight=False)
        os.environ[connector.secret.upper()] = mock.api_key
        loaded = load_config(connector_file(connector.module))
        loaded = LoadedConfig(with_base_url(loaded.config, mock.base_url), loaded.kwargs, loaded.path)
        target = runner.Target(pipeline_name=f"demo_{name}", dataset_name=name, pipelines_dir=str(pipelines),
                               duckdb_file=str(directory / f"demo_{name}.duckdb"))
        execute(loaded, target, RunOptions(max_retry_delay=args.max_retry_delay), args, console, f"demo {name}")
    if args.log_format != "json":
        console.print(f"  loaded into {directory / f'demo_{name}.duckdb'} (dataset '{name}')\n", highlight=False)


def _shown(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _next_steps(name: str, directory: Path, console: Console) -> None:
    database = directory / f"demo_{name}.duckdb"
    steps = [
        (f"sluice show --duckdb-file {database}", "tables, row counts, last load"),
        (f"sluice show --duckdb-file {database} {_first_table(name)}", "a few rows"),
        ("sluice demo all", "the five seed APIs"),
        ("sluice mock tickets --port 8000", "(another terminal) a mock API; prints its api_key"),
    ]
    console.print("[bold]next[/]")
    width = max(len(c) for c, _ in steps)
    for command, what in steps:
        console.print(f"  {escape(command.ljust(width))}  [dim]# {what}[/]", highlight=False)
    console.print("  API_KEY=<its api_key> sluice preview src/sluice/connectors/tickets.yaml --base-url http://127.0.0.1:8000",
                  highlight=False)
    console.print("  [dim]# the first page of a resource: sample rows, inferred schema, paginator and selector[/]")


def _first_table(name: str) -> str:
    return {"ticketing": "events", "tickets": "tickets", "events": "events", "servicedesk": "tickets",
            "incidents": "incidents"}.get(name, name)
