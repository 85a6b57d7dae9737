"""`sluice run --executor dask`: the cluster a run uses, from the command line's flags."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from .coordinator import DaskExecutor

THREADS_PER_WORKER = 2  # shards a worker runs at once: each is an event loop waiting on the network


@contextmanager
def connect(workers: int | None, scheduler: str | None, staging: str | None) -> Iterator[DaskExecutor]:
    """A client of the cluster at `scheduler`, or of a LocalCluster of `workers` processes on
    this machine (closed on exit); shards stage under `staging` (default: a temporary directory,
    which only a cluster on this machine can share)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SystemExit("--executor dask needs the dask extra: pip install 'sluice[dask]'") from None
    logging.getLogger("distributed").setLevel(logging.WARNING)  # the scheduler's chatter is not the run's progress
    with ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(Client(scheduler))  # type: ignore[no-untyped-call]
        else:
            local = LocalCluster(n_workers=workers or 2, threads_per_worker=THREADS_PER_WORKER, processes=True, dashboard_address=None)  # type: ignore[no-untyped-call]
            cluster = stack.enter_context(local)
            client = stack.enter_context(Client(cluster))  # type: ignore[no-untyped-call]
        yield DaskExecutor(client, staging)
