"""Usable fixes of a points table as sorted arrays, one run per flight.

:func:`fixes` keeps exactly the rows :func:`overflight.patterns.turns.points_frame`
keeps, in the same order, but reads Arrow columns directly instead of going
through a pandas frame (several times faster on a million points): flights
are numbered from the runs of equal ids when the table is grouped by flight
(:func:`overflight.identify.flightcodes.flight_codes`), and timestamps are
converted to seconds by a compiled loop with pandas' own formula.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from overflight.identify.flightcodes import flight_codes
from overflight.jit import sorted_by_group
from overflight.patterns.fixes_jit import (
    epoch_seconds,
    first_of_each,
    flight_times,
    take_positions,
    usable_rows,
)
from overflight.patterns.turns import (
    BoolArray,
    FloatArray,
    IntArray,
    flight_slices,
    points_frame,
)


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


def _floats(table: pa.Table, name: str) -> FloatArray:
    """A float column as numpy, nulls as NaN."""
    return np.asarray(table.column(name).to_numpy(), dtype=np.float64)


def _flag(table: pa.Table, name: str) -> BoolArray:
    """A boolean column as numpy, nulls as False."""
    col = pc.fill_null(table.column(name), False)
    return np.asarray(col.to_numpy(), dtype=bool)


def _fast_ok(sch: pa.Schema) -> bool:
    """Whether the columns have the canonical types the fast path reads."""
    ts_type = sch.field("timestamp").type if "timestamp" in sch.names else None
    return bool(
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


def _usable_rows(points: pa.Table, code: IntArray) -> tuple[IntArray, FloatArray, FloatArray]:
    """Rows points_frame keeps (any order), with latitude and longitude."""
    sch = points.schema
    lat, lon = _floats(points, "latitude"), _floats(points, "longitude")
    ok = np.asarray(points.column("timestamp").is_valid().to_numpy(), dtype=bool)
    if "valid" in sch.names:
        ok = ok & _flag(points, "valid")
    if "onground" in sch.names:
        ok = ok & ~_flag(points, "onground")
    return usable_rows(np.ascontiguousarray(code, np.int64), lat, lon, ok), lat, lon


def usable_fixes(points: pa.Table | pd.DataFrame) -> Fixes:
    """The rows :func:`overflight.patterns.turns.points_frame` keeps, as arrays.

    Arrow tables with the canonical column types take a fast path with the
    same result; anything else goes through ``points_frame``.
    """
    if not isinstance(points, pa.Table) or not _fast_ok(points.schema):
        return _fixes_slow(points)
    fc = flight_codes(points)
    rows, lat, lon = _usable_rows(points, fc.code)
    names = np.array(fc.names.to_pylist(), dtype=object)
    by_name = np.argsort(names, kind="stable")
    rank = np.empty(names.size, dtype=np.int64)
    rank[by_name] = np.arange(names.size)
    ns = points.column("timestamp").cast(pa.int64()).fill_null(0).to_numpy()
    code, ns = flight_times(rows, np.ascontiguousarray(fc.code, np.int64), rank, ns)
    t = epoch_seconds(ns)
    if not sorted_by_group(code, t):
        order = np.lexsort((t, code))
        rows, code, t = rows[order], code[order], t[order]
    keep, start = first_of_each(code, t)
    if keep.size < rows.size:
        rows, code, t = rows[keep], code[keep], t[keep]
    if "altitude" in points.schema.names:
        alt = _floats(points, "altitude")
    else:
        alt = np.full(points.num_rows, np.nan)
    lat, lon, alt = take_positions(rows, lat, lon, alt)
    first = rows[start[:-1]]
    ic = points.column("icao24").take(pa.array(first)).to_pandas().astype(str).to_numpy()
    return Fixes(
        [str(names[by_name[c]]) for c in code[start[:-1]]],
        [str(v) for v in ic],
        start,
        t,
        lat,
        lon,
        alt,
    )
