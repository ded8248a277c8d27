"""Usable fixes of a points table as sorted arrays, one run per flight.

:func:`fixes` keeps exactly the rows :func:`overflight.patterns.turns.points_frame`
keeps, in the same order, but reads Arrow columns directly instead of going
through a pandas frame (several times faster on a million points).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from overflight.patterns.turns import FloatArray, IntArray, flight_slices, points_frame


class Fixes(NamedTuple):
    """Usable fixes sorted by flight then time; flight f is ``start[f]:start[f+1]``."""

    flight_id: list[str]
    icao24: list[str]
    start: IntArray
    t_s: FloatArray
    latitude: FloatArray
    longitude: FloatArray
    altitude: FloatArray


def _fixes_slow(points: pa.Table | pd.DataFrame) -> Fixes:
    df = points_frame(points)
    fid = df["flight_id"].to_numpy()
    ic = df["icao24"].astype(str).to_numpy()
    sl = flight_slices(fid)
    start = np.array([a for a, _ in sl] + [len(df)], dtype=np.int64)
    return Fixes(
        [str(fid[a]) for a, _ in sl],
        [str(ic[a]) for a, _ in sl],
        start,
        df["t_s"].to_numpy(np.float64),
        df["latitude"].to_numpy(np.float64),
        df["longitude"].to_numpy(np.float64),
        pd.to_numeric(df["altitude"], errors="coerce").to_numpy(np.float64),
    )


def _stringy(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _column(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


def usable_fixes(points: pa.Table | pd.DataFrame) -> Fixes:
    """The rows :func:`overflight.patterns.turns.points_frame` keeps, as arrays.

    Arrow tables with the canonical column types take a fast path with the
    same result; anything else goes through ``points_frame``.
    """
    if not isinstance(points, pa.Table):
        return _fixes_slow(points)
    sch = points.schema
    ts_type = sch.field("timestamp").type if "timestamp" in sch.names else None
    fast = (
        ts_type is not None
        and pa.types.is_timestamp(ts_type)
        and ts_type.unit == "ns"
        and _stringy(sch.field("flight_id").type)
        and all(pa.types.is_floating(sch.field(c).type) for c in ("latitude", "longitude"))
        and ("altitude" not in sch.names or pa.types.is_floating(sch.field("altitude").type))
        and all(
            pa.types.is_boolean(sch.field(c).type) for c in ("valid", "onground") if c in sch.names
        )
    )
    if not fast:
        return _fixes_slow(points)
    fid_col = _column(points, "flight_id")
    lat = _column(points, "latitude").to_numpy(zero_copy_only=False).astype(np.float64)
    lon = _column(points, "longitude").to_numpy(zero_copy_only=False).astype(np.float64)
    ts = _column(points, "timestamp")
    with np.errstate(invalid="ignore"):
        keep = (lat >= -90.0) & (lat <= 90.0) & (lon >= -180.0) & (lon <= 180.0)
    keep &= fid_col.is_valid().to_numpy(zero_copy_only=False)
    keep &= ts.is_valid().to_numpy(zero_copy_only=False)
    if "valid" in sch.names:
        keep &= pc.fill_null(_column(points, "valid"), False).to_numpy(zero_copy_only=False)
    if "onground" in sch.names:
        keep &= ~pc.fill_null(_column(points, "onground"), False).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(keep)
    ns = pc.fill_null(ts.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)[rows]
    t = pd.TimedeltaIndex(ns.view("m8[ns]")).total_seconds().to_numpy(np.float64)
    enc = fid_col.take(pa.array(rows)).dictionary_encode()
    names = np.array(enc.dictionary.to_pylist(), dtype=object)
    by_name = np.argsort(names, kind="stable")
    rank = np.empty(names.size, dtype=np.int64)
    rank[by_name] = np.arange(names.size)
    code = rank[enc.indices.to_numpy(zero_copy_only=False)]
    dc, dt = np.diff(code), np.diff(t)
    if not bool(np.all((dc > 0) | ((dc == 0) & (dt >= 0)))):
        order = np.lexsort((t, code))
        rows, code, t = rows[order], code[order], t[order]
    dup = np.zeros(rows.size, dtype=bool)
    dup[1:] = (code[1:] == code[:-1]) & (t[1:] == t[:-1])
    if dup.any():
        rows, code, t = rows[~dup], code[~dup], t[~dup]
    if "altitude" in sch.names:
        alt = pc.fill_null(_column(points, "altitude"), np.nan).to_numpy(zero_copy_only=False)
        alt = np.asarray(alt, dtype=np.float64)[rows]
        alt = np.where(np.isfinite(alt), alt, np.nan)
    else:
        alt = np.full(rows.size, np.nan)
    cut = np.flatnonzero(np.diff(code)) + 1
    start: IntArray = np.zeros(1, np.int64)
    if rows.size:
        start = np.concatenate([[0], cut, [rows.size]]).astype(np.int64)
    first = rows[start[:-1]]
    ic = _column(points, "icao24").take(pa.array(first)).to_pandas().astype(str).to_numpy()
    return Fixes(
        [str(names[by_name[c]]) for c in code[start[:-1]]],
        [str(v) for v in ic],
        start,
        t,
        lat[rows],
        lon[rows],
        alt,
    )
