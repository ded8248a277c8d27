"""Reading and writing the partitioned dataset layout (GeoParquet by day).

The layout is described in :mod:`overflight.store.layout`
(:mod:`overflight.store.export` exports a store table into it); this module
writes it (:class:`PartitionedWriter`, used by every engine and by the
export) and reads it: list the files of a dataset in
a fixed order, and stream them as Arrow record batches with column
projection, one file after the other, so a dataset of any size is read with
bounded memory.

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
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from overflight.errors import FormatError, StoreError
from overflight.store.layout import (
    BUCKETS_MAX,
    GEOMETRY,
    LAYOUT,
    LAYOUT_FILE,
    REGION_DEGREES,
    coordinates,
    geo_metadata,
    key_path,
    partition_keys,
    split_by_key,
    wkb_points,
    write_layout_file,
    write_options,
)

__all__ = [
    "GEOMETRY",
    "PartitionedWriter",
    "dataset_buckets",
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


def _grow_bbox(
    bbox: list[float], lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> None:
    """Extend ``bbox`` (min x, min y, max x, max y) in place to the finite positions."""
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return
    x, y = (lon, lat) if ok.all() else (lon[ok], lat[ok])
    bbox[0], bbox[1] = min(bbox[0], float(x.min())), min(bbox[1], float(y.min()))
    bbox[2], bbox[3] = max(bbox[2], float(x.max())), max(bbox[3], float(y.max()))


@dataclass
class _Open:
    writer: pq.ParquetWriter
    path: Path
    bbox: list[float] = field(default_factory=lambda: [math.inf, math.inf, -math.inf, -math.inf])
    rows: int = 0


def default_max_open(buckets: int | None) -> int:
    """Files a writer keeps open: 64, or with aircraft buckets up to 2048 (a quarter
    of the process's file limit), since a bucket whose file was closed gets a new
    file, and a dataset of many small files reads slowly."""
    if buckets is None:
        return 64
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        limit = 1 << 16 if soft == resource.RLIM_INFINITY else int(soft)
    except (ImportError, OSError, ValueError):  # not on every platform
        limit = 1024
    return max(64, min(2048, limit // 4))


def check_buckets(buckets: int | None) -> None:
    """Refuse a bucket count the layout cannot hold (:data:`BUCKETS_MAX`)."""
    if buckets is not None and not 1 <= buckets < BUCKETS_MAX:
        raise StoreError(f"buckets must be from 1 to {BUCKETS_MAX - 1}, got {buckets}")


class PartitionedWriter:
    """Writes tables into the day-partitioned GeoParquet layout, in any order.

    Holds one open Parquet file per partition key seen (at most ``max_open``,
    default :func:`default_max_open`;
    the least recently used is closed and a new file started when needed) and
    buffers rows per key until ``row_group_rows`` are there, so memory stays
    bounded by ``max_buffered_rows`` whatever is written.  Not thread-safe;
    call :meth:`close` (or use it as a context manager) to finish the files.

    Parameters
    ----------
    root
        The dataset folder (created when missing).
    tag
        Distinguishes the files of this writer from those of other writers of
        the same dataset (a partition number, a process id).
    region_deg
        Tile size of the optional ``region`` level, one of
        :data:`REGION_DEGREES`; None for day only.
    buckets
        Number of aircraft buckets of the optional ``bucket`` level (rows
        need ``icao24``); None for none.

    Rows of one key keep their order; a table sorted by aircraft and time
    (as the pipeline's points are) is split into days by copying its runs,
    without a row-by-row gather (:func:`~overflight.store.layout.split_by_key`).
    """

    def __init__(
        self,
        root: str | Path,
        *,
        tag: str = "0",
        region_deg: int | None = None,
        buckets: int | None = None,
        compression: str = "zstd",
        row_group_rows: int = 262_144,
        max_buffered_rows: int = 2_000_000,
        max_open: int | None = None,
    ) -> None:
        if region_deg is not None and region_deg not in REGION_DEGREES:
            raise StoreError(f"region_deg must be one of {REGION_DEGREES}, got {region_deg}")
        check_buckets(buckets)
        self.root = Path(root)
        self.tag = tag
        self.region_deg = region_deg
        self.buckets = buckets
        self.compression = compression
        self.row_group_rows = row_group_rows
        self.max_buffered_rows = max_buffered_rows
        self.max_open = max_open if max_open is not None else default_max_open(buckets)
        self.rows = 0
        self.files: list[Path] = []
        self.columns: list[str] = []
        self._buffers: dict[int, list[pa.Table]] = {}
        self._buffered: dict[int, int] = {}
        self._open: dict[int, _Open] = {}
        self._seq = 0
        self._schema: pa.Schema | None = None
        self._options: dict[str, Any] = {}

    def __enter__(self) -> PartitionedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, table: pa.Table | pa.RecordBatch) -> None:
        """Add rows (any partition keys, any order)."""
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        if table.num_rows == 0:
            return
        if self._schema is not None and table.schema.remove_metadata() != self._schema:
            table = table.select(self.columns).cast(self._schema)
        keys = partition_keys(table, self.region_deg, self.buckets)  # checks the columns
        if self._schema is None:
            self._schema = table.schema.remove_metadata()
            self.columns = list(table.column_names)
        for key, part in split_by_key(table, keys):
            self._buffers.setdefault(key, []).append(part)
            self._buffered[key] = self._buffered.get(key, 0) + part.num_rows
            if self._buffered[key] >= self.row_group_rows:
                self._flush(key)
        while sum(self._buffered.values()) > self.max_buffered_rows:
            self._flush(max(self._buffered, key=self._buffered.__getitem__))

    def _flush(self, key: int) -> None:
        parts = self._buffers.pop(key, [])
        self._buffered.pop(key, None)
        if not parts:
            return
        table = pa.concat_tables(parts)
        lon, lat = coordinates(table)
        geom = wkb_points(lon, lat)
        table = table.append_column(pa.field(GEOMETRY, pa.binary()), geom)
        entry = self._open.pop(key, None)
        if entry is None:
            if len(self._open) >= self.max_open:
                oldest = next(iter(self._open))
                self._finish(self._open.pop(oldest))
            folder = self.root / key_path(key, self.region_deg, self.buckets)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"part-{self.tag}-{self._seq}.parquet"
            self._seq += 1
            if not self._options:
                self._options = write_options(table.schema)
            writer = pq.ParquetWriter(
                path, table.schema, compression=self.compression, **self._options
            )
            entry = _Open(writer, path)
        self._open[key] = entry  # most recently used last
        entry.writer.write_table(table, row_group_size=max(self.row_group_rows, 1))
        entry.rows += table.num_rows
        _grow_bbox(entry.bbox, lon, lat)

    def _finish(self, entry: _Open) -> None:
        bbox = tuple(entry.bbox) if math.isfinite(entry.bbox[0]) else None
        meta = geo_metadata(bbox)  # type: ignore[arg-type]
        entry.writer.add_key_value_metadata({"geo": json.dumps(meta)})
        entry.writer.close()
        self.files.append(entry.path)
        self.rows += entry.rows

    def close(self) -> list[Path]:
        """Flush every buffer, finish every file; return the files written."""
        for key in list(self._buffers):
            self._flush(key)
        for entry in list(self._open.values()):
            self._finish(entry)
        self._open.clear()
        return self.files


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


def dataset_buckets(path: str | Path) -> int | None:
    """The dataset's number of aircraft buckets (its layout file), None without buckets."""
    info = layout_info(path)
    n = None if info is None else info.get("buckets")
    return n if isinstance(n, int) and n > 0 else None


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


def _flat_bytes(t: pa.DataType) -> bool:
    """A top-level string or binary column (one that Parquet can hand out as a dictionary)."""
    return bool(
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    )


def iter_batches(
    files: Sequence[str | Path],
    columns: Sequence[str] | None = None,
    batch_rows: int = 1_000_000,
    dictionary: Sequence[str] = (),
) -> Iterator[pa.RecordBatch]:
    """Record batches of ``files``, in order, with only ``columns`` (those present).

    The ``geometry`` column is left out unless asked for by name.  Columns
    named in ``dictionary`` come dictionary-encoded (cheaper to decode when
    the file stores them so; cast them to their plain type when needed).
    """
    for f in files:
        try:
            pf = pq.ParquetFile(f)
            schema = pf.schema_arrow
            names = schema.names
            encoded = [c for c in dictionary if c in names and _flat_bytes(schema.field(c).type)]
            if encoded:
                pf = pq.ParquetFile(f, metadata=pf.metadata, read_dictionary=encoded)
            if columns is None:
                cols = [c for c in names if c != GEOMETRY]
            else:
                cols = [c for c in columns if c in names]
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
    buckets: int | None = None,
    tag: str = "0",
) -> list[Path]:
    """Write one in-memory table into the layout at ``root`` (creating it)."""
    with PartitionedWriter(root, tag=tag, region_deg=region_deg, buckets=buckets) as writer:
        writer.write(table)
    write_layout_file(root, writer.rows, len(writer.files), writer.columns, region_deg, buckets)
    return sorted(writer.files)
