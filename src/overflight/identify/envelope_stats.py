"""Per-flight sums, medians and spread of the envelope test in one compiled pass.

:func:`group_stats` walks each flight's points in time order once: the time
weight of a point is the interval to the next point of its flight, a missing
vertical rate is derived from the previous point, and every weighted band
fraction, the medians of ground speed and altitude and the standard
deviation of the vertical rate are accumulated on the way.  The walk is
sequential by nature (each point looks at its neighbours and every sum runs
in point order), so it is compiled with :func:`overflight.jit.njit` instead
of a dozen whole-column numpy passes and a pandas group-by.

The arithmetic is that of the column-wise definition, operation for
operation: sums in point order as ``numpy.bincount`` adds them, medians as
pandas takes them (NaN skipped, mean of the two middle values), the standard
deviation by the running (Welford) update pandas' group-by uses, ``ddof=1``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from overflight.jit import median_of, njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class GroupStats(NamedTuple):
    """One entry per flight (see :func:`group_stats`)."""

    n_points: IntArray
    duration_h: FloatArray
    median_gs: FloatArray
    median_alt: FloatArray
    tracked_s: FloatArray
    """Sum of the time weights."""
    male_s: FloatArray
    tactical_s: FloatArray
    hale_s: FloatArray
    level_s: FloatArray
    """Weight of the points with a finite, level vertical rate."""
    has_vr_s: FloatArray
    """Weight of the points with a finite vertical rate."""
    vr_std: FloatArray


@njit
def _inside(x: float, lo: float, hi: float) -> bool:
    return x >= lo and x <= hi


@njit
def _sums(
    rows: IntArray,
    t: FloatArray,
    alt: FloatArray,
    gs: FloatArray,
    vr_in: FloatArray,
    limits: FloatArray,
    out: FloatArray,
) -> None:
    """Weighted band sums and the vertical-rate spread of one flight's rows."""
    max_gap, level_fpm = limits[0], limits[1]
    sums = np.zeros(6)  # tracked, male, tactical, hale, level, has_vr
    nobs, mean, m2 = 0, 0.0, 0.0
    n = rows.size
    for j in range(n):
        i = rows[j]
        w = 0.0
        if j + 1 < n:
            w = min(max(t[rows[j + 1]] - t[i], 0.0), max_gap)
        vr = vr_in[i]
        if np.isnan(vr) and j > 0:
            p = rows[j - 1]
            dt = t[i] - t[p]
            if dt > 0 and dt <= max_gap:
                vr = (alt[i] - alt[p]) / dt * 60.0
        sums[0] += w
        if _inside(gs[i], limits[2], limits[3]) and _inside(alt[i], limits[4], limits[5]):
            sums[1] += w
        if _inside(gs[i], limits[6], limits[7]) and _inside(alt[i], limits[8], limits[9]):
            sums[2] += w
        if alt[i] >= limits[10]:
            sums[3] += w
        if np.isfinite(vr):
            sums[5] += w
            if abs(vr) <= level_fpm:
                sums[4] += w
            nobs += 1
            old = mean
            mean += (vr - old) / nobs
            m2 += (vr - mean) * (vr - old)
    out[3:9] = sums
    if nobs > 1:
        out[9] = np.sqrt(m2 / (nobs - 1))


@njit
def _median_at(rows: IntArray, v: FloatArray, buf: FloatArray) -> float:
    m = 0
    for i in rows:
        if not np.isnan(v[i]):
            buf[m] = v[i]
            m += 1
    return median_of(buf, m)


@njit
def _kernel(
    rows: IntArray,
    code: IntArray,
    t: FloatArray,
    alt: FloatArray,
    gs: FloatArray,
    vr_in: FloatArray,
    limits: FloatArray,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Flight codes, point counts, and the ten float columns of
    :class:`GroupStats` as rows, for rows sorted by flight then time."""
    starts = [0]
    for j in range(1, rows.size):
        if code[rows[j]] != code[rows[j - 1]]:
            starts.append(j)
    starts.append(rows.size)
    k = len(starts) - 1
    groups = np.empty(k, dtype=np.int64)
    counts = np.empty(k, dtype=np.int64)
    out = np.full((10, k), np.nan)
    buf = np.empty(rows.size)
    for g in range(k):
        r = rows[starts[g] : starts[g + 1]]
        groups[g], counts[g] = code[r[0]], r.size
        out[0, g] = (t[r[-1]] - t[r[0]]) / 3600.0
        out[1, g] = _median_at(r, gs, buf)
        out[2, g] = _median_at(r, alt, buf)
        _sums(r, t, alt, gs, vr_in, limits, out[:, g])
    return groups, counts, out


@njit
def is_sorted(rows: IntArray, code: IntArray, t: FloatArray) -> bool:
    """Whether ``rows`` visit the points by flight code, then time."""
    for j in range(1, rows.size):
        a, b = rows[j - 1], rows[j]
        if code[b] < code[a] or (code[b] == code[a] and t[b] < t[a]):
            return False
    return True


def group_stats(
    rows: IntArray,
    code: IntArray,
    t: FloatArray,
    alt: FloatArray,
    gs: FloatArray,
    vr: FloatArray,
    limits: FloatArray,
) -> tuple[IntArray, GroupStats]:
    """Envelope numbers of each flight, from the points ``rows`` (sorted by
    flight ``code`` then time ``t``); returns the flights' codes too.

    ``limits`` holds max_gap_s, level_fpm, the MALE speed and altitude bands,
    the tactical ones (low, high each) and the HALE floor, in that order.

    Examples
    --------
    >>> t = np.array([0.0, 60.0, 120.0])
    >>> lim = np.array([300, 300, 60, 200, 5e3, 3e4, 25, 110, 300, 15e3, 5e4], float)
    >>> g, s = group_stats(np.arange(3), np.zeros(3, np.int64), t, np.full(3, 9000.0),
    ...                    np.full(3, 90.0), np.full(3, np.nan), lim)
    >>> s.male_s.tolist(), s.tactical_s.tolist(), s.has_vr_s.tolist()
    ([120.0], [120.0], [60.0])
    """
    if rows.size == 0:
        e = np.empty(0)
        return np.empty(0, np.int64), GroupStats(np.empty(0, np.int64), *([e] * 10))
    groups, counts, out = _kernel(rows, code, t, alt, gs, vr, limits)
    return groups, GroupStats(counts, *(np.ascontiguousarray(row) for row in out))
