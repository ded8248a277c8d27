"""The Dask engine: the same map and partition functions, run by ``dask.distributed`` workers.

Two phases, both as plain tasks (no dask.dataframe: the partitions are the
spill files, the work is :func:`overflight.engine.tasks.process_partition`):

1. map: the inputs, in order, cut into contiguous groups; each group is read
   and spilled by aircraft on a worker (:func:`overflight.engine.partition.map_sources`);
2. process: one task per non-empty partition.

With ``scheduler=None`` a ``LocalCluster`` of ``workers`` single-threaded
worker processes is started on 127.0.0.1 and closed at the end; with an
address (``tcp://host:8786``) the run uses that cluster.  Every worker must
then see the inputs, the spill folder and the output folder at the same
paths: a shared file system (NFS, Lustre) or the same mount on every node.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from overflight import memtune
from overflight.engine.partition import (
    MapResult,
    Source,
    groups,
    map_sources,
    planned_maps,
    work_order,
)
from overflight.engine.progress import Progress, ProgressCallback
from overflight.engine.tasks import Collector, ContextSpec, PartitionResult, process_partition
from overflight.errors import OverflightError
from overflight.pipeline import AnalyzeOptions, Context

#: Dask settings of the LocalCluster's workers.  The statistical profiler
#: (a thread that samples every thread's stack every 10 ms, for the
#: dashboard's profile page, which this cluster does not serve) is off: with
#: it, 50M-point runs took 50.8 to 53.3 s (four runs), without it 47.5 to
#: 49.7 s (five runs, alternating with those, on 2 cores).  Workers of an
#: existing cluster take the same setting from their environment (README,
#: "Running on a real cluster").
WORKER_SETTINGS: dict[str, Any] = {"distributed.worker.profile.enabled": False}

INSTALL_HINT = 'the Dask engine needs dask.distributed: pip install "dask[distributed]==2026.8.0"'


@contextmanager
def client_for(scheduler: str | None, workers: int = 2) -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler``, or to a new local cluster of ``workers``."""
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise OverflightError(INSTALL_HINT) from exc
    if scheduler:
        client: Any = distributed.Client(scheduler)  # type: ignore[no-untyped-call]
        try:
            yield client
        finally:
            client.close()  # type: ignore[no-untyped-call]
        return
    import dask

    # Dask sets MALLOC_TRIM_THRESHOLD_=65536 in its workers; with the stages'
    # many mid-sized NumPy/pandas buffers that costs about a fifth more CPU
    # (measured: 13.7 s against 11.2 s for the same million points).  The
    # allocator settings of overflight.memtune go to the workers as well.
    environ: dict[str, str | None] = {"MALLOC_TRIM_THRESHOLD_": None, **memtune.missing()}
    prefix = "distributed.nanny.pre-spawn-environ."
    settings: dict[str, Any] = {prefix + k: v for k, v in environ.items()}
    settings.update(WORKER_SETTINGS)
    with dask.config.set(settings):
        cluster: Any = distributed.LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=40,  # errors only
        )
    client = distributed.Client(cluster)  # type: ignore[no-untyped-call]
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _as_completed(client: Any, futures: list[Any]) -> Iterator[Any]:
    import distributed

    for fut in distributed.as_completed(futures):  # type: ignore[no-untyped-call]
        yield fut.result()


def run_dask(
    sources: Sequence[Source],
    spill_dir: Path,
    staging: Path,
    partitions: int,
    context: Context | ContextSpec,
    options: AnalyzeOptions,
    *,
    client: Any,
    batch_rows: int = 1_000_000,
    region_deg: int | None = None,
    collect: Collector | None = None,
    on_progress: ProgressCallback | None = None,
    plan: dict[int, list[Source]] | None = None,
) -> tuple[list[MapResult], list[PartitionResult], float]:
    """Map then process on the cluster of ``client``.

    With ``plan`` (:func:`~overflight.engine.partition.bucket_plan`) there
    is no map: each partition reads its input files.  Returns every task's
    result and the seconds the map phase took.
    """
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    t0 = time.perf_counter()
    map_results: list[MapResult] = []
    if plan is not None:
        map_results.append(planned_maps(plan, partitions))
    else:
        batches = groups(sources, 2 * n_workers)
        maps = [
            client.submit(map_sources, g, spill_dir, partitions, i, options, batch_rows, pure=False)
            for i, g in enumerate(batches)
        ]
        for res in _as_completed(client, maps):
            map_results.append(res)
            if on_progress is not None:
                rows = sum(r.total for r in map_results)
                elapsed = time.perf_counter() - t0
                on_progress(Progress("partition", len(map_results), len(maps), rows, elapsed))
    pids = work_order(map_results, partitions)
    # a loaded context travels once per worker; a spec is loaded by each worker
    ctx: Any = context
    if isinstance(context, Context):
        ctx = client.scatter(context, broadcast=True, hash=False)
    t1 = time.perf_counter()
    futures = [
        client.submit(
            process_partition,
            p,
            spill_dir,
            staging,
            ctx,
            region_deg,
            collect,
            (plan or {}).get(p),
            pure=False,
        )
        for p in pids
    ]
    results: list[PartitionResult] = []
    for res in _as_completed(client, futures):
        results.append(res)
        if on_progress is not None:
            rows = sum(r.messages for r in results)
            elapsed = time.perf_counter() - t1
            on_progress(Progress("process", len(results), len(futures), rows, elapsed))
    return map_results, results, t1 - t0
