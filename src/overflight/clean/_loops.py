"""Compiled per-fix loops of the clean stage (:mod:`overflight.jit`).

These walks are sequential by nature: each row needs the last row before it,
within its aircraft, that has some property.  In numpy every such walk took a
handful of full-length passes (``np.where``, ``np.maximum.accumulate``, a
fancy index per column); profiling ``clean.run`` on a 1,000,000-point dataset
(``/tmp/overflight-scale/ds-1000000``, cProfile) put :func:`last_index` and
the forward fill of :func:`overflight.clean.to_positions` at about 0.4
CPU-s, a fifth of the stage.  Compiled, each is one pass over the rows.

Compiled here:

``last_index``
    index of the last row with a flag, per group (forward fill, flights);
``fill_sources``
    for each position, the input row whose value it carries (forward fill
    with an age limit, all fields of :func:`to_positions` in one pass);
``group_order``
    a counting sort by aircraft, then a stable sort by time of the few
    aircraft not already in time order;
``near_ground``
    rows within a window of an on-ground row of the same aircraft (one
    forward and one backward walk);
``first_seen``
    when each candidate fix's position was first reported (runs of equal
    positions among candidates);
``close_pairs``
    consecutive candidates of one aircraft close in time (near duplicates);
``carry``
    the flight of each rejected fix: that of the previous valid fix, else of
    the next (one forward and one backward walk).

Only comparisons and the arithmetic of the numpy version they replace are
used, in the same order, so the results are bit-identical (no
transcendental functions here: distances stay with
:func:`overflight.geodesy.haversine_m`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from overflight.clean._merge import merge_runs
from overflight.jit import njit

IntArray = npt.NDArray[np.int64]
#: Row numbers as int32 or int64 (:func:`fill_sources` uses int32 when it can).
RowArray = npt.NDArray[np.signedinteger[Any]]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@njit
def _last_index(has: BoolArray, start: BoolArray, out: IntArray) -> None:
    last = -1
    for i in range(len(has)):
        if start[i]:
            last = -1
        if has[i]:
            last = i
        out[i] = last


def last_index(has: BoolArray, start: BoolArray) -> IntArray:
    """Index of the last row at or before each row with ``has``, within its group; -1 if none.

    ``start`` marks the first row of each group.

    Examples
    --------
    >>> import numpy as np
    >>> last_index(np.array([0, 1, 0, 0, 1], bool), np.array([1, 0, 0, 1, 0], bool)).tolist()
    [-1, 1, 1, -1, 4]
    """
    out = np.empty(len(has), dtype=np.int64)
    _last_index(np.ascontiguousarray(has, dtype=np.bool_), np.ascontiguousarray(start), out)
    return out


@njit
def _fill_sources(
    order: IntArray,
    start: BoolArray,
    t: IntArray,
    present: BoolArray,
    rows: IntArray,
    limit_ns: FloatArray,
    out: IntArray,
    own: BoolArray,
) -> None:
    k = present.shape[0]
    last = np.full(k, -1, dtype=np.int64)
    borrowed = np.zeros(k, dtype=np.bool_)
    n_rows = len(rows)
    r = 0
    nxt = rows[0] if n_rows else -1
    for i in range(len(order)):
        if start[i]:
            for f in range(k):
                last[f] = -1
        o = order[i]
        for f in range(k):
            if present[f, o]:
                last[f] = i
        if i == nxt:
            ti = np.float64(t[i])
            for f in range(k):
                j = last[f]
                if j != i:
                    borrowed[f] = True
                ok = j >= 0 and ti - np.float64(t[j]) <= limit_ns[f]
                out[f, r] = order[j] if ok else -1
            r += 1
            nxt = rows[r] if r < n_rows else -1
    for f in range(k):
        own[f] = not borrowed[f]


def fill_sources(
    order: IntArray,
    start: BoolArray,
    t_ns: IntArray,
    present: BoolArray,
    rows: IntArray,
    limit_ns: FloatArray,
) -> tuple[RowArray, BoolArray]:
    """Input row whose value each output row carries, per field (-1 for none).

    Parameters
    ----------
    order
        Input row of each sorted row.
    start
        First sorted row of each aircraft.
    t_ns
        Time of each sorted row.
    present
        Shape (fields, input rows): whether each *input* row has the field
        (one contiguous row per field: the walk reads each field's flags
        in input order).
    rows
        Sorted rows that are output rows (increasing).
    limit_ns
        Per field, the largest age of a carried value (the age is taken in
        float64, as ``float(t) - float(t_from)``).

    Returns
    -------
    sources, own
        ``sources[f, r]``: the input row output row ``r`` takes field ``f``
        from (int32 below 2**31 input rows: half the memory to write, and
        to fault in, of a (fields, rows) int64 array); ``own[f]``: every
        output row has its own value of field ``f``.

    Examples
    --------
    >>> import numpy as np
    >>> src, own = fill_sources(np.array([2, 0, 1]), np.array([1, 0, 0], bool),
    ...     np.array([0, 5, 20]), np.array([[False, False, True]]), np.array([1, 2]),
    ...     np.array([10.0]))
    >>> src.tolist(), own.tolist()
    ([[2, -1]], [False])
    """
    k = present.shape[0]
    dtype = np.int32 if len(order) < np.iinfo(np.int32).max else np.int64
    out: RowArray = np.empty((k, len(rows)), dtype=dtype)
    own = np.empty(k, dtype=np.bool_)
    limits = np.ascontiguousarray(limit_ns, dtype=np.float64)
    _fill_sources(order, start, t_ns, np.ascontiguousarray(present), rows, limits, out, own)
    return out, own


@njit
def _group_order(codes: IntArray, t: IntArray, n_codes: int, order: IntArray) -> None:
    """Stable sort of rows by ``(code, t)``: a counting sort by code, then a
    stable sort by time of the groups that are not already in time order."""
    pos = np.zeros(n_codes + 1, dtype=np.int64)
    for c in codes:
        pos[c + 1] += 1
    for c in range(n_codes):
        pos[c + 1] += pos[c]
    begin = pos[:-1].copy()
    last = np.full(n_codes, np.iinfo(np.int64).min, dtype=np.int64)
    unordered = np.zeros(n_codes, dtype=np.bool_)
    for i in range(len(codes)):
        c = codes[i]
        if t[i] < last[c]:
            unordered[c] = True
        last[c] = t[i]
        order[pos[c]] = i
        pos[c] += 1
    for c in range(n_codes):
        if unordered[c]:
            rows = order[begin[c] : pos[c]]
            keys = t[rows]
            merge_runs(keys, rows)


def group_order(codes: IntArray, t_ns: IntArray) -> IntArray | None:
    """The stable order by ``(codes, t_ns)``, or None when the codes are too sparse.

    One counting pass sorts the rows by code (stable); only the aircraft
    whose rows are not already in time order are then sorted by time
    (stable).  Input in runs of one aircraft, mostly in time order (a
    partition of a time-ordered feed), thus needs no full-table sort.

    Examples
    --------
    >>> import numpy as np
    >>> group_order(np.array([1, 0, 1, 0]), np.array([5, 1, 6, 2])).tolist()
    [1, 3, 0, 2]
    >>> group_order(np.array([0, 1, 0, 0]), np.array([2, 0, 1, 1])).tolist()
    [2, 3, 0, 1]
    """
    order = np.empty(len(codes), dtype=np.int64)
    n_codes = int(codes.max()) + 1 if len(codes) else 0
    if n_codes > 4 * len(codes) + 1024 or (len(codes) and codes.min() < 0):
        return None
    _group_order(codes, t_ns, n_codes, order)
    return order


@njit
def _near_ground(
    grp: IntArray, t_s: FloatArray, onground: BoolArray, window_s: float, out: BoolArray
) -> None:
    n = len(grp)
    last = -1
    for i in range(n):
        if i == 0 or grp[i] != grp[i - 1]:
            last = -1
        if onground[i]:
            last = i
        out[i] = last >= 0 and t_s[i] - t_s[last] <= window_s
    nxt = -1
    for i in range(n - 1, -1, -1):
        if i == n - 1 or grp[i] != grp[i + 1]:
            nxt = -1
        if onground[i]:
            nxt = i
        if nxt >= 0 and t_s[nxt] - t_s[i] <= window_s:
            out[i] = True


def near_ground(grp: IntArray, t_s: FloatArray, onground: BoolArray, window_s: float) -> BoolArray:
    """Rows within ``window_s`` of a row of the same aircraft flagged on ground.

    Examples
    --------
    >>> import numpy as np
    >>> near_ground(np.zeros(4, np.int64), np.array([0.0, 20, 50, 100]),
    ...     np.array([0, 1, 0, 0], bool), 30.0).tolist()
    [True, True, True, False]
    """
    out = np.empty(len(grp), dtype=np.bool_)
    _near_ground(grp, t_s, np.ascontiguousarray(onground), float(window_s), out)
    return out


@njit
def _first_seen(
    grp: IntArray,
    t_s: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    cand: BoolArray,
    out: FloatArray,
) -> None:
    prev = -1
    first = 0.0
    for i in range(len(grp)):
        out[i] = t_s[i]
        if not cand[i]:
            continue
        if prev < 0 or grp[i] != grp[prev] or lat[i] != lat[prev] or lon[i] != lon[prev]:
            first = t_s[i]
        out[i] = first
        prev = i


def first_seen(
    grp: IntArray, t_s: FloatArray, lat: FloatArray, lon: FloatArray, cand: BoolArray
) -> FloatArray:
    """Time each candidate's exact position was first reported, among candidates.

    A run of consecutive candidates of one aircraft with the same position
    shares the time of its first fix; other rows keep their own time.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.zeros(4)
    >>> first_seen(np.zeros(4, np.int64), np.arange(4.0), z, np.array([1.0, 1, 2, 1]),
    ...     np.array([1, 1, 1, 0], bool)).tolist()
    [0.0, 0.0, 2.0, 3.0]
    """
    out = np.empty(len(grp), dtype=np.float64)
    _first_seen(grp, t_s, lat, lon, np.ascontiguousarray(cand), out)
    return out


@njit
def _close_pairs(
    grp: IntArray, t_ns: IntArray, cand: BoolArray, window_ns: float, out: IntArray
) -> int:
    prev = -1
    k = 0
    for i in range(len(grp)):
        if not cand[i]:
            continue
        if prev >= 0 and grp[i] == grp[prev] and t_ns[i] - t_ns[prev] <= window_ns:
            out[k, 0] = prev
            out[k, 1] = i
            k += 1
        prev = i
    return k


def close_pairs(grp: IntArray, t_ns: IntArray, cand: BoolArray, window_ns: float) -> IntArray:
    """``(previous, row)``: consecutive candidates of one aircraft at most ``window_ns`` apart.

    Examples
    --------
    >>> import numpy as np
    >>> close_pairs(np.zeros(4, np.int64), np.array([0, 3, 4, 5]),
    ...     np.array([1, 1, 0, 1], bool), 2.0).tolist()
    [[1, 3]]
    """
    out = np.empty((len(grp), 2), dtype=np.int64)
    k = _close_pairs(grp, t_ns, np.ascontiguousarray(cand), float(window_ns), out)
    return out[:k].copy()


@njit
def _carry(values: IntArray, start: BoolArray, out: IntArray) -> None:
    n = len(values)
    last = -1
    for i in range(n):
        if start[i]:
            last = -1
        if values[i] >= 0:
            last = values[i]
        out[i] = last
    nxt = -1
    for i in range(n - 1, -1, -1):
        if values[i] >= 0:
            nxt = values[i]
        if out[i] < 0:
            out[i] = nxt
        if start[i]:
            nxt = -1


def carry(values: IntArray, start: BoolArray) -> IntArray:
    """Each row's value, else the previous row's that has one, else the next one's (-1: none).

    Values below 0 are missing; ``start`` marks the first row of each stretch
    (values are never carried across stretches).

    Examples
    --------
    >>> import numpy as np
    >>> carry(np.array([-1, 3, -1, -1, -1, 5]), np.array([1, 0, 0, 1, 0, 0], bool)).tolist()
    [3, 3, 3, 5, 5, 5]
    """
    out = np.empty(len(values), dtype=np.int64)
    _carry(values, np.ascontiguousarray(start), out)
    return out
