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
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from overflight.geodesy import NM_M, bearing_deg, haversine_m

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


def _shares(group: IntArray, n: int, values: FloatArray, bins: tuple[float, ...]) -> FloatArray:
    """Share of each group's finite values in each bin (0 where it has none)."""
    ok = np.isfinite(values)
    nb = len(bins) - 1
    b = np.clip(np.digitize(values[ok], bins) - 1, 0, nb - 1)
    counts = np.bincount(group[ok] * nb + b, minlength=n * nb).reshape(n, nb)
    total = counts.sum(axis=1)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts / total, 0.0)


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
    order = np.argsort(np.array(names, dtype=object), kind="stable") if names else np.empty(0, int)
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    codes = np.where(raw >= 0, rank[np.maximum(raw, 0)] if len(names) else -1, -1)
    return codes.astype(np.int64), [names[i] for i in order]


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


def _get(points: pa.Table | pd.DataFrame, name: str) -> pa.ChunkedArray | pd.Series | None:
    if isinstance(points, pa.Table):
        return points.column(name) if name in points.column_names else None
    return points[name] if name in points.columns else None


def fix_histograms(
    points: pa.Table | pd.DataFrame, flight_ids: Collection[str] | None = None
) -> pd.DataFrame:
    """Steer, speed and altitude shares, duration and box area, per flight_id.

    Parameters
    ----------
    points
        The points table (flight_id, timestamp, latitude, longitude; uses
        groundspeed, track, altitude, valid and onground when present).
    flight_ids
        Only these flights (all when None).

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
    fid = _get(points, "flight_id")
    if fid is None or n == 0:
        return pd.DataFrame(columns=list(FIX_FEATURES), dtype=float)
    code, names = _codes(fid)
    lat, lon = _numeric(_get(points, "latitude"), n), _numeric(_get(points, "longitude"), n)
    keep = ~np.isnan(lat) & ~np.isnan(lon) & (code >= 0)
    keep &= _flag(_get(points, "valid"), n, True)
    keep &= ~_flag(_get(points, "onground"), n, False)
    if flight_ids is not None:
        only = {str(f) for f in flight_ids}
        wanted = np.array([nm in only for nm in names] + [False])
        keep &= wanted[np.where(code >= 0, code, len(names))]
    rows = np.flatnonzero(keep)
    stamps = _stamps(_get(points, "timestamp"), rows)
    t_all = _seconds(stamps)
    tick = stamps.dt.tz_localize(None).to_numpy().view(np.int64)  # in the column's own unit
    tick = np.where(stamps.isna().to_numpy(), np.iinfo(np.int64).max, tick)  # NaT last
    key = code[rows]
    dk, dtick = np.diff(key), np.diff(tick)
    unsorted = bool(((dk < 0) | ((dk == 0) & (dtick < 0))).any())
    order = np.lexsort((tick, key)) if unsorted else np.arange(rows.size)
    rows, key, t = rows[order], key[order], t_all[order]
    if rows.size == 0:
        return pd.DataFrame(columns=list(FIX_FEATURES), dtype=float)
    lat, lon = lat[rows], lon[rows]
    same = np.r_[False, key[1:] == key[:-1]]
    dt = np.r_[np.nan, np.diff(t)]
    # course and speed from positions, only where the feed gave none
    gs = _numeric(_get(points, "groundspeed"), n)[rows]
    trk = _numeric(_get(points, "track"), n)[rows]
    need = np.flatnonzero(~np.isfinite(trk) & same)  # elsewhere NaN or unused
    trk[~np.isfinite(trk)] = np.nan
    trk[need] = bearing_deg(lat[need - 1], lon[need - 1], lat[need], lon[need])
    with np.errstate(invalid="ignore"):
        need = np.flatnonzero(~np.isfinite(gs) & same & (dt > 0))
    gs[~np.isfinite(gs)] = np.nan
    dist = haversine_m(lat[need - 1], lon[need - 1], lat[need], lon[need])
    gs[need] = dist / NM_M / dt[need] * 3600.0
    steer = np.r_[np.nan, (trk[1:] - trk[:-1] + 180.0) % 360.0 - 180.0]
    steer[~same] = np.nan
    # the flights present, numbered in order
    new = ~same
    first = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    present = key[first]
    g = present.size
    alt = _numeric(_get(points, "altitude"), n)[rows]
    parts = [
        _shares(group, g, steer, STEER_BINS),
        _shares(group, g, gs, SPEED_BINS),
        _shares(group, g, alt, ALT_BINS),
    ]
    t_ok = ~np.isnan(t)
    with np.errstate(invalid="ignore"):
        t_hi = np.fmax.reduceat(np.where(t_ok, t, -np.inf), first)
        t_lo = np.fmin.reduceat(np.where(t_ok, t, np.inf), first)
    has_t = np.bincount(group[t_ok], minlength=g) > 0
    duration = np.where(has_t, (t_hi - t_lo) / 3600.0, 0.0)
    lat_span = np.maximum.reduceat(lat, first) - np.minimum.reduceat(lat, first)
    lon_span = np.maximum.reduceat(lon, first) - np.minimum.reduceat(lon, first)
    area = lat_span * lon_span
    mat = np.column_stack([*parts, duration, area])
    mat[np.isnan(mat)] = 0.0
    index = pd.Index([names[i] for i in present])
    return pd.DataFrame(mat, index=index, columns=list(FIX_FEATURES))
