"""Compiled per-flight loops of the resampled-track features (:mod:`overflight.classify.track`).

Three features walk every grid point of every flight with bookkeeping that
numpy can only do through sorts and large temporaries: the windowed turn
rate (the window is clipped to each segment), the revisit share (the first
time each 1 NM cell is entered, which numpy found with ``np.unique`` over all
the flights' cells) and the distance-weighted course histograms.  Here each
is one loop compiled with :func:`overflight.jit.njit`.

Every value is the one numpy computes, bit for bit: the same arithmetic in
the same order (a turn rate is ``(h[hi] - h[lo]) / ((hi - lo) * step)``, a
histogram bin adds its weights in the order of the points as
``np.bincount`` does, a bin is found as ``np.histogram`` finds it), and
counts are integers.  The tests compare the features with a flight-by-flight
numpy reference on real flights.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from overflight.classify.grouped import FloatArray, IntArray
from overflight.jit import njit, select

BoolArray = npt.NDArray[np.bool_]


@njit
def windowed_rates(
    ids: IntArray, seg: IntArray, heading: FloatArray, k: IntArray, step: FloatArray
) -> FloatArray:
    """Turn rate over ``k[f]`` grid points either side, clipped to the segment.

    ``ids`` numbers the flight of every point; ``k`` and ``step`` are per flight.

    Examples
    --------
    >>> h = np.array([0.0, 10.0, 30.0, 60.0, 0.0, 5.0])
    >>> r = windowed_rates(np.zeros(6, np.int64), np.array([0, 0, 0, 0, 1, 1]), h,
    ...     np.array([1]), np.array([10.0]))
    >>> r.tolist()
    [1.0, 1.5, 2.5, 3.0, 0.5, 0.5]
    """
    n = ids.size
    out = np.empty(n)
    a = 0
    while a < n:
        z = a + 1
        while z < n and ids[z] == ids[a] and seg[z] == seg[a]:
            z += 1
        kf, st = k[ids[a]], step[ids[a]]
        for p in range(a, z):
            lo = max(p - kf, a)
            hi = min(p + kf, z - 1)
            span = (hi - lo) * st
            out[p] = (heading[hi] - heading[lo]) / span if span > 0 else 0.0
        a = z
    return out


@njit
def extents(
    first: IntArray, counts: IntArray, x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Each flight's width and height, ``max - min`` of its ``x`` and ``y``
    (NaN spreads as ``np.maximum`` spreads it); every flight has a point.

    Examples
    --------
    >>> w, h = extents(np.array([0, 2]), np.array([2, 1]), np.array([0.0, 60.0, 5.0]),
    ...     np.array([-30.0, 30.0, np.nan]))
    >>> w.tolist(), h.tolist()
    ([60.0, 0.0], [60.0, nan])
    """
    g = counts.size
    w, h = np.empty(g), np.empty(g)
    for f in range(g):
        a, z = first[f], first[f] + counts[f]
        x_hi, x_lo, y_hi, y_lo = x[a], x[a], y[a], y[a]
        for p in range(a + 1, z):
            x_hi = x[p] if x[p] > x_hi or x[p] != x[p] else x_hi
            x_lo = x[p] if x[p] < x_lo or x[p] != x[p] else x_lo
            y_hi = y[p] if y[p] > y_hi or y[p] != y[p] else y_hi
            y_lo = y[p] if y[p] < y_lo or y[p] != y[p] else y_lo
        w[f], h[f] = x_hi - x_lo, y_hi - y_lo
    return w, h


@njit
def every_kth(first: IntArray, counts: IntArray, k: IntArray) -> IntArray:
    """Indices of every ``k[f]``-th point of each flight from its first.

    Examples
    --------
    >>> every_kth(np.array([0, 5]), np.array([5, 3]), np.array([2, 6])).tolist()
    [0, 2, 4, 5]
    """
    size = 0
    for f in range(counts.size):
        size += (counts[f] + k[f] - 1) // k[f]
    out = np.empty(size, dtype=np.int64)
    m = 0
    for f in range(counts.size):
        for p in range(first[f], first[f] + counts[f], k[f]):
            out[m] = p
            m += 1
    return out


@njit
def _rate(heading: FloatArray, p: int, a: int, z: int, k: int, step: float) -> float:
    lo = max(p - k, a)
    hi = min(p + k, z - 1)
    span = (hi - lo) * step
    return (heading[hi] - heading[lo]) / span if span > 0 else 0.0


@njit
def turn_counts(
    ids: IntArray,
    seg: IntArray,
    heading: FloatArray,
    moving: BoolArray,
    k_short: IntArray,
    k_long: IntArray,
    step: FloatArray,
    edges: FloatArray,
    thresholds: FloatArray,
) -> tuple[IntArray, IntArray]:
    """Per flight, over its moving points: the absolute short-window turn rates
    counted in the bins of ``edges`` (``np.searchsorted(edges, v, "right") - 1``
    clipped, NaN left out) and the long-window ones at or above each threshold.

    Examples
    --------
    >>> h = np.array([0.0, 10.0, 30.0, 60.0])
    >>> hist, hits = turn_counts(np.zeros(4, np.int64), np.zeros(4, np.int64), h,
    ...     np.ones(4, bool), np.array([1]), np.array([3]), np.array([10.0]),
    ...     np.array([0.0, 2.0, np.inf]), np.array([2.0, 2.5]))
    >>> hist.tolist(), hits.tolist()
    ([[2, 2]], [[4, 0]])
    """
    g = k_short.size
    hist = np.zeros((g, edges.size - 1), dtype=np.int64)
    hits = np.zeros((g, thresholds.size), dtype=np.int64)
    n = ids.size
    a = 0
    while a < n:
        z = a + 1
        while z < n and ids[z] == ids[a] and seg[z] == seg[a]:
            z += 1
        f = ids[a]
        for p in range(a, z):
            if not moving[p]:
                continue
            v = abs(_rate(heading, p, a, z, k_short[f], step[f]))
            if v >= 0.0:
                b = 0
                while b < edges.size and edges[b] <= v:
                    b += 1
                hist[f, min(max(b - 1, 0), edges.size - 2)] += 1
            v = abs(_rate(heading, p, a, z, k_long[f], step[f]))
            for i in range(thresholds.size):
                if v >= thresholds[i]:
                    hits[f, i] += 1
        a = z
    return hist, hits


@njit
def order_stats(values: FloatArray, counts: IntArray, ranks: IntArray) -> FloatArray:
    """``np.sort(group)[ranks[f]]`` of every non-empty group ``f`` (NaN for an
    empty one), by successive quickselects instead of a sort; no NaN values.

    Examples
    --------
    >>> v = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 9.0, 8.0])
    >>> order_stats(v, np.array([5, 0, 2]), np.array([[4, 0, 2], [0, 0, 0], [1, 1, 0]])).tolist()
    [[5.0, 1.0, 3.0], [nan, nan, nan], [9.0, 9.0, 8.0]]
    """
    g, nr = ranks.shape
    out = np.full((g, nr), np.nan)
    buf = np.empty(counts.max() if g else 0)
    idx = np.empty(nr, dtype=np.int64)
    a = 0
    for f in range(g):
        m = counts[f]
        if m > 0:
            buf[:m] = values[a : a + m]
            for q in range(nr):  # the ranks in increasing order (insertion sort)
                r = q
                while r > 0 and ranks[f, idx[r - 1]] > ranks[f, q]:
                    idx[r] = idx[r - 1]
                    r -= 1
                idx[r] = q
            lo, last = 0, -1
            for at in idx:
                r = int(ranks[f, at])
                if r == last + 1 and lo == r:  # the next one up: the least above
                    least = buf[r]
                    for i in range(r + 1, m):
                        least = min(least, buf[i])
                    out[f, at] = least
                    continue
                if r > last:
                    select(buf[lo:m], r - lo)
                    lo = r + 1
                out[f, at] = buf[r]
                last = r
        a += m
    return out


@njit
def revisit_late(
    first: IntArray, counts: IntArray, ix: IntArray, iy: IntArray, t: FloatArray, after_s: float
) -> IntArray:
    """Per flight: the points at least ``after_s`` after the first time their
    cell ``(ix, iy)`` was entered (an open-addressing table of the cells).

    Examples
    --------
    >>> late = revisit_late(np.array([0]), np.array([4]), np.array([0, 1, 0, 0]),
    ...     np.zeros(4, np.int64), np.array([0.0, 100.0, 700.0, 800.0]), 600.0)
    >>> late.tolist()
    [2]
    """
    g = counts.size
    late = np.zeros(g, dtype=np.int64)
    biggest = counts.max() if g else 0
    size = 16
    while size < 2 * biggest:
        size *= 2
    keys_x = np.empty(size, dtype=np.int64)
    keys_y = np.empty(size, dtype=np.int64)
    earliest = np.empty(size)
    owner = np.full(size, -1, dtype=np.int64)  # the flight that filled a slot
    slot = np.empty(biggest, dtype=np.int64)
    for f in range(g):
        mask = 16
        while mask < 2 * counts[f]:
            mask *= 2
        mask -= 1
        a = first[f]
        for p in range(a, a + counts[f]):
            h = (ix[p] * 0x9E3779B1 + iy[p] * 0x85EBCA77) & mask
            while owner[h] == f and (keys_x[h] != ix[p] or keys_y[h] != iy[p]):
                h = (h + 1) & mask
            if owner[h] != f:
                owner[h] = f
                keys_x[h], keys_y[h] = ix[p], iy[p]
                earliest[h] = t[p]
            elif t[p] < earliest[h]:
                earliest[h] = t[p]
            slot[p - a] = h
        n_late = 0
        for p in range(a, a + counts[f]):
            if t[p] - earliest[slot[p - a]] >= after_s:
                n_late += 1
        late[f] = n_late
    return late


@njit
def _uniform_bin(v: float, top: float, edges: FloatArray) -> int:
    """``np.histogram(v, bins=edges.size - 1, range=(0, top))`` bin of a value in range."""
    n = edges.size - 1
    i = int((v - 0.0) / top * n)
    if i == n:
        i -= 1
    if v < edges[i]:
        i -= 1
    elif v >= edges[i + 1] and i != n - 1:
        i += 1
    return i


@njit
def course_hists(
    ids: IntArray,
    moving: BoolArray,
    course: FloatArray,
    weight: FloatArray,
    g: int,
    edges180: FloatArray,
    edges360: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Per flight, the weights of its moving points summed by axis
    (``course % 180``) and by course, as ``np.bincount(..., weights=...)`` adds them.

    Examples
    --------
    >>> e = np.linspace(0.0, 180.0, 3), np.linspace(0.0, 360.0, 5)
    >>> h180, h360 = course_hists(np.array([0, 0, 1]), np.array([True, True, False]),
    ...     np.array([10.0, 300.0, 0.0]), np.array([1.0, 2.0, 4.0]), 2, *e)
    >>> h180.tolist(), h360.tolist()
    ([[1.0, 2.0], [0.0, 0.0]], [[1.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    """
    h180 = np.zeros((g, edges180.size - 1))
    h360 = np.zeros((g, edges360.size - 1))
    for p in range(ids.size):
        if not moving[p]:
            continue
        c = course[p]
        if 0.0 <= c < 180.0:
            axis = c
        elif 180.0 <= c < 360.0:
            axis = c - 180.0  # exact (Sterbenz)
        else:
            axis = c % 180.0
        if 0.0 <= axis <= 180.0:
            h180[ids[p], _uniform_bin(axis, 180.0, edges180)] += weight[p]
        if 0.0 <= c <= 360.0:
            h360[ids[p], _uniform_bin(c, 360.0, edges360)] += weight[p]
    return h180, h360
