"""Compiled screen of the loiter windows: which stay within the radius.

The loiter definition (:mod:`overflight.patterns.loiter`) asks, for every
window of ``k`` grid points, whether the farthest point from the window's
centroid is within ``radius_nm``, the distance computed as numpy computes it
(``np.mean`` centroid, ``np.hypot``).  Doing that for every window is
``k`` times the work of the batch; :func:`screen` decides almost all windows
from bounds instead, in one compiled pass per step (a sliding minimum and
maximum is a sequential walk), and leaves only the borderline ones to the
exact numpy computation:

1. the window's bounding box: half its larger side is a lower bound of the
   farthest distance from any centre inside it, its diagonal an upper bound;
2. a centroid from per-segment running sums, with the bounding box around
   it (the ``[max(dx, dy), hypot(dx, dy)]`` bracket);
3. the farthest distance itself, with a naive float64 centroid.

Each bound carries a margin ``band`` larger than the rounding error of
either computation (``4 * (2 L eps A / k + 4 k eps big) + 1e-9``, with the
segment's length ``L``, its sum of absolute coordinates ``A`` and its largest
absolute coordinate ``big``), so a window is decided only when the exact
computation cannot disagree.  Windows still within ``band`` of the radius
are marked undecided.

:func:`loiter_numbers` then walks each loiter found for its event numbers
(mean position, altitude band, total turn, median speed), with numpy's
reductions (:mod:`overflight.patterns.reduce_jit`).
"""

from __future__ import annotations

import numpy as np

from overflight.jit import njit
from overflight.patterns.reduce_jit import middle, np_mean, np_percentile, np_sum
from overflight.patterns.turns import BoolArray, FloatArray, IntArray

_EPS = float(np.finfo(np.float64).eps)


@njit
def _suffixes(v: FloatArray, a: int, b: int, hi: FloatArray, lo: FloatArray) -> None:
    """Largest and smallest of ``v[i:b]`` for each i of ``a:b``, into ``hi/lo[i - a]``."""
    h = low = v[b - 1]
    for j in range(b - a):
        i = b - 1 - j
        u = v[i]
        h = u if u > h else h
        low = u if u < low else low
        hi[i - a], lo[i - a] = h, low


@njit
def sliding_extremes(v: FloatArray, k: int) -> tuple[FloatArray, FloatArray]:
    """Maximum and minimum of every window ``v[i:i + k]`` of a finite array.

    van Herk / Gil-Werman: within blocks of ``k`` points, the running extremes
    from each point to its block's end (a backward pass) and from the block's
    start to each point (a forward pass, which also writes the windows
    ending there), so a window is two lookups whatever ``k``.

    Examples
    --------
    >>> hi, lo = sliding_extremes(np.array([1.0, 3.0, 2.0, 0.0, 5.0]), 2)
    >>> hi.tolist(), lo.tolist()
    ([3.0, 3.0, 2.0, 5.0], [1.0, 2.0, 0.0, 0.0])
    """
    n = v.size
    suf_hi, suf_lo = np.empty(n), np.empty(n)
    for a in range(0, n, k):
        b = min(a + k, n)
        _suffixes(v, a, b, suf_hi[a:b], suf_lo[a:b])
    out_hi, out_lo = np.empty(n - k + 1), np.empty(n - k + 1)
    for a in range(0, n, k):
        b = min(a + k, n)
        hi = lo = v[a]
        for e in range(a, b):
            x = v[e]
            hi = x if x > hi else hi
            lo = x if x < lo else lo
            i = e - k + 1
            if i >= 0:
                out_hi[i] = suf_hi[i] if suf_hi[i] > hi else hi
                out_lo[i] = suf_lo[i] if suf_lo[i] < lo else lo
    return out_hi, out_lo


@njit
def fast_windows(speed: FloatArray, k: int, min_speed_kt: float) -> BoolArray:
    """For odd ``k``: whether the median of each window ``speed[i:i + k]`` is at
    least ``min_speed_kt`` (at most ``k // 2`` values below it, or NaN: none NaN)."""
    m = speed.size - k + 1
    out = np.zeros(max(m, 0), dtype=np.bool_)
    low, nan = 0, 0
    for e in range(speed.size):
        v = speed[e]
        low += 0 if v >= min_speed_kt else 1
        nan += 1 if np.isnan(v) else 0
        i = e - k + 1
        if i > 0:
            w = speed[i - 1]
            low -= 0 if w >= min_speed_kt else 1
            nan -= 1 if np.isnan(w) else 0
        if i >= 0:
            out[i] = low <= k // 2 and nan == 0
    return out


@njit
def _segment_band(x: FloatArray, y: FloatArray, seg_start: IntArray, a: int, k: int) -> float:
    """The error margin of the segment that starts at ``a`` (see the module docstring)."""
    b = a
    total, big = 0.0, 0.0
    while b < x.size and seg_start[b] == a:
        total += abs(x[b]) + abs(y[b])
        big = max(big, abs(x[b]), abs(y[b]))
        b += 1
    length = b - a
    return 4.0 * (2.0 * length * _EPS * total / k + 4.0 * k * _EPS * big) + 1e-9


@njit
def _far(x: FloatArray, y: FloatArray, i: int, k: int) -> float:
    """Farthest distance from the naive centroid of window ``i``."""
    sx, sy = 0.0, 0.0
    for j in range(i, i + k):
        sx += x[j]
        sy += y[j]
    cx, cy = sx / k, sy / k
    far2 = 0.0
    for j in range(i, i + k):
        dx, dy = x[j] - cx, y[j] - cy
        far2 = max(far2, dx * dx + dy * dy)
    return float(np.sqrt(far2))


@njit
def _verdict(lower: float, upper: float, radius: float, band: float) -> int:
    """1 within, 0 beyond, -1 undecided."""
    if upper < radius - band:
        return 1
    if lower > radius + band:
        return 0
    return -1


@njit
def screen(
    x: FloatArray, y: FloatArray, seg_start: IntArray, k: int, cand: BoolArray, radius: float
) -> IntArray:
    """Per window start: 1 within ``radius``, 0 beyond, -1 undecided; 0 off ``cand``.

    Windows of ``cand`` lie within one segment (``seg_start`` gives each
    point's segment start).  A window with a non-finite coordinate is beyond,
    as the bounds of the definition come out NaN there.

    One pass: the window's far end walks the points, keeping each segment's
    running sums (the last ``k + 1`` of them), the count of non-finite points
    in the window and the extremes since the start of the end's block of
    ``k`` points; with the extremes from the start to the end of its own
    block (worked out when the start enters a block), that gives the
    window's extremes as :func:`sliding_extremes` does.
    """
    m = cand.size
    out = np.zeros(m, dtype=np.int64)
    if not cand.any():
        return out
    sxh, sxl, syh, syl = np.empty(k), np.empty(k), np.empty(k), np.empty(k)
    qx, qy = np.empty(k + 1), np.empty(k + 1)  # running sums, point j at j % (k + 1)
    sx = sy = 0.0
    pxh = pxl = pyh = pyl = 0.0
    nbad = 0
    band, band_seg = 0.0, -1
    for e in range(x.size):
        if seg_start[e] == e:
            sx = sy = 0.0
        sx += x[e]
        sy += y[e]
        qx[e % (k + 1)], qy[e % (k + 1)] = sx, sy
        nbad += 0 if np.isfinite(x[e]) and np.isfinite(y[e]) else 1
        if e >= k:
            nbad -= 0 if np.isfinite(x[e - k]) and np.isfinite(y[e - k]) else 1
        if e % k == 0:
            pxh = pxl = x[e]
            pyh = pyl = y[e]
        pxh = x[e] if x[e] > pxh else pxh
        pxl = x[e] if x[e] < pxl else pxl
        pyh = y[e] if y[e] > pyh else pyh
        pyl = y[e] if y[e] < pyl else pyl
        i = e - k + 1
        if i < 0 or i >= m:
            continue
        if i % k == 0:
            b = min(i + k, x.size)
            _suffixes(x, i, b, sxh, sxl)
            _suffixes(y, i, b, syh, syl)
        if not cand[i] or nbad > 0:
            continue
        j = i % k
        x_hi = sxh[j] if sxh[j] > pxh else pxh
        x_lo = sxl[j] if sxl[j] < pxl else pxl
        y_hi = syh[j] if syh[j] > pyh else pyh
        y_lo = syl[j] if syl[j] < pyl else pyl
        if seg_start[i] != band_seg:
            band_seg = seg_start[i]
            band = _segment_band(x, y, seg_start, band_seg, k)
        w, h = x_hi - x_lo, y_hi - y_lo
        v = _verdict(max(w, h) / 2.0, np.sqrt(w * w + h * h), radius, band)
        if v < 0:
            before_x = qx[(i - 1) % (k + 1)] if i > seg_start[i] else 0.0
            before_y = qy[(i - 1) % (k + 1)] if i > seg_start[i] else 0.0
            cx, cy = float((sx - before_x) / k), float((sy - before_y) / k)
            dx = max(x_hi - cx, cx - x_lo)
            dy = max(y_hi - cy, cy - y_lo)
            v = _verdict(max(dx, dy), np.sqrt(dx * dx + dy * dy), radius, band)
        if v < 0:
            far = _far(x, y, i, k)
            v = _verdict(far, far, radius, band)
        out[i] = v
    return out


@njit
def loiter_numbers(
    x: FloatArray,
    y: FloatArray,
    heading: FloatArray,
    alt: FloatArray,
    speed: FloatArray,
    starts: IntArray,
    stops: IntArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per loiter (rows: mean x, mean y, lowest and highest finite altitude,
    their count, total turn in degrees, median speed) and each point's offset
    from its loiter's mean position (x and y, loiters concatenated).

    The means, the sum of absolute turns and the median are numpy's
    (:mod:`overflight.patterns.reduce_jit`).
    """
    out = np.full((7, starts.size), np.nan)
    total = 0
    for r in range(starts.size):
        total += stops[r] - starts[r]
    dx, dy = np.empty(total), np.empty(total)
    p = 0
    for r in range(starts.size):
        a, z = starts[r], stops[r]
        ex, ey = np_mean(x[a:z]), np_mean(y[a:z])
        for i in range(a, z):
            dx[p], dy[p] = x[i] - ex, y[i] - ey
            p += 1
        lo, hi, m = np.inf, -np.inf, 0
        for v in alt[a:z]:
            if np.isfinite(v):
                lo, hi, m = min(lo, v), max(hi, v), m + 1
        out[0, r], out[1, r], out[2, r], out[3, r], out[4, r] = ex, ey, lo, hi, m
        out[5, r] = np_sum(np.abs(np.diff(heading[a:z])))
        out[6, r] = middle(speed[a:z])
    return out, dx, dy


@njit
def run_percentiles(v: FloatArray, lengths: IntArray, q: float) -> FloatArray:
    """:func:`~overflight.patterns.reduce_jit.np_percentile` of consecutive pieces of ``v``."""
    out = np.empty(lengths.size)
    p = 0
    for r in range(lengths.size):
        out[r] = np_percentile(v[p : p + lengths[r]], q)
        p += lengths[r]
    return out
