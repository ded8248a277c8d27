"""Where a flight crosses a boundary between two fixes: one batched bisection.

:func:`crossing_fractions` returns, for each segment from a fix outside a key's
area (a country's national airspace or a user zone) to a fix inside it, the
fraction ``t`` along the segment found by :data:`BISECT_STEPS` halvings with
the exact point classifier, the same numbers as :func:`bisect_reference`
(which classifies every midpoint) but with the classifier called on a few
midpoints only.

How: the candidate edges near a segment are those the grid index lists in the
cells around it; of them, the edges of the key's polygons that come within
``_TUBE_DEG`` (far more than the rounding of a midpoint's coordinates) of the
segment mark *zones* of ``t``.  Between zones the segment runs through a tube
that no edge of the key's polygons enters, so every midpoint there has the
same answer: outside in the gap holding the outside fix, inside in the gap
holding the inside fix, and for any other gap the classifier's answer at the
gap's middle.  Only a midpoint that falls in a zone (close to a boundary,
typically in the last halvings) is classified, with all such midpoints of all
segments in one call per round.  Segments within 0.001 deg of the
antimeridian or a pole, and zero-length ones, are bisected the plain way, in
the same rounds.

Two loops are compiled with :func:`overflight.jit.njit` because they are
sequential per segment: collecting and merging the zones of each segment (a
walk over its cells and their edges), and running each segment's halvings
until one needs the classifier.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from overflight.airspace.grid import (
    NCOL0,
    NCOL1,
    NROW1,
    RES1,
    SUB,
    BoolArray,
    FloatArray,
    Int32Array,
    IntArray,
)
from overflight.airspace.index import GridIndex
from overflight.jit import njit

#: Halvings per crossing: the crossing is found to 2**-30 of the segment.
BISECT_STEPS = 30
#: Tube radius (deg) around a segment: 10 x the worst rounding of a midpoint.
_TUBE_DEG = 1e-12

#: ``inside(lon, lat, key)``: whether each point is inside its key's area.
Inside = Callable[[FloatArray, FloatArray, IntArray], BoolArray]


def wrap_lon(lon: FloatArray) -> FloatArray:
    """Longitudes wrapped to [-180, 180)."""
    return np.asarray((lon + 180.0) % 360.0 - 180.0, dtype=np.float64)


def bisect_reference(
    inside: Inside,
    lon0: FloatArray,
    lat0: FloatArray,
    lon1: FloatArray,
    lat1: FloatArray,
    key: IntArray,
    steps: int = BISECT_STEPS,
) -> FloatArray:
    """Fraction along 0 -> 1 (0 outside, 1 inside) by plain bisection: every midpoint classified."""
    dlon = wrap_lon(lon1 - lon0)
    lo, hi = np.zeros(lon0.size), np.ones(lon0.size)
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        ins = inside(wrap_lon(lon0 + mid * dlon), lat0 + mid * (lat1 - lat0), key)
        hi = np.where(ins, mid, hi)
        lo = np.where(ins, lo, mid)
    return hi


def crossing_fractions(
    index: GridIndex,
    item_in_key: BoolArray,
    inside: Inside,
    lon0: FloatArray,
    lat0: FloatArray,
    lon1: FloatArray,
    lat1: FloatArray,
    key: IntArray,
) -> FloatArray:
    """Fraction along each segment 0 -> 1 where the key's boundary is crossed.

    Equal to :func:`bisect_reference` (see the module docstring).

    Parameters
    ----------
    index
        The boundaries' grid index (cells, their edges, edge items).
    item_in_key
        ``(items, keys)``: whether an item (polygon) belongs to the key's area.
    inside
        The exact membership test ``inside(lon, lat, key)``.
    lon0, lat0
        The fix outside the key's area.
    lon1, lat1
        The fix inside it.
    key
        The key of each segment.
    """
    n = lon0.size
    if n == 0:
        return np.zeros(0)
    dlon = wrap_lon(lon1 - lon0)
    dlat = lat1 - lat0
    e = index.edges
    zstart, zlo, zhi, ok = _zones(
        _f64(lon0),
        _f64(lat0),
        _f64(dlon),
        _f64(dlat),
        np.ascontiguousarray(key, np.int64),
        _i32(index.labels0),
        _i32(index.labels1),
        np.ascontiguousarray(index.cell_start, np.int64),
        _i32(index.cell_edges),
        _f64(e.ax),
        _f64(e.ay),
        _f64(e.bx),
        _f64(e.by),
        _i32(e.item),
        np.ascontiguousarray(item_in_key, np.bool_),
    )
    status = _gap_status(inside, lon0, lat0, dlon, dlat, key, zstart, zlo, zhi)
    lo, hi = np.zeros(n), np.ones(n)
    step = np.zeros(n, np.int64)
    active, plain = np.flatnonzero(ok), np.flatnonzero(~ok)
    # a segment still waiting in round r has waited in every round before (r halvings
    # done at least), so no segment waits after round BISECT_STEPS - 1
    for rnd in range(BISECT_STEPS + 1):
        wait = active[_bisect(active, lo, hi, step, zstart, zlo, zhi, status, BISECT_STEPS)]
        todo = np.concatenate([wait, plain]) if rnd < BISECT_STEPS else wait
        if todo.size == 0:
            break
        mid = 0.5 * (lo[todo] + hi[todo])
        ins = inside(
            wrap_lon(lon0[todo] + mid * dlon[todo]), lat0[todo] + mid * dlat[todo], key[todo]
        )
        hi[todo] = np.where(ins, mid, hi[todo])
        lo[todo] = np.where(ins, lo[todo], mid)
        step[wait] += 1
        active = wait
    return hi


def _f64(values: FloatArray) -> FloatArray:  # the compiled loops take one signature
    return np.ascontiguousarray(values, np.float64)


def _i32(values: Int32Array) -> Int32Array:
    return np.ascontiguousarray(values, np.int32)


def _gap_status(
    inside: Inside,
    lon0: FloatArray,
    lat0: FloatArray,
    dlon: FloatArray,
    dlat: FloatArray,
    key: IntArray,
    zstart: IntArray,
    zlo: FloatArray,
    zhi: FloatArray,
) -> BoolArray:
    """Inside or not, per gap between zones (``zstart[i] + i`` is segment i's first gap).

    The first gap holds the outside fix, the last the inside one; the others
    are classified at their middle.
    """
    nz = np.diff(zstart)
    seg = np.repeat(np.arange(nz.size), nz + 1)
    gap = np.arange(seg.size) - np.repeat(zstart[:-1] + np.arange(nz.size), nz + 1)
    status = gap == nz[seg]
    inner = np.flatnonzero((gap > 0) & (gap < nz[seg]))
    if inner.size:
        z = zstart[seg[inner]] + gap[inner]  # the zone after the gap
        t = 0.5 * (zhi[z - 1] + zlo[z])
        s = seg[inner]
        status[inner] = inside(wrap_lon(lon0[s] + t * dlon[s]), lat0[s] + t * dlat[s], key[s])
    return np.asarray(status, dtype=np.bool_)


@njit
def _bisect(
    active: IntArray,
    lo: FloatArray,
    hi: FloatArray,
    step: IntArray,
    zstart: IntArray,
    zlo: FloatArray,
    zhi: FloatArray,
    status: BoolArray,
    steps: int,
) -> BoolArray:
    """Halve each active segment's interval until done or a midpoint falls in a zone.

    Returns, per active segment, whether it waits for the classifier (its
    midpoint is ``0.5 * (lo + hi)``).
    """
    wait = np.zeros(active.size, np.bool_)
    for a in range(active.size):
        i = active[a]
        z0, z1 = zstart[i], zstart[i + 1]
        while step[i] < steps:
            mid = 0.5 * (lo[i] + hi[i])
            g = z1 - z0  # the gap: number of zones wholly below mid
            in_zone = False
            for z in range(z0, z1):
                if mid < zlo[z]:
                    g = z - z0
                    break
                if mid <= zhi[z]:
                    in_zone = True
                    break
            if in_zone:
                wait[a] = True
                break
            if status[z0 + i + g]:
                hi[i] = mid
            else:
                lo[i] = mid
            step[i] += 1
    return wait


@njit
def _zones(
    x0: FloatArray,
    y0: FloatArray,
    dx: FloatArray,
    dy: FloatArray,
    key: IntArray,
    labels0: Int32Array,
    labels1: Int32Array,
    cell_start: IntArray,
    cell_edges: Int32Array,
    ax: FloatArray,
    ay: FloatArray,
    bx: FloatArray,
    by: FloatArray,
    item: Int32Array,
    item_in_key: BoolArray,
) -> tuple[IntArray, FloatArray, FloatArray, BoolArray]:
    """Merged zones of each segment, sorted: ``zlo/zhi[zstart[i]:zstart[i + 1]]``.

    ``ok`` is False for a segment to bisect plainly (it then has no zones).
    """
    n = x0.size
    zstart = np.zeros(n + 1, np.int64)
    ok = np.zeros(n, np.bool_)
    zlo = np.empty(4 * n + 16)
    zhi = np.empty(4 * n + 16)
    cells = np.empty(64, np.int64)  # reused by every segment
    used = 0
    for i in range(n):
        zstart[i] = used
        x1, y1 = x0[i] + dx[i], y0[i] + dy[i]
        inland = max(abs(x0[i]), abs(x1)) < 179.999 and max(abs(y0[i]), abs(y1)) < 89.999
        length = np.sqrt(dx[i] * dx[i] + dy[i] * dy[i])
        if not (inland and length > 0.0):
            continue
        cells, n_cells = _cells_along(x0[i], y0[i], dx[i], dy[i], cells)
        for q in range(n_cells):
            cell1 = cells[q]
            r, c = cell1 // NCOL1, cell1 % NCOL1
            lab = labels0[(r // SUB) * NCOL0 + c // SUB]
            if lab < 0:
                lab = labels1[(-1 - lab) * SUB * SUB + (r % SUB) * SUB + c % SUB]
            if lab >= 0:
                continue  # a cell no edge touches
            cell = -1 - lab
            for p in range(cell_start[cell], cell_start[cell + 1]):
                ed = cell_edges[p]
                if not item_in_key[item[ed], key[i]]:
                    continue
                lo, hi = _edge_zone(
                    x0[i], y0[i], dx[i], dy[i], length, ax[ed], ay[ed], bx[ed], by[ed]
                )
                if lo > hi or hi < 0.0 or lo > 1.0:
                    continue
                if used == zlo.size:
                    zlo = np.concatenate((zlo, np.empty(zlo.size)))
                    zhi = np.concatenate((zhi, np.empty(zhi.size)))
                zlo[used], zhi[used] = lo, hi
                used += 1
        used = zstart[i] + _merge(zlo, zhi, zstart[i], used)
        ok[i] = used > zstart[i]
    zstart[n] = used
    return zstart, zlo[:used], zhi[:used], ok


@njit
def _cells_along(x0: float, y0: float, dx: float, dy: float, out: IntArray) -> tuple[IntArray, int]:
    """Level-1 cells (``row * NCOL1 + col``) within 1e-9 deg of the segment, into
    ``out`` (grown when too small): returns it and their count.

    Walks the columns (or rows, whichever the segment spans more of) and, in
    each, the rows of the part of the segment inside it.
    """
    steep = abs(dy) > abs(dx)
    u0, du = (y0 + 90.0, dy) if steep else (x0 + 180.0, dx)  # along the major axis
    v0, dv = (x0 + 180.0, dx) if steep else (y0 + 90.0, dy)
    nu, nv = (NROW1, NCOL1) if steep else (NCOL1, NROW1)
    ulo, uhi = min(u0, u0 + du), max(u0, u0 + du)
    a0, a1 = _cell_range(ulo, uhi, nu)
    n = 0
    for a in range(a0, a1 + 1):
        ta = (max(a * RES1 - 1e-9, ulo) - u0) / du
        tb = (min((a + 1) * RES1 + 1e-9, uhi) - u0) / du
        va, vb = v0 + ta * dv, v0 + tb * dv
        b0, b1 = _cell_range(min(va, vb), max(va, vb), nv)
        for b in range(b0, b1 + 1):
            if n == out.size:
                out = np.concatenate((out, np.empty(out.size, np.int64)))
            out[n] = a * NCOL1 + b if steep else b * NCOL1 + a
            n += 1
    return out, n


@njit
def _cell_range(lo: float, hi: float, ncell: int) -> tuple[int, int]:
    """Level-1 cells (along one axis) of [lo, hi] (offset to start at 0) padded by 1e-9 deg."""
    a = max(int((lo - 1e-9) / RES1), 0)
    return a, min(int((hi + 1e-9) / RES1), ncell - 1)


@njit
def _edge_zone(
    x0: float,
    y0: float,
    dx: float,
    dy: float,
    length: float,
    ax: float,
    ay: float,
    bx: float,
    by: float,
) -> tuple[float, float]:
    """The t-range where edge a-b comes within the tube of segment (x0, y0) + t (dx, dy).

    Empty (lo > hi) when it stays outside the tube.
    """
    ux, uy, vx, vy = ax - x0, ay - y0, bx - x0, by - y0
    na, nb = abs(ux) + abs(uy), abs(vx) + abs(vy)
    band = _TUBE_DEG + 1e-15 * (na + nb)  # plus the rounding of the products below
    ca, cb = dx * uy - dy * ux, dx * vy - dy * vx  # length x signed distances from the line
    far = 1.01 * band * length
    if (ca > far and cb > far) or (ca < -far and cb < -far):
        return 1.0, 0.0
    da, db = ca / length, cb / length
    s0, s1 = 0.0, 1.0  # the part of the edge within the band
    if da != db:
        sa, sb = (-band - da) / (db - da), (band - da) / (db - da)
        s0, s1 = max(0.0, min(sa, sb)), min(1.0, max(sa, sb))
        if s0 > s1:
            return 1.0, 0.0
    len2 = length * length
    ta = ((ux + s0 * (vx - ux)) * dx + (uy + s0 * (vy - uy)) * dy) / len2
    tb = ((ux + s1 * (vx - ux)) * dx + (uy + s1 * (vy - uy)) * dy) / len2
    slack = (2.0 * band + 1e-15 * (na + nb)) / length + 1e-15
    return min(ta, tb) - slack, max(ta, tb) + slack


@njit
def _merge(zlo: FloatArray, zhi: FloatArray, first: int, end: int) -> int:
    """Sort zones ``first:end`` by start (NaN last), merge overlaps in place; their
    new count.  (An insertion sort: a segment has a few zones.)"""
    for j in range(first + 1, end):
        lo, hi = zlo[j], zhi[j]
        i = j - 1
        while i >= first and (zlo[i] > lo or (zlo[i] != zlo[i] and lo == lo)):
            zlo[i + 1], zhi[i + 1] = zlo[i], zhi[i]
            i -= 1
        zlo[i + 1], zhi[i + 1] = lo, hi
    out = first
    for j in range(first, end):
        if out > first and zlo[j] <= zhi[out - 1]:
            zhi[out - 1] = max(zhi[out - 1], zhi[j])
        else:
            zlo[out], zhi[out] = zlo[j], zhi[j]
            out += 1
    return out - first
