"""Geometry of the grid cells used by :mod:`overflight.airspace.cells`.

Cells are lon/lat boxes of a fixed size, numbered row-major from (-90, -180);
each is bounded by a spherical cap (centre and angular radius) for the
dominance test of :func:`undominated` (see :mod:`overflight.airspace.cells`).
"""

from __future__ import annotations

import numpy as np

from overflight.airspace.arcs import unit_vectors
from overflight.airspace.grid import BoolArray, FloatArray, IntArray
from overflight.airspace.nearest import MARGIN_M, SampleIndex
from overflight.geodesy import EARTH_RADIUS_M

_LATTICE = (0.5, 0.0, 1.0)
_MU = MARGIN_M / EARTH_RADIUS_M


def cell_ids(lon: FloatArray, lat: FloatArray, res_deg: float) -> IntArray:
    """Cell of each point on the grid of ``res_deg`` degrees (row-major from -90, -180)."""
    ncol, nrow = round(360 / res_deg), round(180 / res_deg)
    i = np.floor((lon + 180.0) / res_deg).astype(np.int64) % ncol
    j = np.clip(np.floor((lat + 90.0) / res_deg).astype(np.int64), 0, nrow - 1)
    return j * ncol + i


def corner(cells: IntArray, res_deg: float) -> tuple[FloatArray, FloatArray]:
    """South-west corner (lon, lat) of each cell."""
    ncol = round(360 / res_deg)
    x0 = (cells % ncol) * res_deg - 180.0
    y0 = (cells // ncol) * res_deg - 90.0
    return x0.astype(np.float64), y0.astype(np.float64)


def caps(cells: IntArray, res_deg: float) -> tuple[FloatArray, FloatArray]:
    """Centre (unit vector) and angular radius of a cap containing each cell
    (the farthest point of a small lon/lat box from its centre is a corner)."""
    x0, y0 = corner(cells, res_deg)
    c = unit_vectors(y0 + res_deg / 2, x0 + res_deg / 2)
    r = np.zeros(cells.size)
    for dx in (0.0, res_deg):
        for dy in (0.0, res_deg):
            chord = np.linalg.norm(unit_vectors(y0 + dy, x0 + dx) - c, axis=1)
            r = np.maximum(r, 2.0 * np.arcsin(np.minimum(chord / 2.0, 1.0)))
    return c, r * (1.0 + 1e-6) + 1e-9


def lattice(cells: IntArray, res_deg: float) -> FloatArray:
    """The 3 x 3 lattice points of each cell, shape (n, 9, 3), centre first."""
    x0, y0 = corner(cells, res_deg)
    gx, gy = np.meshgrid(_LATTICE, _LATTICE)
    px = x0[:, None] + gx.ravel()[None, :] * res_deg
    py = y0[:, None] + gy.ravel()[None, :] * res_deg
    return unit_vectors(py, px)


def undominated(
    idx: SampleIndex,
    c: FloatArray,
    r: FloatArray,
    dom: IntArray,
    region: IntArray,
    samples: IntArray,
) -> BoolArray:
    """Mask of the (region, sample) pairs that none of the region's samples
    ``dom[region]`` dominates over the region's cap (``c``, ``r``)."""
    alive = np.ones(samples.size, bool)
    live = np.arange(samples.size)
    cos_r, sin_r = np.cos(r), np.sin(r)
    xyz = idx.xyz
    for j in range(dom.shape[1]):
        reg, smp = region[live], samples[live]
        cos_h = np.cos(idx.sample_h[smp])
        k = cos_h * np.cos(_MU)
        d = dom[reg, j]
        w = [k * xyz[d, i] - xyz[smp, i] for i in range(3)]
        cc = [c[reg, i] for i in range(3)]
        a = w[0] * cc[0] + w[1] * cc[1] + w[2] * cc[2]
        perp = [w[i] - a * cc[i] for i in range(3)]
        b = np.sqrt(perp[0] * perp[0] + perp[1] * perp[1] + perp[2] * perp[2])
        beaten = a * cos_r[reg] - b * sin_r[reg] > cos_h * np.sin(_MU) + 1e-15
        alive[live[beaten]] = False
        live = live[~beaten]
    return alive
