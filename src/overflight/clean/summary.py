"""The flights table from points whose flight of each row is already numbered.

:func:`overflight.clean.flights_table` summarises any points table by
grouping on ``flight_id`` strings (three hash group-bys and two joins over
every row: 0.1 CPU-s per million points, the largest single cost of
``clean.run`` once the rest was compiled).  :func:`run` knows more: the
points are sorted by aircraft and time, each flight is one run of rows, and
:func:`overflight.clean.flights.split_numbered` gives each row's flight
number.  :func:`flights_of` uses that to compute the same table with one
compiled pass over the rows (:mod:`overflight.jit`) per aggregate:

* ``_spans`` checks that every flight is a single run of rows and finds it;
* ``_times`` takes the first/last valid (and any) timestamp and the count of
  valid fixes of each run;
* ``_modes`` picks the callsign of each run by the rule of
  :func:`~overflight.clean.flights_table`: most valid fixes, then most fixes,
  then first in byte order.

Where its assumptions do not hold (a flight split over several runs, a null
``icao24``, ``timestamp`` or ``flight_id``) it returns None and the caller
falls back to :func:`~overflight.clean.flights_table`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overflight.clean._arrays import BoolArray, IntArray, single
from overflight.jit import njit
from overflight.schema import FLIGHT_SCHEMA, TIMESTAMP, conform


@njit
def _spans(flight: IntArray, n_flights: int, first: IntArray, stop: IntArray) -> bool:
    first[:] = -1
    for i in range(len(flight)):
        f = flight[i]
        if i > 0 and f == flight[i - 1]:
            continue
        if f < 0 or f >= n_flights or first[f] >= 0:
            return False
        first[f] = i
        if i > 0:
            stop[flight[i - 1]] = i
    if len(flight):
        stop[flight[-1]] = len(flight)
    missing = 0
    for f in range(n_flights):
        missing += first[f] < 0
    return missing == 0


@njit
def _times(t: IntArray, valid: BoolArray, first: IntArray, stop: IntArray, out: IntArray) -> None:
    """``out[f]``: first and last valid time (else first and last time), valid count."""
    for f in range(len(first)):
        s, e = first[f], stop[f]
        n_valid = 0
        lo, hi = t[s], t[s]
        for i in range(s, e):
            lo, hi = min(lo, t[i]), max(hi, t[i])
            if valid[i]:
                if n_valid == 0 or t[i] < out[f, 0]:
                    out[f, 0] = t[i]
                if n_valid == 0 or t[i] > out[f, 1]:
                    out[f, 1] = t[i]
                n_valid += 1
        if n_valid == 0:
            out[f, 0], out[f, 1] = lo, hi
        out[f, 2] = n_valid


@njit
def _modes(
    rank: IntArray, valid: BoolArray, first: IntArray, stop: IntArray, out: IntArray
) -> None:
    """``out[f]``: rank of the chosen callsign of flight f (``rank`` -1: null), -1 when none."""
    longest = 0
    for f in range(len(first)):
        longest = max(longest, stop[f] - first[f])
    # runs of one callsign: (rank, valid fixes, fixes); callsigns rarely change
    r_rank = np.empty(longest, dtype=np.int64)
    r_valid = np.empty(longest, dtype=np.int64)
    r_all = np.empty(longest, dtype=np.int64)
    for f in range(len(first)):
        m = 0
        for i in range(first[f], stop[f]):
            if rank[i] < 0:
                continue
            if m == 0 or rank[i] != r_rank[m - 1]:
                r_rank[m], r_valid[m], r_all[m] = rank[i], 0, 0
                m += 1
            r_valid[m - 1] += 1 if valid[i] else 0
            r_all[m - 1] += 1
        out[f] = -1
        if m == 0:
            continue
        o = np.argsort(r_rank[:m], kind="mergesort")
        best_v, best_n = -1, -1
        j = 0
        while j < m:
            r, n_valid, n_all = r_rank[o[j]], 0, 0
            while j < m and r_rank[o[j]] == r:
                n_valid += r_valid[o[j]]
                n_all += r_all[o[j]]
                j += 1
            if n_valid > best_v or (n_valid == best_v and n_all > best_n):
                out[f], best_v, best_n = r, n_valid, n_all


def _run_ranks(col: pa.Array) -> tuple[IntArray, pa.Array]:
    """Rank of each row's value among the distinct values (-1 for null), and those values sorted.

    Only the first row of each run of equal values is hashed: callsigns
    change a few times per flight.
    """
    n = len(col)
    known = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    head = np.ones(n, dtype=bool)
    if n > 1:
        diff = pc.fill_null(pc.not_equal(col.slice(1), col.slice(0, n - 1)), False)
        head[1:] = np.asarray(diff.to_numpy(zero_copy_only=False), dtype=bool)
        head[1:] |= known[1:] != known[:-1]
    rows = np.flatnonzero(head)
    enc = pc.dictionary_encode(col.take(pa.array(rows, type=pa.int64())))
    idx = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    order = pc.sort_indices(enc.dictionary)
    rank = np.empty(len(enc.dictionary) + 1, dtype=np.int64)
    rank[np.asarray(order.to_numpy(zero_copy_only=False), dtype=np.int64)] = np.arange(
        len(rank) - 1
    )
    rank[-1] = -1  # idx -1 (null) picks this
    out: IntArray = rank[idx][np.cumsum(head) - 1]
    return out, enc.dictionary.take(order)


def flights_of(points: pa.Table, flight: IntArray, t_ns: IntArray) -> pa.Table | None:
    """``flights_table(points)`` given the flight number of each row; None if unsure.

    Parameters
    ----------
    points
        Output of :func:`overflight.clean.flights.split_numbered`: sorted by
        ``(icao24, timestamp)``, ``flight_id`` and ``valid`` set.
    flight
        The flight number of each row, 0 to the number of flights - 1.
    t_ns
        The timestamps of ``points`` in ns.
    """
    n_flights = int(flight.max()) + 1 if len(flight) else 0
    fid, icao = points.column("flight_id"), points.column("icao24")
    if n_flights == 0 or fid.null_count or icao.null_count or points["timestamp"].null_count:
        return None
    first = np.empty(n_flights, dtype=np.int64)
    stop = np.empty(n_flights, dtype=np.int64)
    if not _spans(flight, n_flights, first, stop):
        return None
    rows = pa.array(first, type=pa.int64())
    ids = fid.take(rows)
    if pc.count_distinct(ids).as_py() != n_flights:
        return None
    valid = np.asarray(
        pc.fill_null(points.column("valid"), True).to_numpy(zero_copy_only=False), dtype=bool
    )
    times = np.empty((n_flights, 3), dtype=np.int64)
    _times(t_ns, valid, first, stop, times)
    rank, names = _run_ranks(single(points.column("callsign")))
    pick = np.empty(n_flights, dtype=np.int64)
    _modes(rank, valid, first, stop, pick)
    out = pa.table(
        {
            "flight_id": ids,
            "icao24": icao.take(rows),
            "callsign": names.take(pa.array(pick, mask=pick < 0)),
            "start": pa.array(times[:, 0], type=pa.int64()).cast(TIMESTAMP),
            "stop": pa.array(times[:, 1], type=pa.int64()).cast(TIMESTAMP),
            "n_points": pa.array(times[:, 2], type=pa.int64()),
        }
    )
    out = out.sort_by([("icao24", "ascending"), ("start", "ascending"), ("flight_id", "ascending")])
    return conform(out, FLIGHT_SCHEMA)
