"""sluice's benchmark against dlt's own `rest_api_source` (and, optionally, Airbyte's
declarative CDK) on the same mock API, side by side in one run.

    python -m bench                          # every case, under 10 minutes on 2 cores
    python -m bench --cases flat,cursor --repeat 5 --out bench.md
    python -m bench --quick                  # tiny sizes, seconds (the smoke test)
    python -m bench --with-airbyte           # add Airbyte (python -m bench --install-airbyte)

Modules: `cases` (what runs), `harness` (mock process, A B A B runs in fresh processes),
`worker` (one measured run), `floor` (bare aiohttp + orjson + DuckDB), `airbyte` (the
manifest peer), `mockproc` (the mock in its own process), `report` (table and checks).
"""
