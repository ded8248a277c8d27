"""The clean stage before it was compiled: the reference of tests/test_clean_speed_equiv.py.

A compact copy (docstrings dropped, default parameters only) of the numpy
implementation of ``overflight.clean`` at commit 9e8f2bc: ``to_positions``,
``clean`` with its rules, the segment decision (``_segments``,
``_best_chain``, ``_gate``), ``slow_at_altitude``, ``detours``, the pairwise
tests and ``split_flights``.  The rewrite replaced their sequential parts
with compiled loops (overflight.jit), distance bounds and a fused
``run``; this file is the old definition they must agree with, row for row.
Helpers the rewrite left untouched (column readers, ``flight_starts``,
``flights_table``, the output table) are imported from the package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overflight.clean import reject as rj
from overflight.clean._arrays import (
    NULL_TIME,
    bool_col,
    float_col,
    group_starts,
    take_rows,
    time_ns,
)
from overflight.clean.flights import _flight_ids, flight_starts, flights_table
from overflight.clean.positions import IDENT_FIELDS, KINEMATIC_FIELDS
from overflight.geodesy import KT_MS, haversine_m
from overflight.schema import MESSAGE_SCHEMA, POINT_SCHEMA, conform

Arr = np.ndarray
Feasible = Callable[[Arr, Arr], Arr]


# --- _arrays --------------------------------------------------------------------


def group_codes(icao24: Any) -> Arr:
    arr = icao24.combine_chunks() if isinstance(icao24, pa.ChunkedArray) else icao24
    arr = pc.fill_null(arr.cast(pa.string()), "")
    enc = pc.dictionary_encode(arr)
    if len(enc.dictionary) == 0:
        return np.zeros(len(arr), dtype=np.int64)
    rank = np.asarray(pc.rank(enc.dictionary, sort_keys="ascending"), dtype=np.int64) - 1
    return rank[enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)]


def sort_order(codes: Arr, t: Arr, tiebreak: Callable[[Arr], Any] | None = None) -> Arr:
    n = len(t)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    o1 = np.argsort(t, kind="stable")
    order = o1[np.argsort(codes[o1], kind="stable")].astype(np.int64)
    if tiebreak is not None:
        cs, ts = codes[order], t[order]
        same = (cs[1:] == cs[:-1]) & (ts[1:] == ts[:-1])
        tie = np.zeros(n, dtype=bool)
        tie[1:] |= same
        tie[:-1] |= same
        if tie.any():
            pos = np.flatnonzero(tie)
            prev_same = np.zeros(n, dtype=bool)
            prev_same[1:] = same
            block = np.cumsum(~prev_same[pos])
            keys = [np.asarray(k) for k in reversed(tiebreak(order[pos]))]
            order[pos] = order[pos][np.lexsort((*keys, block))]
    return order


def last_index(has: Arr, start: Arr) -> Arr:
    n = len(has)
    idx = np.where(has, np.arange(n), -1)
    last = np.maximum.accumulate(idx) if n else idx
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0)) if n else idx
    return np.where(last >= first, last, -1).astype(np.int64)


def run_starts(change: Arr) -> Arr:
    if len(change) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.maximum.accumulate(np.where(change, np.arange(len(change)), 0)).astype(np.int64)


# --- positions ------------------------------------------------------------------


def _present(col: pa.Array) -> Arr:
    ok = col.is_valid()
    if pa.types.is_floating(col.type):
        ok = pc.and_(ok, pc.invert(pc.fill_null(pc.is_nan(col), True)))
    return np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)


def to_positions(
    messages: pa.Table, max_age_s: float = 10.0, ident_max_age_s: float = 1800.0
) -> pa.Table:
    table = conform(messages, MESSAGE_SCHEMA)
    if table.num_rows == 0:
        return table
    codes = group_codes(table.column("icao24"))
    t = time_ns(table)
    order = sort_order(codes, t)
    codes, t = codes[order], t[order]
    start = group_starts(codes)
    lat_ok = table.column("latitude").is_valid().to_numpy(zero_copy_only=False)
    lon_ok = table.column("longitude").is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(np.asarray(lat_ok, bool)[order] & np.asarray(lon_ok, bool)[order])
    src_rows, t_rows = order[rows], t[rows]
    arrays = []
    for field in MESSAGE_SCHEMA:
        col = table.column(field.name).combine_chunks()
        idx = pa.array(src_rows)
        if field.name in IDENT_FIELDS or field.name in KINEMATIC_FIELDS:
            present = _present(col)
            if not present[src_rows].all():
                limit = ident_max_age_s if field.name in IDENT_FIELDS else max_age_s
                last = last_index(present[order], start)[rows]
                safe = np.where(last >= 0, last, 0)
                age_ns = t_rows.astype(np.float64) - t[safe].astype(np.float64)
                idx = pa.array(order[safe], mask=~((last >= 0) & (age_ns <= limit * 1e9)))
        arrays.append(col.take(idx))
    return pa.Table.from_arrays(
        arrays, schema=pa.schema([(f.name, f.type) for f in MESSAGE_SCHEMA])
    )


# --- rules ----------------------------------------------------------------------


def near_duplicates(
    grp: Arr, t_ns: Arr, lat: Arr, lon: Arr, *, window_s: float, dist_m: float
) -> Arr:
    out = np.zeros(len(grp), dtype=bool)
    if len(grp) > 1:
        close = (grp[1:] == grp[:-1]) & (t_ns[1:] - t_ns[:-1] <= window_s * 1e9)
        b = np.flatnonzero(close) + 1
        out[b] = haversine_m(lat[b - 1], lon[b - 1], lat[b], lon[b]) <= dist_m
    return out


def stale_fixes(
    grp: Arr,
    t_s: Arr,
    lat: Arr,
    lon: Arr,
    gs: Arr,
    onground: Arr,
    *,
    stale_s: float,
    min_speed_kt: float,
) -> tuple[Arr, Arr]:
    change = np.ones(len(grp), dtype=bool)
    change[1:] = (grp[1:] != grp[:-1]) | (lat[1:] != lat[:-1]) | (lon[1:] != lon[:-1])
    first_seen = t_s[run_starts(change)]
    with np.errstate(invalid="ignore"):
        moving = (gs >= min_speed_kt) & ~onground
    return first_seen, moving & (t_s - first_seen > stale_s)


def near_ground(grp: Arr, t_s: Arr, onground: Arr, window_s: float) -> Arr:
    before = last_index(onground, group_starts(grp))
    after_rev = last_index(onground[::-1], group_starts(grp[::-1]))[::-1]
    n = len(grp)
    after = np.where(after_rev >= 0, n - 1 - after_rev, -1)
    dt_b = np.where(before >= 0, t_s - t_s[np.maximum(before, 0)], np.inf)
    dt_a = np.where(after >= 0, t_s[np.maximum(after, 0)] - t_s, np.inf)
    return np.minimum(dt_b, dt_a) <= window_s


# --- pairwise tests, slow at altitude, detours ----------------------------------


def position_feasible(
    lat: Arr,
    lon: Arr,
    t_s: Arr,
    first_seen_s: Arr,
    *,
    max_speed_kt: float,
    time_tol_s: float,
    dist_tol_m: float,
) -> Feasible:
    v = max_speed_kt * KT_MS
    return lambda a, b: (
        haversine_m(lat[a], lon[a], lat[b], lon[b])
        <= v * (t_s[b] - first_seen_s[a] + time_tol_s) + dist_tol_m
    )


def altitude_feasible(
    alt: Arr,
    t_s: Arr,
    *,
    max_vertical_rate_fpm: float,
    sustained_vertical_rate_fpm: float,
    reserve_ft: float,
    time_tol_s: float,
    alt_tol_ft: float,
) -> Feasible:
    burst, sustained = max_vertical_rate_fpm / 60.0, sustained_vertical_rate_fpm / 60.0

    def feasible(a: Arr, b: Arr) -> Arr:
        dt = t_s[b] - t_s[a] + time_tol_s
        return (
            np.abs(alt[b] - alt[a])
            <= np.minimum(burst * dt, reserve_ft + sustained * dt) + alt_tol_ft
        )

    return feasible


def slow_at_altitude(
    grp: Arr,
    t_s: Arr,
    lat: Arr,
    lon: Arr,
    alt: Arr,
    gs: Arr,
    onground: Arr,
    *,
    min_altitude_ft: float,
    max_groundspeed_kt: float,
    min_duration_s: float,
) -> tuple[Arr, Arr]:
    n = len(grp)
    if n == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    known = np.isfinite(gs)
    with np.errstate(invalid="ignore"):
        cond = (alt >= min_altitude_ft) & ~onground & (~known | (gs <= max_groundspeed_kt))
    change = np.ones(n, dtype=bool)
    change[1:] = (grp[1:] != grp[:-1]) | (cond[1:] != cond[:-1])
    starts = np.flatnonzero(change)
    ends = np.r_[starts[1:] - 1, n - 1]
    rid = np.cumsum(change) - 1
    duration = t_s[ends] - t_s[starts]
    step = np.zeros(n)
    b = np.flatnonzero(cond & ~change)
    step[b] = haversine_m(lat[b - 1], lon[b - 1], lat[b], lon[b])
    path_kt = np.add.reduceat(step, starts) / np.maximum(duration, 1e-9) / KT_MS
    by_gs = np.add.reduceat(known.astype(np.int64), starts) * 2 > ends - starts + 1
    long_run = (duration >= min_duration_s)[rid] & cond
    return long_run & by_gs[rid], long_run & ~by_gs[rid] & (path_kt <= max_groundspeed_kt)[rid]


def detours(
    grp: Arr,
    t_s: Arr,
    lat: Arr,
    lon: Arr,
    gs: Arr,
    *,
    max_run: int,
    slack: float,
    time_tol_s: float,
    dist_tol_m: float,
) -> Arr:
    n = len(grp)
    out = np.zeros(n, dtype=bool)
    if n < 3:
        return out
    change = np.ones(n, dtype=bool)
    change[1:] = (grp[1:] != grp[:-1]) | (lat[1:] != lat[:-1]) | (lon[1:] != lon[:-1])
    starts = np.flatnonzero(change)
    rid = np.cumsum(change) - 1
    g, t, la, lo = grp[starts], t_s[starts], lat[starts], lon[starts]
    with np.errstate(invalid="ignore"):
        v = np.fmax.reduceat(gs, starts) * KT_MS
    m = len(starts)
    flagged = np.zeros(m, dtype=bool)
    step = np.full(m, np.inf)
    step[1:] = haversine_m(la[:-1], lo[:-1], la[1:], lo[1:])

    def reach(i: Arr, j: Arr, s: Arr) -> Arr:
        return slack * s * (t[j] - t[i] + 2 * time_tol_s) + dist_tol_m

    for size in range(1, max_run + 1):
        k = np.arange(1, m - size)
        a, b, e = k - 1, k + size - 1, k + size
        ok = (g[a] == g[e]) & ~flagged[a] & ~flagged[e]
        speed = np.fmax(np.fmax(v[a], v[k]), np.fmax(v[b], v[e]))
        with np.errstate(invalid="ignore"):
            ok &= (step[k] > reach(a, k, speed)) & (step[e] > reach(b, e, speed))
        a, k, e, speed = a[ok], k[ok], e[ok], speed[ok]
        bridge = haversine_m(la[a], lo[a], la[e], lo[e]) <= reach(a, e, speed)
        for off in range(size):
            flagged[k[bridge] + off] = True
    out[:] = flagged[rid]
    return out


# --- segments -------------------------------------------------------------------


def _segments(grp: Arr, feasible: Feasible, breaks: Arr | None, lookahead: int) -> tuple[Arr, Arr]:
    n = len(grp)
    brk = np.ones(n, dtype=bool)
    jump = np.zeros(n, dtype=bool)
    if n > 1:
        a = np.flatnonzero(grp[1:] == grp[:-1])
        jump[a + 1] = ~feasible(a, a + 1)
        brk[a + 1] = jump[a + 1]
    if breaks is not None and jump.any():
        cut = np.flatnonzero(brk | breaks)
        cs = np.r_[0, np.cumsum(jump[cut])]
        i = np.arange(len(cut))
        hi = np.minimum(i + lookahead + 1, len(cut))
        lo = np.maximum(i - lookahead, 0)
        brk[cut[cs[hi] - cs[lo] > 0]] = True
    first = np.flatnonzero(brk)
    return first.astype(np.int64), np.r_[first[1:] - 1, n - 1].astype(np.int64)


def best_chain(
    first: Arr, last: Arr, sgrp: Arr, feasible: Feasible, penalty: float, lookahead: int
) -> Arr:
    m = len(first)
    nfix = (last - first + 1).astype(np.float64)
    gstart = np.ones(m, dtype=bool)
    gstart[1:] = sgrp[1:] != sgrp[:-1]
    rank = np.arange(m) - np.maximum.accumulate(np.where(gstart, np.arange(m), 0))
    k_max = max(1, lookahead)
    pen = np.full((m, k_max), np.inf)
    for k in range(1, k_max + 1):
        j = np.flatnonzero(rank >= k)
        if len(j):
            pen[j, k - 1] = np.where(feasible(last[j - k], first[j]), 0.0, penalty)
    score = np.zeros(m)
    pred = np.full(m, -1, dtype=np.int64)
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(rank.max() + 2))
    karr = np.arange(1, k_max + 1)
    for r in range(int(rank.max()) + 1):
        js = by_rank[bounds[r] : bounds[r + 1]]
        if r == 0:
            score[js] = nfix[js]
            continue
        cand = score[np.clip(js[:, None] - karr[None, :], 0, None)] - pen[js]
        best_k = np.argmax(cand, axis=1)
        best = cand[np.arange(len(js)), best_k]
        score[js] = nfix[js] + np.where(best >= 0, best, 0.0)
        pred[js] = np.where(best >= 0, js - (best_k + 1), -1)
    starts = np.flatnonzero(gstart)
    gmax = np.maximum.reduceat(score, starts)
    ends = np.minimum.reduceat(
        np.where(score >= gmax[np.cumsum(gstart) - 1], np.arange(m), m), starts
    )
    keep = np.zeros(m, dtype=bool)
    cur = ends
    while len(cur):
        keep[cur] = True
        cur = pred[cur]
        cur = cur[cur >= 0]
    return keep


def gate(first: Arr, last: Arr, sgrp: Arr, keep: Arr, feasible: Feasible) -> Arr:
    ks = np.flatnonzero(keep)
    k = len(ks)
    if k < 2:
        return np.zeros(0, dtype=np.int64)
    head = np.ones(k, dtype=bool)
    head[1:] = sgrp[ks[1:]] != sgrp[ks[:-1]]
    q = np.flatnonzero(~head)
    ref = np.full(k, -1, dtype=np.int64)
    ref[q] = last[ks[q - 1]]
    dropped = np.zeros(0, dtype=np.int64)
    for _ in range(k):
        g = q[~feasible(ref[q], first[ks[q]])]
        j = ks[g]
        sizes = last[j] - first[j] + 1
        seg0 = np.cumsum(sizes) - sizes
        rows = np.repeat(first[j] - seg0, sizes) + np.arange(sizes.sum())
        ok = feasible(np.repeat(ref[g], sizes), rows).astype(np.int64)
        cum = np.cumsum(ok)
        dropped = rows[cum - np.repeat(cum[seg0] - ok[seg0], sizes) == 0]
        gone = np.zeros(k, dtype=bool)
        if len(g):
            gone[g] = np.add.reduceat(ok, seg0) == 0
        new_ref = ref.copy()
        new_ref[q] = np.where(gone[q - 1], ref[q - 1], last[ks[q - 1]])
        if np.array_equal(new_ref, ref):
            break
        ref = new_ref
    return dropped


def resolve(
    grp: Arr, feasible: Feasible, *, penalty: float, lookahead: int, breaks: Arr | None = None
) -> tuple[Arr, Arr]:
    n = len(grp)
    bridged, edge = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    if n == 0:
        return bridged, edge
    first, last = _segments(grp, feasible, breaks, lookahead)
    sgrp = grp[first]
    if len(first) == 1 + int(np.count_nonzero(grp[1:] != grp[:-1])):
        return bridged, edge
    keep = best_chain(first, last, sgrp, feasible, penalty, lookahead)
    m = len(first)
    gstart = np.ones(m, dtype=bool)
    gstart[1:] = sgrp[1:] != sgrp[:-1]
    gid = np.cumsum(gstart) - 1
    k_int = keep.astype(np.int64)
    kc = np.cumsum(k_int)
    base = (kc - k_int)[np.flatnonzero(gstart)][gid]
    total = np.add.reduceat(k_int, np.flatnonzero(gstart))[gid]
    before, after = kc - k_int - base, total - (kc - base)
    sizes = last - first + 1
    row_bridge = np.repeat(~keep & (before > 0) & (after > 0), sizes)
    bridged[:] = row_bridge
    edge[:] = ~np.repeat(keep, sizes) & ~row_bridge
    edge[gate(first, last, sgrp, keep, feasible)] = True
    return bridged, edge


# --- reject, flights, run -------------------------------------------------------


def _gaps(t_s: Arr, gap_s: float) -> Arr:
    out = np.zeros(len(t_s), dtype=bool)
    out[1:] = np.diff(t_s) > gap_s
    return out


def _null_counts(table: pa.Table, rows: Arr) -> Arr:
    sub = table.take(pa.array(rows, type=pa.int64()))
    return sum(
        (np.asarray(c.is_null().to_numpy(zero_copy_only=False), np.int64) for c in sub.columns),
        np.zeros(len(rows), np.int64),
    )


def clean(positions: pa.Table) -> pa.Table:
    table = conform(positions, MESSAGE_SCHEMA)
    n = table.num_rows
    codes = group_codes(table.column("icao24"))
    t = time_ns(table)
    lat, lon = float_col(table, "latitude"), float_col(table, "longitude")
    order = sort_order(codes, t, lambda rows: (lat[rows], lon[rows], _null_counts(table, rows)))
    table = take_rows(table, order)
    codes, t, lat, lon = codes[order], t[order], lat[order], lon[order]
    alt = float_col(table, "altitude")
    alt_any = np.where(np.isnan(alt), float_col(table, "geoaltitude"), alt)
    gs = float_col(table, "groundspeed")
    onground, _ = bool_col(table, "onground")
    known_t = t[t != NULL_TIME]
    t0 = int(known_t.min()) if len(known_t) else 0
    t_s = (t - t0).astype(np.float64) / 1e9
    reason = np.zeros(n, dtype=np.int8)

    def flag(rows: Arr, name: str) -> None:
        if rows.dtype == bool:
            reason[rows & (reason == 0)] = rj._CODE[name]
        else:
            reason[rows[reason[rows] == 0]] = rj._CODE[name]

    with np.errstate(invalid="ignore"):
        inside = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    flag(~inside | (t == NULL_TIME), "out_of_range")
    flag((lat == 0) & (lon == 0), "null_island")
    dup = np.zeros(n, dtype=bool)
    dup[1:] = (
        (codes[1:] == codes[:-1])
        & (t[1:] == t[:-1])
        & (lat[1:] == lat[:-1])
        & (lon[1:] == lon[:-1])
    )
    flag(dup, "duplicate")
    c = np.flatnonzero(reason == 0)
    flag(
        c[
            near_duplicates(
                codes[c],
                t[c],
                lat[c],
                lon[c],
                window_s=rj.NEAR_DUPLICATE_S,
                dist_m=rj.NEAR_DUPLICATE_M,
            )
        ],
        "near_duplicate",
    )
    c = np.flatnonzero(reason == 0)
    first_seen = t_s.copy()
    first_seen[c], stale = stale_fixes(
        codes[c],
        t_s[c],
        lat[c],
        lon[c],
        gs[c],
        onground[c],
        stale_s=rj.STALE_S,
        min_speed_kt=rj.STALE_MIN_SPEED_KT,
    )
    flag(c[stale], "stale")
    with np.errstate(invalid="ignore"):
        high = alt > rj.GROUND_MAX_ALTITUDE_FT
    flag(high & near_ground(codes, t_s, onground, rj.GROUND_WINDOW_S), "altitude_jump")
    c = np.flatnonzero((reason == 0) & np.isfinite(alt))
    feasible = altitude_feasible(
        alt[c],
        t_s[c],
        max_vertical_rate_fpm=rj.MAX_VERTICAL_RATE_FPM,
        sustained_vertical_rate_fpm=rj.SUSTAINED_VERTICAL_RATE_FPM,
        reserve_ft=rj.CLIMB_RESERVE_FT,
        time_tol_s=rj.TIME_TOL_S,
        alt_tol_ft=rj.ALT_TOL_FT,
    )
    bridged, edge = resolve(
        codes[c],
        feasible,
        penalty=rj.JUMP_PENALTY_FIXES,
        lookahead=rj.LOOKAHEAD,
        breaks=_gaps(t_s[c], rj.SEGMENT_GAP_S),
    )
    flag(c[bridged | edge], "altitude_jump")
    c = np.flatnonzero(reason == 0)
    slow, parked = slow_at_altitude(
        codes[c],
        t_s[c],
        lat[c],
        lon[c],
        alt_any[c],
        gs[c],
        onground[c],
        min_altitude_ft=rj.SPOOF_MIN_ALTITUDE_FT,
        max_groundspeed_kt=rj.SPOOF_MAX_GROUNDSPEED_KT,
        min_duration_s=rj.SPOOF_MIN_DURATION_S,
    )
    flag(c[slow], "spoofed")
    flag(c[parked], "altitude_jump")
    c = np.flatnonzero(reason == 0)
    flag(
        c[
            detours(
                codes[c],
                first_seen[c],
                lat[c],
                lon[c],
                gs[c],
                max_run=rj.DETOUR_MAX_FIXES,
                slack=rj.DETOUR_SPEED_FACTOR,
                time_tol_s=rj.TIME_TOL_S,
                dist_tol_m=rj.DETOUR_TOL_M,
            )
        ],
        "spoofed",
    )
    c = np.flatnonzero(reason == 0)
    feasible = position_feasible(
        lat[c],
        lon[c],
        t_s[c],
        first_seen[c],
        max_speed_kt=rj.MAX_SPEED_KT,
        time_tol_s=rj.TIME_TOL_S,
        dist_tol_m=rj.DIST_TOL_M,
    )
    bridged, edge = resolve(
        codes[c],
        feasible,
        penalty=rj.JUMP_PENALTY_FIXES,
        lookahead=rj.LOOKAHEAD,
        breaks=_gaps(t_s[c], rj.SEGMENT_GAP_S),
    )
    flag(c[bridged], "spoofed")
    flag(c[edge], "speed")
    return rj._points(table, reason)


def split_flights(
    points: pa.Table,
    *,
    gap_s: float = 1800.0,
    ground_s: float = 600.0,
    min_airborne_s: float = 30.0,
) -> pa.Table:
    meta = points.schema.metadata
    table = conform(points, POINT_SCHEMA)
    n = table.num_rows
    codes = group_codes(table.column("icao24"))
    t = time_ns(table)
    order = sort_order(codes, t)
    table = take_rows(table, order)
    codes, t = codes[order], t[order]
    valid = np.asarray(
        pc.fill_null(table.column("valid"), True).to_numpy(zero_copy_only=False), dtype=bool
    )
    ground, _ = bool_col(table, "onground")
    gap = group_starts(codes)
    gap[1:] |= np.diff(t) > gap_s * 1e9
    gap_no = np.cumsum(gap)
    v = np.flatnonzero(valid)
    vbreak = np.ones(len(v), dtype=bool)
    vbreak[1:] = gap_no[v[1:]] != gap_no[v[:-1]]
    fs = flight_starts(
        codes[v], t[v], ground[v], ground_s=ground_s, min_airborne_s=min_airborne_s, breaks=vbreak
    )
    fv = np.full(n, -1, dtype=np.int64)
    fv[v] = np.cumsum(fs) - 1
    before = last_index(valid, gap)
    rev = last_index(valid[::-1], np.r_[gap[1:], True][::-1])[::-1]
    after = np.where(rev >= 0, n - 1 - rev, -1)
    flight = np.where(before >= 0, fv[np.maximum(before, 0)], fv[np.maximum(after, 0)])
    first_row = v[fs]
    orphan = (before < 0) & (after < 0)
    if orphan.any():
        o_start = gap & orphan
        flight[orphan] = len(first_row) + np.cumsum(o_start)[orphan] - 1
        first_row = np.r_[first_row, np.flatnonzero(o_start)]
    icao = table.column("icao24").combine_chunks()
    ids = _flight_ids(icao.take(pa.array(first_row, type=pa.int64())), t[first_row])
    out = table.set_column(
        table.schema.get_field_index("flight_id"),
        "flight_id",
        ids.take(pa.array(flight, type=pa.int64())),
    )
    return out.replace_schema_metadata(meta) if meta else out


def run(messages: pa.Table) -> tuple[pa.Table, pa.Table]:
    points = split_flights(clean(to_positions(messages)))
    return points, flights_table(points)
