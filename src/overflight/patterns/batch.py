"""Many resampled flights concatenated, so detectors run once over all of them.

A :class:`Batch` holds every flight's :class:`~overflight.patterns.turns.Resampled`
arrays end to end, with segment numbers made unique across flights.  Window and
run primitives never cross a segment, so they never cross a flight either, and
each detector becomes a handful of whole-array numpy operations plus a Python
loop over its few candidate runs.

Every array is computed with the same floating-point operations, in the same
order, as :func:`overflight.patterns.turns.resample` and the per-flight
detectors, so results are bit-for-bit those of one flight at a time.  The
per-flight walks (grid and interpolation, running heading, medians, local
offsets) are compiled loops: :mod:`overflight.patterns.resample_jit` and
:mod:`overflight.patterns.batch_jit`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from overflight.patterns.batch_jit import (
    degrees_and_wraps,
    flight_medians,
    local_xy,
    window_rates,
    wrap180_array,
)
from overflight.patterns.fixes import Fixes
from overflight.patterns.motion import motion
from overflight.patterns.resample_jit import resample_fixes
from overflight.patterns.turns import FloatArray, IntArray, Resampled


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
        speed, course, heading = motion(lat, lon, seg, offsets, flight, step_s, min_speed_kt)
    lat0, lon0 = flight_medians(lat, offsets), flight_medians(lon, offsets)
    coslat = np.asarray(np.cos(np.radians(lat0)), dtype=np.float64)
    x, y = local_xy(lat, lon, offsets, lat0, lon0, coslat)
    r = Resampled(t, lat, lon, alt, seg, speed, course, heading, step_s, float("nan"))
    return Batch(r, offsets, flight, cadence, lat0, lon0, x, y, first[seg], last[seg], seg_in)


def from_resampled(flights: list[Resampled], step_s: float | None = None) -> Batch:
    """Concatenate resampled flights (all with the same ``step_s``)."""
    n = len(flights)
    cols = list(zip(*flights, strict=True)) if n else [()] * len(Resampled._fields)
    sizes = np.fromiter(map(len, cols[0]), dtype=np.int64, count=n)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    steps = set(map(float, cols[8]))
    if len(steps) > 1:
        raise ValueError(f"flights resampled with different steps: {sorted(steps)}")
    step = step_s if step_s is not None else (steps.pop() if steps else 10.0)

    def cat(i: int) -> FloatArray:
        return np.concatenate(cols[i], dtype=np.float64) if n else np.empty(0)

    seg = np.concatenate(cols[4]) if n else np.empty(0, np.int64)
    return _finish(
        cat(0),
        cat(1),
        cat(2),
        cat(3),
        seg.astype(np.int64),
        offsets,
        np.array(cols[9], dtype=np.float64),
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


def _degrees_unwrapped(fx: Fixes, kept: IntArray) -> FloatArray:
    """Longitudes in degrees as ``turns.resample`` interpolates them:
    ``degrees(unwrap(radians(lon)))`` for flights that cross the antimeridian,
    ``degrees(radians(lon))`` for the rest."""
    out, wrapped = degrees_and_wraps(fx.longitude, fx.start, kept)
    for f in wrapped.tolist():
        lo, hi = int(fx.start[kept[f]]), int(fx.start[kept[f] + 1])
        out[lo:hi] = np.degrees(np.unwrap(np.radians(fx.longitude[lo:hi])))
    return out


def resample_batch(
    fx: Fixes, step_s: float = 10.0, max_gap_s: float = 200.0, min_speed_kt: float = 25.0
) -> tuple[list[int], Batch]:
    """Resample every flight of ``fx`` with at least three fixes.

    Returns the indices (into ``fx.flight_id``) of the flights kept and their
    batch; flight k of the batch is bit-for-bit
    ``turns.resample(...)`` of fixes flight ``kept[k]``.
    """
    start = fx.start
    kept = np.flatnonzero(np.diff(start) >= 3).astype(np.int64)
    lon = _degrees_unwrapped(fx, kept)
    grid, seg, offsets, cadence = resample_fixes(
        fx.t_s, fx.latitude, lon, fx.altitude, start, kept, float(max_gap_s), float(step_s)
    )
    glon = wrap180_array(grid[2])
    return kept.tolist(), _finish(
        grid[0],
        grid[1],
        glon,
        grid[3],
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
    return window_rates(r.heading_deg, kf, b.flight, b.seg_start, b.seg_stop, float(r.step_s))


def short_window_s(b: Batch) -> FloatArray:
    """Per flight window of the short turn rate: ``max(30, 2 * cadence)``."""
    return np.asarray(np.fmax(30.0, 2.0 * b.cadence_s), dtype=np.float64)
