"""The partitioned dataset layout: keys, names, WKB points, GeoParquet metadata.

Layout (hive style, one folder level per key, GeoParquet files)::

    OUTDIR/
      _overflight_dataset.json          what the folder holds (see below)
      day=2024-01-31/part-00000-0.parquet
      day=2024-01-31/region=N40E000/part-00000-0.parquet   (with region_deg)
      day=2024-01-31/bucket=7/part-0-3.parquet             (with buckets)

* ``day`` is the UTC date of ``timestamp`` (of ``start`` for tables of
  flights and events, which have no ``timestamp``); rows without a time go to
  ``day=__HIVE_DEFAULT_PARTITION__`` (the hive convention for null).
* ``region`` (optional) is the ``region_deg`` x ``region_deg`` tile holding
  the position, named by its south-west corner (``N40E000``, ``S35W060``);
  rows without a position go to ``region=none``.
* ``bucket`` (optional, last level) is the aircraft bucket
  ``crc32(icao24) mod buckets`` (:func:`bucket_ids`): all the rows of one
  aircraft are in one bucket, the way the engines partition their work, so
  an engine with ``buckets`` partitions (or a divisor of it) reads each
  partition's files directly instead of re-sorting every row by aircraft
  first.  Worth it for a dataset analysed more than once.
* The key columns are not stored in the files (readers such as
  :mod:`pyarrow.dataset`, DuckDB's ``hive_partitioning`` and Spark restore
  them from the path).  Every other column is stored as is, plus
  ``geometry``: the position as a WKB point (x = longitude, y = latitude,
  WGS84), null without a position.
* Every file carries GeoParquet 1.1 metadata (key ``geo``): WKB encoding,
  ``Point`` geometries, the file's bounding box and no ``crs`` (which means
  OGC:CRS84, longitude/latitude on WGS84), so GeoPandas, GDAL and DuckDB
  spatial open a file as a layer of points.
* Files are zstd-compressed with version-2 data pages; only string columns
  are dictionary-encoded, timestamps delta-encoded, floating-point columns
  byte-stream-split, and only the time, aircraft, flight and position
  columns carry statistics (:func:`write_options`).
* ``_overflight_dataset.json``: ``{"layout": "overflight-day", "version": 1,
  "region_deg": null, "rows": N, "files": N, "columns": [...]}``, plus
  ``"buckets": N`` and ``"bucket_of"`` when the dataset has buckets.

Writers (:class:`overflight.store.dataset.PartitionedWriter`) only ever add
files (``part-<tag>-<n>.parquet`` with a tag per writer), so several
processes can write one dataset at once as long as their tags differ.
The export from the store is :mod:`overflight.store.export`; the writer and
the readers are :mod:`overflight.store.dataset`.
"""

from __future__ import annotations

import itertools
import json
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from overflight.errors import StoreError
from overflight.schema import TIMESTAMP

LAYOUT = "overflight-day"
LAYOUT_FILE = "_overflight_dataset.json"
GEOMETRY = "geometry"
NULL_KEY = "__HIVE_DEFAULT_PARTITION__"
NS_PER_DAY = 86_400 * 10**9
#: Day code of rows without a time in the packed partition keys.
NULL_DAY = 2_000_000
#: Packed keys: ``(day * TILES + tile) * BUCKETS_MAX + bucket``.
TILES = 1_000_000
BUCKETS_MAX = 65_536
#: Below this mean run length (rows of one key in a row), rows are gathered with a take.
MIN_RUN_ROWS = 200
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
    raw[:, 5:13] = x.astype("<f8", copy=False).view(np.uint8).reshape(n, 8)
    raw[:, 13:21] = y.astype("<f8", copy=False).view(np.uint8).reshape(n, 8)
    valid = np.isfinite(x) & np.isfinite(y)
    offsets = np.arange(0, 21 * n + 1, 21, dtype=np.int32)
    nulls = int(n - np.count_nonzero(valid))
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(
        pa.binary(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(raw)], null_count=nulls
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


def _crc_ids(values: pa.Array, partitions: int) -> npt.NDArray[np.int64]:
    """``crc32(value) mod partitions`` per value of a string array (null, empty: 0)."""
    return np.array(
        [zlib.crc32(v.encode()) % partitions if v else 0 for v in values.to_pylist()],
        dtype=np.int64,
    )


def _array_ids(arr: pa.Array, partitions: int) -> npt.NDArray[np.int64]:
    if not pa.types.is_dictionary(arr.type):
        # one CRC per distinct address, not per row
        arr = pc.dictionary_encode(pc.fill_null(arr.cast(pa.string()), ""))
    per_value = _crc_ids(arr.dictionary.cast(pa.string()), partitions)
    if len(per_value) == 0:
        return np.zeros(len(arr), dtype=np.int64)
    idx = pc.fill_null(arr.indices, 0).to_numpy(zero_copy_only=False)
    out: npt.NDArray[np.int64] = np.where(arr.indices.is_valid(), per_value[idx], 0)
    return out.astype(np.int64)


def bucket_ids(icao24: pa.Array | pa.ChunkedArray, partitions: int) -> npt.NDArray[np.int64]:
    """Aircraft bucket of each row: CRC-32 of the address modulo ``partitions`` (null: 0).

    The engines' partitions and the layout's ``bucket`` level are both this
    number, so a dataset written with ``buckets=N`` holds in each bucket
    exactly the rows an engine with N partitions would put in that partition.
    CRC-32 is fixed by its standard: the same bucket in every process and on
    every machine (Python's ``hash`` is salted per process).

    ``icao24`` may be dictionary-encoded (as read from Parquet with
    ``read_dictionary``): then one CRC per dictionary value, no hashing.

    Examples
    --------
    >>> import zlib
    >>> bucket_ids(pa.array(["4ca7b5", None, "4ca7b5"]), 7).tolist()
    [3, 0, 3]
    >>> zlib.crc32(b"4ca7b5") % 7
    3
    """
    chunks = icao24.chunks if isinstance(icao24, pa.ChunkedArray) else [icao24]
    parts = [_array_ids(c, partitions) for c in chunks if len(c)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


#: Columns whose Parquet statistics are written: those people filter points on
#: (when, which aircraft, where, how high), besides the day folders.
STATISTICS_COLUMNS = (
    "timestamp",
    "start",
    "icao24",
    "flight_id",
    "latitude",
    "longitude",
    "altitude",
)


def write_options(schema: pa.Schema) -> dict[str, Any]:
    """Parquet encoding options of a points file with this (Arrow) schema.

    * Dictionary encoding only for string (byte array) columns, where it pays:
      numeric columns rarely fit a dictionary page and fall back to plain
      encoding after hashing every value for nothing.
    * Timestamps delta-encoded, floating-point columns byte-stream-split:
      both compress better under zstd and take less time to write (the
      points of a 1.5M-row partition: 46 MB instead of 54 MB, about a tenth
      faster); DuckDB and Arrow (and so GDAL's Parquet driver, built on
      Arrow) read them.
    * Data pages of format version 2.
    * Statistics (min/max per row group) only for :data:`STATISTICS_COLUMNS`:
      the rest cost time (string min/max most) and serve no filter we know of;
      none for ``geometry`` (min/max of WKB bytes is meaningless; the bbox is
      in the ``geo`` metadata).

    None of these changes what a reader reads back.

    Examples
    --------
    >>> s = pa.schema([("icao24", pa.string()), ("latitude", pa.float64()),
    ...                ("squawk", pa.string()), (GEOMETRY, pa.binary())])
    >>> opts = write_options(s)
    >>> opts["use_dictionary"], opts["write_statistics"], opts["column_encoding"]
    (['icao24', 'squawk'], ['icao24', 'latitude'], {'latitude': 'BYTE_STREAM_SPLIT'})
    """
    sink = pa.BufferOutputStream()
    pq.write_table(schema.empty_table(), sink)
    leaves = pq.ParquetFile(pa.BufferReader(sink.getvalue())).schema
    columns = [leaves.column(i) for i in range(len(leaves))]
    data = [c for c in columns if c.path.split(".")[0] != GEOMETRY]
    encoding = {}
    for f in schema:
        if pa.types.is_timestamp(f.type):
            encoding[f.name] = "DELTA_BINARY_PACKED"
        elif pa.types.is_floating(f.type):
            encoding[f.name] = "BYTE_STREAM_SPLIT"
    return {
        "use_dictionary": [c.path for c in data if c.physical_type == "BYTE_ARRAY"],
        "write_statistics": [c.path for c in data if c.path in STATISTICS_COLUMNS],
        "column_encoding": encoding,
        "data_page_version": "2.0",
    }


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


def coordinates(table: pa.Table) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    def col(name: str) -> npt.NDArray[np.float64]:
        if name not in table.column_names:
            return np.full(table.num_rows, np.nan)
        c = pc.cast(table.column(name), pa.float64())
        out: npt.NDArray[np.float64] = pc.fill_null(c, np.nan).to_numpy(zero_copy_only=False)
        return out

    return col("longitude"), col("latitude")


def time_column(names: Iterable[str]) -> str | None:
    """The column whose UTC date is a row's ``day``: ``timestamp``, else ``start``.

    Examples
    --------
    >>> time_column(["icao24", "start", "stop"]), time_column(["icao24"])
    ('start', None)
    """
    names = list(names)
    return next((c for c in ("timestamp", "start") if c in names), None)


def partition_keys(
    table: pa.Table, region_deg: int | None, buckets: int | None = None
) -> npt.NDArray[np.int64]:
    """One integer per row: day, region tile and aircraft bucket, packed together.

    ``(day * TILES + tile) * BUCKETS_MAX + bucket`` (tile 0 without a region
    level, bucket 0 without buckets); :func:`key_path` unpacks it.

    Examples
    --------
    >>> t = pa.table({"timestamp": pa.array([86_400 * 10**9, None], pa.timestamp("ns", "UTC")),
    ...               "icao24": ["4ca7b5", "4ca7b5"]})
    >>> [key_path(int(k), None, 7) for k in partition_keys(t, None, 7)]
    ['day=1970-01-02/bucket=3', 'day=__HIVE_DEFAULT_PARTITION__/bucket=3']
    """
    column = time_column(table.column_names)
    if column is None:
        raise StoreError("the layout splits rows by day: expected a timestamp or start column")
    if buckets is not None and "icao24" not in table.column_names:
        raise StoreError("aircraft buckets need an icao24 column")
    day = day_numbers(table.column(column))
    day = np.where(day == -(2**62), NULL_DAY, day)
    if region_deg is None:
        tile = np.zeros(len(day), dtype=np.int64)
    else:
        lon, lat = coordinates(table)
        ok = np.isfinite(lon) & np.isfinite(lat)
        # 1000 tile rows/columns at most (1-degree tiles: 180 x 360), 999 = no position
        row = np.where(ok, np.floor(np.clip(lat, -90, 89.999999) / region_deg), 999 - 500)
        lon_w = np.where(ok, ((lon + 180.0) % 360.0) - 180.0, 0.0)
        colm = np.where(ok, np.floor(lon_w / region_deg), 999 - 500)
        tile = (row.astype(np.int64) + 500) * 1000 + (colm.astype(np.int64) + 500)
    if buckets is None:
        bucket = np.zeros(len(day), dtype=np.int64)
    else:
        bucket = bucket_ids(table.column("icao24"), buckets)
    out: npt.NDArray[np.int64] = (day * TILES + tile) * BUCKETS_MAX + bucket
    return out


def split_by_key(table: pa.Table, keys: npt.NDArray[np.int64]) -> Iterator[tuple[int, pa.Table]]:
    """The rows of each key, keys ascending, rows in table order within a key.

    Rows usually come in long runs of one key (a points table is sorted by
    aircraft and time, so by day within an aircraft): then the runs are
    copied as blocks; otherwise the rows are gathered with one ``take``.

    Examples
    --------
    >>> t = pa.table({"v": [1, 2, 3, 4]})
    >>> [(k, p.column("v").to_pylist()) for k, p in split_by_key(t, np.array([5, 3, 5, 3]))]
    [(3, [2, 4]), (5, [1, 3])]
    """
    n = len(keys)
    starts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate([[0], starts]) if n else starts
    if len(starts) * MIN_RUN_ROWS > n:  # short runs: one gather
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        table = table.take(pa.array(order))
        starts = np.concatenate([[0], np.flatnonzero(keys[1:] != keys[:-1]) + 1])
    stops = np.append(starts[1:], n)
    by_key = np.argsort(keys[starts], kind="stable")
    run_keys = keys[starts][by_key]
    first = np.flatnonzero(np.diff(run_keys, prepend=run_keys[:1] - 1))
    for lo, hi in itertools.pairwise([*first.tolist(), len(by_key)]):
        runs = by_key[lo:hi]
        parts = [table.slice(int(starts[r]), int(stops[r] - starts[r])) for r in runs]
        part = parts[0] if len(parts) == 1 else pa.concat_tables(parts).combine_chunks()
        yield int(run_keys[lo]), part


def key_path(key: int, region_deg: int | None, buckets: int | None = None) -> str:
    """The folders of a packed key (:func:`partition_keys`): ``day=.../region=.../bucket=...``."""
    rest, bucket = divmod(key, BUCKETS_MAX)
    day, tile = divmod(rest, TILES)
    parts = [f"day={NULL_KEY if day == NULL_DAY else day_label(day)}"]
    if region_deg is not None:
        row, colm = divmod(tile, 1000)
        region = "none" if row == 999 else region_label(row - 500, colm - 500, region_deg)
        parts.append(f"region={region}")
    if buckets is not None:
        parts.append(f"bucket={bucket}")
    return "/".join(parts)


def path_bucket(path: Path, root: Path) -> int | None:
    """The ``bucket=`` level of a file of the dataset at ``root``, None without one.

    Examples
    --------
    >>> path_bucket(Path("/d/day=2024-01-01/bucket=12/part-0-0.parquet"), Path("/d"))
    12
    """
    for part in path.relative_to(root).parts[:-1]:
        if part.startswith("bucket=") and part[7:].isdigit():
            return int(part[7:])
    return None


def write_layout_file(
    root: str | Path,
    rows: int,
    files: int,
    columns: Iterable[str],
    region_deg: int | None,
    buckets: int | None = None,
) -> Path:
    """Write ``_overflight_dataset.json`` describing the dataset in ``root``."""
    path = Path(root) / LAYOUT_FILE
    info: dict[str, Any] = {
        "layout": LAYOUT,
        "version": 1,
        "region_deg": region_deg,
        "rows": rows,
        "files": files,
        "columns": [c for c in columns if c != GEOMETRY],
    }
    if buckets is not None:
        info["buckets"] = buckets
        info["bucket_of"] = "crc32(icao24) mod buckets"
    path.write_text(json.dumps(info, indent=2) + "\n")
    return path
