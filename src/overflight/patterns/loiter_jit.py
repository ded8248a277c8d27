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
from overflight.patterns.reduce_jit import middle, np_mean, np_sum
from overflight.patterns.turns import BoolArray, FloatArray, IntArray

_EPS = float(np.finfo(np.float64).eps)


@njit
def _block_max(v: FloatArray, k: int) -> tuple[FloatArray, FloatArray]:
    """Running maxima within blocks of ``k`` points, forward and backward."""
    n = v.size
    pre, suf = np.empty(n), np.empty(n)
    for blk in range((n + k - 1) // k):
        a = blk * k
        b = min(a + k, n)
        m = v[a]
        for i in range(a, b):
            if v[i] > m:
                m = v[i]
            pre[i] = m
        m = v[b - 1]
        for j in range(b - a):
            i = b - 1 - j
            if v[i] > m:
                m = v[i]
            suf[i] = m
    return pre, suf


@njit
def _sliding_max(v: FloatArray, k: int) -> FloatArray:
    """Maximum of every window ``v[i:i + k]`` (van Herk / Gil-Werman)."""
    pre, suf = _block_max(v, k)
    out = np.empty(v.size - k + 1)
    for i in range(out.size):
        out[i] = max(suf[i], pre[i + k - 1])
    return out


@njit
def sliding_extremes(v: FloatArray, k: int) -> tuple[FloatArray, FloatArray]:
    """Maximum and minimum of every window ``v[i:i + k]`` of a finite array.

    Examples
    --------
    >>> hi, lo = sliding_extremes(np.array([1.0, 3.0, 2.0, 0.0, 5.0]), 2)
    >>> hi.tolist(), lo.tolist()
    ([3.0, 3.0, 2.0, 5.0], [1.0, 2.0, 0.0, 0.0])
    """
    return _sliding_max(v, k), -_sliding_max(-v, k)


@njit
def _segment_bands(x: FloatArray, y: FloatArray, seg_start: IntArray, k: int) -> FloatArray:
    """Per point, the error margin of its segment (see the module docstring)."""
    n = x.size
    band = np.empty(n)
    a = 0
    while a < n:
        b = a
        total, big = 0.0, 0.0
        while b < n and seg_start[b] == a:
            total += abs(x[b]) + abs(y[b])
            big = max(big, abs(x[b]), abs(y[b]))
            b += 1
        length = b - a
        band[a:b] = 4.0 * (2.0 * length * _EPS * total / k + 4.0 * k * _EPS * big) + 1e-9
        a = b
    return band


@njit
def _running(v: FloatArray, seg_start: IntArray) -> FloatArray:
    """Inclusive running sum of ``v``, restarting at every segment."""
    out = np.empty(v.size)
    s = 0.0
    for i in range(v.size):
        if seg_start[i] == i:
            s = 0.0
        s += v[i]
        out[i] = s
    return out


@njit
def _window_mean(q: FloatArray, seg_start: IntArray, i: int, k: int) -> float:
    before = q[i - 1] if i > seg_start[i] else 0.0
    return float((q[i + k - 1] - before) / k)


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
def _nonfinite_before(x: FloatArray, y: FloatArray) -> IntArray:
    """``c[i]``: how many of the first ``i`` points have a non-finite coordinate."""
    c = np.zeros(x.size + 1, dtype=np.int64)
    for i in range(x.size):
        c[i + 1] = c[i] + (0 if np.isfinite(x[i]) and np.isfinite(y[i]) else 1)
    return c


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
    """
    out = np.zeros(cand.size, dtype=np.int64)
    if not cand.any():
        return out
    bad = _nonfinite_before(x, y)
    x_hi, x_lo = sliding_extremes(x, k)
    y_hi, y_lo = sliding_extremes(y, k)
    band = _segment_bands(x, y, seg_start, k)
    qx, qy = _running(x, seg_start), _running(y, seg_start)
    for i in range(cand.size):
        if not cand[i] or bad[i + k] > bad[i]:
            continue
        w, h = x_hi[i] - x_lo[i], y_hi[i] - y_lo[i]
        v = _verdict(max(w, h) / 2.0, np.sqrt(w * w + h * h), radius, band[i])
        if v < 0:
            cx, cy = _window_mean(qx, seg_start, i, k), _window_mean(qy, seg_start, i, k)
            dx = max(x_hi[i] - cx, cx - x_lo[i])
            dy = max(y_hi[i] - cy, cy - y_lo[i])
            v = _verdict(max(dx, dy), np.sqrt(dx * dx + dy * dy), radius, band[i])
        if v < 0:
            far = _far(x, y, i, k)
            v = _verdict(far, far, radius, band[i])
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
