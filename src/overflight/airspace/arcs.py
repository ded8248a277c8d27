"""Great-circle arcs on the unit sphere: the geometry shared by the distance modules.

A boundary edge from ``a`` to ``b`` (lon/lat) is taken as the shorter
great-circle arc between them.  :func:`arc_frames` precomputes, per arc, the
vectors that :func:`arc_distance_m` dots with a point to get its exact
spherical distance to the arc; both the fast index
(:mod:`overflight.airspace.nearest`) and the reference search
(:mod:`overflight.airspace.distance_reference`) use these two functions, so a
(point, arc) pair gives bit-identical metres in both.

:func:`nearest_listed_m` is the same formula as a compiled loop
(:mod:`overflight.jit`): the distance from each point to the nearest arc of
its own short list.  In numpy that needed a (points x list length) temporary per
term, and it was the largest cost of the airspace stage in ``bench/scale.py``;
compiled, it walks each list once and compares arcs by the sine of half
their angle, taking one ``arcsin`` per point; its metres agree with
:func:`arc_distance_m` to rounding (about 1e-9 m).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from overflight.airspace.grid import FloatArray, IntArray
from overflight.geodesy import EARTH_RADIUS_M
from overflight.jit import njit


def unit_vectors(lat: npt.ArrayLike, lon: npt.ArrayLike) -> FloatArray:
    """Points on the unit sphere, shape (..., 3)."""
    p, lm = np.radians(lat), np.radians(lon)
    c = np.cos(p)
    out = np.empty((*np.broadcast(p, lm).shape, 3), np.result_type(p, lm))
    np.multiply(c, np.cos(lm), out=out[..., 0])
    np.multiply(c, np.sin(lm), out=out[..., 1])
    out[..., 2] = np.sin(p)
    return out


def arc_frames(a: FloatArray, b: FloatArray) -> FloatArray:
    """Per arc ``a``-``b`` (unit vectors, shape (..., 3)): the stacked vectors
    ``a, b, n, n x a, b x n`` (shape (5, ..., 3)) used by :func:`arc_distance_m`."""
    n = np.cross(a, b)
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    n = np.where(norm > 0, n / np.where(norm > 0, norm, 1.0), 0.0)
    return np.stack([a, b, n, np.cross(n, a), np.cross(b, n)])


def arc_distance_m(p: FloatArray, frames: FloatArray) -> FloatArray:
    """Great-circle distance (m) from unit vectors ``p`` to arcs given by :func:`arc_frames`.

    The nearest point is the foot of the perpendicular on the great circle
    when it falls between the end points (``p . (n x a) >= 0`` and
    ``p . (b x n) >= 0``), else the nearer end point.

    Examples
    --------
    >>> a, b, p = unit_vectors([-1.0, 1.0, 0.0], [1.0, 1.0, 0.0])
    >>> round(float(arc_distance_m(p, arc_frames(a, b))))
    111195
    """
    dots = [p[..., 0] * f[..., 0] + p[..., 1] * f[..., 1] + p[..., 2] * f[..., 2] for f in frames]
    pa_, pb_, pn, u, v = dots
    degenerate = (frames[2] == 0).all(axis=-1)
    inside = (u >= 0) & (v >= 0) & ~degenerate
    chord = np.sqrt(np.maximum(2.0 - 2.0 * np.maximum(pa_, pb_), 0.0))
    to_end = 2.0 * np.arcsin(np.minimum(chord / 2.0, 1.0))
    to_arc = np.arcsin(np.minimum(np.abs(pn), 1.0))
    return np.asarray(np.where(inside, to_arc, to_end) * EARTH_RADIUS_M, dtype=np.float64)


@njit
def _listed(
    p: FloatArray,
    frames: FloatArray,
    arcs: IntArray,
    start: IntArray,
    count: IntArray,
    cap: FloatArray,
    out: FloatArray,
) -> None:
    # arcs are compared by k = sin^2(angle / 2), which needs no arcsin: at an end
    # point k = (1 - p.a) / 2 (as the chord of arc_distance_m), at the foot of the
    # perpendicular k = pn^2 / (2 (1 + sqrt(1 - pn^2))) (= (1 - cos(asin pn)) / 2
    # without cancellation); the nearest is turned into metres once
    for i in range(p.shape[0]):
        best = np.inf
        x, y, z = p[i, 0], p[i, 1], p[i, 2]
        for j in range(start[i], start[i] + count[i]):
            f = frames[arcs[j]]
            u = x * f[3, 0] + y * f[3, 1] + z * f[3, 2]
            v = x * f[4, 0] + y * f[4, 1] + z * f[4, 2]
            degenerate = f[2, 0] == 0.0 and f[2, 1] == 0.0 and f[2, 2] == 0.0
            if u >= 0.0 and v >= 0.0 and not degenerate:
                pn = x * f[2, 0] + y * f[2, 1] + z * f[2, 2]
                s2 = min(pn * pn, 1.0)
                k = s2 / (2.0 * (1.0 + np.sqrt(1.0 - s2)))
            else:
                pa_ = x * f[0, 0] + y * f[0, 1] + z * f[0, 2]
                pb_ = x * f[1, 0] + y * f[1, 1] + z * f[1, 2]
                k = max(1.0 - max(pa_, pb_), 0.0) / 2.0
            best = min(best, k)
        d = 2.0 * np.arcsin(min(np.sqrt(best), 1.0)) * EARTH_RADIUS_M if best < np.inf else np.inf
        out[i] = min(d, cap[i])


def nearest_listed_m(
    p: FloatArray,
    frames: FloatArray,
    arcs: IntArray,
    start: IntArray,
    count: IntArray,
    cap_m: FloatArray,
) -> FloatArray:
    """Distance (m) from each point ``p[i]`` (unit vectors, shape (n, 3)) to the
    nearest of its arcs ``arcs[start[i]:start[i] + count[i]]`` (rows of ``frames``,
    shape (m, 5, 3), from :func:`arc_frames`), at most ``cap_m[i]``.

    Examples
    --------
    >>> a, b = unit_vectors([[-1.0], [1.0]], [[1.0], [1.0]])  # one arc along lon 1
    >>> frames = np.moveaxis(arc_frames(a, b), 0, 1)
    >>> p = unit_vectors([0.0, 0.0], [0.0, 3.0])
    >>> one = np.array([1, 1])
    >>> d = nearest_listed_m(p, frames, np.array([0]), np.array([0, 0]), one, np.array([5e5, 1e5]))
    >>> [round(float(v)) for v in d]
    [111195, 100000]
    """
    out = np.empty(p.shape[0])
    _listed(
        np.ascontiguousarray(p, np.float64),
        np.ascontiguousarray(frames, np.float64),
        np.ascontiguousarray(arcs, np.int64),
        np.ascontiguousarray(start, np.int64),
        np.ascontiguousarray(count, np.int64),
        np.ascontiguousarray(np.broadcast_to(cap_m, p.shape[:1]), np.float64),
        out,
    )
    return out


def degree_radius(distance_m: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Half-extents (dlat, dlon) in degrees of the spherical cap of radius ``distance_m``."""
    a = np.asarray(distance_m) / EARTH_RADIUS_M
    dlat = np.degrees(a)
    s = np.sin(np.minimum(a, np.pi / 2)) / np.maximum(np.cos(np.radians(lat)), 1e-12)
    polar = (s >= 1.0) | (np.abs(lat) + dlat >= 90.0)
    dlon = np.where(polar, 180.0, np.degrees(np.arcsin(np.minimum(s, 1.0))))
    return dlat, dlon
