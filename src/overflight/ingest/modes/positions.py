"""Resolve CPR reports to latitude/longitude for a whole batch at once.

Steps, each vectorised over all aircraft (sorted with ``np.lexsort``, groups
found by comparing neighbours, "last/next report of a kind" found with
``np.maximum.accumulate`` / ``np.minimum.accumulate`` over indices):

1. Global airborne decoding: every airborne report is paired with the report
   of the other parity from the same aircraft nearest in time (before or
   after) within ``airborne_window_s`` (10 s). Any valid partner gives the
   same position for the report itself; the nearest is the least likely to
   straddle a zone boundary, and for files without times (where every gap
   is a few ns) it is the neighbouring line rather than one from another
   capture.
2. Global surface decoding, the same with ``surface_window_s`` (25 s), the
   90 deg ambiguity resolved by a reference: the aircraft's own airborne
   position (nearest in time), else ``reference`` (the receiver), else the
   median of the airborne positions decoded in the batch.
3. A globally decoded position is dropped when it is farther than
   ``margin_nm + max_speed_kt * dt`` from both the previous and the next
   globally decoded position of the same aircraft (when it has any): a pair
   of reports from two different moments can pass the NL check.
4. Local decoding of the reports still without a position, relative to the
   nearest decoded position of the same aircraft (the previous one, else the
   next one). A result is kept when it lies within
   ``margin_nm + max_speed_kt * dt`` of its reference and within a quarter of
   a latitude zone (90 NM airborne, 22 NM surface): a candidate one zone off
   then passes only if the aircraft moved three quarters of a zone since its
   reference. Newly decoded reports become references for their
   neighbours, so this step repeats until nothing changes; each round is a
   vectorised pass, and the number of rounds is bounded by the longest chain
   of reports that can only be decoded one after another (in practice 1-3),
   not by the number of aircraft or reports.
5. Surface reports of aircraft that still have no position at all are
   decoded locally relative to ``reference``, else to the surface position
   of any aircraft decoded nearest in time, else to the median airborne
   position (as a receiver does with its own location: right when the
   aircraft is within 45 NM of it), then step 4 runs again.

There is no loop over aircraft or reports anywhere: the only Python loop is
the bounded round loop of step 4 (at most ``MAX_ROUNDS``), each round a
handful of numpy operations over all reports still undecoded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.geodesy import NM_M, haversine_m
from overflight.ingest.modes import cpr

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

MAX_ROUNDS = 64


@dataclass(frozen=True)
class CprOptions:
    """Tunable limits of :func:`resolve` (pair windows as in dump1090)."""

    airborne_window_s: float = 10.0
    surface_window_s: float = 25.0
    max_speed_kt: float = 1000.0
    margin_nm: float = 2.0
    reference: tuple[float, float] | None = None


def _groups(key: npt.NDArray[np.uint64]) -> tuple[I64, I64]:
    """First and last index of the run of equal keys around each element."""
    n = key.size
    idx = np.arange(n, dtype=np.int64)
    new = np.ones(n, dtype=bool)
    new[1:] = key[1:] != key[:-1]
    last = np.ones(n, dtype=bool)
    last[:-1] = new[1:]
    start = np.maximum.accumulate(np.where(new, idx, 0))
    end = np.minimum.accumulate(np.where(last, idx, n - 1)[::-1])[::-1]
    return start, end


def _prev_next(mask: B) -> tuple[I64, I64]:
    """Index of the last element at or before / first at or after each one where mask holds."""
    n = mask.size
    idx = np.arange(n, dtype=np.int64)
    prev = np.maximum.accumulate(np.where(mask, idx, -1))
    nxt = np.minimum.accumulate(np.where(mask, idx, n)[::-1])[::-1]
    return prev, nxt


def _nearest(mask: B, start: I64, end: I64) -> I64:
    """Index of the previous element where mask holds in the same group, else the next, else -1."""
    prev, nxt = _prev_next(mask)
    prev = np.where(prev >= start, prev, -1)
    nxt = np.where(nxt <= end, nxt, -1)
    return np.where(prev >= 0, prev, nxt)


def _partners(key: npt.NDArray[np.uint64], t_ns: I64, odd: B, window_ns: np.int64) -> I64:
    """Report of the other parity in the same group nearest in time within the window."""
    start, end = _groups(key)
    prev_e, next_e = _prev_next(~odd)
    prev_o, next_o = _prev_next(odd)
    prev = np.where(odd, prev_e, prev_o)
    nxt = np.where(odd, next_e, next_o)
    n = key.size
    gap_prev = t_ns - t_ns[np.clip(prev, 0, None)]
    gap_next = t_ns[np.clip(nxt, None, n - 1)] - t_ns
    ok_prev = (prev >= start) & (gap_prev <= window_ns)
    ok_next = (nxt <= end) & (gap_next <= window_ns)
    use_prev = ok_prev & (~ok_next | (gap_prev <= gap_next))
    return np.where(use_prev, prev, np.where(ok_next, nxt, -1))


def _global_pass(
    icao: npt.NDArray[np.uint32],
    t_ns: I64,
    odd: B,
    yz: F64,
    xz: F64,
    window_s: float,
    ref: tuple[F64, F64] | None,
) -> tuple[F64, F64]:
    """Globally decoded positions of one kind of report (NaN where no pair)."""
    n = icao.size
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    if n == 0:
        return lat, lon
    order = np.lexsort((t_ns, icao))
    o_odd = odd[order]
    window = np.int64(round(window_s * 1e9))
    partner = _partners(icao[order].astype(np.uint64), t_ns[order], o_odd, window)
    has = partner >= 0
    sel = order[has]
    other = order[partner[has]]
    sel_odd = odd[sel]
    yz0 = np.where(sel_odd, yz[other], yz[sel])
    xz0 = np.where(sel_odd, xz[other], xz[sel])
    yz1 = np.where(sel_odd, yz[sel], yz[other])
    xz1 = np.where(sel_odd, xz[sel], xz[other])
    if ref is None:
        plat, plon = cpr.global_airborne(yz0, xz0, yz1, xz1, sel_odd)
    else:
        plat, plon = cpr.global_surface(yz0, xz0, yz1, xz1, sel_odd, ref[0][sel], ref[1][sel])
    lat[sel] = plat
    lon[sel] = plon
    return lat, lon


def resolve(
    icao: npt.NDArray[np.uint32],
    t_ns: I64,
    surface: B,
    odd: B,
    yz: F64,
    xz: F64,
    options: CprOptions | None = None,
) -> tuple[F64, F64, dict[str, int]]:
    """Latitude and longitude of every CPR report (NaN where unresolved).

    Parameters
    ----------
    icao, t_ns
        Aircraft address and time (ns) of each report, in any order.
    surface, odd
        Surface (TC 5-8) rather than airborne report; odd CPR format.
    yz, xz
        CPR latitude and longitude as fractions (raw / 2**17).
    options
        Windows, speed limit and receiver reference.

    Returns
    -------
    lat, lon, counts
        Positions aligned with the input and counts of ``global``, ``local``,
        ``surface_reference``, ``implausible`` (global positions dropped) and
        ``unresolved`` reports.
    """
    opt = options or CprOptions()
    n = icao.size
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    if n == 0:
        empty = {"global": 0, "local": 0, "surface_reference": 0, "implausible": 0}
        return lat, lon, {**empty, "unresolved": 0}

    air = np.flatnonzero(~surface)
    alat, alon = _global_pass(
        icao[air], t_ns[air], odd[air], yz[air], xz[air], opt.airborne_window_s, None
    )
    lat[air], lon[air] = alat, alon

    srf = np.flatnonzero(surface)
    if srf.size:
        rlat, rlon = _surface_references(icao, t_ns, surface, lat, lon, opt.reference)
        slat, slon = _global_pass(
            icao[srf],
            t_ns[srf],
            odd[srf],
            yz[srf],
            xz[srf],
            opt.surface_window_s,
            (rlat[srf], rlon[srf]),
        )
        lat[srf], lon[srf] = slat, slon

    n_implausible = _drop_implausible(icao, t_ns, lat, lon, opt)
    n_global = int(np.count_nonzero(~np.isnan(lat)))
    alone = _local_rounds(icao, t_ns, surface, odd, yz, xz, lat, lon, opt)
    n_ref = 0
    # Surface reports of aircraft with no position at all: local decoding
    # relative to the receiver, as a receiver does with its own location
    # (valid within 45 NM of it).
    lone = np.flatnonzero(alone & surface)
    if lone.size:
        rlat, rlon = _lone_references(t_ns, surface, lat, lon, lone, opt.reference)
        plat, plon = cpr.local(yz[lone], xz[lone], odd[lone], surface[lone], rlat, rlon)
        lat[lone], lon[lone] = plat, plon
        n_ref = int(np.count_nonzero(~np.isnan(plat)))
        if n_ref:
            _local_rounds(icao, t_ns, surface, odd, yz, xz, lat, lon, opt)
    n_done = int(np.count_nonzero(~np.isnan(lat)))
    counts = {
        "global": n_global,
        "local": n_done - n_global - n_ref,
        "surface_reference": n_ref,
        "implausible": n_implausible,
        "unresolved": n - n_done,
    }
    return lat, lon, counts


def _drop_implausible(
    icao: npt.NDArray[np.uint32], t_ns: I64, lat: F64, lon: F64, opt: CprOptions
) -> int:
    """Blank global positions that agree with neither decoded neighbour; return how many."""
    known = np.flatnonzero(~np.isnan(lat))
    if known.size < 2:
        return 0
    order = known[np.lexsort((t_ns[known], icao[known]))]
    key = icao[order].astype(np.uint64)
    same_prev = np.r_[False, key[1:] == key[:-1]]
    same_next = np.r_[key[1:] == key[:-1], False]
    o_lat, o_lon, o_t = lat[order], lon[order], t_ns[order]
    step = haversine_m(o_lat[1:], o_lon[1:], o_lat[:-1], o_lon[:-1])
    dt_s = (o_t[1:] - o_t[:-1]) / 1e9
    fits = step <= opt.margin_nm * NM_M + opt.max_speed_kt * NM_M / 3600.0 * dt_s
    ok_prev = np.r_[False, fits] & same_prev
    ok_next = np.r_[fits, False] & same_next
    bad = ~(ok_prev | ok_next) & (same_prev | same_next)
    lat[order[bad]] = np.nan
    lon[order[bad]] = np.nan
    return int(np.count_nonzero(bad))


def _surface_references(
    icao: npt.NDArray[np.uint32],
    t_ns: I64,
    surface: B,
    lat: F64,
    lon: F64,
    reference: tuple[float, float] | None,
) -> tuple[F64, F64]:
    """Per report: own airborne position nearest in time, else receiver, else batch median."""
    n = icao.size
    known = ~surface & ~np.isnan(lat)
    if reference is not None:
        fallback = (float(reference[0]), float(reference[1]))
    elif known.any():
        fallback = (float(np.median(lat[known])), float(np.median(lon[known])))
    else:
        fallback = (np.nan, np.nan)
    order = np.lexsort((t_ns, icao))
    start, end = _groups(icao[order].astype(np.uint64))
    near = _nearest(known[order], start, end)
    rlat = np.full(n, fallback[0])
    rlon = np.full(n, fallback[1])
    has = near >= 0
    rlat[order[has]] = lat[order[near[has]]]
    rlon[order[has]] = lon[order[near[has]]]
    return rlat, rlon


def _lone_references(
    t_ns: I64,
    surface: B,
    lat: F64,
    lon: F64,
    lone: npt.NDArray[np.intp],
    reference: tuple[float, float] | None,
) -> tuple[F64, F64]:
    """Receiver stand-in for each lone surface report.

    The ``reference`` option, else the surface position of any aircraft
    decoded nearest in time (airports are within radio range of the
    receiver, and a merged multi-receiver feed moves between them), else the
    median of the airborne positions.
    """
    if reference is not None:
        return np.full(lone.size, float(reference[0])), np.full(lone.size, float(reference[1]))
    srf = np.flatnonzero(surface & ~np.isnan(lat))
    if srf.size == 0:
        air = ~surface & ~np.isnan(lat)
        if not air.any():
            return np.full(lone.size, np.nan), np.full(lone.size, np.nan)
        return (
            np.full(lone.size, float(np.median(lat[air]))),
            np.full(lone.size, float(np.median(lon[air]))),
        )
    srf = srf[np.argsort(t_ns[srf], kind="stable")]
    ts = t_ns[srf]
    right = np.clip(np.searchsorted(ts, t_ns[lone]), 0, ts.size - 1)
    left = np.clip(right - 1, 0, ts.size - 1)
    pick = np.where(np.abs(ts[left] - t_ns[lone]) <= np.abs(ts[right] - t_ns[lone]), left, right)
    return lat[srf[pick]], lon[srf[pick]]


def _local_rounds(
    icao: npt.NDArray[np.uint32],
    t_ns: I64,
    surface: B,
    odd: B,
    yz: F64,
    xz: F64,
    lat: F64,
    lon: F64,
    opt: CprOptions,
) -> B:
    """Fill ``lat``/``lon`` (work arrays of :func:`resolve`) by local decoding.

    Returns which reports had no decoded report of the same aircraft to start from.
    """
    order = np.lexsort((t_ns, icao))
    start, end = _groups(icao[order].astype(np.uint64))
    o_t = t_ns[order]
    o_srf = surface[order]
    o_odd = odd[order]
    o_yz = yz[order]
    o_xz = xz[order]
    o_lat = lat[order]
    o_lon = lon[order]
    cap_m = np.where(o_srf, 22.0, 90.0) * NM_M
    speed_ms = opt.max_speed_kt * NM_M / 3600.0
    tried = np.full(o_t.size, -2, dtype=np.int64)  # reference used by the last failed try
    for _ in range(MAX_ROUNDS):
        known = ~np.isnan(o_lat)
        ref = _nearest(known, start, end)
        todo = np.flatnonzero(~known & (ref >= 0) & (ref != tried))
        if todo.size == 0:
            break
        r = ref[todo]
        plat, plon = cpr.local(o_yz[todo], o_xz[todo], o_odd[todo], o_srf[todo], o_lat[r], o_lon[r])
        dt_s = np.abs(o_t[todo] - o_t[r]) / 1e9
        allowed = np.minimum(cap_m[todo], opt.margin_nm * NM_M + speed_ms * dt_s)
        ok = haversine_m(plat, plon, o_lat[r], o_lon[r]) <= allowed
        tried[todo[~ok]] = r[~ok]
        if not ok.any():
            break
        o_lat[todo[ok]] = plat[ok]
        o_lon[todo[ok]] = plon[ok]
    lat[order] = o_lat
    lon[order] = o_lon
    alone = np.zeros(o_t.size, dtype=bool)
    alone[order] = _nearest(~np.isnan(o_lat), start, end) < 0
    return alone
