"""The second peer: Airbyte's declarative CDK (`airbyte-cdk` on PyPI) reading an equivalent
manifest with `source-declarative-manifest read`. It only extracts (records go to stdout as
JSON lines; we count them per stream), so its time has no normalize and no load in it.

The CDK pins many libraries, so it lives in a virtualenv of its own, found (in this order)
by `--airbyte-bin`, `$SLUICE_BENCH_AIRBYTE_BIN`, `source-declarative-manifest` on PATH, or
`~/.cache/sluice-bench/airbyte-venv` (made by `python -m bench --install-airbyte`).

Pagination as a manifest says it: `PageIncrement` (stops on a page shorter than its size,
so it makes one request fewer than an engine that needs the empty page), `CursorPagination`
on the `next` URL, and a `SubstreamPartitionRouter` for the children. Concurrency is the
manifest's `concurrency_level`, set to the same number of requests in flight as sluice's.

The `manifest` group runs one manifest on both sides: a seed's manifest of our own
(`examples/airbyte/<seed>.yaml`) against the seed's mock, sluice through the manifest's
conversion (what `manifest_source` hands to `rest_api_source`; extract and load into
DuckDB), the CDK reading the manifest itself (extract only). `manifest_note` prints the ratio.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import yaml

VENV = Path.home() / ".cache" / "sluice-bench" / "airbyte-venv"
EXECUTABLE = "source-declarative-manifest"
MANIFEST_VERSION = "6.0.0"
CDK_VERSION = "7.39.1"  # the version tests/test_airbyte_cdk.py is proven against (.ci/run installs the same)
CONCURRENCY = 8
Spec = Callable[[str], dict[str, Any]]
STARTUP = "start-up (an empty read, included in wall)"
_STREAM = re.compile(rb'"stream":\s*"([^"]+)"')
MANIFESTS = Path(__file__).resolve().parent.parent / "examples" / "airbyte"
# seed -> what its manifest's config holds besides the secret and the mock's URL, and the secret's name
SEED_CONFIGS: dict[str, tuple[dict[str, Any], str]] = {
    "ticketing": ({}, "api_key"),
    "servicedesk": ({"domain_name": "unused.example.com", "start_date": "2020-01-01T00:00:00Z"}, "api_key"),
    "incidents": ({}, "api_token"),
}


def find_executable(explicit: str | None = None) -> str | None:
    for candidate in (explicit, os.environ.get("SLUICE_BENCH_AIRBYTE_BIN"), shutil.which(EXECUTABLE),
                      str(VENV / "bin" / EXECUTABLE)):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def install() -> str:
    """A virtualenv with airbyte-cdk in ~/.cache/sluice-bench (its pins stay out of ours)."""
    if not (VENV / "bin" / "pip").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", f"airbyte-cdk=={CDK_VERSION}"], check=True)
    return str(VENV / "bin" / EXECUTABLE)


def _page_paginator(size: int) -> dict[str, Any]:
    return {
        "type": "DefaultPaginator",
        "page_token_option": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "page"},
        "pagination_strategy": {"type": "PageIncrement", "page_size": size, "start_from_page": 1},
    }


def _stream(name: str, origin: str, path: str, params: dict[str, str], paginator: dict[str, Any],
            router: dict[str, Any] | None = None) -> dict[str, Any]:
    retriever: dict[str, Any] = {
        "type": "SimpleRetriever",
        "requester": {"type": "HttpRequester", "url_base": origin, "path": path, "http_method": "GET",
                      "request_parameters": params},
        "record_selector": {"type": "RecordSelector", "extractor": {"type": "DpathExtractor", "field_path": ["data"]}},
        "paginator": paginator,
    }
    if router:
        retriever["partition_router"] = router
    schema = {"type": "object", "$schema": "http://json-schema.org/schema#", "additionalProperties": True, "properties": {}}
    return {"type": "DeclarativeStream", "name": name, "primary_key": ["id"], "retriever": retriever,
            "schema_loader": {"type": "InlineSchemaLoader", "schema": schema}}


def _manifest(streams: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": MANIFEST_VERSION, "type": "DeclarativeSource",
        "check": {"type": "CheckStream", "stream_names": [streams[0]["name"]]},
        "spec": {"type": "Spec", "connection_specification": {
            "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {},
            "additionalProperties": True}},
        "concurrency_level": {"type": "ConcurrencyLevel", "default_concurrency": CONCURRENCY,
                              "max_concurrency": CONCURRENCY},
        "streams": streams,
    }


def flat_spec(path: str, total: bool) -> Spec:
    del total  # PageIncrement ends on a short page either way; the declarative CDK reads no page total

    def spec(origin: str) -> dict[str, Any]:
        stream = _stream("flat", origin, f"/{path}", {"per_page": "100"}, _page_paginator(100))
        return {"manifest": _manifest([stream]), "streams": ["flat"]}

    return spec


def fanout_spec() -> Spec:
    def spec(origin: str) -> dict[str, Any]:
        parents = _stream("parents", origin, "/parents", {"per_page": "100"}, _page_paginator(100))
        router = {"type": "SubstreamPartitionRouter", "parent_stream_configs": [
            {"type": "ParentStreamConfig", "stream": parents, "parent_key": "id", "partition_field": "parent_id"}]}
        children = _stream("children", origin, "/parents/{{ stream_partition.parent_id }}/children",
                           {"per_page": "50"}, _page_paginator(50), router)
        return {"manifest": _manifest([parents, children]), "streams": ["parents", "children"]}

    return spec


def cursor_spec() -> Spec:
    def spec(origin: str) -> dict[str, Any]:
        paginator = {"type": "DefaultPaginator", "page_token_option": {"type": "RequestPath"},
                     "pagination_strategy": {"type": "CursorPagination", "cursor_value": "{{ response.next }}",
                                             "stop_condition": "{{ not response.next }}"}}
        return {"manifest": _manifest([_stream("cursor", origin, "/cursor", {"limit": "100"}, paginator)]),
                "streams": ["cursor"]}

    return spec


def seed_manifest(seed: str, origin: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The seed's manifest at the bench's concurrency, and its config for the seed's mock at `origin`."""
    from sluice.mock._registry import API_CLASSES

    manifest = yaml.safe_load((MANIFESTS / f"{seed}.yaml").read_text())
    manifest["concurrency_level"] = {"type": "ConcurrencyLevel", "default_concurrency": CONCURRENCY,
                                     "max_concurrency": CONCURRENCY}
    given, secret = SEED_CONFIGS[seed]
    api = API_CLASSES[seed]
    return manifest, {**given, secret: api.api_key, "api_url": origin + api.base_path.rstrip("/")}


def manifest_config(seed: str) -> Callable[[str], dict[str, Any]]:
    """sluice's side of a manifest case: the configuration `manifest_source` would run (the
    worker takes JSON, so the conversion must be plain data: no per-response templates)."""

    def config(origin: str) -> dict[str, Any]:
        from sluice.airbyte import conversion

        converted = conversion(*seed_manifest(seed, origin))
        if converted.issues:
            raise ValueError(f"examples/airbyte/{seed}.yaml does not convert: {converted.issues}")
        json.dumps(converted.config)  # a TypeError here: this manifest cannot be a bench case
        return converted.config

    return config


def manifest_spec(seed: str) -> Spec:
    def spec(origin: str) -> dict[str, Any]:
        from sluice.airbyte import read_manifest

        manifest, config = seed_manifest(seed, origin)
        return {"manifest": manifest, "config": config, "streams": [str(s["name"]) for s in read_manifest(manifest).streams]}

    return spec


def manifest_cases(seeds: dict[str, dict[str, int]]) -> list[Any]:
    """The `manifest` group: the ticketing seed's manifest (a fan-out: events, then their
    orders and tickets, paged by number) at the seeds' size, 20 ms a request."""
    from .cases import Case

    counts = seeds.get("ticketing", {"events": 200})
    return [Case("manifest ticketing 20ms", "manifest", "ticketing", counts, 20, manifest_config("ticketing"), None,
                 manifest_spec("ticketing"), ("sluice",), None,
                 what="examples/airbyte/ticketing.yaml: sluice extracts and loads, the CDK extracts")]


def manifest_note(rows: list[Any]) -> list[str]:
    """The manifest cases' ratio: the CDK's extract-only wall time over sluice's extract and load."""
    out = []
    for cdk in (r for r in rows if r.engine == "airbyte" and r.case.startswith("manifest") and r.wall):
        ours = next((r for r in rows if (r.case, r.size, r.engine) == (cdk.case, cdk.size, "sluice") and r.wall), None)
        if ours is None:
            continue
        startup = statistics.median(run.phases.get(STARTUP, 0.0) for run in cdk.ok)
        out.append(f"Airbyte manifest ({cdk.case}, {cdk.size}): sluice extracts and loads in {ours.wall:.2f} s, "
                   f"airbyte-cdk only extracts in {cdk.wall:.2f} s: sluice {cdk.wall / ours.wall:.1f}x faster "
                   f"({(cdk.wall - startup) / ours.wall:.1f}x without the CDK's {startup:.2f} s start-up).")
    return out


def _catalog(streams: list[str]) -> dict[str, Any]:
    return {"streams": [
        {"stream": {"name": s, "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
         "sync_mode": "full_refresh", "destination_sync_mode": "append"} for s in streams]}


def run_airbyte(spec: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """`source-declarative-manifest read`; wall, CPU and peak RSS are the CDK process's."""
    import resource

    (workdir / "manifest.yaml").write_text(json.dumps(spec["manifest"]))  # JSON is YAML
    (workdir / "config.json").write_text(json.dumps(spec.get("config", {})))
    (workdir / "catalog.json").write_text(json.dumps(_catalog(spec["streams"])))
    (workdir / "empty.json").write_text(json.dumps(_catalog([])))
    argv = [spec["bin"], "read", "--config", str(workdir / "config.json"), "--catalog",
            str(workdir / "catalog.json"), "--manifest-path", str(workdir / "manifest.yaml")]
    started = time.perf_counter()  # start-up: the same command reading nothing
    subprocess.run([*argv[:5], str(workdir / "empty.json"), *argv[6:]], capture_output=True, cwd=workdir, check=False)
    startup = time.perf_counter() - started
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=workdir)
    peak = _Peak(process.pid)
    records, problems = _read(process)
    peak.stop()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    result: dict[str, Any] = {"wall": wall, "cpu": cpu, "rss_mb": peak.mb,
                              "phases": {STARTUP: round(startup, 3)},
                              "tables": {s: {"rows": records.get(s, 0), "columns": []} for s in spec["streams"]}}
    if problems:
        result["error"] = "; ".join(problems[:3])
    return result


class _Peak:
    """Polls a child's VmHWM (its peak RSS so far) until it exits: the last reading is its peak."""

    def __init__(self, pid: int) -> None:
        self.mb, self._pid, self._done = 0.0, pid, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        from .worker import peak_rss_mb

        while not self._done.wait(0.1):
            self.mb = max(self.mb, peak_rss_mb(self._pid))

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def _read(process: subprocess.Popen[bytes]) -> tuple[Counter[str], list[str]]:
    records: Counter[str] = Counter()
    problems: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        if b'"type":"RECORD"' in line[:40]:
            found = _STREAM.search(line, 0, 200)
            records[found.group(1).decode() if found else orjson.loads(line)["record"]["stream"]] += 1
        elif b'"TRACE"' in line[:40] and b'"error"' in line:
            problems.append(orjson.loads(line)["trace"]["error"].get("message", "error")[:300])
        elif b'"level":"ERROR"' in line or b'"level":"FATAL"' in line:
            problems.append(orjson.loads(line)["log"]["message"][:300])
    if process.wait() != 0:
        problems.append(f"exit status {process.returncode}")
    return records, problems
