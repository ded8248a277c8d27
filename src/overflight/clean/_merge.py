"""Compiled sorts for the clean stage's orders (:mod:`overflight.jit`).

:func:`merge_runs`: stable in-place sort of nearly sorted keys, a natural
merge sort.

:func:`overflight.clean._loops.group_order` sorts each aircraft's messages by
time.  A partition of a feed holds each aircraft as a few stretches that are
each in time order (one per receiver, file or spill) and overlap in time;
merging those stretches costs a few passes, where ``np.argsort`` (even
``kind="stable"``) sorts from scratch.  On a 1,000,000-message partition
(1,156 aircraft in 4,200 stretches; 400,000 messages belong to aircraft
not in time order) the sort of :func:`overflight.clean.to_positions` went
from about 30 ms (two stable argsorts of the whole table) to about 9 ms.

:func:`block_order`: the order of rows tying on aircraft and time by their
tie-break keys (:func:`overflight.clean._arrays.sort_order`).  The ties come
in blocks of two or three rows (50,000 rows on that partition), where
``np.lexsort`` over all of them cost about 4 ms; an insertion sort per block
costs a fraction of a millisecond.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from overflight.jit import njit

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

__all__ = ["block_order", "merge_runs"]

#: Largest block :func:`block_order` sorts itself (insertion sort, quadratic).
MAX_BLOCK = 64


@njit
def merge_runs(keys: IntArray, rows: IntArray) -> None:
    """Sort ``rows`` (and ``keys``) in place by ``keys``, stable: a natural merge sort.

    The ascending runs already there are merged pairwise, so a group made of
    a few time-ordered stretches (one per receiver or file) costs a few
    passes, not a full sort.

    Examples
    --------
    >>> import numpy as np
    >>> keys, rows = np.array([3, 5, 1, 4, 4]), np.arange(5)
    >>> merge_runs(keys, rows)
    >>> rows.tolist(), keys.tolist()
    ([2, 0, 3, 4, 1], [1, 3, 4, 4, 5])
    """
    n = len(keys)
    bounds = np.empty(n + 1, dtype=np.int64)
    m = 0
    for i in range(n):
        if i == 0 or keys[i] < keys[i - 1]:
            bounds[m] = i
            m += 1
    bounds[m] = n
    k_buf, r_buf = np.empty_like(keys), np.empty_like(rows)
    k_src, r_src, k_dst, r_dst = keys, rows, k_buf, r_buf
    while m > 1:
        new_m = 0
        for j in range(0, m, 2):
            lo, mid = bounds[j], bounds[j + 1]
            hi = bounds[j + 2] if j + 2 <= m else mid
            a, b, o = lo, mid, lo
            while a < mid and b < hi:
                if k_src[b] < k_src[a]:  # the left one first on ties: stable
                    k_dst[o], r_dst[o] = k_src[b], r_src[b]
                    b += 1
                else:
                    k_dst[o], r_dst[o] = k_src[a], r_src[a]
                    a += 1
                o += 1
            while a < mid:
                k_dst[o], r_dst[o] = k_src[a], r_src[a]
                a += 1
                o += 1
            while b < hi:
                k_dst[o], r_dst[o] = k_src[b], r_src[b]
                b += 1
                o += 1
            bounds[new_m] = lo
            new_m += 1
        bounds[new_m] = n
        m = new_m
        k_src, r_src, k_dst, r_dst = k_dst, r_dst, k_src, r_src
    if r_src is not rows:
        keys[:] = k_src
        rows[:] = r_src


@njit
def _before(keys: FloatArray, a: int, b: int) -> bool:
    """Row a of ``keys`` sorts strictly before row b: lexicographic, NaN last (as numpy)."""
    for k in range(keys.shape[1]):
        x, y = keys[a, k], keys[b, k]
        if x != x:
            if y != y:
                continue
            return False
        if y != y or x < y:
            return True
        if y < x:
            return False
    return False


@njit
def _block_order(bounds: IntArray, keys: FloatArray, perm: IntArray) -> None:
    for b in range(len(bounds) - 1):
        lo, hi = bounds[b], bounds[b + 1]
        for i in range(lo, hi):
            perm[i] = i
        for i in range(lo + 1, hi):
            cur = perm[i]
            j = i - 1
            while j >= lo and _before(keys, cur, perm[j]):  # strictly: stable
                perm[j + 1] = perm[j]
                j -= 1
            perm[j + 1] = cur


def block_order(block: IntArray, keys: list[npt.NDArray[np.generic]]) -> IntArray:
    """``np.lexsort((*reversed(keys), block))`` for ``block`` sorted: stable, by block then keys.

    ``keys`` are most significant first.  Blocks longer than
    :data:`MAX_BLOCK`, or keys that float64 does not hold exactly, go to
    ``np.lexsort``.

    Examples
    --------
    >>> import numpy as np
    >>> block_order(np.array([1, 1, 2, 2, 2]),
    ...     [np.array([5.0, 1.0, np.nan, 2.0, 2.0]), np.array([0, 0, 0, 9, 3])]).tolist()
    [1, 0, 4, 3, 2]
    """
    n = len(block)
    start = np.flatnonzero(np.r_[True, block[1:] != block[:-1]]) if n else np.zeros(0, np.int64)
    bounds = np.r_[start, n].astype(np.int64)
    exact = all(_exact_float(k) for k in keys)
    if not exact or n == 0 or int(np.diff(bounds).max()) > MAX_BLOCK:
        out: IntArray = np.lexsort((*reversed(keys), block)).astype(np.int64)
        return out
    mat = np.empty((n, len(keys)), dtype=np.float64)
    for i, k in enumerate(keys):
        mat[:, i] = k
    perm = np.empty(n, dtype=np.int64)
    _block_order(bounds, mat, perm)
    return perm


def _exact_float(k: npt.NDArray[np.generic]) -> bool:
    """Whether float64 holds every value of ``k`` exactly (so comparisons agree)."""
    if k.dtype.kind == "f":
        return k.dtype.itemsize <= 8
    if k.dtype.kind == "b":
        return True
    if k.dtype.kind in "iu":
        return len(k) == 0 or max(-int(k.min()), int(k.max())) < 2**53
    return False
