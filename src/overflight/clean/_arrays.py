"""Array helpers shared by the clean stage: group codes, ordering, columns as numpy.

Every function here is pure.  Aircraft are identified by an integer *group
code* whose order follows the ``icao24`` strings, so that sorting by ``(code,
timestamp)`` is sorting by ``(icao24, timestamp)``.  The walks over rows that
numpy cannot vectorise are compiled loops in :mod:`overflight.clean._loops`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.clean._loops import (
    BoolArray,
    FloatArray,
    IntArray,
    RowArray,
    group_order,
    last_index,
)
from overflight.clean._merge import block_order
from overflight.jit import sorted_by_group

#: Stand-in for a null timestamp: sorts last, flagged ``out_of_range`` by clean.
NULL_TIME = np.iinfo(np.int64).max

__all__ = [
    "NULL_TIME",
    "STATS_KEY",
    "BoolArray",
    "FloatArray",
    "IntArray",
    "bool_col",
    "bool_value",
    "float_col",
    "group_codes",
    "group_starts",
    "last_index",
    "run_starts",
    "single",
    "sort_order",
    "take_rows",
    "take_strings",
    "time_ns",
    "with_stats",
]

STATS_KEY = b"overflight:stats"
_INT32_MAX = np.iinfo(np.int32).max


def single(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The column as one array, without a copy when it already is one chunk."""
    if isinstance(col, pa.Array):
        return col
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def group_codes(icao24: pa.ChunkedArray | pa.Array) -> IntArray:
    """Integer code per row, ordered like the ``icao24`` strings (null as "")."""
    arr = pc.fill_null(single(icao24).cast(pa.string()), "")
    n = len(arr)
    # hash only the first row of each run of one aircraft (input is mostly in runs)
    head = np.ones(n, dtype=bool)
    if n > 1:
        head[1:] = pc.not_equal(arr.slice(1), arr.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    heads = np.flatnonzero(head)
    enc = pc.dictionary_encode(arr.take(pa.array(heads, type=pa.int64())))
    if isinstance(enc, pa.ChunkedArray):  # pragma: no cover - defensive
        enc = enc.combine_chunks()
    if len(enc.dictionary) == 0:
        return np.zeros(n, dtype=np.int64)
    rank = np.asarray(pc.rank(enc.dictionary, sort_keys="ascending"), dtype=np.int64) - 1
    idx = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    out: IntArray = rank[idx][np.cumsum(head) - 1]
    return out


def time_ns(table: pa.Table, name: str = "timestamp") -> IntArray:
    """The timestamp column as int64 ns since the epoch; nulls as :data:`NULL_TIME`."""
    ints = single(table.column(name)).cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
    out: IntArray = pc.fill_null(ints, NULL_TIME).to_numpy(zero_copy_only=False)
    return out.astype(np.int64, copy=False)


def float_col(table: pa.Table, name: str) -> FloatArray:
    """A numeric column as float64 with NaN for null (all NaN when absent)."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    col = single(table.column(name)).cast(pa.float64())
    out: FloatArray = pc.fill_null(col, np.nan).to_numpy(zero_copy_only=False)
    return out


def bool_col(table: pa.Table, name: str) -> tuple[BoolArray, BoolArray]:
    """A boolean column as ``(value, known)``: null is ``(False, False)``."""
    if name not in table.column_names:
        z = np.zeros(table.num_rows, dtype=bool)
        return z, z.copy()
    col = single(table.column(name))
    known: BoolArray = col.is_valid().to_numpy(zero_copy_only=False)
    value: BoolArray = pc.fill_null(col, False).to_numpy(zero_copy_only=False)
    return value.astype(bool), known.astype(bool)


def bool_value(table: pa.Table, name: str) -> BoolArray:
    """A boolean column as numpy, null as False (all False when absent): ``bool_col(...)[0]``."""
    if name not in table.column_names:
        return np.zeros(table.num_rows, dtype=bool)
    value = pc.fill_null(single(table.column(name)), False).to_numpy(zero_copy_only=False)
    return np.asarray(value, dtype=bool)


TieBreak = Callable[[IntArray], Sequence[npt.NDArray[np.generic]]]


def sort_order(codes: IntArray, t: IntArray, tiebreak: TieBreak | None = None) -> IntArray:
    """Stable order by ``(codes, t)``; rows tying on both are ordered by ``tiebreak``.

    Rows already in order are left as they are (one compiled pass checks);
    otherwise a counting sort by code, then a stable sort by time of the
    aircraft not already in time order
    (:func:`overflight.clean._loops.group_order`): on a partition of a feed
    (runs of one aircraft, nearly in time order) that is a few percent of the
    cost of two stable argsorts of the whole table.  Codes too sparse for a
    counting sort take the two argsorts (time, then a narrow integer code).
    ``tiebreak(rows)`` returns the secondary keys (most significant first) of
    the given rows; it is only called for tying rows.
    """
    n = len(t)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    in_order = sorted_by_group(codes, t)  # a stable sort would not move a row
    if in_order:
        order: IntArray = np.arange(n, dtype=np.int64)
    elif (by_group := group_order(codes, t)) is not None:
        order = by_group
    else:
        o1 = np.argsort(t, kind="stable")
        c = codes[o1]
        if c.max(initial=0) < 65536:
            c = c.astype(np.uint16)  # radix sort
        order = o1[np.argsort(c, kind="stable")].astype(np.int64)
    if tiebreak is not None:
        cs, ts = (codes, t) if in_order else (codes[order], t[order])
        same = (cs[1:] == cs[:-1]) & (ts[1:] == ts[:-1])
        if same.any():
            tie = np.zeros(n, dtype=bool)
            tie[1:] |= same
            tie[:-1] |= same
            pos = np.flatnonzero(tie)
            prev_same = np.zeros(n, dtype=bool)
            prev_same[1:] = same
            block = np.cumsum(~prev_same[pos])
            keys = [np.asarray(k) for k in tiebreak(order[pos])]
            sub = block_order(block, keys)
            order[pos] = order[pos][sub]
    return order


def take_rows(table: pa.Table, order: IntArray) -> pa.Table:
    """``table`` reordered by ``order``; the table itself when already in order."""
    if len(order) < 2 or bool(np.all(order[1:] > order[:-1])):
        return table
    return table.take(pa.array(order, type=pa.int64()))


def take_strings(col: pa.ChunkedArray | pa.Array, rows: RowArray) -> pa.Array:
    """Rows ``rows`` of a string column, null where ``rows`` is -1 (Arrow's ``take``).

    The rows read must not be null.  When every non-null value of ``col``
    has the same length in bytes (``icao24``, ``squawk``, ``flight_id``),
    the values are gathered as fixed-width numpy items, about a third of
    the time of ``take``; otherwise, or for other types, ``take`` does it.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> take_strings(pa.array(["ab", None, "cd"]), np.array([2, -1, 0])).to_pylist()
    ['cd', None, 'ab']
    """
    arr = single(col)
    mask = rows < 0
    nulls = int(np.count_nonzero(mask))
    width = _fixed_width(arr)
    if width is None or width * (len(rows) + 1) > _INT32_MAX:
        return arr.take(pa.array(rows, mask=mask) if nulls else pa.array(rows))
    start = int(np.frombuffer(arr.buffers()[1], np.int32, 1, 4 * arr.offset)[0])
    data = np.frombuffer(arr.buffers()[2], np.uint8)
    items = data[start : start + width * len(arr)].view(f"V{width}")
    n = len(rows)
    if not nulls:
        out = np.take(items, rows)
        offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
        return pa.Array.from_buffers(
            pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(out)]
        )
    keep = ~mask
    out = np.take(items, rows[keep])
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(keep, out=offsets[1:])
    offsets *= width
    valid = pa.py_buffer(np.packbits(keep, bitorder="little"))
    return pa.Array.from_buffers(
        pa.string(), n, [valid, pa.py_buffer(offsets), pa.py_buffer(out)], null_count=nulls
    )


def _fixed_width(arr: pa.Array) -> int | None:
    """The length in bytes of every slot of a string array, null slots included.

    None when the lengths differ, are 0, or the array is not ``string``.
    """
    n = len(arr)
    if arr.type != pa.string() or n == 0 or n * 8 > _INT32_MAX:
        return None
    off = np.frombuffer(arr.buffers()[1], np.int32, n + 1, 4 * arr.offset)
    width = int(off[1] - off[0])
    if width == 0 or int(off[-1] - off[0]) != width * n:
        return None
    if not bool(np.all(np.diff(off) == width)):
        return None
    return width


def group_starts(codes: IntArray) -> BoolArray:
    """True on the first row of each group (``codes`` sorted)."""
    start = np.ones(len(codes), dtype=bool)
    start[1:] = codes[1:] != codes[:-1]
    return start


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
