"""The valid fixes of each flight in order, and the compiled walk that finds stays.

:class:`_Fixes` selects the fixes a stay can use (valid, a finite position, a
flight id) and puts them in (flight, time) order, with each fix's position in
its flight and the flight's fix count.  :func:`_walk` goes over them once and
cuts them into stays: runs of consecutive fixes of one flight whose point
class belongs to one key (a country's airspace or a user zone).  Both are
compiled loops (:func:`overflight.jit.njit`); :mod:`overflight.airspace.events`
turns the stays into event rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.airspace.classify import coordinates
from overflight.airspace.grid import BoolArray, FloatArray, IntArray
from overflight.identify.flightcodes import flight_codes
from overflight.jit import njit, rows_in_order


@dataclass(frozen=True)
class _Fixes:
    """Valid fixes sorted by (flight, time); ``rows`` are their rows in the points table.

    Examples
    --------
    >>> t = pa.table({"flight_id": ["a", "a", "b", "a"],
    ...     "timestamp": pa.array([3, 1, 2, 2], pa.timestamp("ns")),
    ...     "latitude": [0.0, 0.0, 0.0, np.nan], "longitude": [0.0, 0.0, 0.0, 0.0]})
    >>> fx = _Fixes.of(t)
    >>> fx.rows.tolist(), fx.rank.tolist(), fx.nvalid.tolist(), fx.names.to_pylist()
    ([1, 0, 2], [0, 1, 0], [2, 2, 1], ['a', 'b'])
    """

    rows: IntArray
    flight: IntArray  # index in ``names``
    names: pa.Array  # the distinct flight ids
    lon: FloatArray
    lat: FloatArray
    ts: npt.NDArray[Any]  # ns (int64; float64, NaN for null, when a time is null)
    rank: IntArray  # position in the flight
    nvalid: IntArray  # fixes of the flight

    @classmethod
    def of(cls, points: pa.Table) -> _Fixes:
        """The valid fixes (finite position, a flight id) of ``points``."""
        names, codes = flight_codes(points)
        stamps = points.column("timestamp").cast(pa.int64())
        if stamps.null_count:  # times as floats (NaN for null), the slow way
            lon, lat = coordinates(points)
            ts = stamps.to_numpy(zero_copy_only=False)
            ok = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat) & (codes >= 0))
            return cls._sorted(ok, codes, names, lon, lat, ts)
        lon, lat = _floats(points, "longitude"), _floats(points, "latitude")
        if "valid" in points.column_names:
            valid = points.column("valid").fill_null(False).to_numpy(zero_copy_only=False)
        else:
            valid = np.ones(points.num_rows, bool)
        ts = np.ascontiguousarray(stamps.to_numpy(zero_copy_only=False), np.int64)
        ok = _usable(lon, lat, np.asarray(valid, np.bool_), codes)
        return cls._sorted(ok, codes, names, lon, lat, ts)

    @classmethod
    def _sorted(
        cls,
        ok: IntArray,
        codes: IntArray,
        names: pa.Array,
        lon: FloatArray,
        lat: FloatArray,
        ts: npt.NDArray[np.int64] | FloatArray,
    ) -> _Fixes:
        """The fixes ``ok`` in (flight, time) order."""
        if not rows_in_order(codes, ts, ok):
            c, t = codes[ok], ts[ok]
            ok = ok[np.lexsort((t, c))]
        flight, rank, nvalid = _ranks(codes, ok)
        return cls(ok, flight, names, lon[ok], lat[ok], ts[ok], rank, nvalid)


def _floats(points: pa.Table, name: str) -> FloatArray:
    return np.asarray(points.column(name).to_numpy(zero_copy_only=False), np.float64)


@njit
def _usable(lon: FloatArray, lat: FloatArray, valid: BoolArray, codes: IntArray) -> IntArray:
    """Rows that are valid, with a finite position and a flight."""
    out = np.empty(codes.size, np.int64)
    m = 0
    for i in range(codes.size):
        if valid[i] and np.isfinite(lon[i]) and np.isfinite(lat[i]) and codes[i] >= 0:
            out[m] = i
            m += 1
    return out[:m]


@njit
def _ranks(codes: IntArray, rows: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Flight of each of ``rows`` (grouped by flight), position in it, its fix count."""
    n = rows.size
    flight, rank, count = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    first = 0
    for j in range(n):
        flight[j] = codes[rows[j]]
        if j > 0 and flight[j] != flight[j - 1]:
            count[first:j] = j - first
            first = j
        rank[j] = j - first
    count[first:n] = n - first
    return flight, rank, count


@njit
def _grow(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return np.concatenate((a, np.empty_like(a)))


@njit
def _walk(
    flight: IntArray,
    ids: npt.NDArray[Any],
    cls_start: IntArray,
    key_of: IntArray,
    land_of: BoolArray,
    single: IntArray,
    rows: IntArray,
    dist: FloatArray,
    max_m: float,
    nkeys: int,
) -> tuple[
    IntArray,
    IntArray,
    IntArray,
    IntArray,
    FloatArray,
    BoolArray,
    tuple[IntArray, IntArray, IntArray],
]:
    """Walk the fixes in order: a stay of key k goes on while the next fix of the
    flight is in k too.  Returns per stay (in order of start): flight, key,
    first and last fix, the deepest known depth, any fix over land; and the
    (fix, key, stay) whose depth is to be measured."""
    last = np.full(nkeys, -2, np.int64)  # last fix seen inside each key
    cur = np.zeros(nkeys, np.int64)  # and its stay
    cap = 1024
    sf, sk = np.empty(cap, np.int64), np.empty(cap, np.int64)
    s0, s1 = np.empty(cap, np.int64), np.empty(cap, np.int64)
    sd, sl = np.empty(cap), np.zeros(cap, np.bool_)
    tp, tk, ts = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64)
    n, m, p = 0, 0, 0
    while p < flight.size:  # a run of fixes p..q-1 of one flight in one class
        c, f, q = ids[p], flight[p], p + 1
        while q < flight.size and ids[q] == c and flight[q] == f:
            q += 1
        for e in range(cls_start[c], cls_start[c + 1]) if c >= 0 else range(0):
            k = key_of[e]
            if last[k] == p - 1 and flight[p - 1] == f:
                s = cur[k]
            else:
                if n == sf.size:
                    sf, sk, s0, s1 = _grow(sf), _grow(sk), _grow(s0), _grow(s1)
                    sd, sl = _grow(sd), _grow(sl)
                s = n
                n += 1
                sf[s], sk[s], s0[s], sd[s], sl[s] = f, k, p, np.nan, False
                cur[k] = s
            s1[s] = last[k] = q - 1
            sl[s] = sl[s] or land_of[e]
            for r in range(p, q):
                known = dist[rows[r]] if single[c] == k else np.nan
                if np.isfinite(known):
                    v = min(abs(known), max_m)
                    sd[s] = v if np.isnan(sd[s]) or v > sd[s] else sd[s]  # np.fmax
                else:
                    if m == tp.size:
                        tp, tk, ts = _grow(tp), _grow(tk), _grow(ts)
                    tp[m], tk[m], ts[m] = r, k, s
                    m += 1
        p = q
    todo = (tp[:m], tk[:m], ts[:m])
    return sf[:n], sk[:n], s0[:n], s1[:n], sd[:n], sl[:n], todo
