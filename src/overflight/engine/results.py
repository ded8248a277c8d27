"""Gathering the partitions' results into one output folder, identically for every engine.

Output folder of an engine run::

    OUT/points/            the points table in the partitioned layout
                           (day=YYYY-MM-DD/part-<partition>-<n>.parquet)
    OUT/flights.parquet    every flight, sorted by flight_id
    OUT/events.parquet     every event, sorted (see :func:`canonical_sort`)
    OUT/reach.parquet      observation reach, when a focus country was given
    OUT/extra.parquet      the collector's output, when one was given
    OUT/run.json           engine, partitions, rows, timings, input stats

Rows are sorted by content, not by the order partitions finished in, so the
files are the same whichever engine, partition count or worker count made
them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from overflight.engine.tasks import PartitionResult
from overflight.schema import EVENT_SCHEMA, FLIGHT_SCHEMA
from overflight.store.layout import write_layout_file

#: Leading sort keys per table; every other sortable column follows as a tie-break.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "points": ("icao24", "timestamp"),
    "flights": ("flight_id",),
    "events": ("flight_id", "kind", "start", "stop"),
    "reach": ("flight_id", "country"),
}


def _sortable(t: pa.DataType) -> bool:
    return not (pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t))


def canonical_sort(table: pa.Table, kind: str) -> pa.Table:
    """``table`` sorted by :data:`SORT_KEYS` then every other sortable column.

    Two runs produced the same rows exactly when their canonically sorted
    tables are equal (:meth:`pyarrow.Table.equals`).

    Examples
    --------
    >>> t = pa.table({"flight_id": ["b", "a"], "n": [1, 2]})
    >>> canonical_sort(t, "flights").column("flight_id").to_pylist()
    ['a', 'b']
    """
    lead = [k for k in SORT_KEYS[kind] if k in table.column_names]
    rest = [f.name for f in table.schema if f.name not in lead and _sortable(f.type)]
    if table.num_rows < 2:
        return table
    return table.sort_by([(k, "ascending") for k in (*lead, *rest)])


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


def _concat(tables: Sequence[pa.Table | None], schema: pa.Schema | None) -> pa.Table | None:
    parts = [t for t in tables if t is not None]
    if not parts:
        return schema.empty_table() if schema is not None else None
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
    tables: dict[str, pa.Table | None] = {
        "flights": _concat([r.flights for r in ordered], FLIGHT_SCHEMA),
        "events": _concat([r.events for r in ordered], EVENT_SCHEMA),
        "reach": _concat([r.reach for r in ordered], None),
        "extra": _concat([r.extra for r in ordered], None),
    }
    for name, table in list(tables.items()):
        if table is None:
            continue
        if name in SORT_KEYS:
            table = canonical_sort(table, name)
        tables[name] = table
        pq.write_table(table, staging / f"{name}.parquet", compression="zstd")
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
