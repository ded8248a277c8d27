"""numpy's reductions of small float64 arrays, bit for bit, for compiled loops.

The detectors report means, medians and percentiles of each event's points.
Inside a compiled loop (:func:`overflight.jit.njit`) these must give exactly
what numpy gives, not merely close values:

* :func:`np_sum` / :func:`np_mean`: numpy's pairwise summation of a
  contiguous array (eight interleaved partial sums per block of up to 128
  values, the block halves added recursively) added to ``0.0``;
* :func:`np_median`: the mean (as above) of the one or two middle values;
* :func:`middle`: :func:`overflight.patterns.batch.median`, which averages
  the two middle values directly;
* :func:`np_percentile`: the ``linear`` method's virtual index and its
  two-sided interpolation.

Order statistics come from the quickselect of
:mod:`overflight.jit` (cheaper to compile and to run than
numba's ``np.sort``/``np.median``).  The tests compare each with numpy on
random and real data.
"""

from __future__ import annotations

import numpy as np

from overflight.jit import below, median_of, njit, select
from overflight.patterns.turns import FloatArray


@njit
def _leaf(a: FloatArray, lo: int, n: int) -> float:
    """numpy's pairwise sum of ``a[lo:lo + n]`` for ``n <= 128``."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r = a[lo : lo + 8].copy()
    i = 8
    while i < n - (n % 8):
        for j in range(8):
            r[j] += a[lo + i + j]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        res += a[lo + i]
        i += 1
    return float(res)


@njit
def _half(n: int) -> int:
    h = n // 2
    return h - h % 8


@njit
def _pairwise(a: FloatArray, lo: int, n: int) -> float:
    """numpy's pairwise sum of ``a[lo:lo + n]``: blocks of at most 128 summed
    by :func:`_leaf`, halves added, the recursion unrolled onto a stack (numba
    cannot cache recursive functions)."""
    if n <= 128:
        return _leaf(a, lo, n)
    los = np.empty(64, dtype=np.int64)
    ns = np.empty(64, dtype=np.int64)
    left_done = np.zeros(64, dtype=np.bool_)
    left = np.empty(64)
    d, los[0], ns[0] = 0, lo, n
    ret, returning = 0.0, False
    while d >= 0:
        if returning:
            if left_done[d]:
                ret = left[d] + ret
                d -= 1
                continue
            left[d], left_done[d] = ret, True
            h = _half(ns[d])
            los[d + 1], ns[d + 1], left_done[d + 1] = los[d] + h, ns[d] - h, False
            d += 1
            returning = False
        elif ns[d] <= 128:
            ret = _leaf(a, los[d], ns[d])
            d -= 1
            returning = True
        else:
            los[d + 1], ns[d + 1], left_done[d + 1] = los[d], _half(ns[d]), False
            d += 1
    return ret


@njit
def np_sum(a: FloatArray) -> float:
    """``float(np.sum(a))`` of a 1-D float64 array.

    Examples
    --------
    >>> v = np.linspace(0.1, 7.3, 300) ** 3
    >>> np_sum(v) == float(np.sum(v))
    True
    """
    return 0.0 + _pairwise(a, 0, a.size)


@njit
def np_mean(a: FloatArray) -> float:
    """``float(np.mean(a))`` of a non-empty 1-D float64 array."""
    return np_sum(a) / a.size


@njit
def middle(a: FloatArray) -> float:
    """:func:`overflight.patterns.batch.median`: the middle value, or
    ``(lower + upper) / 2.0`` of the two middle ones; NaN when empty or any
    NaN.  (``np.median`` differs from it only in the sign of a zero.)

    Examples
    --------
    >>> middle(np.array([3.0, 1.0, 2.0, 10.0]))
    2.5
    """
    if a.size == 0 or np.isnan(a).any():
        return np.nan
    return median_of(a.copy(), a.size)


@njit
def _two_middle(a: FloatArray) -> tuple[float, float]:
    """The lower and upper middle values of a non-empty array without NaN."""
    b = a.copy()
    h = b.size // 2
    select(b, h)
    return (b[h], b[h]) if b.size % 2 else (below(b, h), b[h])


@njit
def np_median(a: FloatArray) -> float:
    """``float(np.median(a))`` of a 1-D float64 array, bit for bit: numpy takes
    the mean of the middle one or two values.

    Examples
    --------
    >>> np_median(np.array([-0.0])), np_median(np.array([4.0, 1.0, 3.0, 2.0]))
    (0.0, 2.5)
    """
    if a.size == 0 or np.isnan(a).any():
        return np.nan
    lo, hi = _two_middle(a)
    if a.size % 2:
        return np_mean(np.array([lo]))
    return np_mean(np.array([lo, hi]))


@njit
def np_percentile(a: FloatArray, q: float) -> float:
    """``float(np.percentile(a, q))`` (linear method) of a non-empty 1-D array.

    Examples
    --------
    >>> v = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 9.0])
    >>> np_percentile(v, 95) == float(np.percentile(v, 95))
    True
    """
    if np.isnan(a).any():
        return np.nan
    n = a.size
    v = (n - 1) * (q / 100.0)
    if v >= n - 1:
        return float(a.max())
    prev = int(np.floor(v))
    gamma = v - prev
    b = a.copy()
    select(b, prev + 1)
    lo, hi = below(b, prev + 1), b[prev + 1]
    diff = hi - lo
    if gamma >= 0.5:
        return float(hi - diff * (1 - gamma))
    return float(lo + diff * gamma)
