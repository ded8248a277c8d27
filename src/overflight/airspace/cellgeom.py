"""Geometry of the grid cells used by :mod:`overflight.airspace.cells`.

Cells are lon/lat boxes of a fixed size, numbered row-major from (-90, -180);
each is bounded by a spherical cap (centre and angular radius) for the
dominance test of :func:`undominated` (see :mod:`overflight.airspace.cells`).

The dominance test runs over millions of (region, sample) pairs when cells
are worked out, so it is a compiled loop (:mod:`overflight.jit`):
:func:`undominated` for the pairs of whole cells, and :func:`sub_arcs`, which
also collects each sub-cell's distinct arcs, for their sub-cells.  Both do
the numpy original's arithmetic term by term (``tests/test_airspace_cellgeom.py``
checks the answers are identical).
"""

from __future__ import annotations

import numpy as np

from overflight.airspace.arcs import unit_vectors
from overflight.airspace.grid import BoolArray, FloatArray, IntArray
from overflight.airspace.nearest import MARGIN_M, SampleIndex
from overflight.geodesy import EARTH_RADIUS_M
from overflight.jit import njit

_LATTICE = (0.5, 0.0, 1.0)
_MU = MARGIN_M / EARTH_RADIUS_M
_COS_MU = float(np.cos(_MU))


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


@njit
def _dominated(
    xyz: FloatArray,
    cos_h: FloatArray,
    bar_h: FloatArray,
    c: FloatArray,
    cos_r: FloatArray,
    sin_r: FloatArray,
    dom: IntArray,
    reg: int,
    smp: int,
) -> bool:
    """Whether one of ``dom[reg]`` dominates sample ``smp`` over region ``reg``'s cap
    (the dominators tried in order; the arithmetic, term by term, of the numpy
    reference in ``tests/test_airspace_cellgeom.py``)."""
    k = cos_h[smp] * _COS_MU
    for j in range(dom.shape[1]):
        d = dom[reg, j]
        w0 = k * xyz[d, 0] - xyz[smp, 0]
        w1 = k * xyz[d, 1] - xyz[smp, 1]
        w2 = k * xyz[d, 2] - xyz[smp, 2]
        c0, c1, c2 = c[reg, 0], c[reg, 1], c[reg, 2]
        a = w0 * c0 + w1 * c1 + w2 * c2
        q0, q1, q2 = w0 - a * c0, w1 - a * c1, w2 - a * c2
        b = np.sqrt(q0 * q0 + q1 * q1 + q2 * q2)
        if a * cos_r[reg] - b * sin_r[reg] > bar_h[smp]:
            return True
    return False


@njit
def _undominated(
    xyz: FloatArray,
    cos_h: FloatArray,
    bar_h: FloatArray,
    c: FloatArray,
    cos_r: FloatArray,
    sin_r: FloatArray,
    dom: IntArray,
    region: IntArray,
    samples: IntArray,
    alive: BoolArray,
) -> None:
    for q in range(samples.size):
        alive[q] = not _dominated(xyz, cos_h, bar_h, c, cos_r, sin_r, dom, region[q], samples[q])


def undominated(
    idx: SampleIndex,
    c: FloatArray,
    r: FloatArray,
    dom: IntArray,
    region: IntArray,
    samples: IntArray,
) -> BoolArray:
    """Mask of the (region, sample) pairs that none of the region's samples
    ``dom[region]`` dominates over the region's cap (``c``, ``r``).

    A compiled loop (:mod:`overflight.jit`) over the pairs, trying each pair's
    dominators in order until one wins; the terms are those of the test in
    the module docstring of :mod:`~overflight.airspace.cells`.
    """
    alive = np.empty(samples.size, bool)
    _undominated(
        *_cap_terms(idx, c, r, dom),
        np.ascontiguousarray(region, np.int64),
        np.ascontiguousarray(samples, np.int64),
        alive,
    )
    return alive


def dominance_terms(idx: SampleIndex) -> tuple[FloatArray, FloatArray]:
    """Per sample of ``idx``: ``cos(h)`` and the bar ``cos(h) sin(mu) + 1e-15`` a
    dominator must clear (worked out once, kept on the index)."""
    found = getattr(idx, "_dominance_terms", None)
    if found is None:
        cos_h = np.cos(idx.sample_h)
        found = (cos_h, cos_h * np.sin(_MU) + 1e-15)
        idx._dominance_terms = found  # type: ignore[attr-defined]
    return found  # type: ignore[no-any-return]


def _cap_terms(
    idx: SampleIndex, c: FloatArray, r: FloatArray, dom: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, IntArray]:
    """The first arguments of both compiled loops: the samples, their dominance
    terms, the regions' caps (centre, cos and sin of the radius) and dominators."""
    cos_h, bar_h = dominance_terms(idx)
    return (
        np.ascontiguousarray(idx.xyz, np.float64),
        cos_h,
        bar_h,
        np.ascontiguousarray(c, np.float64),
        np.cos(r),
        np.sin(r),
        np.ascontiguousarray(dom, np.int64),
    )


@njit
def _sub_arcs(
    xyz: FloatArray,
    cos_h: FloatArray,
    bar_h: FloatArray,
    c: FloatArray,
    cos_r: FloatArray,
    sin_r: FloatArray,
    dom: IntArray,
    first: IntArray,
    per_cell: IntArray,
    samples: IntArray,
    nsub: int,
    touch: IntArray,
    max_arcs: int,
) -> tuple[IntArray, IntArray]:
    nreg = first.size * nsub
    count = np.zeros(nreg, np.int64)
    arcs = np.empty(max(16, 2 * samples.size), np.int64)
    buf = np.empty(2 * max(1, per_cell.max()), np.int64)
    used = 0
    for reg in range(nreg):
        cell = reg // nsub
        m = 0
        for q in range(first[cell], first[cell] + per_cell[cell]):
            smp = samples[q]
            if _dominated(xyz, cos_h, bar_h, c, cos_r, sin_r, dom, reg, smp):
                continue
            for t in range(2):
                if touch[smp, t] >= 0:
                    buf[m] = touch[smp, t]
                    m += 1
        if m == 0:
            continue
        srt = np.sort(buf[:m])
        n = 1
        for q in range(1, m):
            if srt[q] != srt[n - 1]:
                srt[n] = srt[q]
                n += 1
        if n > max_arcs:
            continue  # crowded: the k-d tree answers the sub-cell
        if used + n > arcs.size:
            arcs = np.concatenate((arcs, np.empty(arcs.size + n, np.int64)))
        arcs[used : used + n] = srt[:n]
        count[reg] = n
        used += n
    return count, arcs[:used]


def sub_arcs(
    idx: SampleIndex,
    c: FloatArray,
    r: FloatArray,
    dom: IntArray,
    first: IntArray,
    per_cell: IntArray,
    samples: IntArray,
    nsub: int,
    max_arcs: int,
) -> tuple[IntArray, IntArray]:
    """Arc lists of the ``nsub`` sub-cells (regions) of each of several cells.

    Cell ``i`` lists samples ``samples[first[i]:first[i] + per_cell[i]]``; its
    sub-cells are regions ``i * nsub`` to ``(i + 1) * nsub - 1``, with caps
    (``c``, ``r``) and dominators ``dom``.  Each sub-cell keeps the distinct
    arcs (:attr:`SampleIndex.touch`) of its undominated samples (see
    :func:`undominated`), sorted, or none when there would be more than
    ``max_arcs``.  Returns the number of arcs of each sub-cell and the arcs,
    sub-cell after sub-cell (a compiled loop, :mod:`overflight.jit`).
    """
    nreg = first.size * nsub
    if samples.size == 0:
        return np.zeros(nreg, np.int64), np.zeros(0, np.int64)
    count, arcs = _sub_arcs(
        *_cap_terms(idx, c, r, dom),
        np.ascontiguousarray(first, np.int64),
        np.ascontiguousarray(per_cell, np.int64),
        np.ascontiguousarray(samples, np.int64),
        nsub,
        np.ascontiguousarray(idx.touch, np.int64),
        max_arcs,
    )
    return count, arcs
