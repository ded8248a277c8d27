"""Turn primitives shared by the pattern detectors.

Every detector works on the same view of a flight: positions resampled on a
regular time grid, the ground course between consecutive grid points, and that
course *unwrapped* into a cumulative heading (a full left orbit adds -360°).
This is the idea behind traffic's glider-thermal detector (unwrap the track,
take differences, aggregate over a window, query), rewritten for sparse and
irregular feeds:

* the course is computed from positions, never from the reported ``track``:
  with one fix a minute (the BuzzFeed ADS-B Exchange extracts) a helicopter in
  a rate-one turn changes heading by 180° between fixes, so the reported track
  cannot be unwrapped, while the chord between fixes still can;
* the grid never bridges a gap longer than ``max_gap_s``: each side of a gap is
  a separate *segment* and no turn is counted across it;
* below ``min_speed_kt`` the course is noise (a hovering helicopter, a taxiing
  aircraft) and contributes no turn.

Ground course still turns through 360° per orbit in a steady wind (the ground
track of a circle flown in wind is a trochoid that never reverses as long as
the airspeed exceeds the wind speed), so turn counts hold under drift.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from overflight.geodesy import NM_M, bearing_deg, haversine_m

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Nautical miles per degree of latitude on the sphere used by geodesy.
NM_PER_DEG = 60.0405


class Resampled(NamedTuple):
    """One flight on a regular time grid (all arrays the same length)."""

    t_s: FloatArray
    """Seconds since the Unix epoch."""
    latitude: FloatArray
    longitude: FloatArray
    altitude: FloatArray
    """ft, NaN where the flight reported none."""
    seg: IntArray
    """Segment number: consecutive grid points with the same value are joined."""
    speed_kt: FloatArray
    """Ground speed from positions, kt."""
    course_deg: FloatArray
    """Ground course from positions, degrees in [0, 360)."""
    heading_deg: FloatArray
    """Cumulative unwrapped course, degrees; differences give signed turns."""
    step_s: float
    cadence_s: float
    """Median interval between the original fixes, s."""


def points_frame(points: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """Usable rows of a points table as a sorted frame with ``t_s`` seconds.

    Keeps rows that are valid (when a ``valid`` column exists), airborne (when
    ``onground`` exists) and have a flight id, a time and a position on the
    globe; infinite altitudes become NaN.

    Examples
    --------
    >>> df = pd.DataFrame({"flight_id": ["a", "a"], "icao24": ["x", "x"],
    ...     "timestamp": pd.to_datetime([10, 0], unit="s", utc=True),
    ...     "latitude": [0.0, 0.0], "longitude": [0.1, 0.0]})
    >>> points_frame(df)["t_s"].tolist()
    [0.0, 10.0]
    """
    df = points.to_pandas() if isinstance(points, pa.Table) else points
    keep = df["flight_id"].notna() & df["latitude"].notna() & df["longitude"].notna()
    keep &= df["timestamp"].notna()
    lat = pd.to_numeric(df["latitude"], errors="coerce")
    lon = pd.to_numeric(df["longitude"], errors="coerce")
    keep &= lat.between(-90.0, 90.0) & lon.between(-180.0, 180.0)
    if "valid" in df.columns:
        keep &= df["valid"].fillna(False).astype(bool)
    if "onground" in df.columns:
        keep &= ~df["onground"].fillna(False).astype(bool)
    cols = ["flight_id", "icao24", "timestamp", "latitude", "longitude"]
    out = df.loc[keep, cols].copy()
    alt = pd.to_numeric(df["altitude"], errors="coerce") if "altitude" in df.columns else None
    out["altitude"] = np.nan if alt is None else alt[keep].where(np.isfinite(alt[keep]))
    ts = pd.to_datetime(out["timestamp"], utc=True)
    out["t_s"] = (ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(np.float64)
    out["flight_id"] = out["flight_id"].astype(str)
    out = out.sort_values(["flight_id", "t_s"], kind="stable")
    out = out.drop_duplicates(["flight_id", "t_s"], keep="first")
    return out.reset_index(drop=True)


def flight_slices(flight_id: npt.ArrayLike) -> list[tuple[int, int]]:
    """``(start, stop)`` index pairs of each run of equal ids in a sorted array.

    Examples
    --------
    >>> flight_slices(np.array(["a", "a", "b"]))
    [(0, 2), (2, 3)]
    """
    ids = np.asarray(flight_id)
    if ids.size == 0:
        return []
    cut = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    starts = np.concatenate([[0], cut])
    stops = np.concatenate([cut, [ids.size]])
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def wrap180(deg: Any) -> Any:
    """Angle wrapped to [-180, 180).

    Examples
    --------
    >>> float(wrap180(350.0)), float(wrap180(-190.0))
    (-10.0, 170.0)
    """
    return (np.asarray(deg) + 180.0) % 360.0 - 180.0


def local_xy_nm(lat: Any, lon: Any, lat0: float, lon0: float) -> tuple[FloatArray, FloatArray]:
    """East/north offsets in NM from (lat0, lon0), equirectangular.

    Good to well under 1 % within 50 NM, which is all pattern geometry needs.

    Examples
    --------
    >>> x, y = local_xy_nm(np.array([1.0]), np.array([0.0]), 0.0, 0.0)
    >>> round(float(y[0]), 1), round(float(x[0]), 1)
    (60.0, 0.0)
    """
    dlon = wrap180(np.asarray(lon, dtype=np.float64) - lon0)
    x = dlon * NM_PER_DEG * np.cos(np.radians(lat0))
    y = (np.asarray(lat, dtype=np.float64) - lat0) * NM_PER_DEG
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _grid(t: FloatArray, step_s: float, max_gap_s: float) -> tuple[FloatArray, IntArray]:
    """Regular grid times and their segment numbers, never crossing a gap."""
    brk = np.flatnonzero(np.diff(t) > max_gap_s) + 1
    starts = np.concatenate([[0], brk])
    stops = np.concatenate([brk, [t.size]]) - 1
    parts: list[FloatArray] = []
    segs: list[IntArray] = []
    for k, (a, b) in enumerate(zip(t[starts], t[stops], strict=True)):
        g = np.arange(a, b + 1e-9, step_s)
        parts.append(g)
        segs.append(np.full(g.size, k, dtype=np.int64))
    return np.concatenate(parts), np.concatenate(segs)


def resample(
    t_s: FloatArray,
    latitude: FloatArray,
    longitude: FloatArray,
    altitude: FloatArray | None = None,
    step_s: float = 10.0,
    max_gap_s: float = 200.0,
    min_speed_kt: float = 25.0,
) -> Resampled:
    """Resample one flight (sorted, unique times) on a regular grid.

    Parameters
    ----------
    t_s, latitude, longitude, altitude
        The fixes of one flight, sorted by time, seconds and degrees and ft.
    step_s
        Grid step.
    max_gap_s
        Longer gaps between fixes split the flight into segments.
    min_speed_kt
        Below this ground speed the course is not trusted and adds no turn.

    Examples
    --------
    >>> t = np.arange(0.0, 600.0, 60.0)
    >>> r = resample(t, np.zeros(10), np.linspace(0, 0.5, 10))
    >>> round(float(np.median(r.course_deg)))
    90
    """
    t = np.asarray(t_s, dtype=np.float64)
    lat = np.asarray(latitude, dtype=np.float64)
    lon = np.degrees(np.unwrap(np.radians(np.asarray(longitude, dtype=np.float64))))
    alt = np.full(t.size, np.nan) if altitude is None else np.asarray(altitude, np.float64)
    cadence = float(np.median(np.diff(t))) if t.size > 1 else step_s
    if t.size == 0:
        e = np.empty(0)
        return Resampled(e, e, e, e, np.empty(0, np.int64), e, e, e, step_s, cadence)
    grid, seg = _grid(t, step_s, max_gap_s)
    glat = np.interp(grid, t, lat)
    glon = (np.interp(grid, t, lon) + 180.0) % 360.0 - 180.0
    ok = np.isfinite(alt)
    galt = np.interp(grid, t[ok], alt[ok]) if ok.sum() >= 1 else np.full(grid.size, np.nan)
    same = np.zeros(grid.size, dtype=bool)
    same[:-1] = seg[1:] == seg[:-1]
    nxt = np.minimum(np.arange(grid.size) + 1, grid.size - 1)
    course = np.asarray(bearing_deg(glat, glon, glat[nxt], glon[nxt]), dtype=np.float64)
    dist = np.asarray(haversine_m(glat, glon, glat[nxt], glon[nxt]), dtype=np.float64)
    speed = dist / NM_M / step_s * 3600.0
    # last point of a segment: copy the previous course and speed
    last = np.flatnonzero(~same)
    prev = np.maximum(last - 1, 0)
    course[last] = course[prev]
    speed[last] = speed[prev]
    moving = speed >= min_speed_kt
    dturn = np.zeros(grid.size)
    dturn[1:] = wrap180(course[1:] - course[:-1])
    dturn[1:][seg[1:] != seg[:-1]] = 0.0
    dturn[1:][~(moving[1:] & moving[:-1])] = 0.0
    heading = np.cumsum(dturn)
    return Resampled(grid, glat, glon, galt, seg, speed, course, heading, step_s, cadence)


def windowed_rate(r: Resampled, window_s: float) -> FloatArray:
    """Signed turn rate, deg/s, centred over ``window_s`` within each segment.

    Examples
    --------
    >>> t = np.arange(0.0, 1200.0, 10.0)
    >>> ang = np.radians(t * 1.0)  # one degree per second, anticlockwise
    >>> r = resample(t, 0.05 * np.sin(ang), 0.05 * np.cos(ang))
    >>> round(float(np.median(windowed_rate(r, 60.0))), 2)
    -1.0
    """
    n = r.t_s.size
    if n == 0:
        return np.empty(0)
    k = max(1, round(window_s / r.step_s / 2))
    idx = np.arange(n)
    # first and last index of each point's segment
    seg_start = np.searchsorted(r.seg, r.seg, side="left")
    seg_stop = np.searchsorted(r.seg, r.seg, side="right") - 1
    lo = np.maximum(idx - k, seg_start)
    hi = np.minimum(idx + k, seg_stop)
    span = (hi - lo) * r.step_s
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (r.heading_deg[hi] - r.heading_deg[lo]) / span
    return np.where(span > 0, rate, 0.0)


def runs(mask: BoolArray, seg: IntArray | None = None) -> tuple[IntArray, IntArray]:
    """Start and stop (exclusive) indices of runs of True, split at segments.

    Examples
    --------
    >>> runs(np.array([True, True, False, True]))
    (array([0, 3]), array([2, 4]))
    """
    m = np.asarray(mask, dtype=bool)
    if m.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    edge = np.zeros(m.size + 1, dtype=bool)
    edge[1:-1] = m[1:] != m[:-1]
    if seg is not None:
        edge[1:-1] |= np.asarray(seg)[1:] != np.asarray(seg)[:-1]
    edge[0] = edge[-1] = True
    b = np.flatnonzero(edge)
    starts, stops = b[:-1], b[1:]
    keep = m[starts]
    return starts[keep].astype(np.int64), stops[keep].astype(np.int64)


def merge_runs(
    starts: IntArray, stops: IntArray, seg: IntArray, max_gap: int
) -> tuple[IntArray, IntArray]:
    """Join runs in the same segment separated by at most ``max_gap`` points.

    Examples
    --------
    >>> merge_runs(np.array([0, 5]), np.array([3, 8]), np.zeros(8, np.int64), 2)
    (array([0]), array([8]))
    """
    if starts.size <= 1:
        return starts, stops
    join = (starts[1:] - stops[:-1] <= max_gap) & (seg[starts[1:]] == seg[stops[:-1] - 1])
    first = np.concatenate([[True], ~join])
    last = np.concatenate([~join, [True]])
    return starts[first], stops[last]
