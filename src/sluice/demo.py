"""`sluice demo`: a seed API's mock, its unchanged configuration, a DuckDB file, a summary.

Works with no network and no set-up: the mock serves on 127.0.0.1 and its API key is handed
to the configuration the way a user would (the env var dlt reads for `dlt.secrets[...]`).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from rich.console import Console

from . import runner
from .configfile import LoadedConfig, load_config, with_base_url
from .engine.run import RunOptions
from .summary import print_summary


def connector_file(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    return Path(spec.origin)


def run_demo(name: str, directory: Path, max_retry_delay: float, console: Console) -> int:
    from .connectors import CONNECTORS

    names = list(CONNECTORS) if name == "all" else [name]
    unknown = [n for n in names if n not in CONNECTORS]
    if unknown:
        console.print(f"unknown demo {unknown[0]!r}; choose one of: {', '.join(CONNECTORS)}, all")
        return 2
    directory.mkdir(parents=True, exist_ok=True)
    for demo in names:
        run_one(demo, directory, max_retry_delay, console)
    return 0


def run_one(name: str, directory: Path, max_retry_delay: float, console: Console) -> runner.RunResult:
    from .connectors import CONNECTORS
    from .mock import MockServer

    connector = CONNECTORS[name]
    pipelines = directory / "pipelines"
    shutil.rmtree(pipelines / f"demo_{name}", ignore_errors=True)
    (directory / f"demo_{name}.duckdb").unlink(missing_ok=True)
    with MockServer(connector.mock) as mock:
        console.print(f"[bold]{connector.title}[/]: mock API at {mock.base_url}, configuration {connector.module} (unchanged)")
        os.environ[connector.secret.upper()] = mock.api_key
        loaded = load_config(connector_file(connector.module))
        loaded = LoadedConfig(with_base_url(loaded.config, mock.base_url), loaded.kwargs, loaded.path)
        target = runner.Target(pipeline_name=f"demo_{name}", dataset_name=name, pipelines_dir=str(pipelines),
                               duckdb_file=str(directory / f"demo_{name}.duckdb"))
        result = runner.run(loaded, target, RunOptions(max_retry_delay=max_retry_delay))
    print_summary(result, console, title=f"demo {name}")
    console.print(f"loaded into {directory / f'demo_{name}.duckdb'} (dataset '{name}')\n")
    return result
