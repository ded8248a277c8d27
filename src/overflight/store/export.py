"""The partitioned dataset layout, and ``overflight store export DB OUTDIR``.

Layout (hive style, one folder level per key, GeoParquet files)::

    OUTDIR/
      _overflight_dataset.json          what the folder holds (see below)
      day=2024-01-31/part-00000-0.parquet
      day=2024-01-31/region=N40E000/part-00000-0.parquet   (with region_deg)

* ``day`` is the UTC date of ``timestamp``; rows without a time go to
  ``day=__HIVE_DEFAULT_PARTITION__`` (the hive convention for null).
* ``region`` (optional) is the ``region_deg`` x ``region_deg`` tile holding
  the position, named by its south-west corner (``N40E000``, ``S35W060``);
  rows without a position go to ``region=none``.
* The key columns are not stored in the files (readers such as
  :mod:`pyarrow.dataset`, DuckDB's ``hive_partitioning`` and Spark restore
  them from the path).  Every other column is stored as is, plus
  ``geometry``: the position as a WKB point (x = longitude, y = latitude,
  WGS84), null without a position.
* Every file carries GeoParquet 1.1 metadata (key ``geo``): WKB encoding,
  ``Point`` geometries, the file's bounding box and no ``crs`` (which means
  OGC:CRS84, longitude/latitude on WGS84), so GeoPandas, GDAL and DuckDB
  spatial open a file as a layer of points.
* ``_overflight_dataset.json``: ``{"layout": "overflight-day", "version": 1,
  "region_deg": null, "rows": N, "files": N, "columns": [...]}``.

Writers only ever add files (``part-<tag>-<n>.parquet`` with a tag per
writer), so several processes can write one dataset at once as long as their
tags differ.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from overflight.errors import StoreError
from overflight.schema import TIMESTAMP
from overflight.store import connect

LAYOUT = "overflight-day"
LAYOUT_FILE = "_overflight_dataset.json"
GEOMETRY = "geometry"
NULL_KEY = "__HIVE_DEFAULT_PARTITION__"
NS_PER_DAY = 86_400 * 10**9
#: Tile sizes (degrees) accepted for the ``region`` level: they divide 180.
REGION_DEGREES = (1, 2, 3, 5, 6, 10, 15, 30, 45, 90)


def wkb_points(longitude: npt.ArrayLike, latitude: npt.ArrayLike) -> pa.Array:
    """Little-endian WKB points from coordinate arrays; null where either is NaN.

    Examples
    --------
    >>> import shapely
    >>> arr = wkb_points([2.35, float("nan")], [48.85, 1.0])
    >>> shapely.from_wkb(arr[0].as_py()).wkt, arr[1].as_py()
    ('POINT (2.35 48.85)', None)
    """
    x = np.asarray(longitude, dtype=np.float64).ravel()
    y = np.asarray(latitude, dtype=np.float64).ravel()
    n = x.size
    raw = np.empty((n, 21), dtype=np.uint8)
    raw[:, 0] = 1  # little endian
    raw[:, 1:5] = np.frombuffer(np.uint32(1).tobytes("C"), dtype=np.uint8)  # wkbPoint
    raw[:, 5:13] = x.astype("<f8").view(np.uint8).reshape(n, 8)
    raw[:, 13:21] = y.astype("<f8").view(np.uint8).reshape(n, 8)
    valid = np.isfinite(x) & np.isfinite(y)
    offsets = np.arange(0, 21 * n + 1, 21, dtype=np.int32)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    return pa.Array.from_buffers(
        pa.binary(),
        n,
        [bitmap, pa.py_buffer(offsets.tobytes()), pa.py_buffer(raw.tobytes())],
        null_count=int(n - valid.sum()),
    )


def geo_metadata(bbox: tuple[float, float, float, float] | None) -> dict[str, Any]:
    """The GeoParquet 1.1 ``geo`` metadata of a points file.

    Examples
    --------
    >>> geo_metadata((0.0, 1.0, 2.0, 3.0))["columns"]["geometry"]["bbox"]
    [0.0, 1.0, 2.0, 3.0]
    """
    column: dict[str, Any] = {"encoding": "WKB", "geometry_types": ["Point"]}
    if bbox is not None:
        column["bbox"] = list(bbox)
    return {"version": "1.1.0", "primary_column": GEOMETRY, "columns": {GEOMETRY: column}}


def day_numbers(timestamps: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64]:
    """UTC day number (days since 1970-01-01) per row; ``-2**62`` for nulls."""
    ints = pc.cast(pc.cast(timestamps, TIMESTAMP), pa.int64())
    t = pc.fill_null(ints, np.iinfo(np.int64).min).to_numpy(zero_copy_only=False)
    days = np.floor_divide(t, NS_PER_DAY)
    return np.where(t == np.iinfo(np.int64).min, -(2**62), days).astype(np.int64)


def day_label(day: int) -> str:
    """``YYYY-MM-DD`` of a day number (the null key for nulls).

    Examples
    --------
    >>> day_label(19753)
    '2024-01-31'
    """
    if day == -(2**62):
        return NULL_KEY
    return str(np.datetime64(int(day), "D"))


def region_label(lat_tile: int, lon_tile: int, region_deg: int) -> str:
    """Name of a tile from its row/column index: its south-west corner.

    Examples
    --------
    >>> region_label(4, 0, 10), region_label(-4, -6, 10)
    ('N40E000', 'S40W060')
    """
    lat0, lon0 = lat_tile * region_deg, lon_tile * region_deg
    ns = "N" if lat0 >= 0 else "S"
    ew = "E" if lon0 >= 0 else "W"
    return f"{ns}{abs(lat0):02d}{ew}{abs(lon0):03d}"


def _coords(table: pa.Table) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    def col(name: str) -> npt.NDArray[np.float64]:
        if name not in table.column_names:
            return np.full(table.num_rows, np.nan)
        c = pc.cast(table.column(name), pa.float64())
        out: npt.NDArray[np.float64] = pc.fill_null(c, np.nan).to_numpy(zero_copy_only=False)
        return out

    return col("longitude"), col("latitude")


def _keys(table: pa.Table, region_deg: int | None) -> npt.NDArray[np.int64]:
    """One integer per row: day, and region tile, packed together."""
    day = day_numbers(table.column("timestamp"))
    if region_deg is None:
        return day
    lon, lat = _coords(table)
    ok = np.isfinite(lon) & np.isfinite(lat)
    # 1000 tile rows/columns at most (1-degree tiles: 180 x 360), 999 = no position
    row = np.where(ok, np.floor(np.clip(lat, -90, 89.999999) / region_deg), 999 - 500)
    lon_w = np.where(ok, ((lon + 180.0) % 360.0) - 180.0, 0.0)
    colm = np.where(ok, np.floor(lon_w / region_deg), 999 - 500)
    tile = (row.astype(np.int64) + 500) * 1000 + (colm.astype(np.int64) + 500)
    return day * 1_000_000 + tile


def _key_path(key: int, region_deg: int | None) -> str:
    if region_deg is None:
        return f"day={day_label(key)}"
    day, tile = divmod(key, 1_000_000)
    row, colm = divmod(tile, 1000)
    region = "none" if row == 999 else region_label(row - 500, colm - 500, region_deg)
    return f"day={day_label(day)}/region={region}"


@dataclass
class _Open:
    writer: pq.ParquetWriter
    path: Path
    bbox: list[float] = field(default_factory=lambda: [math.inf, math.inf, -math.inf, -math.inf])
    rows: int = 0


class PartitionedWriter:
    """Writes tables into the day-partitioned GeoParquet layout, in any order.

    Holds one open Parquet file per partition key seen (at most ``max_open``;
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
    """

    def __init__(
        self,
        root: str | Path,
        *,
        tag: str = "0",
        region_deg: int | None = None,
        compression: str = "zstd",
        row_group_rows: int = 262_144,
        max_buffered_rows: int = 2_000_000,
        max_open: int = 64,
    ) -> None:
        if region_deg is not None and region_deg not in REGION_DEGREES:
            raise StoreError(f"region_deg must be one of {REGION_DEGREES}, got {region_deg}")
        self.root = Path(root)
        self.tag = tag
        self.region_deg = region_deg
        self.compression = compression
        self.row_group_rows = row_group_rows
        self.max_buffered_rows = max_buffered_rows
        self.max_open = max_open
        self.rows = 0
        self.files: list[Path] = []
        self.columns: list[str] = []
        self._buffers: dict[int, list[pa.Table]] = {}
        self._buffered: dict[int, int] = {}
        self._open: dict[int, _Open] = {}
        self._seq = 0
        self._schema: pa.Schema | None = None

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
        if self._schema is None:
            self._schema = table.schema.remove_metadata()
            self.columns = list(table.column_names)
        elif table.schema.remove_metadata() != self._schema:
            table = table.select(self.columns).cast(self._schema)
        keys = _keys(table, self.region_deg)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        cuts = np.flatnonzero(np.diff(sorted_keys)) + 1
        table = table.take(pa.array(order)) if len(cuts) else table
        bounds = [0, *cuts.tolist(), len(keys)]
        for lo, hi in itertools.pairwise(bounds):
            key = int(sorted_keys[lo])
            self._buffers.setdefault(key, []).append(table.slice(lo, hi - lo))
            self._buffered[key] = self._buffered.get(key, 0) + hi - lo
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
        lon, lat = _coords(table)
        geom = wkb_points(lon, lat)
        table = table.append_column(pa.field(GEOMETRY, pa.binary()), geom)
        entry = self._open.pop(key, None)
        if entry is None:
            if len(self._open) >= self.max_open:
                oldest = next(iter(self._open))
                self._finish(self._open.pop(oldest))
            folder = self.root / _key_path(key, self.region_deg)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"part-{self.tag}-{self._seq}.parquet"
            self._seq += 1
            writer = pq.ParquetWriter(path, table.schema, compression=self.compression)
            entry = _Open(writer, path)
        self._open[key] = entry  # most recently used last
        entry.writer.write_table(table, row_group_size=max(self.row_group_rows, 1))
        entry.rows += table.num_rows
        ok = np.isfinite(lon) & np.isfinite(lat)
        if ok.any():
            b = entry.bbox
            b[0], b[1] = min(b[0], float(lon[ok].min())), min(b[1], float(lat[ok].min()))
            b[2], b[3] = max(b[2], float(lon[ok].max())), max(b[3], float(lat[ok].max()))

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


def write_layout_file(
    root: str | Path, rows: int, files: int, columns: Iterable[str], region_deg: int | None
) -> Path:
    """Write ``_overflight_dataset.json`` describing the dataset in ``root``."""
    path = Path(root) / LAYOUT_FILE
    info = {
        "layout": LAYOUT,
        "version": 1,
        "region_deg": region_deg,
        "rows": rows,
        "files": files,
        "columns": [c for c in columns if c != GEOMETRY],
    }
    path.write_text(json.dumps(info, indent=2) + "\n")
    return path


def _canonical_batch(batch: pa.RecordBatch) -> pa.Table:
    """DuckDB's Arrow output with the canonical types: ns UTC times, plain strings."""
    arrays, fields = [], []
    for f, col in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_timestamp(f.type):
            col, f = col.cast(TIMESTAMP), pa.field(f.name, TIMESTAMP)
        elif pa.types.is_large_string(f.type) or pa.types.is_string_view(f.type):
            col, f = col.cast(pa.string()), pa.field(f.name, pa.string())
        arrays.append(col)
        fields.append(f)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote."""

    out_dir: Path
    rows: int
    files: list[Path]


def export(
    db_path: str | Path,
    out_dir: str | Path,
    *,
    table: str = "points",
    analysis_id: str | None = None,
    region_deg: int | None = None,
    batch_rows: int = 1_000_000,
) -> ExportResult:
    """Stream one table of the store into the partitioned layout in ``out_dir``.

    Rows go from DuckDB to Parquet in batches of ``batch_rows``, so the
    table may be larger than memory.  ``analysis_id`` keeps the rows of one
    analysis.  The folder must be empty or absent: an export never mixes
    with older files.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise StoreError(f"{out}: export folder is not empty")
    if not Path(db_path).exists():
        raise StoreError(f"{db_path}: no such store")
    con = connect(db_path, read_only=True)
    try:
        names = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if table not in names:
            raise StoreError(f"{db_path}: no table {table!r} in the store (has {sorted(names)})")
        sql, params = f'SELECT * FROM "{table}"', {}
        if analysis_id is not None:
            sql, params = sql + " WHERE analysis_id = $aid", {"aid": analysis_id}
        reader = con.sql(sql, params=params).to_arrow_reader(batch_rows)
        out.mkdir(parents=True, exist_ok=True)
        with PartitionedWriter(out, region_deg=region_deg) as writer:
            for batch in reader:
                writer.write(_canonical_batch(batch))
    except (duckdb.Error, pa.ArrowException, OSError) as exc:
        raise StoreError(f"{db_path}: export of {table!r} failed ({exc})") from exc
    finally:
        con.close()
    write_layout_file(out, writer.rows, len(writer.files), writer.columns, region_deg)
    return ExportResult(out, writer.rows, sorted(writer.files))
