"""Ground speed, course and unwrapped heading of resampled grid points.

:func:`motion` is what :func:`overflight.patterns.turns.resample` derives
after interpolating, for many flights at once.  Course and distance to the
next grid point are :func:`overflight.geodesy.bearing_deg` and
:func:`overflight.geodesy.haversine_m`, operation for operation, but the
sine and cosine of each latitude are computed once and shared (the next
point's are the same values shifted by one), which saves five of the twelve
transcendental passes; the tests check the results are bit-for-bit those of
the geodesy functions.  The arithmetic between the numpy sines, cosines and
arc functions is done by small compiled loops (:func:`overflight.jit.njit`,
the same operations in the same order, without the temporary arrays); the
transcendental functions themselves stay numpy's.  The cumulative heading
restarts at every flight, so it is a per-flight running sum: a compiled loop
(:func:`overflight.patterns.batch_jit.headings`).
"""

from __future__ import annotations

import numpy as np

from overflight.geodesy import EARTH_RADIUS_M, NM_M
from overflight.jit import njit
from overflight.patterns.batch_jit import headings, mod360
from overflight.patterns.turns import FloatArray, IntArray


@njit
def _angles(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Rows: latitude, longitude step, half the latitude step and half the
    longitude step to the next point, radians (``radians(lat[nxt]) - radians(lat)``
    and ``radians(lon[nxt] - lon)``)."""
    n = lat.size
    out = np.empty((4, n))
    for i in range(n):
        j = min(i + 1, n - 1)
        p1 = np.radians(lat[i])
        dlmb = np.radians(lon[j] - lon[i])
        out[0, i] = p1
        out[1, i] = dlmb
        out[2, i] = (np.radians(lat[j]) - p1) / 2
        out[3, i] = dlmb / 2
    return out


@njit
def _chord_terms(
    sin1: FloatArray, cos1: FloatArray, trig: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The bearing's ``y`` and ``x`` and the haversine's ``sqrt(clip(a, 0, 1))``;
    ``trig`` rows: sine and cosine of the longitude step, sine of the half
    latitude and half longitude steps."""
    n = sin1.size
    y, x, root = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        j = min(i + 1, n - 1)
        sin2, cos2 = sin1[j], cos1[j]
        y[i] = trig[0, i] * cos2
        x[i] = cos1[i] * sin2 - sin1[i] * cos2 * trig[1, i]
        a = trig[2, i] * trig[2, i] + cos1[i] * cos2 * (trig[3, i] * trig[3, i])
        if a < 0.0:
            a = 0.0
        elif a > 1.0:
            a = 1.0
        root[i] = np.sqrt(a)
    return y, x, root


@njit
def _course_distance(angle: FloatArray, arc: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``degrees(angle) % 360`` and ``2 * EARTH_RADIUS_M * arc``, in place."""
    for i in range(angle.size):
        angle[i] = mod360(np.degrees(angle[i]))
        arc[i] = 2 * EARTH_RADIUS_M * arc[i]
    return angle, arc


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
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    ang = _angles(lat, lon)
    sin1, cos1 = np.sin(ang[0]), np.cos(ang[0])
    trig = np.empty_like(ang)
    np.sin(ang[1], out=trig[0])
    np.cos(ang[1], out=trig[1])
    np.sin(ang[2:], out=trig[2:])
    y, x, root = _chord_terms(sin1, cos1, trig)
    angle = np.arctan2(y, x, out=y)
    arc = np.arcsin(root, out=root)
    return _course_distance(angle, arc)


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
