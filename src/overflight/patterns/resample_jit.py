"""Compiled per-flight loops of the resampling: grid, interpolation, cadence.

Resampling walks each flight's fixes in time order: split them at gaps, lay
a regular grid over each piece, interpolate position and altitude at every
grid time, and take the median interval between fixes.  In numpy that is a
dozen small calls per flight (``arange``, ``interp``, ``diff``,
``partition``), and with thousands of short flights the call overhead
dominated; :func:`resample_fixes` does the same walk as one loop compiled
with :func:`overflight.jit.njit`.

Every value is computed as numpy computes it, bit for bit: the grid as
``np.arange(first, last + 1e-9, step_s)`` fills it (``start + i * delta``
with ``delta = (start + step) - start``), interpolation as ``np.interp``
(same bracketing, same slope formula, same NaN fallbacks), the cadence as
:func:`overflight.patterns.batch.median`.  Transcendental functions are
left to numpy elsewhere.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from overflight.jit import njit
from overflight.patterns.reduce_jit import middle

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@njit
def arange_size(start: float, stop: float, step: float) -> int:
    """``np.arange(start, stop, step).size`` for finite floats.

    Examples
    --------
    >>> arange_size(0.0, 30.0 + 1e-9, 10.0), arange_size(1.7e9, 1.7e9 + 1e-9, 10.0)
    (4, 0)
    """
    delta = stop - start
    ratio = delta / step
    if ratio == 0.0 and delta != 0.0:
        return 0 if np.signbit(ratio) else 1
    return max(int(np.ceil(ratio)), 0)


@njit
def _fill_arange(out: FloatArray, start: float, step: float) -> None:
    """Write ``np.arange`` values from ``start`` by ``step`` into all of ``out``."""
    n = out.size
    if n > 0:
        out[0] = start
    if n > 1:
        out[1] = start + step
        delta = out[1] - start
        for i in range(2, n):
            out[i] = start + i * delta


@njit
def _interp(x: FloatArray, xp: FloatArray, fp: FloatArray, out: FloatArray) -> None:
    """``out[:] = np.interp(x, xp, fp)`` for ascending ``x``, increasing ``xp``."""
    n = xp.size
    j = 0
    for i in range(x.size):
        v = x[i]
        if n == 1:
            out[i] = fp[0]
            continue
        if np.isnan(v):
            out[i] = v
            continue
        if v < xp[0]:
            out[i] = fp[0]
            continue
        if v > xp[n - 1]:
            out[i] = fp[n - 1]
            continue
        if v < xp[j]:
            j = 0
        while j + 1 < n and xp[j + 1] <= v:
            j += 1
        if j == n - 1 or xp[j] == v:
            out[i] = fp[j]
            continue
        slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
        r = slope * (v - xp[j]) + fp[j]
        if np.isnan(r):
            r = slope * (v - xp[j + 1]) + fp[j + 1]
            if np.isnan(r) and fp[j] == fp[j + 1]:
                r = fp[j]
        out[i] = r


@njit
def _segments(t: FloatArray, a: int, b: int, max_gap_s: float) -> IntArray:
    """Fix indices where each segment of fixes ``a:b`` starts, plus ``b``."""
    cuts = np.empty(b - a + 1, dtype=np.int64)
    cuts[0], m = a, 1
    for i in range(a + 1, b):
        if t[i] - t[i - 1] > max_gap_s:
            cuts[m], m = i, m + 1
    cuts[m] = b
    return cuts[: m + 1]


@njit
def _grid_sizes(
    t: FloatArray, start: IntArray, kept: IntArray, max_gap_s: float, step_s: float
) -> IntArray:
    """Grid points of each kept flight."""
    sizes = np.zeros(kept.size, dtype=np.int64)
    for k in range(kept.size):
        f = kept[k]
        cuts = _segments(t, start[f], start[f + 1], max_gap_s)
        for s in range(cuts.size - 1):
            sizes[k] += arange_size(t[cuts[s]], t[cuts[s + 1] - 1] + 1e-9, step_s)
    return sizes


@njit
def _flight(
    t: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    alt_all: FloatArray,
    a: int,
    b: int,
    max_gap_s: float,
    step_s: float,
    out: FloatArray,
    seg: IntArray,
) -> float:
    """Resample fixes ``a:b`` into ``out`` (rows: t, lat, lon, alt) and ``seg``;
    return the cadence."""
    cuts = _segments(t, a, b, max_gap_s)
    g = 0
    for s in range(cuts.size - 1):
        first, last = t[cuts[s]], t[cuts[s + 1] - 1]
        m = arange_size(first, last + 1e-9, step_s)
        _fill_arange(out[0, g : g + m], first, step_s)
        seg[g : g + m] = s
        g += m
    tf = t[a:b]
    grid = out[0]
    _interp(grid, tf, lat[a:b], out[1])
    _interp(grid, tf, lon[a:b], out[2])
    alt = alt_all[a:b]
    ok = np.isfinite(alt)
    if ok.all():
        _interp(grid, tf, alt, out[3])
    elif ok.any():
        _interp(grid, tf[ok], alt[ok], out[3])
    else:
        out[3, :] = np.nan
    return middle(np.diff(tf))


@njit
def resample_fixes(
    t: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    alt: FloatArray,
    start: IntArray,
    kept: IntArray,
    max_gap_s: float,
    step_s: float,
) -> tuple[FloatArray, IntArray, IntArray, FloatArray]:
    """Grid every kept flight of sorted fixes.

    The longitude is in degrees, unwrapped per flight; flight f is fixes
    ``start[f]:start[f + 1]``.  Returns
    the grids (rows: t, latitude, longitude, altitude; the longitude not yet
    wrapped), each grid point's segment number within its flight, the grid
    offsets of the kept flights and their cadences.
    """
    sizes = _grid_sizes(t, start, kept, max_gap_s, step_s)
    offsets = np.zeros(kept.size + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(sizes)
    out = np.empty((4, offsets[-1]))
    seg = np.empty(offsets[-1], dtype=np.int64)
    cadence = np.zeros(kept.size)
    for k in range(kept.size):
        f, g0, g1 = kept[k], offsets[k], offsets[k + 1]
        view = out[:, g0:g1]
        a, b = start[f], start[f + 1]
        cadence[k] = _flight(t, lat, lon, alt, a, b, max_gap_s, step_s, view, seg[g0:g1])
    return out, seg, offsets, cadence
