"""Histograms over a flight's raw fixes, in the manner of BuzzFeed News (2017).

BuzzFeed's spy-plane finder described each aircraft by the share of its
transponder detections in bins of *steer* (the change of track between
consecutive detections), speed and altitude, plus flight duration and the
area of its bounding box.  These features are computed the same way here, per
flight, from the raw fixes of the points table (valid and airborne only).
Track and ground speed come from positions where the feed gives none: the
BuzzFeed RNC extract carries no ground speed at all, and an empty speed
histogram would otherwise become a fingerprint of that one source.

The mission model uses them next to the resampled features of
:mod:`overflight.classify.features`; ``bench/missions.py`` uses them alone as
its baseline.

The walk over the fixes is compiled (:mod:`overflight.classify.fixes_jit`)
and reads an Arrow table's columns in place through the kept row numbers;
the values are those of the numpy definitions, bit for bit (the tests
compare them with pandas ``crosstab`` and ``groupby``).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from overflight.classify.fixes_jit import (
    bin_counts,
    kept_rows,
    missing,
    seconds_at,
)
from overflight.geodesy import NM_M, bearing_deg, haversine_m
from overflight.identify.flightcodes import flight_codes
from overflight.jit import rows_in_order, sorted_by_group

STEER_BINS = (-180.0, -25.0, -10.0, -4.0, -1.0, 1.0, 4.0, 10.0, 25.0, 180.01)
SPEED_BINS = (0.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 400.0, 500.0, 1e9)
ALT_BINS = (-1e9, 1000.0, 2500.0, 5000.0, 7500.0, 10000.0, 15000.0, 20000.0, 30000.0, 1e9)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FIX_FEATURES: tuple[str, ...] = (
    *(f"fix_steer_{i}" for i in range(len(STEER_BINS) - 1)),
    *(f"fix_speed_{i}" for i in range(len(SPEED_BINS) - 1)),
    *(f"fix_alt_{i}" for i in range(len(ALT_BINS) - 1)),
    "fix_duration_h",
    "fix_bbox_area_deg2",
)


def _numeric(col: pa.ChunkedArray | pd.Series | None, n: int) -> FloatArray:
    """A column as float64, NaN where missing or not a number."""
    if col is None:
        return np.full(n, np.nan)
    if isinstance(col, pa.ChunkedArray):
        if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
            return np.asarray(col.to_numpy(), dtype=np.float64)
        col = col.to_pandas()
    return np.asarray(pd.to_numeric(col, errors="coerce"), dtype=np.float64)


def _flag(col: pa.ChunkedArray | pd.Series | None, n: int, default: bool) -> BoolArray:
    """A boolean column with nulls as False (``default`` when the column is absent)."""
    if col is None:
        return np.full(n, default)
    if isinstance(col, pa.ChunkedArray):
        if pa.types.is_boolean(col.type):
            return np.asarray(pc.fill_null(col, False).to_numpy(), dtype=bool)
        col = col.to_pandas()
    return np.asarray(col.fillna(False).astype(bool), dtype=bool)


def _codes(col: pa.ChunkedArray | pd.Series) -> tuple[IntArray, list[str]]:
    """Flight ids as codes into their sorted distinct values (-1 where null)."""
    if isinstance(col, pa.ChunkedArray):
        arr = col.combine_chunks()
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = pc.cast(arr, pa.string())
        enc = pc.dictionary_encode(arr)
        names = enc.dictionary.to_pylist()
        raw = enc.indices.fill_null(-1).to_numpy().astype(np.int64)
    else:
        ok = col.notna().to_numpy()
        raw = np.full(len(col), -1, dtype=np.int64)
        uniq = pd.unique(col[ok].astype(str))
        names = [str(v) for v in uniq]
        raw[ok] = pd.Index(names).get_indexer(col[ok].astype(str))
    return _ranked(raw, names)


def _ranked(raw: IntArray, names: list[str]) -> tuple[IntArray, list[str]]:
    """Codes into ``names`` renumbered in the sorted order of the names."""
    order = np.argsort(np.array(names, dtype=object), kind="stable") if names else np.empty(0, int)
    if np.array_equal(order, np.arange(len(names))):
        return np.asarray(raw, dtype=np.int64), list(names)  # already sorted (a grouped table)
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    codes = np.where(raw >= 0, rank[np.maximum(raw, 0)] if len(names) else -1, -1)
    return codes.astype(np.int64), [names[i] for i in order]


def flight_numbers(points: pa.Table | pd.DataFrame) -> tuple[IntArray, list[str]]:
    """The ``flight_id`` of every row as a number into the sorted distinct ids
    (-1 where null), and those ids.

    A string column of an Arrow table is numbered from its runs of equal ids
    when it is grouped by flight (:func:`overflight.identify.flightcodes.flight_codes`).

    Examples
    --------
    >>> code, names = flight_numbers(pa.table({"flight_id": ["b", "b", None, "a"]}))
    >>> code.tolist(), names
    ([1, 1, -1, 0], ['a', 'b'])
    """
    col = _get(points, "flight_id")
    if col is None:
        raise KeyError("flight_id")
    if isinstance(points, pa.Table) and pa.types.is_string(col.type):
        fc = flight_codes(points)
        return _ranked(fc.code, fc.names.to_pylist())
    return _codes(col)


def _stamps(col: pa.ChunkedArray | pd.Series | None, rows: IntArray) -> pd.Series:
    """The timestamps of ``rows`` as a UTC datetime series."""
    if col is None:
        return pd.Series(pd.NaT, index=range(rows.size), dtype="datetime64[ns, UTC]")
    if isinstance(col, pa.ChunkedArray):
        part = col.take(pa.array(rows, pa.int64())).to_pandas()
    else:
        part = col.iloc[rows].reset_index(drop=True)
    return pd.Series(pd.to_datetime(part, utc=True))


def _seconds(stamps: pd.Series) -> FloatArray:
    """Seconds since the epoch, computed as the rest of the package does."""
    t = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return np.asarray(t, dtype=np.float64)


def _times(col: pa.ChunkedArray | pd.Series | None, rows: IntArray) -> tuple[FloatArray, IntArray]:
    """Seconds since the epoch of ``rows`` and their ticks (NaT as the largest)."""
    stamps = _stamps(col, rows)
    tick = stamps.dt.tz_localize(None).to_numpy().view(np.int64)  # in the column's own unit
    tick = np.where(stamps.isna().to_numpy(), np.iinfo(np.int64).max, tick)  # NaT last
    return _seconds(stamps), tick


def _nanoseconds(col: pa.ChunkedArray | pd.Series | None) -> IntArray | None:
    """A nanosecond Arrow timestamp column without nulls as int64 (no copy), else None."""
    if not isinstance(col, pa.ChunkedArray) or col.null_count:
        return None
    if not pa.types.is_timestamp(col.type) or col.type.unit != "ns":
        return None
    return np.asarray(col.cast(pa.int64()).to_numpy(), dtype=np.int64)


def _ordered(
    points: pa.Table | pd.DataFrame, code: IntArray, rows: IntArray
) -> tuple[IntArray, FloatArray]:
    """``rows`` sorted by flight and time (a stable sort, only when they are not
    already) and their times in seconds since the epoch.

    Nanosecond Arrow timestamps are converted by pandas' own formula in one
    compiled pass (:func:`overflight.classify.fixes_jit.seconds_at`).
    """
    col = _get(points, "timestamp")
    ns = _nanoseconds(col)
    if ns is not None:
        if not rows_in_order(code, ns, rows):
            rows = rows[np.lexsort((ns[rows], code[rows]))]
        return rows, seconds_at(ns, rows)
    t, tick = _times(col, rows)
    key = code[rows]
    if not sorted_by_group(key, tick):
        order = np.lexsort((tick, key))
        rows, t = rows[order], t[order]
    return rows, t


def _column(
    points: pa.Table | pd.DataFrame, name: str, n: int
) -> tuple[FloatArray, npt.NDArray[np.uint8], int]:
    """A float column as values, validity bitmap and bit offset (:func:`fixes_jit.valid`).

    A one-chunk Arrow float64 column with nulls is read from its buffers
    without a copy; anything else as float64 with NaN where missing (bitmap empty).
    """
    col = _get(points, name)
    if isinstance(col, pa.ChunkedArray) and col.num_chunks == 1 and col.null_count:
        arr = col.chunk(0)
        bits, data = arr.buffers()[:2]
        if pa.types.is_float64(arr.type) and bits is not None and data is not None:
            values = np.frombuffer(data, dtype=np.float64)[arr.offset : arr.offset + len(arr)]
            return values, np.frombuffer(bits, dtype=np.uint8), arr.offset
    return _numeric(col, n), np.zeros(0, dtype=np.uint8), 0


def _get(points: pa.Table | pd.DataFrame, name: str) -> pa.ChunkedArray | pd.Series | None:
    if isinstance(points, pa.Table):
        return points.column(name) if name in points.column_names else None
    return points[name] if name in points.columns else None


def fix_histograms(
    points: pa.Table | pd.DataFrame,
    flight_ids: Collection[str] | None = None,
    codes: tuple[IntArray, list[str]] | None = None,
) -> pd.DataFrame:
    """Steer, speed and altitude shares, duration and box area, per flight_id.

    Parameters
    ----------
    points
        The points table (flight_id, timestamp, latitude, longitude; uses
        groundspeed, track, altitude, valid and onground when present).
    flight_ids
        Only these flights (all when None).
    codes
        :func:`flight_numbers` of ``points`` when the caller has it already.

    Returns
    -------
    pandas.DataFrame
        One row per flight with usable fixes, sorted by flight_id, columns
        :data:`FIX_FEATURES`.

    Examples
    --------
    >>> df = pd.DataFrame({"flight_id": "a", "timestamp":
    ...     pd.to_datetime([0, 60, 120], unit="s", utc=True),
    ...     "latitude": [0.0, 0.0, 0.0], "longitude": [0.0, 0.05, 0.1]})
    >>> f = fix_histograms(df)
    >>> float(f.loc["a", "fix_speed_3"]), float(f.loc["a", "fix_duration_h"])
    (1.0, 0.03333333333333333)
    """
    n = points.num_rows if isinstance(points, pa.Table) else len(points)
    if _get(points, "flight_id") is None or n == 0:
        return pd.DataFrame(columns=list(FIX_FEATURES), dtype=float)
    code, names = flight_numbers(points) if codes is None else codes
    lat, lon = _numeric(_get(points, "latitude"), n), _numeric(_get(points, "longitude"), n)
    if flight_ids is None:
        wanted = np.ones(len(names), dtype=bool)
    else:
        only = {str(f) for f in flight_ids}
        wanted = np.array([nm in only for nm in names], dtype=bool)
    valid = _flag(_get(points, "valid"), n, True)
    onground = _flag(_get(points, "onground"), n, False)
    rows = kept_rows(np.asarray(code, dtype=np.int64), lat, lon, valid, onground, wanted)
    rows, t = _ordered(points, code, rows)
    if rows.size == 0:
        return pd.DataFrame(columns=list(FIX_FEATURES), dtype=float)
    gs, trk, alt = (_column(points, c, n) for c in ("groundspeed", "track", "altitude"))
    # course and speed from positions, only where the feed gave none
    need_trk, need = missing(rows, code, *gs, *trk, t)
    r, p = rows[need_trk], rows[need_trk - 1]
    trk_fill = bearing_deg(lat[p], lon[p], lat[r], lon[r])
    r, p = rows[need], rows[need - 1]
    gs_fill = haversine_m(lat[p], lon[p], lat[r], lon[r]) / NM_M / (t[need] - t[need - 1]) * 3600.0
    bins = (np.array(STEER_BINS), np.array(SPEED_BINS), np.array(ALT_BINS))
    fills = (need_trk, trk_fill, need, gs_fill)
    first, counts, ext = bin_counts(rows, code, lat, lon, *gs, *trk, *alt, t, fills, bins)
    parts = []
    for a, b in itertools.pairwise(np.cumsum([0, *(e.size - 1 for e in bins)])):
        c = counts[:, a:b]
        total = c.sum(axis=1)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            parts.append(np.where(total > 0, c / total, 0.0))
    duration = np.where(ext[:, 2] > 0, (ext[:, 0] - ext[:, 1]) / 3600.0, 0.0)
    area = ext[:, 3] * ext[:, 4]
    mat = np.column_stack([*parts, duration, area])
    mat[np.isnan(mat)] = 0.0
    index = pd.Index([names[i] for i in code[rows[first]]])
    return pd.DataFrame(mat, index=index, columns=list(FIX_FEATURES))
