"""The work both engines run: one partition through :func:`overflight.pipeline.process`.

The local engine calls :func:`process_partition` in its own process (or in a
small process pool), the Dask engine calls the very same function on its
workers: there is no second implementation of any stage.

The stage context (boundaries, aircraft database, model) reaches a worker in
one of two ways: as a loaded :class:`~overflight.pipeline.Context` (pickled
once per worker: Dask ``scatter(broadcast=True)``, pool initializer), or as a
:class:`ContextSpec` - the parameters of :meth:`Context.load` - which each
worker process loads once and keeps (:func:`resolve_context` caches by
parameters), so nothing large crosses the network.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa

from overflight.engine.order import canonical_sort
from overflight.engine.partition import Source, read_partition, read_sources
from overflight.pipeline import Analysis, Context, process, warm_up
from overflight.store.dataset import PartitionedWriter

#: Optional per-partition extra output: ``f(analysis, context) -> table``.
Collector = Callable[[Analysis, Context], pa.Table]


@dataclass(frozen=True)
class ContextSpec:
    """Parameters of :meth:`Context.load`, hashable: each worker loads the context once.

    Examples
    --------
    >>> ContextSpec(airspace_enabled=False).kwargs()["airspace_enabled"]
    False
    """

    focus: str | None = None
    near_km: float = 50.0
    boundaries: str | None = None
    land: str | None = None
    zones: tuple[str, ...] = ()
    aircraft_db: tuple[str, ...] = ()
    authorisations: str | None = None
    airspace_enabled: bool = True
    reach_range_km: float | None = None

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`Context.load`."""
        return {
            "focus": self.focus,
            "near_km": self.near_km,
            "boundaries": self.boundaries,
            "land": self.land,
            "zones": list(self.zones),
            "aircraft_db": list(self.aircraft_db),
            "authorisations": self.authorisations,
            "airspace_enabled": self.airspace_enabled,
            "reach_range_km": self.reach_range_km,
        }


@lru_cache(maxsize=4)
def _load(spec: ContextSpec) -> Context:
    context = Context.load(**spec.kwargs())
    warm_up(context)  # a worker's partitions all run at full speed, its first one too
    return context


def resolve_context(context: Context | ContextSpec) -> Context:
    """A loaded context: as given, or loaded (and warmed up:
    :func:`~overflight.pipeline.warm_up`) once per process from a spec."""
    return _load(context) if isinstance(context, ContextSpec) else context


@dataclass
class PartitionResult:
    """What one partition produced (the points themselves are on disk)."""

    partition: int
    messages: int
    points: int
    flights: pa.Table
    events: pa.Table
    reach: pa.Table | None
    files: list[str]
    seconds: float
    columns: list[str] = field(default_factory=list)
    extra: pa.Table | None = None


def process_partition(
    partition: int,
    spill_dir: str | Path,
    out_dir: str | Path,
    context: Context | ContextSpec,
    region_deg: int | None = None,
    collect: Collector | None = None,
    sources: Sequence[Source] | None = None,
) -> PartitionResult:
    """Run every stage on one partition; write its points into ``out_dir/points``.

    The partition's messages are its spill files, or with ``sources`` those
    input files themselves (a dataset's aircraft buckets:
    :func:`~overflight.engine.partition.bucket_plan`).

    Points go to the partitioned layout (files tagged with the partition
    number, so partitions never write the same file); flights, events and
    reach are returned in canonical order
    (:func:`~overflight.engine.order.canonical_sort`): they are small, the
    caller merges them and writes them once.
    """
    t0 = time.perf_counter()
    ctx = resolve_context(context)
    messages = read_partition(spill_dir, partition) if sources is None else read_sources(sources)
    analysis = process(messages, ctx)
    points_dir = Path(out_dir) / "points"
    with PartitionedWriter(points_dir, tag=f"{partition:05d}", region_deg=region_deg) as w:
        w.write(analysis.points)
    extra = collect(analysis, ctx) if collect is not None else None
    return PartitionResult(
        partition=partition,
        messages=messages.num_rows,
        points=analysis.points.num_rows,
        flights=canonical_sort(analysis.flights, "flights"),
        events=canonical_sort(analysis.events, "events"),
        reach=None if analysis.reach is None else canonical_sort(analysis.reach, "reach"),
        files=[str(f) for f in w.files],
        seconds=time.perf_counter() - t0,
        columns=w.columns,
        extra=extra,
    )
