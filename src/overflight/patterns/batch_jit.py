"""Compiled per-flight loops over a batch of resampled flights.

A :class:`~overflight.patterns.batch.Batch` holds thousands of flights end to
end.  Three quantities restart at every flight and were a Python loop over
flights each: the running sum of turns (the unwrapped heading), the median
position (each flight's origin) and the offsets from it.  They are compiled
with :func:`overflight.jit.njit` here, with numpy's arithmetic: the running
sum adds in order as ``np.cumsum`` does, the median is the batch median
(NaN when the flight has a NaN), and the wrap to [-180, 180) is Python's
floating-point modulo, which numpy's ``%`` also implements (:func:`mod360`
skips the slow ``fmod`` where the result is known exactly).
"""

from __future__ import annotations

import numpy as np

from overflight.jit import njit
from overflight.patterns.reduce_jit import middle
from overflight.patterns.turns import NM_PER_DEG, FloatArray, IntArray


@njit
def mod360(v: float) -> float:
    """Python's (and numpy's) ``v % 360.0``; ``fmod`` only outside (-360, 360).

    Examples
    --------
    >>> mod360(-90.0), mod360(400.0), mod360(-0.0)
    (270.0, 40.0, 0.0)
    """
    if v > 0.0 and v < 360.0:
        return v
    if v < 0.0 and v > -360.0:
        return v + 360.0
    return v % 360.0


@njit
def wrap180(d: float) -> float:
    """``(d + 180.0) % 360.0 - 180.0`` as Python and numpy compute it (:func:`mod360`).

    Examples
    --------
    >>> xs = [-900.0, -540.0, -180.0, -1e-300, -0.0, 0.0, 1.5, 179.9, 180.0, 539.9, 1e9]
    >>> all(wrap180(x) == (x + 180.0) % 360.0 - 180.0 for x in xs)
    True
    """
    return mod360(d + 180.0) - 180.0


@njit
def wrap180_array(v: FloatArray) -> FloatArray:
    """``(v + 180.0) % 360.0 - 180.0`` elementwise."""
    out = np.empty(v.size)
    for i in range(v.size):
        out[i] = wrap180(v[i])
    return out


@njit
def mod360_array(v: FloatArray) -> FloatArray:
    """``v % 360.0`` elementwise."""
    out = np.empty(v.size)
    for i in range(v.size):
        out[i] = mod360(v[i])
    return out


@njit
def headings(
    course: FloatArray, speed: FloatArray, seg: IntArray, offsets: IntArray, min_speed_kt: float
) -> FloatArray:
    """Cumulative signed course change of every grid point, from 0 at each flight.

    A step adds nothing across a segment boundary or when either end is
    slower than ``min_speed_kt``.

    Examples
    --------
    >>> h = headings(np.array([350.0, 10.0, 20.0, 0.0]), np.full(4, 100.0),
    ...              np.array([0, 0, 0, 1]), np.array([0, 3, 4]), 25.0)
    >>> h.tolist()
    [0.0, 20.0, 30.0, 0.0]
    """
    out = np.empty(course.size)
    for f in range(offsets.size - 1):
        a, b = offsets[f], offsets[f + 1]
        if b <= a:
            continue
        h = 0.0
        out[a] = h
        for i in range(a + 1, b):
            if seg[i] == seg[i - 1] and speed[i] >= min_speed_kt and speed[i - 1] >= min_speed_kt:
                h = h + wrap180(course[i] - course[i - 1])
            else:
                h = h + 0.0
            out[i] = h
    return out


@njit
def flight_medians(v: FloatArray, offsets: IntArray) -> FloatArray:
    """:func:`~overflight.patterns.batch.median` of each flight's slice of ``v``
    (NaN when empty).

    Examples
    --------
    >>> flight_medians(np.array([1.0, 5.0, 2.0, 7.0, np.nan]), np.array([0, 3, 3, 5])).tolist()
    [2.0, nan, nan]
    """
    out = np.empty(offsets.size - 1)
    for f in range(offsets.size - 1):
        out[f] = middle(v[offsets[f] : offsets[f + 1]])
    return out


@njit
def local_xy(
    lat: FloatArray,
    lon: FloatArray,
    offsets: IntArray,
    lat0: FloatArray,
    lon0: FloatArray,
    coslat: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """East and north offsets (NM) of each point from its flight's origin.

    ``wrap180(lon - lon0) * NM_PER_DEG * coslat`` and
    ``(lat - lat0) * NM_PER_DEG``, per flight (also classify's track features).

    Examples
    --------
    >>> x, y = local_xy(np.array([1.0, 2.0]), np.array([179.0, -179.0]), np.array([0, 2]),
    ...     np.array([1.5]), np.array([179.0]), np.array([0.5]))
    >>> x.tolist(), y.tolist()
    ([0.0, 60.0405], [-30.02025, 30.02025])
    """
    x = np.empty(lat.size)
    y = np.empty(lat.size)
    for f in range(offsets.size - 1):
        for i in range(offsets[f], offsets[f + 1]):
            x[i] = wrap180(lon[i] - lon0[f]) * NM_PER_DEG * coslat[f]
            y[i] = (lat[i] - lat0[f]) * NM_PER_DEG
    return x, y


@njit
def window_rates(
    heading: FloatArray,
    half: IntArray,
    flight: IntArray,
    seg_start: IntArray,
    seg_stop: IntArray,
    step_s: float,
) -> FloatArray:
    """Turn rate of every point over ``half[flight]`` points each side, within its
    segment: ``(heading[hi] - heading[lo]) / ((hi - lo) * step_s)``, 0 where the
    span is empty."""
    out = np.empty(heading.size)
    for i in range(heading.size):
        k = half[flight[i]]
        lo = max(i - k, seg_start[i])
        hi = min(i + k, seg_stop[i])
        span = (hi - lo) * step_s
        out[i] = (heading[hi] - heading[lo]) / span if span > 0 else 0.0
    return out


@njit
def degrees_and_wraps(
    lon: FloatArray, start: IntArray, kept: IntArray
) -> tuple[FloatArray, IntArray]:
    """``np.degrees(np.radians(lon))``, and the kept flights (indices into
    ``kept``; flight f is ``start[f]:start[f + 1]``) with a step of at least
    pi radians between consecutive fixes, which need unwrapping."""
    out = np.empty(lon.size)
    for i in range(lon.size):
        out[i] = np.degrees(np.radians(lon[i]))
    wrapped = np.zeros(kept.size, dtype=np.int64)
    m = 0
    for k in range(kept.size):
        a, b = start[kept[k]], start[kept[k] + 1]
        for i in range(a + 1, b):
            if abs(np.radians(lon[i]) - np.radians(lon[i - 1])) >= np.pi:
                wrapped[m] = k
                m += 1
                break
    return out, wrapped[:m]
