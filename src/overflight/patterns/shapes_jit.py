"""Compiled numbers of every reversal chain: racetrack or grid, and its details.

:func:`overflight.patterns.racetrack.shape_events` decides each chain of
reversing legs (:func:`overflight.patterns.legs.chain_bounds`) from the legs'
cross-track offsets (:func:`~overflight.patterns.legs.leg_offsets`), the
racetrack test (turns mostly one way, even and odd legs each on one line)
and the grid test (:func:`~overflight.patterns.grid.grid_details`): a dozen
small numpy calls per chain, which dominated with hundreds of chains per
batch.  The walk over chains is therefore one compiled loop
(:func:`overflight.jit.njit`) here, with the arithmetic of those numpy
definitions: means, sums and medians from :mod:`overflight.patterns.reduce_jit`,
the wrap of :mod:`overflight.patterns.batch_jit`, products and differences in
the same order.  The sines and cosines (of the leg courses, the chain axes and
the chains' latitudes) are numpy's, computed for all chains at once by the
caller; the tests compare every chain with the numpy definitions.
"""

from __future__ import annotations

import numpy as np

from overflight.jit import njit
from overflight.patterns.batch_jit import wrap180
from overflight.patterns.reduce_jit import np_mean, np_median, np_sum
from overflight.patterns.turns import NM_PER_DEG, FloatArray, IntArray

#: Rows of the per-chain table :func:`chain_numbers` returns.
COLUMNS = (
    "shape",  # 0 neither, 1 racetrack, 2 grid
    "latitude",
    "longitude",
    "leg_nm",
    "leg_s",
    "alt_min",
    "alt_max",
    "n_alt",
    "speed",
    "width",  # racetrack: between the two lines; grid: across all lines
    "n_lines",
    "spacing",
)


@njit
def axis_sums(
    sin2c: FloatArray, cos2c: FloatArray, c0: IntArray, c1: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Per chain (legs ``c0:c1``), ``sin2c[legs].sum()`` and ``cos2c[legs].sum()``."""
    s, c = np.empty(c0.size), np.empty(c0.size)
    for i in range(c0.size):
        s[i] = np_sum(sin2c[c0[i] : c1[i]])
        c[i] = np_sum(cos2c[c0[i] : c1[i]])
    return s, c


@njit
def _mid(start: IntArray, stop: IntArray, a: int, b: int) -> IntArray:
    """Middle grid point of legs ``a:b``."""
    return (start[a:b] + stop[a:b] - 1) // 2


@njit
def mid_means(
    lat: FloatArray, lon: FloatArray, start: IntArray, stop: IntArray, c0: IntArray, c1: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Per chain, the mean latitude and longitude of its legs' middle points."""
    la, lo = np.empty(c0.size), np.empty(c0.size)
    for i in range(c0.size):
        mid = _mid(start, stop, c0[i], c1[i])
        la[i] = np_mean(lat[mid])
        lo[i] = np_mean(lon[mid])
    return la, lo


@njit
def _ptp(v: FloatArray) -> float:
    return float(v.max() - v.min())


@njit
def chain_numbers(
    lat: FloatArray,
    lon: FloatArray,
    alt: FloatArray,
    speed: FloatArray,
    start: IntArray,
    stop: IntArray,
    length: FloatArray,
    duration: FloatArray,
    turn_after: FloatArray,
    c0: IntArray,
    c1: IntArray,
    lat0: FloatArray,
    lon0: FloatArray,
    coslat0: FloatArray,
    ux: FloatArray,
    uy: FloatArray,
    line_tol_nm: float,
    min_grid_legs: int,
    min_grid_lines: int,
    grid_line_tol_nm: float,
) -> FloatArray:
    """Per chain (legs ``c0:c1``), the rows of :data:`COLUMNS`.

    ``lat0``/``lon0`` are the chains' :func:`mid_means`, ``coslat0`` the cosine
    of ``lat0`` (radians), ``ux``/``uy`` the sine and cosine of each chain's axis.
    """
    out = np.full((len(COLUMNS), c0.size), np.nan)
    for i in range(c0.size):
        la, lb = c0[i], c1[i]
        n = lb - la
        mid = _mid(start, stop, la, lb)
        cross = np.empty(n)
        for j in range(n):
            x = wrap180(lon[mid[j]] - lon0[i]) * NM_PER_DEG * coslat0[i]
            y = (lat[mid[j]] - lat0[i]) * NM_PER_DEG
            cross[j] = x * uy[i] - y * ux[i]
        a, z = start[la], stop[lb - 1]
        lo, hi, m = np.inf, -np.inf, 0
        for v in alt[a:z]:
            if np.isfinite(v):
                lo, hi, m = min(lo, v), max(hi, v), m + 1
        legs_nm = length[la:lb]
        leg_nm = np_median(legs_nm)
        out[1, i], out[2, i] = np_mean(lat[a:z]), np_mean(lon[a:z])
        out[3, i], out[4, i] = leg_nm, np_median(duration[la:lb])
        out[5, i], out[6, i], out[7, i] = lo, hi, m
        out[8, i] = np_median(speed[a:z])
        turns = turn_after[la : lb - 1]
        right = np.count_nonzero(turns > 0)
        left = np.count_nonzero(turns < 0)
        same_way = max(right, left) / turns.size
        tol = 0.2 * leg_nm if 0.2 * leg_nm > line_tol_nm else line_tol_nm  # Python's max
        even, odd = cross[0::2].copy(), cross[1::2].copy()
        tight = _ptp(even) <= tol and (odd.size < 2 or _ptp(odd) <= tol)
        if same_way >= 0.75 and tight:
            out[0, i] = 1.0
            out[9, i] = abs(np_median(even) - np_median(odd))
            continue
        d = np.diff(np.sort(cross))
        gaps = d[d > grid_line_tol_nm]
        n_lines = gaps.size + 1
        if n < min_grid_legs or n_lines < min_grid_lines:
            out[0, i] = 0.0
            continue
        out[0, i] = 2.0
        out[9, i] = _ptp(cross)
        out[10, i] = n_lines
        out[11, i] = np_median(gaps) if gaps.size else 0.0
    return out
