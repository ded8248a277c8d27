"""Flight numbers of the rows of a points table, without hashing when it is grouped.

The identify stage aggregates points per flight (drone envelope, squawk
labels).  A dictionary encoding of ``flight_id`` numbers the flights in order
of first appearance; :func:`flight_codes` returns exactly those numbers, but
when every flight's rows are contiguous (as the clean stage writes them) it
finds them from the boundaries between runs of equal ids, several times
faster than hashing a million strings.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

IntArray = npt.NDArray[np.int64]


class FlightCodes(NamedTuple):
    """Flight number of every row and the flight ids they stand for."""

    names: pa.Array
    """Distinct flight ids (strings) in order of first appearance."""
    code: IntArray
    """Per row: index into ``names``; -1 where the flight id is null."""


def _as_string(points: pa.Table) -> pa.Array:
    col = points["flight_id"]
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def _run_starts(fid: pa.Array) -> IntArray:
    """First row of each run of equal strings (no nulls)."""
    n = len(fid)
    neq = pc.not_equal(fid.slice(1), fid.slice(0, n - 1))
    later = pc.indices_nonzero(neq).to_numpy(zero_copy_only=False).astype(np.int64) + 1
    return np.concatenate([np.zeros(1, np.int64), later])


def _by_runs(fid: pa.Array) -> FlightCodes | None:
    """Codes from runs of equal ids, or None when a flight id comes back later."""
    n = len(fid)
    if n == 0 or fid.null_count:
        return None
    starts = _run_starts(fid)
    names = fid.take(pa.array(starts))
    if len(names) > 1:
        ascending = pc.all(pc.greater(names.slice(1), names.slice(0, len(names) - 1)))
        if not ascending.as_py() and pc.count_distinct(names).as_py() != len(names):
            return None
    code = np.repeat(np.arange(starts.size, dtype=np.int64), np.diff(np.r_[starts, n]))
    return FlightCodes(names, code)


def flight_codes(points: pa.Table) -> FlightCodes:
    """Number the flights of ``points`` as ``pc.dictionary_encode(flight_id)`` does.

    Examples
    --------
    >>> t = pa.table({"flight_id": ["b", "b", "a", None, "b"]})
    >>> fc = flight_codes(t)
    >>> fc.names.to_pylist(), fc.code.tolist()
    (['b', 'a'], [0, 0, 1, -1, 0])
    >>> flight_codes(t.slice(0, 3)).code.tolist()
    [0, 0, 1]
    """
    fid = _as_string(points)
    runs = _by_runs(fid)
    if runs is not None:
        return runs
    enc = pc.dictionary_encode(fid)
    code = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)
    return FlightCodes(enc.dictionary, np.asarray(code, dtype=np.int64))
