"""The benchmark cases: which mock, how much data, which configuration, which engines.

Every configuration is dlt's native `rest_api` dialect, so dlt's own `rest_api_source` and
sluice's run the very same dictionary. The engines:

- `dlt`: dlt 1.31's `rest_api_source` with dlt's defaults (insert_values loader files);
- `dlt-tuned`: the same with `loader_file_format="parquet"` and `parallelized: True` on
  every resource; both are slow here, so they run once on a reduced copy of the case
  (`Case.reduced`) beside a sluice run of the same size, their full-size time extrapolated
  and labelled (`--dlt-full`: tuned dlt at full size too);
- `sluice`: `sluice.rest_api_source`, same configuration;
- `airbyte`: the declarative CDK on an equivalent manifest (extract only; `--with-airbyte`);
- `floor`: bare aiohttp + orjson + one DuckDB insert from Arrow (see `bench.floor`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

Config = dict[str, Any]
PAGE_NUMBER = {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": None}
CONCURRENCY = 8  # sluice's default max_concurrency; the floor and Airbyte use the same


@dataclass(frozen=True)
class Seed:
    """A seed configuration against its mock, with a rate limit it must respect."""

    connector: str
    counts: dict[str, int]
    client: dict[str, Any]  # sluice client keys added to the seed's config (rate_limit, max_retry_delay)
    options: dict[str, Any] = field(default_factory=dict)  # mock options (an enforced budget)


@dataclass(frozen=True)
class Case:
    name: str
    group: str  # flat | fanout | cursor | seeds | scale | small | ab
    mock: str
    counts: dict[str, int]
    latency_ms: float = 0.0
    config: Callable[[str], Config] | None = None  # origin -> configuration
    floor: Callable[[str], dict[str, Any]] | None = None  # origin -> bench.floor plan
    airbyte: Callable[[str], dict[str, Any]] | None = None  # origin -> bench.airbyte spec
    engines: tuple[str, ...] = ("dlt-tuned", "sluice")
    reduced: float | None = 0.1  # dlt's defaults run at this fraction of the counts
    seed: Seed | None = None
    what: str = ""

    @property
    def size(self) -> str:
        """The data size, as the table shows it."""
        if self.group in ("fanout", "ab") and "children" in self.counts:
            return f"{self.counts['parents']:,}x{self.counts['children']}"
        if self.group == "seeds":
            return ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        return f"{next(iter(self.counts.values())):,}"

    def scaled(self, fraction: float) -> Case:
        scalable = {"flat", "cursor", "parents"}
        counts = {k: max(1, int(v * fraction)) if k in scalable else v for k, v in self.counts.items()}
        return replace(self, counts=counts)


def _resource(name: str, path: str, params: dict[str, Any], paginator: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "endpoint": {"path": path, "params": params, "data_selector": "data", "paginator": paginator}}


def flat_config(path: str, total: bool) -> Callable[[str], Config]:
    paginator = {**PAGE_NUMBER, "total_path": "total_pages"} if total else PAGE_NUMBER

    def config(origin: str) -> Config:
        return {"client": {"base_url": origin + "/"}, "resources": [_resource("flat", path, {"per_page": 100}, paginator)]}

    return config


def fanout_config(origin: str) -> Config:
    children = _resource("children", "parents/{resources.parents.id}/children", {"per_page": 50}, PAGE_NUMBER)
    return {"client": {"base_url": origin + "/"},
            "resources": [_resource("parents", "parents", {"per_page": 100}, PAGE_NUMBER), children]}


def cursor_config(origin: str) -> Config:
    paginator = {"type": "json_link", "next_url_path": "next"}
    return {"client": {"base_url": origin + "/"}, "resources": [_resource("cursor", "cursor", {"limit": 100}, paginator)]}


def small_config(origin: str) -> Config:
    """20 small resources of 1, 2 or 3 pages (`maximum_page` ends each): the fixed costs of a run."""
    resources = [_resource(f"small_{i:02d}", "flat", {"per_page": 100}, {**PAGE_NUMBER, "maximum_page": 2 + i % 3})
                 for i in range(20)]
    return {"client": {"base_url": origin + "/"}, "resources": resources}


def _pages(count: int, size: int, empty_page: bool) -> int:
    return -(-count // size) + (1 if empty_page else 0)


def flat_floor(path: str, count: int, total: bool) -> Callable[[str], dict[str, Any]]:
    pages = _pages(count, 100, empty_page=not total)

    def plan(origin: str) -> dict[str, Any]:
        urls = [f"{origin}/{path}?per_page=100&page={p}" for p in range(1, pages + 1)]
        return {"concurrency": CONCURRENCY, "selector": "data", "table": "flat", "urls": urls}

    return plan


def fanout_floor(parents: int) -> Callable[[str], dict[str, Any]]:
    def plan(origin: str) -> dict[str, Any]:
        urls = [f"{origin}/parents?per_page=100&page={p}" for p in range(1, _pages(parents, 100, True) + 1)]
        children = {"table": "children", "url": origin + "/parents/{id}/children?per_page=50&page={page}", "pages": [1, 2, 3]}
        return {"concurrency": CONCURRENCY, "selector": "data", "table": "parents", "urls": urls, "children": children}

    return plan


def cursor_floor(origin: str) -> dict[str, Any]:
    return {"concurrency": 1, "selector": "data", "table": "cursor", "next": "next", "url": f"{origin}/cursor?limit=100"}


@dataclass(frozen=True)
class AB:
    """Issue 13's A/B against dlt's defaults, both at full size: flat records at 20 ms, a
    parents x 2-page fan-out at 20 ms, records behind sequential next URLs at 0 ms."""

    flat: int
    parents: int
    cursor: int


@dataclass(frozen=True)
class Sizes:
    flat: int
    parents: int
    cursor: int
    scale: int
    seeds: dict[str, dict[str, int]]
    seed_rps: float
    ab: AB = AB(20_000, 200, 10_000)


FULL = Sizes(flat=100_000, parents=500, cursor=20_000, scale=1_000_000, seed_rps=400.0, seeds={
    "ticketing": {"events": 1000},
    "tickets": {"tickets": 20_000},
    "events": {"events": 20_000},
    "servicedesk": {"tickets": 1000, "assets": 2000, "requesters": 1000},
    "incidents": {"users": 500, "services": 200, "incidents": 2000, "alerts": 4000},
})
QUICK = Sizes(flat=1000, parents=10, cursor=500, scale=5000, seed_rps=400.0, seeds={"tickets": {"tickets": 300}},
              ab=AB(1000, 10, 500))


def build_cases(sizes: Sizes) -> dict[str, list[Case]]:
    """Cases by group name (what `--cases` selects)."""
    from . import airbyte

    flat = {"flat": sizes.flat}
    groups: dict[str, list[Case]] = {
        "flat": [
            Case("flat 0ms (short page)", "flat", "bench", flat, 0, flat_config("flat", False),
                 flat_floor("flat", sizes.flat, False), airbyte.flat_spec("flat", False),
                 what="page_number; the end is only an empty page"),
            Case("flat 20ms (short page)", "flat", "bench", flat, 20, flat_config("flat", False),
                 flat_floor("flat", sizes.flat, False), airbyte.flat_spec("flat", False)),
            Case("flat 20ms (total)", "flat", "bench", flat, 20, flat_config("flat_total", True),
                 flat_floor("flat_total", sizes.flat, True), airbyte.flat_spec("flat_total", True),
                 what="page_number with total_path: total_pages"),
        ],
        "fanout": [
            Case("fan-out 20ms", "fanout", "bench", {"parents": sizes.parents, "children": 100}, 20, fanout_config,
                 fanout_floor(sizes.parents), airbyte.fanout_spec(), what="parents x 2 pages of 50 children"),
        ],
        "cursor": [
            Case("cursor 0ms", "cursor", "bench", {"cursor": sizes.cursor}, 0, cursor_config, cursor_floor,
                 airbyte.cursor_spec()),
            Case("cursor 20ms", "cursor", "bench", {"cursor": sizes.cursor}, 20, cursor_config, cursor_floor,
                 airbyte.cursor_spec()),
        ],
        "seeds": [_seed_case(name, counts, sizes.seed_rps) for name, counts in sizes.seeds.items()],
        "small": [
            Case("small: 20 resources x 1-3 pages", "small", "bench", {"flat": 300}, 0, small_config,
                 engines=("dlt", "dlt-tuned", "sluice"), reduced=None, what="40 pages of 100 records in 20 tables: fixed costs"),
        ],
        "ab": ab_cases(sizes.ab),
        "scale": [
            Case("scale (flat 0ms)", "scale", "bench", {"flat": sizes.scale}, 0, flat_config("flat", False),
                 engines=("sluice",), reduced=None, what=f"{sizes.scale:,} records; RSS vs the {sizes.flat:,} run"),
        ],
    }
    return groups


AB_PREFIX = "A/B "  # the report judges these cases against dlt's defaults alone (>= 10x)


def ab_cases(ab: AB) -> list[Case]:
    """dlt's defaults against sluice on the very same data (no reduced copy, no extrapolation)."""
    from . import airbyte

    engines, flat = ("dlt", "sluice"), {"flat": ab.flat}
    fanout = {"parents": ab.parents, "children": 100}
    return [
        Case(f"{AB_PREFIX}flat 20ms", "ab", "bench", flat, 20, flat_config("flat", False),
             flat_floor("flat", ab.flat, False), airbyte.flat_spec("flat", False), engines, None,
             what="page_number, the end an empty page"),
        Case(f"{AB_PREFIX}fan-out 20ms", "ab", "bench", fanout, 20, fanout_config, fanout_floor(ab.parents),
             airbyte.fanout_spec(), engines, None, what="parents x 2 pages of 50 children"),
        Case(f"{AB_PREFIX}cursor 0ms", "ab", "bench", {"cursor": ab.cursor}, 0, cursor_config, cursor_floor,
             airbyte.cursor_spec(), engines, None, what=f"{ab.cursor // 100} sequential next URLs: fixed costs"),
    ]


def _seed_case(name: str, counts: dict[str, int], rps: float) -> Case:
    options: dict[str, Any] = {}
    if name == "servicedesk":  # the mock enforces a budget of its own: 429 + Retry-After beyond it
        options = {"rate_limit_per_minute": int(rps * 1.25), "rate_window_s": 1.0}
    # retry waits capped as `sluice demo` does (the servicedesk seed retries 404s 3 times with 2-8 s backoff)
    client = {"rate_limit": {"requests_per_second": rps}, "max_retry_delay": 0.5}
    seed = Seed(name, counts, client, options)
    return Case(f"seed {name}", "seeds", name, counts, seed=seed, reduced=None, engines=("dlt-tuned", "sluice"),
                what=f"rate limit {rps:g}/s")
