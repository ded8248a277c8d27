"""Compiled passes of the raw-fix histograms (:mod:`overflight.classify.fixes`).

The histograms walk every kept fix of every flight in order.  In numpy that
took a dozen passes over a million-element temporary each (gathers, the
neighbour differences, three ``np.digitize`` and ``np.bincount`` calls, six
``reduceat``); here it is a few loops compiled with :func:`overflight.jit.njit`
that read the columns through the kept row numbers, so that no column is
copied (a fresh array of a million values costs more in page faults than
the loop that fills it):

* :func:`kept_rows` picks the rows (:func:`overflight.jit.rows_in_order`
  checks their order) and :func:`seconds_at` converts their timestamps;
* :func:`missing` finds where the feed gave no course or speed; numpy
  computes those from positions (the trigonometry stays in numpy);
* :func:`bin_counts` bins steer, speed and altitude of each flight and takes
  its time and position extent.

A float column with nulls is read from its Arrow buffers: the values and the
validity bitmap (:func:`valid`).

Every value is what the numpy code computes, bit for bit: the time is
pandas' ``total_seconds`` formula (as :func:`overflight.patterns.fixes_jit.epoch_seconds`),
the steer is the same ``(b - a + 180.0) % 360.0 - 180.0`` (Python's float
modulo, as ``np.remainder``), a bin is ``np.digitize(v, bins) - 1`` clipped
(the number of edges ``<= v``), and the extents are plain minima, maxima and
differences.  The tests compare the result with pandas ``crosstab`` and
``groupby``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from overflight.classify.grouped import FloatArray, IntArray
from overflight.jit import njit
from overflight.patterns.batch_jit import wrap180
from overflight.patterns.fixes_jit import second_of

BoolArray = npt.NDArray[np.bool_]
ByteArray = npt.NDArray[np.uint8]

#: beyond this many nanoseconds (either sign) pandas nudges inexact seconds
_BIG = 2**53


@njit
def kept_rows(
    code: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    valid: BoolArray,
    onground: BoolArray,
    wanted: BoolArray,
) -> IntArray:
    """Rows with a position and a wanted flight (``code >= 0``), valid and airborne.

    Examples
    --------
    >>> yes = np.ones(4, bool)
    >>> kept_rows(np.array([0, -1, 1, 0]), np.array([0.0, 0.0, 0.0, np.nan]), np.zeros(4),
    ...     yes, ~yes, np.array([True, False])).tolist()
    [0]
    """
    m = 0
    for i in range(code.size):
        c = code[i]
        m += c >= 0 and wanted[c] and valid[i] and not onground[i]
    rows = np.empty(m, dtype=np.int64)  # all rows of wanted valid airborne fixes
    m = 0
    for i in range(code.size):
        c = code[i]
        if c >= 0 and wanted[c] and valid[i] and not onground[i]:
            rows[m] = i
            m += not (np.isnan(lat[i]) or np.isnan(lon[i]))
    return rows[:m]


@njit
def seconds_at(ns: IntArray, rows: IntArray) -> FloatArray:
    """``epoch_seconds(ns[rows])``: pandas' ``total_seconds`` of those nanoseconds.

    Examples
    --------
    >>> import pandas as pd
    >>> ns = np.array([1_700_000_000_000_000_001, 0, 1_500_000_000])
    >>> [float(v) for v in seconds_at(ns, np.array([2, 0]))] == list(
    ...     pd.TimedeltaIndex(ns[[2, 0]].view("m8[ns]")).total_seconds())
    True
    """
    nudge = False
    for r in rows:
        if ns[r] > _BIG or ns[r] < -_BIG:
            nudge = True
            break
    out = np.empty(rows.size)
    for i in range(rows.size):
        out[i] = second_of(ns[rows[i]], nudge)
    return out


@njit
def valid(bitmap: ByteArray, offset: int, r: int) -> bool:
    """Whether an Arrow validity ``bitmap`` (bit ``offset + r``) marks value ``r``
    valid; an empty bitmap means no nulls.

    (The callers read the value themselves: a compiled helper that returns
    the value or NaN made their loops several times slower.)

    Examples
    --------
    >>> bits = np.array([0b101], np.uint8)
    >>> [valid(bits, 0, r) for r in range(3)], valid(bits, 1, 0), valid(bits[:0], 0, 9)
    ([True, False, True], False, True)
    """
    if bitmap.size == 0:
        return True
    b = offset + r
    return bool((bitmap[b >> 3] >> (b & 7)) & 1)


@njit
def missing(
    rows: IntArray,
    code: IntArray,
    gs: FloatArray,
    gs_bits: ByteArray,
    gs_off: int,
    trk: FloatArray,
    trk_bits: ByteArray,
    trk_off: int,
    t: FloatArray,
) -> tuple[IntArray, IntArray]:
    """Positions in ``rows`` of the fixes without a finite track that follow a
    fix of the same flight, and of those without a finite speed that also
    follow it in time (their course and speed come from positions).

    Examples
    --------
    >>> e = np.zeros(0, np.uint8)
    >>> missing(np.array([0, 1, 2]), np.array([0, 0, 0]), np.array([1.0, np.nan, np.nan]),
    ...     e, 0, np.array([np.nan, np.inf, 3.0]), e, 0, np.array([0.0, 5.0, 5.0]))
    (array([1]), array([1]))
    """
    need_trk = np.empty(rows.size, dtype=np.int64)
    need_gs = np.empty(rows.size, dtype=np.int64)
    a, b = 0, 0
    for i in range(1, rows.size):
        if code[rows[i]] != code[rows[i - 1]]:
            continue
        r = rows[i]
        course = trk[r] if valid(trk_bits, trk_off, r) else np.nan
        if not np.isfinite(course):
            need_trk[a] = i
            a += 1
        speed = gs[r] if valid(gs_bits, gs_off, r) else np.nan
        if not np.isfinite(speed) and t[i] - t[i - 1] > 0:
            need_gs[b] = i
            b += 1
    return need_trk[:a], need_gs[:b]


@njit
def _bin(v: float, edges: FloatArray) -> int:
    """``clip(np.digitize(v, edges) - 1, 0, edges.size - 2)`` of a finite value."""
    k = 0
    while k < edges.size and edges[k] <= v:
        k += 1
    return min(max(k - 1, 0), edges.size - 2)


@njit
def bin_counts(
    rows: IntArray,
    code: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    gs: FloatArray,
    gs_bits: ByteArray,
    gs_off: int,
    trk: FloatArray,
    trk_bits: ByteArray,
    trk_off: int,
    alt: FloatArray,
    alt_bits: ByteArray,
    alt_off: int,
    t: FloatArray,
    fills: tuple[IntArray, FloatArray, IntArray, FloatArray],
    bins: tuple[FloatArray, FloatArray, FloatArray],
) -> tuple[IntArray, IntArray, FloatArray]:
    """Per flight (runs of equal ``code`` along ``rows``): its first position in
    ``rows``, the counts of its finite steer, speed and altitude values in the
    bins (side by side), and ``[t_max, t_min, has_t, lat_span, lon_span]``
    (``t`` ignoring NaN).  ``fills`` replaces the track at some positions,
    then the speed at others (:func:`missing`).

    Examples
    --------
    >>> e, none = np.array([0.0, 1.0, 2.0]), np.zeros(0, np.uint8)
    >>> first, counts, ext = bin_counts(np.array([0, 1, 2]), np.array([0, 0, 3]),
    ...     np.zeros(3), np.array([0.0, 2.0, 1.0]), np.array([0.5, np.nan, 9.0]), none, 0,
    ...     np.zeros(3), none, 0, np.array([0.5, np.nan, 1.0]), none, 0,
    ...     np.array([1.0, 4.0, np.nan]),
    ...     (np.zeros(0, np.int64), np.zeros(0), np.array([1]), np.array([1.5])), (e, e, e))
    >>> first.tolist(), counts.tolist()
    ([0, 2], [[1, 0, 1, 1, 1, 0], [0, 0, 0, 1, 0, 1]])
    >>> ext.tolist()
    [[4.0, 1.0, 1.0, 0.0, 2.0], [-inf, inf, 0.0, 0.0, 0.0]]
    """
    need_trk, trk_fill, need_gs, gs_fill = fills
    steer_bins, speed_bins, alt_bins = bins
    n = rows.size
    starts = np.empty(n, dtype=np.int64)
    g = 0
    for i in range(n):
        if i == 0 or code[rows[i]] != code[rows[i - 1]]:
            starts[g] = i
            g += 1
    ns, nv = steer_bins.size - 1, speed_bins.size - 1
    counts = np.zeros((g, ns + nv + alt_bins.size - 1), dtype=np.int64)
    ext = np.empty((g, 5))
    kt, kg = 0, 0
    for f in range(g):
        a = starts[f]
        z = starts[f + 1] if f + 1 < g else n
        t_hi, t_lo, has_t = -np.inf, np.inf, 0.0
        la_hi, la_lo = lat[rows[a]], lat[rows[a]]
        lo_hi, lo_lo = lon[rows[a]], lon[rows[a]]
        before = np.nan
        for i in range(a, z):
            r = rows[i]
            if kt < need_trk.size and need_trk[kt] == i:
                course = trk_fill[kt]
                kt += 1
            else:
                course = trk[r] if valid(trk_bits, trk_off, r) else np.nan
                course = course if np.isfinite(course) else np.nan
            if i > a:
                steer = wrap180(course - before)
                if np.isfinite(steer):
                    counts[f, _bin(steer, steer_bins)] += 1
            before = course
            if kg < need_gs.size and need_gs[kg] == i:
                speed = gs_fill[kg]
                kg += 1
            else:
                speed = gs[r] if valid(gs_bits, gs_off, r) else np.nan
            if np.isfinite(speed):
                counts[f, ns + _bin(speed, speed_bins)] += 1
            height = alt[r] if valid(alt_bits, alt_off, r) else np.nan
            if np.isfinite(height):
                counts[f, ns + nv + _bin(height, alt_bins)] += 1
            if not np.isnan(t[i]):
                has_t = 1.0
                t_hi = max(t_hi, t[i])
                t_lo = min(t_lo, t[i])
            la_hi, la_lo = max(la_hi, lat[r]), min(la_lo, lat[r])
            lo_hi, lo_lo = max(lo_hi, lon[r]), min(lo_lo, lon[r])
        ext[f, 0], ext[f, 1], ext[f, 2] = t_hi, t_lo, has_t
        ext[f, 3], ext[f, 4] = la_hi - la_lo, lo_hi - lo_lo
    return starts[:g], counts, ext
