"""Gathering the partitions' results into one output folder, identically for every engine.

Output folder of an engine run::

    OUT/points/            the points table in the partitioned layout
                           (day=YYYY-MM-DD/part-<partition>-<n>.parquet)
    OUT/flights.parquet    every flight, sorted by flight_id
    OUT/events.parquet     every event, sorted (see :func:`~overflight.engine.order.canonical_sort`)
    OUT/reach.parquet      observation reach, when a focus country was given
    OUT/extra.parquet      the collector's output, when one was given
    OUT/run.json           engine, partitions, rows, timings, input stats

Rows are sorted by content (:mod:`overflight.engine.order`), not by the
order partitions finished in, so the files are the same whichever engine,
partition count or worker count made them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from overflight.engine.order import SORT_KEYS, merge_sorted
from overflight.engine.tasks import PartitionResult
from overflight.schema import EVENT_SCHEMA, FLIGHT_SCHEMA
from overflight.store.layout import write_layout_file

#: Free-text columns: neither dictionary-encoded nor given min/max statistics
#: in the files (nearly every value differs; the events' ``details`` are most
#: of that file, and skipping both makes writing it a sixth faster).
FREE_TEXT = frozenset({"details", "identity_reason", "mission_reason"})


def write_result_table(table: pa.Table, path: Path) -> None:
    """Write one of the run's tables (flights, events, ...) as zstd Parquet."""
    coded = [f for f in table.schema if f.name not in FREE_TEXT]
    strings = [
        f.name for f in coded if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    pq.write_table(
        table,
        path,
        compression="zstd",
        use_dictionary=strings,
        write_statistics=[f.name for f in coded],
    )


@dataclass
class EngineResult:
    """What an engine run wrote and measured."""

    out_dir: Path
    engine: str
    partitions: int
    messages: int
    points: int
    flights: pa.Table
    events: pa.Table
    reach: pa.Table | None
    extra: pa.Table | None
    files: list[Path]
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def points_dir(self) -> Path:
        """The points dataset (read it with :func:`overflight.store.dataset.read_dataset`)."""
        return self.out_dir / "points"


def _concat(
    tables: Sequence[pa.Table | None], schema: pa.Schema | None, kind: str | None = None
) -> pa.Table | None:
    """The partitions' tables as one (in canonical order for a ``kind`` of :data:`SORT_KEYS`)."""
    parts = [t for t in tables if t is not None]
    if not parts:
        return schema.empty_table() if schema is not None else None
    if kind is not None:
        return merge_sorted(parts, kind)
    return pa.concat_tables(parts, promote_options="permissive")


def gather(
    staging: Path,
    results: Sequence[PartitionResult],
    *,
    engine: str,
    partitions: int,
    region_deg: int | None,
    stats: dict[str, Any],
) -> tuple[dict[str, pa.Table | None], dict[str, Any]]:
    """Write flights, events, reach, extra and the points layout file into ``staging``."""
    ordered = sorted(results, key=lambda r: r.partition)
    schemas = {"flights": FLIGHT_SCHEMA, "events": EVENT_SCHEMA}

    def merge_and_write(name: str) -> pa.Table | None:
        # the partitions' flights, events and reach arrive canonically sorted
        table = _concat(
            [getattr(r, name) for r in ordered],
            schemas.get(name),
            name if name in SORT_KEYS else None,
        )
        if table is not None:
            write_result_table(table, staging / f"{name}.parquet")
        return table

    # the workers are idle by now: the tables are merged and written side by side
    names = ("flights", "events", "reach", "extra")
    with ThreadPoolExecutor(max_workers=2) as pool:
        tables = dict(zip(names, pool.map(merge_and_write, names), strict=True))
    files = [f for r in ordered for f in r.files]
    columns = next((r.columns for r in ordered if r.columns), [])
    n_points = sum(r.points for r in ordered)
    points_dir = staging / "points"
    points_dir.mkdir(exist_ok=True)
    write_layout_file(points_dir, n_points, len(files), columns, region_deg)
    summary = {
        "engine": engine,
        "partitions": partitions,
        "messages": sum(r.messages for r in ordered),
        "points": n_points,
        "flights": tables["flights"].num_rows if tables["flights"] is not None else 0,
        "partition_seconds": {str(r.partition): round(r.seconds, 3) for r in ordered},
        **stats,
    }
    (staging / "run.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return tables, summary
