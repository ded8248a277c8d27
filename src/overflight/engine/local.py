"""The local engine: map then process, in this process or with a small process pool.

With one worker everything runs in the calling process.  With more, one
pool of ``workers`` processes does both phases: the inputs are cut into
contiguous groups that are read and spilled in parallel (as the Dask engine
does), then the partitions are processed.  A pool process gets the stage
context once (its initializer), not once per partition.

Peak memory is the stage context plus one partition being processed (per
worker process) plus bounded read and write buffers: it depends on the
partition size, not on the input size.  More input means more partitions.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from overflight.engine.partition import MapResult, Source, groups, map_sources
from overflight.engine.progress import Progress, ProgressCallback
from overflight.engine.tasks import (
    Collector,
    ContextSpec,
    PartitionResult,
    process_partition,
    resolve_context,
)
from overflight.pipeline import AnalyzeOptions, Context

_WORKER_CONTEXT: list[Context | ContextSpec] = []
_T = TypeVar("_T")


@dataclass(frozen=True)
class Pool:
    """Worker processes shared by the map and the process phase of one run."""

    executor: ProcessPoolExecutor
    workers: int


def _init_worker(context: Context | ContextSpec) -> None:
    _WORKER_CONTEXT[:] = [context]


@contextmanager
def local_pool(workers: int, context: Context | ContextSpec) -> Iterator[Pool | None]:
    """A pool of ``workers`` processes holding ``context``; None for one worker."""
    if workers <= 1:
        yield None
        return
    mp = multiprocessing.get_context("spawn")  # fork after Arrow's threads started can hang
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=mp, initializer=_init_worker, initargs=(context,)
    ) as executor:
        yield Pool(executor, workers)


def _completed(futures: set[Future[_T]]) -> Iterator[_T]:
    pending = futures
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for fut in done:
            yield fut.result()


def map_local(
    sources: Sequence[Source],
    spill_dir: Path,
    partitions: int,
    options: AnalyzeOptions,
    batch_rows: int,
    on_progress: ProgressCallback | None = None,
    pool: Pool | None = None,
) -> list[MapResult]:
    """Read every source and spill it by aircraft.

    Without a pool: one map task in this process, progress per source.  With
    a pool: one map task per group of sources (two per worker), progress per
    task.
    """
    t0 = time.perf_counter()

    def tick(done: int, total: int, rows: int) -> None:
        if on_progress is not None:
            on_progress(Progress("partition", done, total, rows, time.perf_counter() - t0))

    def per_source(i: int, rows: int) -> None:
        tick(i + 1, len(sources), rows)

    if pool is None or len(sources) <= 1:
        return [map_sources(sources, spill_dir, partitions, 0, options, batch_rows, per_source)]
    batches = groups(sources, 2 * pool.workers)
    futures = {
        pool.executor.submit(map_sources, g, spill_dir, partitions, i, options, batch_rows)
        for i, g in enumerate(batches)
    }
    done: list[MapResult] = []
    for res in _completed(futures):
        done.append(res)
        tick(len(done), len(batches), sum(r.total for r in done))
    return done


def _pool_task(
    partition: int,
    spill_dir: Path,
    staging: Path,
    region_deg: int | None,
    collect: Collector | None,
    sources: Sequence[Source] | None,
) -> PartitionResult:
    ctx = _WORKER_CONTEXT[0]
    return process_partition(partition, spill_dir, staging, ctx, region_deg, collect, sources)


def reduce_local(
    pids: Sequence[int],
    spill_dir: Path,
    staging: Path,
    context: Context | ContextSpec,
    *,
    region_deg: int | None = None,
    collect: Collector | None = None,
    pool: Pool | None = None,
    on_progress: ProgressCallback | None = None,
    plan: dict[int, list[Source]] | None = None,
) -> list[PartitionResult]:
    """Process every partition: in this process, or on ``pool`` (from :func:`local_pool`).

    With ``plan`` (:func:`~overflight.engine.partition.bucket_plan`) a
    partition reads its input files directly instead of its spill files.
    """
    plan = plan or {}
    t0 = time.perf_counter()
    results: list[PartitionResult] = []

    def tick() -> None:
        if on_progress is not None:
            rows = sum(r.messages for r in results)
            elapsed = time.perf_counter() - t0
            on_progress(Progress("process", len(results), len(pids), rows, elapsed))

    if pool is None or len(pids) <= 1:
        ctx = resolve_context(context)
        for pid in pids:
            src = plan.get(pid)
            results.append(
                process_partition(pid, spill_dir, staging, ctx, region_deg, collect, src)
            )
            tick()
        return results
    futures = {
        pool.executor.submit(_pool_task, p, spill_dir, staging, region_deg, collect, plan.get(p))
        for p in pids
    }
    for res in _completed(futures):
        results.append(res)
        tick()
    return results
