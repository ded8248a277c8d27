"""Reductions over many flights laid end to end, equal to numpy's per flight.

The feature code concatenates every flight's arrays and reduces each flight's
slice at once.  Each function here returns, bit for bit, what the matching
numpy call returns on one slice (``np.sum``, ``np.mean``, ``np.std``,
``np.median``, ``np.percentile`` with linear interpolation), so the
vectorised features equal the ones computed flight by flight.

A *grouping* is given by ``counts``: group ``i`` holds the next ``counts[i]``
values.  Empty groups are allowed (their sum is 0).

Examples
--------
>>> v = np.array([1.0, 2.0, 4.0, 10.0, 20.0])
>>> c = np.array([3, 0, 2])
>>> group_sum(v, c).tolist()
[7.0, 0.0, 30.0]
>>> group_percentiles(v, np.array([3, 2]), (0.5,))[0].tolist()
[2.0, 15.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def starts_of(counts: IntArray) -> IntArray:
    """Index of the first value of each group."""
    out = np.zeros(counts.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=out[1:])
    return out


def group_ids(counts: IntArray) -> IntArray:
    """The group number of every value."""
    return np.repeat(np.arange(counts.size, dtype=np.int64), counts)


def group_sum(values: FloatArray, counts: IntArray) -> FloatArray:
    """``np.sum`` of each group (pairwise summation, the same rounding).

    ``np.add.reduceat`` seeds each group with its first value and so rounds
    differently from ``np.sum``; seeding every group with an inserted 0.0
    reproduces ``np.sum`` exactly.
    """
    if counts.size == 0:
        return np.empty(0)
    starts = starts_of(counts)
    padded = np.insert(np.asarray(values, dtype=np.float64), starts, 0.0)
    return np.add.reduceat(padded, starts + np.arange(counts.size))


def group_mean_std(values: FloatArray, counts: IntArray) -> tuple[FloatArray, FloatArray]:
    """``np.mean`` and ``np.std`` (population) of each non-empty group."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = group_sum(values, counts) / counts
        dev = values - np.repeat(mean, counts)
        var = group_sum(dev * dev, counts) / counts
    return mean, np.sqrt(var)


def sort_within(values: FloatArray, counts: IntArray) -> FloatArray:
    """The values sorted inside each group, groups kept in order."""
    out = np.array(values, dtype=np.float64)  # a copy, sorted in place slice by slice
    starts = starts_of(counts)
    for a, b in zip(starts.tolist(), (starts + counts).tolist(), strict=True):
        out[a:b].sort()
    return out


def _lerp(a: FloatArray, b: FloatArray, t: FloatArray) -> FloatArray:
    # numpy's own interpolation formula, which switches form at t = 0.5
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def group_percentiles(
    values: FloatArray, counts: IntArray, quantiles: Sequence[float]
) -> list[FloatArray]:
    """``np.percentile(v, 100 * q)`` (linear) of each group, one array per q.

    ``quantiles`` are fractions (0.1 for the 10th percentile), written as
    numpy derives them (``10 / 100``).  Empty groups give NaN.
    """
    srt = sort_within(values, counts)
    starts = starts_of(counts)
    ok = counts > 0
    n = np.where(ok, counts, 1)
    out: list[FloatArray] = []
    for q in quantiles:
        virtual = (n - 1) * np.float64(q)
        prev = np.floor(virtual)
        above = virtual >= n - 1
        lo = np.where(above, n - 1, prev).astype(np.int64)
        hi = np.where(above, n - 1, prev + 1).astype(np.int64)
        gamma = virtual - np.where(above, -1.0, prev)
        a = srt[np.minimum(starts + lo, srt.size - 1)] if srt.size else np.zeros(n.size)
        b = srt[np.minimum(starts + hi, srt.size - 1)] if srt.size else np.zeros(n.size)
        out.append(np.where(ok, _lerp(a, b, gamma), np.nan))
    return out


def group_median(values: FloatArray, counts: IntArray) -> FloatArray:
    """``np.median`` of each non-empty group (mean of the two middle values)."""
    srt = sort_within(values, counts)
    starts = starts_of(counts)
    half = counts // 2
    odd = counts % 2 == 1
    mid = srt[starts + half]
    below = srt[starts + np.maximum(half - 1, 0)]
    return np.asarray(np.where(odd, mid, (below + mid) / 2.0), dtype=np.float64)
