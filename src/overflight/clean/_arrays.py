"""Array helpers shared by the clean stage: group codes, ordering, columns as numpy.

Every function here is pure and vectorised.  Aircraft are identified by an
integer *group code* whose order follows the ``icao24`` strings, so that sorting
by ``(code, timestamp)`` is sorting by ``(icao24, timestamp)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Stand-in for a null timestamp: sorts last, flagged ``out_of_range`` by clean.
NULL_TIME = np.iinfo(np.int64).max

STATS_KEY = b"overflight:stats"


def group_codes(icao24: pa.ChunkedArray | pa.Array) -> IntArray:
    """Integer code per row, ordered like the ``icao24`` strings (null as "")."""
    arr = icao24.combine_chunks() if isinstance(icao24, pa.ChunkedArray) else icao24
    arr = pc.fill_null(arr.cast(pa.string()), "")
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):  # pragma: no cover - defensive
        enc = enc.combine_chunks()
    if len(enc.dictionary) == 0:
        return np.zeros(len(arr), dtype=np.int64)
    rank = np.asarray(pc.rank(enc.dictionary, sort_keys="ascending"), dtype=np.int64) - 1
    idx = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    out: IntArray = rank[idx]
    return out


def time_ns(table: pa.Table, name: str = "timestamp") -> IntArray:
    """The timestamp column as int64 ns since the epoch; nulls as :data:`NULL_TIME`."""
    col = table.column(name).combine_chunks()
    ints = col.cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
    out: IntArray = pc.fill_null(ints, NULL_TIME).to_numpy(zero_copy_only=False)
    return out.astype(np.int64, copy=False)


def float_col(table: pa.Table, name: str) -> FloatArray:
    """A numeric column as float64 with NaN for null (all NaN when absent)."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    col = table.column(name).combine_chunks().cast(pa.float64())
    out: FloatArray = pc.fill_null(col, np.nan).to_numpy(zero_copy_only=False)
    return out


def bool_col(table: pa.Table, name: str) -> tuple[BoolArray, BoolArray]:
    """A boolean column as ``(value, known)``: null is ``(False, False)``."""
    if name not in table.column_names:
        z = np.zeros(table.num_rows, dtype=bool)
        return z, z.copy()
    col = table.column(name).combine_chunks()
    known: BoolArray = col.is_valid().to_numpy(zero_copy_only=False)
    value: BoolArray = pc.fill_null(col, False).to_numpy(zero_copy_only=False)
    return value.astype(bool), known.astype(bool)


TieBreak = Callable[[IntArray], Sequence[npt.NDArray[np.generic]]]


def sort_order(codes: IntArray, t: IntArray, tiebreak: TieBreak | None = None) -> IntArray:
    """Stable order by ``(codes, t)``; rows tying on both are ordered by ``tiebreak``.

    Two stable argsorts (time, then a narrow integer code) cost far less than a
    full ``lexsort``.  ``tiebreak(rows)`` returns the secondary keys (most
    significant first) of the given rows; it is only called for tying rows.
    """
    n = len(t)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    o1 = np.argsort(t, kind="stable")
    c = codes[o1]
    if c.max(initial=0) < 65536:
        c = c.astype(np.uint16)  # radix sort
    order: IntArray = o1[np.argsort(c, kind="stable")].astype(np.int64)
    if tiebreak is not None:
        cs, ts = codes[order], t[order]
        tie = np.zeros(n, dtype=bool)
        same = (cs[1:] == cs[:-1]) & (ts[1:] == ts[:-1])
        tie[1:] |= same
        tie[:-1] |= same
        if tie.any():
            pos = np.flatnonzero(tie)
            prev_same = np.zeros(n, dtype=bool)
            prev_same[1:] = same
            block = np.cumsum(~prev_same[pos])
            keys = [np.asarray(k) for k in reversed(tiebreak(order[pos]))]
            sub = np.lexsort((*keys, block))
            order[pos] = order[pos][sub]
    return order


def take_rows(table: pa.Table, order: IntArray) -> pa.Table:
    """``table`` reordered by ``order``; the table itself when already in order."""
    if len(order) < 2 or bool(np.all(order[1:] > order[:-1])):
        return table
    return table.take(pa.array(order, type=pa.int64()))


def group_starts(codes: IntArray) -> BoolArray:
    """True on the first row of each group (``codes`` sorted)."""
    start = np.ones(len(codes), dtype=bool)
    start[1:] = codes[1:] != codes[:-1]
    return start


def last_index(has: BoolArray, start: BoolArray) -> IntArray:
    """Index of the last row at or before each row with ``has``, within its group; -1 if none."""
    n = len(has)
    idx = np.where(has, np.arange(n), -1)
    last = np.maximum.accumulate(idx) if n else idx
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0)) if n else idx
    out: IntArray = np.where(last >= first, last, -1).astype(np.int64)
    return out


def run_starts(change: BoolArray) -> IntArray:
    """Index of the first row of the run each row belongs to (``change`` marks run starts)."""
    if len(change) == 0:
        return np.zeros(0, dtype=np.int64)
    out: IntArray = np.maximum.accumulate(np.where(change, np.arange(len(change)), 0))
    return out.astype(np.int64)


def with_stats(table: pa.Table, stats: dict[str, object]) -> pa.Table:
    """``table`` with ``stats`` attached as JSON under :data:`STATS_KEY`."""
    meta = dict(table.schema.metadata or {})
    meta[STATS_KEY] = json.dumps(stats, sort_keys=True).encode()
    return table.replace_schema_metadata(meta)
