"""Engines that run the pipeline over partitions of any size: local and Dask.

One run, whatever the engine::

    inputs --map--> spill files by aircraft --process--> points/ flights events reach

1. *map* (:mod:`~overflight.engine.partition`): inputs are streamed (Parquet
   and the partitioned layout, in Arrow record batches) or read one file at
   a time (other formats) and every row is spilled to partition
   ``crc32(icao24) mod N``, so each partition holds whole aircraft;
2. *process* (:mod:`~overflight.engine.tasks`): each partition goes through
   :func:`overflight.pipeline.process`, the same function ``analyze`` runs
   in memory, and its points are written in the partitioned layout;
3. *gather* (:mod:`~overflight.engine.results`): flights, events and reach
   are concatenated and sorted by content.

Because the clean stage splits flights per aircraft and every later stage
works per flight, the rows are the same as one in-memory
:func:`~overflight.pipeline.process` over all inputs, for any partition count
and either engine (checked by ``tests/test_engine_identical.py``).

Examples
--------
>>> from overflight import engine                                # doctest: +SKIP
>>> res = engine.run(["day-dataset/"], "out/", engine="dask")   # doctest: +SKIP
>>> res.points, res.flights.num_rows                            # doctest: +SKIP
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from overflight.airspace import boundaries_cached, load_boundaries
from overflight.engine.local import local_pool, map_local, reduce_local
from overflight.engine.order import canonical_sort
from overflight.engine.partition import (
    Source,
    bucket_partitions,
    bucket_plan,
    default_partitions,
    plan_sources,
    planned_maps,
    work_order,
)
from overflight.engine.progress import Progress, ProgressCallback, rich_progress, text_progress
from overflight.engine.results import EngineResult, gather
from overflight.engine.tasks import Collector, ContextSpec, resolve_context
from overflight.engine.trends import DailyCollector, combine_daily
from overflight.errors import OverflightError
from overflight.pipeline import (
    AnalyzeOptions,
    Context,
    check_focus,
    check_out_dir,
    remove_stale_outputs,
)
from overflight.store.dataset import is_dataset, read_dataset, write_dataset

__all__ = [
    "ENGINES",
    "ContextSpec",
    "DailyCollector",
    "EngineResult",
    "Progress",
    "ProgressCallback",
    "canonical_sort",
    "combine_daily",
    "is_dataset",
    "read_dataset",
    "rich_progress",
    "run",
    "text_progress",
    "write_dataset",
]

ENGINES = ("local", "dask")
#: Default partition size: a partition of a million messages goes through
#: every stage in well under 2 GB.
ROWS_PER_PARTITION = 1_000_000


def _install(staging: Path, out: Path) -> list[Path]:
    """Move the finished outputs from ``staging`` into ``out``, replacing older ones.

    Outputs of an earlier run that this one did not write (an in-memory
    ``points.parquet``, an old report) are removed: they would look current.
    """
    remove_stale_outputs(out, staging)
    final = []
    for f in sorted(staging.iterdir()):
        if f.name == "spill":
            continue
        target = out / f.name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        f.replace(target)
        final.append(target)
    return final


def _prepare_boundaries(context: ContextSpec, *, in_process: bool, local: bool) -> None:
    """Refuse a bad focus code before any work, and build a missing boundary cache once.

    A run in this process loads its context here once (cached by spec).  Pools
    and clusters load theirs in each worker: on a machine without the
    boundary cache, every local worker would build it at once (a minute of
    work each, and each printing the same repair warnings), so this process
    builds it first.  Workers of a remote cluster may not share this
    machine's cache: there it is built only when a focus must be checked.
    """
    if in_process:
        if context.focus:
            check_focus(context.focus, resolve_context(context).boundaries)
        return
    kw = context.kwargs()
    args = {"maritime": kw["boundaries"], "land": kw["land"], "zones": kw["zones"] or None}
    if context.focus or (local and not boundaries_cached(**args)):
        bounds = load_boundaries(**args)
        if context.focus:
            check_focus(context.focus, bounds)
        del bounds


def _partitions(sources: Sequence[Source], rows_per_partition: int, workers: int) -> int:
    """Default partition count: about ``rows_per_partition`` rows each, at least ``workers``;
    when the inputs are a dataset with aircraft buckets, the nearest count that reads them
    directly (:func:`~overflight.engine.partition.bucket_partitions`)."""
    n = default_partitions(sources, rows_per_partition, workers)
    return bucket_partitions(sources, n) or n


def run(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    options: AnalyzeOptions | None = None,
    context: Context | ContextSpec | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    partitions: int | None = None,
    on_progress: ProgressCallback | None = None,
    *,
    workers: int | None = None,
    rows_per_partition: int = ROWS_PER_PARTITION,
    batch_rows: int = 1_000_000,
    region_deg: int | None = None,
    days: tuple[str | None, str | None] | None = None,
    collect: Collector | None = None,
    spill_dir: str | Path | None = None,
) -> EngineResult:
    """Analyse ``inputs`` of any size with the local or the Dask engine.

    Parameters
    ----------
    inputs
        Files in any format the readers know, Parquet files with the
        canonical columns, and folders in the partitioned layout.
    out_dir
        Receives ``points/`` (partitioned layout), ``flights.parquet``,
        ``events.parquet``, ``reach.parquet`` (with a focus), ``run.json``.
        Outputs are written to a staging folder inside it first.
    options
        Reader options (format, column mapping, units, receiver reference).
    context
        A loaded :class:`~overflight.pipeline.Context`, or a
        :class:`ContextSpec` that each worker process loads once; default:
        ``ContextSpec()`` (the default boundaries and model).
    engine
        ``"local"`` or ``"dask"``.
    scheduler
        Dask scheduler address; None starts a LocalCluster of ``workers``.
    partitions
        Number of aircraft partitions; default: enough for
        ``rows_per_partition`` rows each, and at least ``workers``.
    on_progress
        Called with a :class:`Progress` after each map task and partition.
    workers
        Local: processes in the pool (default 1: this process).  Dask:
        workers of the LocalCluster (default 2; ignored with ``scheduler``).
    batch_rows
        Rows per record batch when streaming and spilling.
    region_deg
        Add a ``region=`` level of that tile size to the output points.
    days
        Only these days (inclusive ``"YYYY-MM-DD"`` bounds) of dataset inputs.
    collect
        A picklable ``f(analysis, context) -> table`` run on each partition;
        the tables are concatenated into ``extra.parquet``.
    spill_dir
        Where spill files go (default: inside the staging folder); on a
        cluster it must be on storage every worker sees.
    """
    if engine not in ENGINES:
        raise OverflightError(f"unknown engine {engine!r}, expected one of {ENGINES}")
    options = options or AnalyzeOptions()
    context = context if context is not None else ContextSpec()
    if workers is None:
        workers = 1 if engine == "local" else 2
    t0 = time.perf_counter()
    out = Path(out_dir)
    check_out_dir(out)
    if isinstance(context, ContextSpec) and context.airspace_enabled:
        _prepare_boundaries(
            context, in_process=engine == "local" and workers <= 1, local=not scheduler
        )
    sources = plan_sources(inputs, options, days)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    if spill_dir:
        Path(spill_dir).mkdir(parents=True, exist_ok=True)
        spill = Path(tempfile.mkdtemp(prefix="overflight-spill-", dir=spill_dir))
    else:
        spill = staging / "spill"
        spill.mkdir()
    try:
        if engine == "local":
            n = partitions or _partitions(sources, rows_per_partition, workers)
            plan = bucket_plan(sources, n)
            with local_pool(workers, context) as pool:
                if plan is None:
                    maps = map_local(sources, spill, n, options, batch_rows, on_progress, pool)
                else:
                    maps = [planned_maps(plan, n)]
                t_map = time.perf_counter()  # planning included
                results = reduce_local(
                    work_order(maps, n),
                    spill,
                    staging,
                    context,
                    region_deg=region_deg,
                    collect=collect,
                    pool=pool,
                    on_progress=on_progress,
                    plan=plan,
                )
        else:
            from overflight.engine.dask_engine import client_for, run_dask

            with client_for(scheduler, workers) as client:
                n_workers = max(1, len(client.scheduler_info().get("workers", {})))
                n = partitions or _partitions(sources, rows_per_partition, n_workers)
                plan = bucket_plan(sources, n)
                maps, results, map_s = run_dask(
                    sources,
                    spill,
                    staging,
                    n,
                    context,
                    options,
                    client=client,
                    batch_rows=batch_rows,
                    region_deg=region_deg,
                    collect=collect,
                    on_progress=on_progress,
                    plan=plan,
                )
                t_map = t0 + map_s
        shutil.rmtree(spill, ignore_errors=True)
        input_stats = {k: v for m in maps for k, v in m.stats.items()}
        t1 = time.perf_counter()
        stats = {
            "inputs": [str(p) for p in inputs],
            "input_stats": input_stats,
            "seconds": {"map": round(t_map - t0, 3), "total": round(t1 - t0, 3)},
            # how rows reached their partition: re-sorted by aircraft, or the dataset's buckets
            "partitioning": "map" if plan is None else "buckets",
        }
        tables, summary = gather(
            staging, results, engine=engine, partitions=n, region_deg=region_deg, stats=stats
        )
        files = _install(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if spill_dir:
            shutil.rmtree(spill, ignore_errors=True)
    flights, events = tables["flights"], tables["events"]
    assert flights is not None and events is not None
    return EngineResult(
        out_dir=out,
        engine=engine,
        partitions=n,
        messages=summary["messages"],
        points=summary["points"],
        flights=flights,
        events=events,
        reach=tables["reach"],
        extra=tables["extra"],
        files=files,
        stats=summary,
    )
