"""The local engine: partitions processed one after the other, or by a small process pool.

Peak memory is the stage context plus one partition being processed (per
worker process) plus bounded read and write buffers: it depends on the
partition size, not on the input size.  More input means more partitions.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

from overflight.engine.partition import MapResult, Source, map_sources
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


def map_local(
    sources: Sequence[Source],
    spill_dir: Path,
    partitions: int,
    options: AnalyzeOptions,
    batch_rows: int,
    on_progress: ProgressCallback | None = None,
) -> list[MapResult]:
    """Read every source in this process and spill it by aircraft (one map task)."""
    t0 = time.perf_counter()

    def tick(i: int, rows: int) -> None:
        if on_progress is not None:
            on_progress(Progress("partition", i + 1, len(sources), rows, time.perf_counter() - t0))

    return [map_sources(sources, spill_dir, partitions, 0, options, batch_rows, tick)]


def _init_worker(context: Context | ContextSpec) -> None:
    _WORKER_CONTEXT[:] = [context]


def _pool_task(
    partition: int,
    spill_dir: Path,
    staging: Path,
    region_deg: int | None,
    collect: Collector | None,
) -> PartitionResult:
    return process_partition(partition, spill_dir, staging, _WORKER_CONTEXT[0], region_deg, collect)


def reduce_local(
    pids: Sequence[int],
    spill_dir: Path,
    staging: Path,
    context: Context | ContextSpec,
    *,
    region_deg: int | None = None,
    collect: Collector | None = None,
    workers: int = 1,
    on_progress: ProgressCallback | None = None,
) -> list[PartitionResult]:
    """Process every partition: in this process, or with ``workers`` processes.

    A pool gets the context once per process (its initializer), not once
    per partition.
    """
    t0 = time.perf_counter()
    results: list[PartitionResult] = []

    def tick() -> None:
        if on_progress is not None:
            rows = sum(r.messages for r in results)
            elapsed = time.perf_counter() - t0
            on_progress(Progress("process", len(results), len(pids), rows, elapsed))

    if workers <= 1 or len(pids) <= 1:
        ctx = resolve_context(context)
        for pid in pids:
            results.append(process_partition(pid, spill_dir, staging, ctx, region_deg, collect))
            tick()
        return results
    mp = multiprocessing.get_context("spawn")  # fork after Arrow's threads started can hang
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=mp, initializer=_init_worker, initargs=(context,)
    ) as pool:
        pending: set[Future[PartitionResult]] = {
            pool.submit(_pool_task, pid, spill_dir, staging, region_deg, collect) for pid in pids
        }
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                results.append(fut.result())
                tick()
    return results
