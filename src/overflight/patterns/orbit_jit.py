"""Compiled per-orbit geometry: cycle centres, radius terms, drift, altitude band.

An orbit run's numbers need a walk over its grid points (which 360° cycle a
point belongs to, running sums of each cycle's positions and times, the
finite altitudes in order); with hundreds of runs per batch the per-run numpy
calls dominated the detector.  :func:`orbit_numbers` does every run in one
compiled loop (:func:`overflight.jit.njit`) with the arithmetic of the numpy
definition in :mod:`overflight.patterns.orbit` (``np.bincount`` sums in point
order, ``np.mean`` and the batch median via
:mod:`overflight.patterns.reduce_jit`); the distances themselves
(``np.hypot``) are left to numpy, over all runs at once.
"""

from __future__ import annotations

import numpy as np

from overflight.jit import njit
from overflight.patterns.reduce_jit import middle, np_mean
from overflight.patterns.turns import FloatArray, IntArray

#: Columns of the per-run table :func:`orbit_numbers` returns.
COLUMNS = (
    "n_turns",
    "cx",
    "cy",
    "drift_dx",
    "drift_dy",
    "drift_dt",
    "alt_min",
    "alt_max",
    "alt_first",
    "alt_last",
    "n_alt",
    "speed",
)


@njit
def _cycles(rel: FloatArray) -> tuple[IntArray, int]:
    """Cycle of each point (the partial last one joins the previous) and their count."""
    n_full = int(np.floor(rel[-1] / 360.0))
    cyc = np.zeros(rel.size, dtype=np.int64)
    if n_full < 1:
        return cyc, 1
    for i in range(rel.size):
        c = int(np.floor(rel[i] / 360.0))
        cyc[i] = min(max(c, 0), n_full - 1)
    return cyc, n_full


@njit
def _cycle_means(cyc: IntArray, n_full: int, v: FloatArray, cnt: FloatArray) -> FloatArray:
    """``np.bincount(cyc, weights=v) / np.maximum(cnt, 1)``."""
    s = np.zeros(n_full)
    for i in range(v.size):
        s[cyc[i]] += v[i]
    for c in range(n_full):
        s[c] = s[c] / max(cnt[c], 1.0)
    return s


@njit
def _altitudes(alt: FloatArray, out: FloatArray) -> None:
    """``np.nanmin``, ``np.nanmax``, the first and last finite altitude and
    the number of finite ones, into ``out``."""
    lo, hi, first, last, m = np.inf, -np.inf, np.nan, np.nan, 0
    for v in alt:
        if not np.isnan(v):
            lo, hi = min(lo, v), max(hi, v)
        if np.isfinite(v):
            if m == 0:
                first = v
            last = v
            m += 1
    out[0], out[1], out[2], out[3], out[4] = lo, hi, first, last, m


@njit
def orbit_numbers(
    heading: FloatArray,
    x: FloatArray,
    y: FloatArray,
    t: FloatArray,
    alt: FloatArray,
    speed: FloatArray,
    starts: IntArray,
    stops: IntArray,
    signs: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per run (rows of :data:`COLUMNS`), and each run point's offset from its
    cycle centre (x and y, runs concatenated)."""
    out = np.full((len(COLUMNS), starts.size), np.nan)
    total = 0
    for r in range(starts.size):
        total += stops[r] - starts[r]
    dx, dy = np.empty(total), np.empty(total)
    p = 0
    for r in range(starts.size):
        a, z, sign = starts[r], stops[r], signs[r]
        rel = sign * (heading[a:z] - heading[a])
        cyc, n_full = _cycles(rel)
        cnt = np.zeros(n_full)
        for c in cyc:
            cnt[c] += 1.0
        cx = _cycle_means(cyc, n_full, x[a:z], cnt)
        cy = _cycle_means(cyc, n_full, y[a:z], cnt)
        ct = _cycle_means(cyc, n_full, t[a:z], cnt)
        for i in range(z - a):
            dx[p + i] = x[a + i] - cx[cyc[i]]
            dy[p + i] = y[a + i] - cy[cyc[i]]
        p += z - a
        out[0, r] = rel[-1] / 360.0
        out[1, r], out[2, r] = np_mean(cx), np_mean(cy)
        if n_full >= 2 and ct[-1] > ct[0]:
            out[3, r], out[4, r] = cx[-1] - cx[0], cy[-1] - cy[0]
            out[5, r] = ct[-1] - ct[0]
        _altitudes(alt[a:z], out[6:11, r])
        out[11, r] = middle(speed[a:z])
    return out, dx, dy


@njit
def run_medians(v: FloatArray, lengths: IntArray) -> FloatArray:
    """:func:`~overflight.patterns.batch.median` of consecutive pieces of ``v``."""
    out = np.empty(lengths.size)
    p = 0
    for r in range(lengths.size):
        out[r] = middle(v[p : p + lengths[r]])
        p += lengths[r]
    return out
