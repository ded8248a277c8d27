"""Great-circle arcs on the unit sphere: the geometry shared by the distance modules.

A boundary edge from ``a`` to ``b`` (lon/lat) is taken as the shorter
great-circle arc between them.  :func:`arc_frames` precomputes, per arc, the
vectors that :func:`arc_distance_m` dots with a point to get its exact
spherical distance to the arc; both the fast index
(:mod:`overflight.airspace.nearest`) and the reference search
(:mod:`overflight.airspace.distance_reference`) use these two functions, so a
(point, arc) pair gives bit-identical metres in both.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from overflight.airspace.grid import FloatArray
from overflight.geodesy import EARTH_RADIUS_M


def unit_vectors(lat: npt.ArrayLike, lon: npt.ArrayLike) -> FloatArray:
    """Points on the unit sphere, shape (..., 3)."""
    p, lm = np.radians(lat), np.radians(lon)
    c = np.cos(p)
    return np.stack([c * np.cos(lm), c * np.sin(lm), np.sin(p)], axis=-1)


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


def degree_radius(distance_m: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Half-extents (dlat, dlon) in degrees of the spherical cap of radius ``distance_m``."""
    a = np.asarray(distance_m) / EARTH_RADIUS_M
    dlat = np.degrees(a)
    s = np.sin(np.minimum(a, np.pi / 2)) / np.maximum(np.cos(np.radians(lat)), 1e-12)
    polar = (s >= 1.0) | (np.abs(lat) + dlat >= 90.0)
    dlon = np.where(polar, 180.0, np.degrees(np.arcsin(np.minimum(s, 1.0))))
    return dlat, dlon
