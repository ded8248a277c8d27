"""Reading and writing the partitioned dataset layout (GeoParquet by day).

The layout is described in :mod:`overflight.store.export` (which writes it
from the store); this module adds the reading side used by every engine:
list the files of a dataset in a fixed order, and stream them as Arrow record
batches with column projection, one file after the other, so a dataset of
any size is read with bounded memory.

Examples
--------
>>> import tempfile, pyarrow as pa
>>> from overflight.schema import conform
>>> t = conform(pa.table({"timestamp": pa.array([0, 86_400 * 10**9], pa.timestamp("ns", "UTC")),
...                       "icao24": ["abc123", "abc123"], "latitude": [1.0, 2.0],
...                       "longitude": [3.0, 4.0]}))
>>> root = tempfile.mkdtemp()
>>> _ = write_dataset(t, root)
>>> sorted(p.parent.name for p in dataset_files(root))
['day=1970-01-01', 'day=1970-01-02']
>>> read_dataset(root, columns=["icao24", "latitude"]).column("latitude").to_pylist()
[1.0, 2.0]
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from overflight.errors import FormatError
from overflight.store.export import (
    GEOMETRY,
    LAYOUT,
    LAYOUT_FILE,
    PartitionedWriter,
    geo_metadata,
    wkb_points,
    write_layout_file,
)

__all__ = [
    "GEOMETRY",
    "PartitionedWriter",
    "dataset_files",
    "dataset_rows",
    "geo_metadata",
    "is_dataset",
    "iter_batches",
    "layout_info",
    "read_dataset",
    "wkb_points",
    "write_dataset",
]


def is_dataset(path: str | Path) -> bool:
    """True for a folder in the partitioned layout (layout file or ``day=`` folders)."""
    p = Path(path)
    if not p.is_dir():
        return False
    if (p / LAYOUT_FILE).is_file():
        return True
    return any(c.is_dir() and c.name.startswith("day=") for c in p.iterdir())


def layout_info(path: str | Path) -> dict[str, Any] | None:
    """The content of ``_overflight_dataset.json``, or None when absent."""
    f = Path(path) / LAYOUT_FILE
    if not f.is_file():
        return None
    info: dict[str, Any] = json.loads(f.read_text())
    if info.get("layout") != LAYOUT:
        raise FormatError(f"expected layout {LAYOUT!r}, got {info.get('layout')!r}", f)
    return info


def _day_of(path: Path, root: Path) -> str | None:
    for part in path.relative_to(root).parts[:-1]:
        if part.startswith("day="):
            return part[4:]
    return None


def dataset_files(
    path: str | Path, days: tuple[str | None, str | None] | None = None
) -> list[Path]:
    """The Parquet files of a dataset, sorted by path (so by day, then region, then part).

    ``days=(first, last)`` keeps the days in that inclusive range
    (``"YYYY-MM-DD"``; None for an open end).
    """
    root = Path(path)
    if not root.is_dir():
        raise FormatError("expected a dataset folder", root)
    files = sorted(
        f
        for f in root.rglob("*.parquet")
        if not any(part.startswith((".", "_")) for part in f.relative_to(root).parts)
    )
    if days is not None:
        lo, hi = days
        kept = []
        for f in files:
            d = _day_of(f, root)
            if d is None or (lo is not None and d < lo) or (hi is not None and d > hi):
                continue
            kept.append(f)
        files = kept
    return files


def dataset_rows(files: Sequence[str | Path]) -> int:
    """Total rows of Parquet files, from their footers (no data read)."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def iter_batches(
    files: Sequence[str | Path],
    columns: Sequence[str] | None = None,
    batch_rows: int = 1_000_000,
) -> Iterator[pa.RecordBatch]:
    """Record batches of ``files``, in order, with only ``columns`` (those present).

    The ``geometry`` column is left out unless asked for by name.
    """
    for f in files:
        pf = pq.ParquetFile(f)
        names = pf.schema_arrow.names
        if columns is None:
            cols = [c for c in names if c != GEOMETRY]
        else:
            cols = [c for c in columns if c in names]
        try:
            yield from pf.iter_batches(batch_size=batch_rows, columns=cols)
        except (pa.ArrowException, OSError) as exc:
            raise FormatError(f"cannot read Parquet data ({exc})", f) from exc


def read_dataset(
    path: str | Path,
    columns: Sequence[str] | None = None,
    days: tuple[str | None, str | None] | None = None,
) -> pa.Table:
    """A whole dataset (or some days of it) as one table: for data that fits in memory."""
    files = dataset_files(path, days)
    batches = list(iter_batches(files, columns))
    if not batches:
        if not files:
            raise FormatError("no Parquet files in the dataset folder", path)
        schema = pq.read_schema(files[0])
        keep = [f for f in schema if f.name != GEOMETRY and (columns is None or f.name in columns)]
        return pa.schema(keep).empty_table()
    table = pa.Table.from_batches(batches)
    return table.replace_schema_metadata(None)


def write_dataset(
    table: pa.Table,
    root: str | Path,
    *,
    region_deg: int | None = None,
    tag: str = "0",
) -> list[Path]:
    """Write one in-memory table into the layout at ``root`` (creating it)."""
    with PartitionedWriter(root, tag=tag, region_deg=region_deg) as writer:
        writer.write(table)
    write_layout_file(root, writer.rows, len(writer.files), writer.columns, region_deg)
    return sorted(writer.files)
