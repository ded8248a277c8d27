"""Many resampled flights concatenated, so detectors run once over all of them.

A :class:`Batch` holds every flight's :class:`~overflight.patterns.turns.Resampled`
arrays end to end, with segment numbers made unique across flights.  Window and
run primitives never cross a segment, so they never cross a flight either, and
each detector becomes a handful of whole-array numpy operations plus a Python
loop over its few candidate runs.

Every array is computed with the same floating-point operations, in the same
order, as :func:`overflight.patterns.turns.resample` and the per-flight
detectors, so results are bit-for-bit those of one flight at a time.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from overflight.geodesy import NM_M, bearing_deg, haversine_m
from overflight.patterns.fixes import Fixes
from overflight.patterns.turns import (
    NM_PER_DEG,
    FloatArray,
    IntArray,
    Resampled,
    wrap180,
)


class Batch(NamedTuple):
    """Flights end to end: ``r`` arrays are sliced by ``offsets``."""

    r: Resampled
    """Concatenated arrays; ``seg`` unique across flights; ``cadence_s`` unused."""
    offsets: IntArray
    """Flight f occupies ``offsets[f]:offsets[f + 1]``."""
    flight: IntArray
    """Flight index of each grid point."""
    cadence_s: FloatArray
    """Per flight."""
    lat0: FloatArray
    """Per flight median latitude (the origin of ``x``/``y``)."""
    lon0: FloatArray
    x: FloatArray
    """East offset from the flight's origin, NM."""
    y: FloatArray
    seg_start: IntArray
    """First index of each point's segment."""
    seg_stop: IntArray
    """Last index of each point's segment."""
    seg_local: IntArray
    """Segment numbers as each flight's own ``Resampled.seg`` has them."""


def median(v: FloatArray) -> float:
    """``float(np.median(v))`` of a 1-D float array, bit for bit, with less overhead.

    Examples
    --------
    >>> median(np.array([3.0, 1.0, 2.0, 10.0]))
    2.5
    """
    if v.size == 0 or bool(np.isnan(v).any()):
        return float(np.median(v))
    return _median(v)


def _median(v: FloatArray) -> float:
    """``np.median`` of a non-empty 1-D float array without NaN."""
    h = v.size // 2
    if v.size % 2:
        return float(np.partition(v, h)[h])
    p = np.partition(v, [h - 1, h])
    return float((p[h - 1] + p[h]) / 2.0)


def _medians(v: FloatArray, offsets: IntArray) -> FloatArray:
    out = np.full(offsets.size - 1, np.nan)
    exact = bool(np.isnan(v).any())
    for f in range(out.size):
        a, b = int(offsets[f]), int(offsets[f + 1])
        if b > a:
            out[f] = float(np.median(v[a:b])) if exact else _median(v[a:b])
    return out


def _finish(
    t: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    alt: FloatArray,
    seg_in: IntArray,
    offsets: IntArray,
    cadence: FloatArray,
    step_s: float,
    speed: FloatArray | None = None,
    course: FloatArray | None = None,
    heading: FloatArray | None = None,
    min_speed_kt: float = 25.0,
) -> Batch:
    """Build a batch; derive speed, course and heading when not given."""
    n = t.size
    flight = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
    # global segment ids: a new one wherever the flight or the segment changes
    new = np.ones(n, dtype=bool)
    new[1:] = (seg_in[1:] != seg_in[:-1]) | (flight[1:] != flight[:-1])
    seg = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    last = np.append(first[1:], n) - 1
    if speed is None or course is None or heading is None:
        speed, course, heading = _motion(lat, lon, seg, offsets, flight, step_s, min_speed_kt)
    lat0, lon0 = _medians(lat, offsets), _medians(lon, offsets)
    coslat = np.cos(np.radians(lat0))
    x = wrap180(lon - lon0[flight]) * NM_PER_DEG * coslat[flight]
    y = (lat - lat0[flight]) * NM_PER_DEG
    r = Resampled(t, lat, lon, alt, seg, speed, course, heading, step_s, float("nan"))
    return Batch(
        r,
        offsets,
        flight,
        cadence,
        lat0,
        lon0,
        np.asarray(x, np.float64),
        np.asarray(y, np.float64),
        first[seg],
        last[seg],
        seg_in,
    )


def _motion(
    glat: FloatArray,
    glon: FloatArray,
    seg: IntArray,
    offsets: IntArray,
    flight: IntArray,
    step_s: float,
    min_speed_kt: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Speed, course and unwrapped heading exactly as ``turns.resample`` does."""
    n = glat.size
    if n == 0:
        e = np.empty(0)
        return e, e, e
    nxt = np.minimum(np.arange(n) + 1, n - 1)
    course = np.asarray(bearing_deg(glat, glon, glat[nxt], glon[nxt]), dtype=np.float64)
    dist = np.asarray(haversine_m(glat, glon, glat[nxt], glon[nxt]), dtype=np.float64)
    speed = dist / NM_M / step_s * 3600.0
    same = np.zeros(n, dtype=bool)
    same[:-1] = seg[1:] == seg[:-1]
    last = np.flatnonzero(~same)
    prev = np.maximum(last - 1, offsets[flight[last]])
    course[last] = course[prev]
    speed[last] = speed[prev]
    moving = speed >= min_speed_kt
    dturn = np.zeros(n)
    dturn[1:] = wrap180(course[1:] - course[:-1])
    dturn[1:][seg[1:] != seg[:-1]] = 0.0
    dturn[1:][~(moving[1:] & moving[:-1])] = 0.0
    heading = np.empty(n)
    for f in range(offsets.size - 1):
        a, b = int(offsets[f]), int(offsets[f + 1])
        if b > a:
            dturn[a] = 0.0
            np.cumsum(dturn[a:b], out=heading[a:b])
    return speed, course, heading


def from_resampled(flights: list[Resampled], step_s: float | None = None) -> Batch:
    """Concatenate resampled flights (all with the same ``step_s``)."""
    sizes = np.array([f.t_s.size for f in flights], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    steps = {float(f.step_s) for f in flights}
    if len(steps) > 1:
        raise ValueError(f"flights resampled with different steps: {sorted(steps)}")
    step = step_s if step_s is not None else (steps.pop() if steps else 10.0)

    def cat(i: int) -> FloatArray:
        parts = [np.asarray(f[i], dtype=np.float64) for f in flights]
        return np.concatenate(parts) if parts else np.empty(0)

    seg = np.concatenate([f.seg for f in flights]) if flights else np.empty(0, np.int64)
    return _finish(
        cat(0),
        cat(1),
        cat(2),
        cat(3),
        seg.astype(np.int64),
        offsets,
        np.array([f.cadence_s for f in flights], dtype=np.float64),
        step,
        speed=cat(5),
        course=cat(6),
        heading=cat(7),
    )


def to_resampled(b: Batch, f: int) -> Resampled:
    """Flight ``f`` of a batch as its own :class:`Resampled` (views, local segments)."""
    a, z = int(b.offsets[f]), int(b.offsets[f + 1])
    r = b.r
    seg = b.seg_local[a:z]
    return Resampled(
        r.t_s[a:z],
        r.latitude[a:z],
        r.longitude[a:z],
        r.altitude[a:z],
        seg,
        r.speed_kt[a:z],
        r.course_deg[a:z],
        r.heading_deg[a:z],
        r.step_s,
        float(b.cadence_s[f]),
    )


def resample_batch(
    fx: Fixes, step_s: float = 10.0, max_gap_s: float = 200.0, min_speed_kt: float = 25.0
) -> tuple[list[int], Batch]:
    """Resample every flight of ``fx`` with at least three fixes.

    Returns the indices (into ``fx.flight_id``) of the flights kept and their
    batch; flight k of the batch is bit-for-bit
    ``turns.resample(...)`` of fixes flight ``kept[k]``.
    """
    t, start = fx.t_s, fx.start
    kept = [f for f in range(start.size - 1) if start[f + 1] - start[f] >= 3]
    p = np.radians(fx.longitude)
    dd = np.abs(np.diff(p)) >= np.pi
    first = np.zeros(t.size, dtype=bool)
    first[start[:-1][start[:-1] < t.size]] = True
    gap = np.zeros(t.size, dtype=bool)
    gap[1:] = np.diff(t) > max_gap_s
    new_seg = first | gap
    seg_first = np.flatnonzero(new_seg)
    seg_last = np.concatenate([seg_first[1:], [t.size]]) - 1
    seg_of = np.cumsum(new_seg) - 1
    grids: list[FloatArray] = []
    gsegs: list[IntArray] = []
    lat_parts: list[FloatArray] = []
    lon_parts: list[FloatArray] = []
    alt_parts: list[FloatArray] = []
    sizes = np.zeros(len(kept), dtype=np.int64)
    cadence = np.zeros(len(kept))
    for i, f in enumerate(kept):
        a, b = int(start[f]), int(start[f + 1])
        tf = t[a:b]
        cadence[i] = _median(np.diff(tf))
        s0, s1 = int(seg_of[a]), int(seg_of[b - 1]) + 1
        parts = [np.arange(t[seg_first[s]], t[seg_last[s]] + 1e-9, step_s) for s in range(s0, s1)]
        grid = np.concatenate(parts)
        gsegs.append(np.repeat(np.arange(s1 - s0), [g.size for g in parts]))
        grids.append(grid)
        sizes[i] = grid.size
        lon_f = np.unwrap(p[a:b]) if dd[a : b - 1].any() else p[a:b]
        lat_parts.append(np.interp(grid, tf, fx.latitude[a:b]))
        lon_parts.append(np.interp(grid, tf, np.degrees(lon_f)))
        alt = fx.altitude[a:b]
        ok = np.isfinite(alt)
        if ok.all():
            alt_parts.append(np.interp(grid, tf, alt))
        elif ok.any():
            alt_parts.append(np.interp(grid, tf[ok], alt[ok]))
        else:
            alt_parts.append(np.full(grid.size, np.nan))
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def cat(parts: list[FloatArray]) -> FloatArray:
        return np.concatenate(parts) if parts else np.empty(0)

    seg = np.concatenate(gsegs).astype(np.int64) if gsegs else np.empty(0, np.int64)
    glon = (cat(lon_parts) + 180.0) % 360.0 - 180.0
    return kept, _finish(
        cat(grids),
        cat(lat_parts),
        glon,
        cat(alt_parts),
        seg,
        offsets,
        cadence,
        step_s,
        min_speed_kt=min_speed_kt,
    )


def windowed_rate_batch(b: Batch, window_s: FloatArray) -> FloatArray:
    """:func:`overflight.patterns.turns.windowed_rate` of every flight at once.

    ``window_s`` is per flight.
    """
    r = b.r
    n = r.t_s.size
    if n == 0:
        return np.empty(0)
    kf = np.maximum(1, np.round(window_s / r.step_s / 2)).astype(np.int64)
    k = kf[b.flight]
    idx = np.arange(n)
    lo = np.maximum(idx - k, b.seg_start)
    hi = np.minimum(idx + k, b.seg_stop)
    span = (hi - lo) * r.step_s
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (r.heading_deg[hi] - r.heading_deg[lo]) / span
    return np.asarray(np.where(span > 0, rate, 0.0), dtype=np.float64)


def short_window_s(b: Batch) -> FloatArray:
    """Per flight window of the short turn rate: ``max(30, 2 * cadence)``."""
    return np.asarray(np.fmax(30.0, 2.0 * b.cadence_s), dtype=np.float64)
