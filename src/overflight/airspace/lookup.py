"""Per-point lookup of the cell lists: which list answers each point.

:func:`overflight.airspace.cells.fast_distance` needs, for every point, its
cell's slot (a binary search in the sorted cell keys), the cell's distance
floor, and the sub-cell whose arc list answers it.  As numpy this took a dozen
whole-array passes and a sort per call, the largest remaining cost of
``classify_points`` in ``bench/scale.py``; :func:`sub_lists` does it in one
compiled loop (:mod:`overflight.jit`), reusing the previous point's answer
while consecutive points stay in one cell (a track crosses a 14 km cell in
dozens of fixes).  :func:`distinct_counts` counts points per cell from runs
of equal cells for the same reason.  Cell and sub-cell numbers are those of
:func:`~overflight.airspace.cellgeom.cell_ids` (same arithmetic).
"""

from __future__ import annotations

import numpy as np

from overflight.airspace.grid import FloatArray, IntArray
from overflight.jit import njit


def distinct_counts(cells: IntArray) -> tuple[IntArray, IntArray]:
    """Distinct values of ``cells``, sorted, and how many times each occurs.

    Examples
    --------
    >>> u, n = distinct_counts(np.array([5, 5, 2, 2, 2, 5]))
    >>> u.tolist(), n.tolist()
    ([2, 5], [3, 3])
    """
    if cells.size == 0:
        return cells[:0].astype(np.int64), np.zeros(0, np.int64)
    first = np.flatnonzero(np.diff(cells, prepend=cells[0] - 1))
    length = np.diff(np.append(first, cells.size))
    uniq, inv = np.unique(cells[first], return_inverse=True)
    return uniq.astype(np.int64), np.bincount(inv, weights=length, minlength=uniq.size).astype(
        np.int64
    )


@njit
def _lookup(
    lon: FloatArray,
    lat: FloatArray,
    cells: IntArray,
    keys: IntArray,
    slot_of_key: IntArray,
    floor_m: FloatArray,
    base: IntArray,
    start: IntArray,
    cap: FloatArray,
    res_fine: float,
    ncol_fine: int,
    nrow_fine: int,
    sub: int,
    out_sub: IntArray,
) -> None:
    prev = -1
    slot = -1
    for i in range(cells.size):
        c = cells[i]
        if c != prev:
            prev = c
            k = np.searchsorted(keys, c)
            slot = slot_of_key[k] if k < keys.size and keys[k] == c else -1
        floor = floor_m[slot] if slot >= 0 else 0.0
        if floor >= cap[i]:
            out_sub[i] = -2  # capped
            continue
        b = base[slot] if slot >= 0 else -1
        if b < 0:
            out_sub[i] = -1  # k-d tree
            continue
        fi = np.int64(np.floor((lon[i] + 180.0) / res_fine)) % ncol_fine
        fj = np.int64(np.floor((lat[i] + 90.0) / res_fine))
        fj = np.int64(0) if fj < 0 else (np.int64(nrow_fine - 1) if fj >= nrow_fine else fj)
        s = b + (fj % sub) * sub + fi % sub
        out_sub[i] = s if start[s + 1] > start[s] else -1


def sub_lists(
    lon: FloatArray,
    lat: FloatArray,
    cells: IntArray,
    keys: IntArray,
    slot_of_key: IntArray,
    floor_m: FloatArray,
    base: IntArray,
    start: IntArray,
    cap: FloatArray,
    res_deg: float,
    sub: int,
) -> IntArray:
    """Per point, the sub-cell whose list answers it; -1 where the k-d tree must
    (unknown cell, cell or sub-cell without a list) and -2 where the cell's
    floor reaches the point's cap (the answer is the cap).

    ``cells``: the points' cells on the ``res_deg`` grid; ``keys`` (sorted) and
    ``slot_of_key``: the cells that have slots; per slot ``floor_m`` and
    ``base`` (first sub-cell, negative for none); ``start``: CSR offsets of the
    sub-cells' arc lists; each cell has ``sub x sub`` sub-cells.
    """
    out = np.empty(cells.size, np.int64)
    res_fine = res_deg / sub
    _lookup(
        np.ascontiguousarray(lon, np.float64),
        np.ascontiguousarray(lat, np.float64),
        np.ascontiguousarray(cells, np.int64),
        np.ascontiguousarray(keys, np.int64),
        np.ascontiguousarray(slot_of_key, np.int64),
        np.ascontiguousarray(floor_m, np.float64),
        np.ascontiguousarray(base, np.int64),
        np.ascontiguousarray(start, np.int64),
        np.ascontiguousarray(np.broadcast_to(cap, cells.shape), np.float64),
        res_fine,
        round(360 / res_fine),
        round(180 / res_fine),
        sub,
        out,
    )
    return out
