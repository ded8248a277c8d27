"""Compiled conversion of nanosecond timestamps to float seconds, as pandas does it.

:func:`overflight.patterns.turns.points_frame` defines a fix's time as
``(timestamp - epoch).dt.total_seconds()``.  pandas (3.1, pinned) computes
that in two parts to keep sub-second precision: whole seconds plus the
remainder divided by 1e9, then nudges a value that rounded onto a whole
second off it, when any input exceeds 2**53 ticks.  :func:`epoch_seconds`
is that formula in one compiled pass (:func:`overflight.jit.njit`) instead
of a pandas index and five temporary arrays; the tests compare it with
pandas on the real data and on edge values.

:func:`first_of_each` is the duplicate-time and flight-boundary scan of the
fixes, one pass instead of several numpy temporaries (their sortedness check
is :func:`overflight.jit.sorted_by_group`); :func:`usable_rows`,
:func:`flight_times` and :func:`take_positions` select and gather the fixes'
columns the same way, one pass each.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from overflight.jit import njit
from overflight.patterns.turns import FloatArray, IntArray

_PPS = 1_000_000_000
_BIG = 2**53
_FIXABLE = 2**52


@njit
def second_of(v: int, nudge: bool) -> float:
    """Seconds of ``v`` nanoseconds as pandas' ``total_seconds`` gives them
    (``nudge``: some value of the column is beyond 2**53, see :func:`epoch_seconds`)."""
    whole = v // _PPS
    residual = v - whole * _PPS
    r = float(whole) + float(residual) / float(_PPS)
    if nudge and residual != 0 and abs(whole) < _FIXABLE:
        if r == float(whole):
            r = np.nextafter(r, r + 1.0)
        elif r == float(whole) + 1.0:
            r = np.nextafter(r, r - 1.0)
    return r


@njit
def _seconds(ns: IntArray, nudge: bool) -> FloatArray:
    out = np.empty(ns.size)
    for i in range(ns.size):
        out[i] = second_of(ns[i], nudge)
    return out


def epoch_seconds(ns: IntArray) -> FloatArray:
    """``pd.TimedeltaIndex(ns.view("m8[ns]")).total_seconds()``, bit for bit.

    Examples
    --------
    >>> import pandas as pd
    >>> ns = np.array([0, 1_500_000_000, 1_700_000_000_000_000_001])
    >>> [float(v) for v in epoch_seconds(ns)] == list(
    ...     pd.TimedeltaIndex(ns.view("m8[ns]")).total_seconds())
    True
    """
    v = np.ascontiguousarray(ns, dtype=np.int64)
    beyond = bool(v.size) and (int(v.max()) > _BIG or int(v.min()) < -_BIG)
    return _seconds(v, beyond)


@njit
def first_of_each(code: IntArray, t: FloatArray) -> tuple[IntArray, IntArray]:
    """Sorted fixes: the index of each first fix at a (flight, time), and
    where each flight starts among those (plus the end).

    Examples
    --------
    >>> keep, start = first_of_each(np.array([0, 0, 0, 2]), np.array([1.0, 1.0, 2.0, 0.0]))
    >>> keep.tolist(), start.tolist()
    ([0, 2, 3], [0, 2, 3])
    """
    keep = np.empty(code.size, dtype=np.int64)
    start = np.empty(code.size + 1, dtype=np.int64)
    m, f = 0, 0
    for i in range(code.size):
        if i > 0 and code[i] == code[i - 1] and t[i] == t[i - 1]:
            continue
        if i == 0 or code[i] != code[i - 1]:
            start[f] = m
            f += 1
        keep[m] = i
        m += 1
    start[f] = m
    return keep[:m], start[: f + 1]


@njit
def usable_rows(
    code: IntArray, lat: FloatArray, lon: FloatArray, ok: npt.NDArray[np.bool_]
) -> IntArray:
    """Rows with a flight (``code >= 0``), a position on the globe and ``ok``."""
    keep = np.empty(code.size, dtype=np.int64)
    m = 0
    for i in range(code.size):
        if (
            ok[i]
            and code[i] >= 0
            and lat[i] >= -90.0
            and lat[i] <= 90.0
            and lon[i] >= -180.0
            and lon[i] <= 180.0
        ):
            keep[m] = i
            m += 1
    return keep[:m]


@njit
def flight_times(
    rows: IntArray, code: IntArray, rank: IntArray, ns: IntArray
) -> tuple[IntArray, IntArray]:
    """``rank[code[rows]]`` and ``ns[rows]``."""
    c = np.empty(rows.size, dtype=np.int64)
    t = np.empty(rows.size, dtype=np.int64)
    for j in range(rows.size):
        c[j] = rank[code[rows[j]]]
        t[j] = ns[rows[j]]
    return c, t


@njit
def take_positions(
    rows: IntArray, lat: FloatArray, lon: FloatArray, alt: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``lat[rows]``, ``lon[rows]`` and ``alt[rows]`` with non-finite altitudes NaN."""
    la, lo, al = np.empty(rows.size), np.empty(rows.size), np.empty(rows.size)
    for j in range(rows.size):
        r = rows[j]
        la[j], lo[j] = lat[r], lon[r]
        al[j] = alt[r] if np.isfinite(alt[r]) else np.nan
    return la, lo, al
