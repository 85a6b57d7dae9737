"""Scale-out on Dask: one source fetched by many workers, loaded once by dlt.

Owns the shards (`shards.py`: what a worker fetches, planned from the configuration and the
parent records), the worker task (`worker.py`: the sluice engine on one shard, its pages
staged as files under a per-attempt directory), the global budget (`budget.py`: the source's
`max_concurrency` and `rate_limit` held across every worker, on the Dask scheduler; `pace.py`:
what the API says, learned once for the source by one actor), per-parent cursors across shards
(`cursors.py`), the shards a failed run leaves for the next (`resume.py`), and the coordinator
(`coordinator.py`: plans, submits, gathers, and imports the staged pages into one dlt
extraction, so one load package and one state commit hold the whole run).

    import dlt
    from distributed import Client
    import sluice

    source = sluice.rest_api_source(config)
    sluice.run(dlt.pipeline("tickets", destination="duckdb"), source, executor=Client())

`distributed` is an optional dependency (`pip install 'sluice[dask]'`): this package imports
it only where a cluster is used.
"""

from __future__ import annotations

from .coordinator import DaskExecutor, run_on_dask
from .shards import Shard, ShardError

__all__ = ["DaskExecutor", "Shard", "ShardError", "run_on_dask"]
