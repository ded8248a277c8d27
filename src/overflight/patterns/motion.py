"""Ground speed, course and unwrapped heading of resampled grid points.

:func:`motion` is what :func:`overflight.patterns.turns.resample` derives
after interpolating, for many flights at once.  Course and distance to the
next grid point are :func:`overflight.geodesy.bearing_deg` and
:func:`overflight.geodesy.haversine_m`, operation for operation, but the
sine and cosine of each latitude are computed once and shared (the next
point's are the same values shifted by one), which saves five of the twelve
transcendental passes; the tests check the results are bit-for-bit those of
the geodesy functions.  The cumulative heading restarts at every flight, so
it is a per-flight running sum: a compiled loop
(:func:`overflight.patterns.batch_jit.headings`).
"""

from __future__ import annotations

import numpy as np

from overflight.geodesy import EARTH_RADIUS_M, NM_M
from overflight.patterns.batch_jit import headings, mod360_array
from overflight.patterns.turns import FloatArray, IntArray


def _next(v: FloatArray) -> FloatArray:
    """``v[min(i + 1, n - 1)]`` for every i."""
    return np.concatenate([v[1:], v[-1:]]) if v.size else v


def course_distance(lat: FloatArray, lon: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Bearing (degrees) and great-circle distance (m) from each point to the next.

    The last point looks at itself (course 0, distance 0).  Equal, bit for
    bit, to ``bearing_deg(lat, lon, lat[nxt], lon[nxt])`` and
    ``haversine_m(...)`` with ``nxt = min(i + 1, n - 1)``.

    Examples
    --------
    >>> c, d = course_distance(np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]))
    >>> [round(float(v)) for v in c], [round(float(v)) for v in d]
    ([0, 90, 0], [111195, 111178, 0])
    """
    p1 = np.radians(lat)
    sin1, cos1 = np.sin(p1), np.cos(p1)
    sin2, cos2 = _next(sin1), _next(cos1)
    dlmb = np.radians(_next(lon) - lon)
    y = np.sin(dlmb) * cos2
    x = cos1 * sin2 - sin1 * cos2 * np.cos(dlmb)
    course = mod360_array(np.asarray(np.degrees(np.arctan2(y, x)), dtype=np.float64))
    dphi = _next(p1) - p1
    a = np.sin(dphi / 2) ** 2 + cos1 * cos2 * np.sin(dlmb / 2) ** 2
    dist = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return np.asarray(course, dtype=np.float64), np.asarray(dist, dtype=np.float64)


def motion(
    lat: FloatArray,
    lon: FloatArray,
    seg: IntArray,
    offsets: IntArray,
    flight: IntArray,
    step_s: float,
    min_speed_kt: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Speed (kt), course (deg) and cumulative heading (deg) of every grid point.

    ``seg`` are segment numbers unique across flights, ``offsets`` the
    flights' bounds and ``flight`` each point's flight.  The last point of a
    segment copies the course and speed of the one before it (within its
    flight); no turn is counted across a segment boundary or while either
    point is slower than ``min_speed_kt``.
    """
    n = lat.size
    if n == 0:
        e = np.empty(0)
        return e, e, e
    course, dist = course_distance(lat, lon)
    speed = dist / NM_M / step_s * 3600.0
    same = np.zeros(n, dtype=bool)
    same[:-1] = seg[1:] == seg[:-1]
    last = np.flatnonzero(~same)
    prev = np.maximum(last - 1, offsets[flight[last]])
    course[last] = course[prev]
    speed[last] = speed[prev]
    heading = headings(course, speed, seg, offsets, min_speed_kt)
    return speed, course, heading
