"""The squawk labels each flight showed, from the points table.

Per flight: the distinct :func:`~overflight.identify.squawk.squawk_label`
labels its points carried, in order of first appearance, each with the
smallest code (as written in the points) that gave it, e.g.
``"squawk 4401 us_law_enforcement, 7000 vfr"``.

The labels are worked out once per distinct squawk value, not once per
point, and the per-flight lists from a small dense table of (flight, label)
pairs.  When every squawk is written as four octal digits (as the readers
write them) the column is read by a compiled walk over its bytes
(:func:`overflight.jit.njit`: one pass, no hashing); anything else is
dictionary-encoded first.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.identify.flightcodes import FlightCodes, flight_codes
from overflight.identify.squawk import SQUAWK_RULES, squawk_label
from overflight.jit import njit

IntArray = npt.NDArray[np.int64]

#: Distinct labels of :data:`SQUAWK_RULES`.
_LABELS: tuple[str, ...] = tuple(dict.fromkeys(r[2] for r in SQUAWK_RULES))


def _str(x: pa.Array | pa.ChunkedArray) -> pa.Array:
    arr = x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x
    return arr.cast(pa.string())


def _empty(n: int) -> tuple[pa.Array, pa.Array]:
    return pa.array([[]] * n, pa.list_(pa.string())), pa.nulls(n, pa.string())


def _text(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "", null_handling="emit_null")


@njit
def _octal_codes(
    offsets: npt.NDArray[np.int32],
    data: npt.NDArray[np.uint8],
    valid: npt.NDArray[np.uint8],
    bit0: int,
    out: IntArray,
) -> bool:
    """Each string's value as four octal digits into ``out`` (-1 where null);
    False as soon as one is not exactly four octal digits."""
    for i in range(out.size):
        if valid.size and not (valid[(bit0 + i) >> 3] >> ((bit0 + i) & 7)) & 1:
            out[i] = -1
            continue
        a = offsets[i]
        if offsets[i + 1] - a != 4:
            return False
        v = 0
        for j in range(4):
            d = data[a + j] - 48
            if d < 0 or d > 7:
                return False
            v = v * 8 + d
        out[i] = v
    return True


def _chunk_codes(chunk: pa.Array, out: IntArray) -> bool:
    bufs = chunk.buffers()
    n, o = len(chunk), chunk.offset
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[o : o + n + 1]
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.empty(0, np.uint8)
    valid = np.frombuffer(bufs[0], np.uint8) if bufs[0] is not None else np.empty(0, np.uint8)
    return bool(_octal_codes(offsets, data, valid, o, out))


@lru_cache(maxsize=1)
def _all_codes() -> tuple[pa.Array, IntArray]:
    """Every four-digit octal code as a string, in order, and its label index."""
    codes = pa.array([f"{v:04o}" for v in range(8**4)], pa.string())
    lab = pc.fill_null(pc.index_in(squawk_label(codes), pa.array(_LABELS)), -1)
    return codes, lab.to_numpy(zero_copy_only=False).astype(np.int64)


def _octal_values(squawk: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, IntArray, IntArray] | None:
    """:func:`_values` of a string column of four-digit octal codes, or None."""
    chunks = squawk.chunks if isinstance(squawk, pa.ChunkedArray) else [squawk]
    if not all(pa.types.is_string(c.type) for c in chunks):
        return None
    idx = np.empty(sum(len(c) for c in chunks), dtype=np.int64)
    at = 0
    for c in chunks:
        if not _chunk_codes(c, idx[at : at + len(c)]):
            return None
        at += len(c)
    codes, lab = _all_codes()
    return codes, idx, lab


def _values(squawk: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, IntArray, IntArray]:
    """Distinct squawks as strings sorted, per row the index of its value in
    them (-1 when null), and per distinct value its label index (-1 when
    none)."""
    octal = _octal_values(squawk)
    if octal is not None:
        return octal
    col = squawk.combine_chunks() if isinstance(squawk, pa.ChunkedArray) else squawk
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    enc = pc.dictionary_encode(col)
    order = pc.sort_indices(_str(enc.dictionary))
    values = enc.dictionary.take(order)
    rank = np.empty(len(values), dtype=np.int64)
    rank[order.to_numpy()] = np.arange(len(values))
    idx = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    idx = np.append(rank, -1)[idx]  # -1 (null) stays -1, also when every row is null
    lab = pc.fill_null(pc.index_in(squawk_label(values), pa.array(_LABELS)), -1)
    return _str(values), idx, lab.to_numpy(zero_copy_only=False).astype(np.int64)


@njit
def _pair_table(
    group: IntArray, idx: IntArray, lab: IntArray, nl: int
) -> tuple[IntArray, IntArray]:
    """Per (group, label) key: first row carrying it (-1 if none), smallest value."""
    size = (group.max() + 1) * nl if group.size else 0
    first = np.full(size, -1, dtype=np.int64)
    smallest = np.zeros(size, dtype=np.int64)
    for i in range(idx.size):
        if idx[i] < 0 or lab[idx[i]] < 0:
            continue
        key = group[i] * nl + lab[idx[i]]
        if first[key] < 0:
            first[key], smallest[key] = i, idx[i]
        elif idx[i] < smallest[key]:
            smallest[key] = idx[i]
    return first, smallest


def _pairs(group: IntArray, idx: IntArray, lab: IntArray) -> IntArray:
    """Rows: group, label and smallest value of each (group, label) pair that
    occurs, sorted by group then first occurrence."""
    nl = len(_LABELS)
    first, smallest = _pair_table(group, idx, lab, nl)
    present = np.flatnonzero(first >= 0)
    present = present[np.lexsort((first[present], present // nl))]
    return np.stack([present // nl, present % nl, smallest[present]])


def _group_of(flight_ids: pa.Array, names: pa.Array) -> IntArray:
    """Group of each wanted flight: 1 + its code, 0 for a null id (the group
    of the points without one), -1 when it has no points."""
    found = pc.fill_null(pc.index_in(flight_ids, names), -2).to_numpy(zero_copy_only=False)
    valid = flight_ids.is_valid().to_numpy(zero_copy_only=False)
    return np.where(valid, found.astype(np.int64) + 1, 0)


def flight_squawks(
    points: pa.Table, flight_ids: pa.Array, codes: FlightCodes | None = None
) -> tuple[pa.Array, pa.Array]:
    """Per flight of ``flight_ids``: its squawk labels (a list, empty when none)
    and the text ``"squawk 4401 us_law_enforcement, ..."`` (null when none).

    Examples
    --------
    >>> pts = pa.table({"flight_id": ["a", "a", "b", "a"],
    ...                 "squawk": ["7000", "4420", "1234", "4401"]})
    >>> lists, text = flight_squawks(pts, pa.array(["a", "b"]))
    >>> lists.to_pylist(), text.to_pylist()
    ([['vfr', 'us_law_enforcement'], []], ['squawk 7000 vfr, 4401 us_law_enforcement', None])
    """
    n = len(flight_ids)
    if "squawk" not in points.column_names or "flight_id" not in points.column_names:
        return _empty(n)
    fc = codes if codes is not None else flight_codes(points)
    values, idx, lab = _values(points["squawk"])
    pg, pl, pv = _pairs(fc.code + 1, idx, lab)
    if pg.size == 0:
        return _empty(n)
    labels = pa.array(_LABELS).take(pa.array(pl))
    items = _text(values.take(pa.array(pv)), " ", labels)
    want = _group_of(flight_ids, fc.names)
    lo, hi = np.searchsorted(pg, want, side="left"), np.searchsorted(pg, want, side="right")
    offsets = pa.array(np.r_[0, np.cumsum(hi - lo)].astype(np.int32))
    take = pa.array(np.repeat(lo, hi - lo) + _ramps(hi - lo))
    lists = pa.ListArray.from_arrays(offsets, labels.take(take))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, items.take(take)), ", ")
    return lists, pc.if_else(pa.array(hi > lo), _text("squawk ", joined), pa.nulls(n, pa.string()))


def _ramps(lengths: IntArray) -> IntArray:
    """``0, 1, ..., l - 1`` for each length, concatenated.

    Examples
    --------
    >>> _ramps(np.array([2, 0, 3])).tolist()
    [0, 1, 0, 1, 2]
    """
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total, dtype=np.int64) - starts
