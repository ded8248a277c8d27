"""Flag the positions that cannot be right, keeping every row.

:func:`clean` sorts the positions by ``(icao24, timestamp)`` and marks each
row ``valid`` or gives the first reason, in this order, that applies to it.
Later tests only look at rows that are still valid, so a rejected fix never
serves as the reference that gets a good neighbour rejected.

==================  ==========================================================
reject_reason       meaning (defaults)
==================  ==========================================================
``out_of_range``    latitude or longitude null, NaN, or outside ±90 / ±180;
                    or a null timestamp
``null_island``     latitude and longitude both exactly 0 (a decoder default)
``duplicate``       same icao24, timestamp, latitude and longitude as a row
                    already kept (the copy with more non-null fields is kept)
``near_duplicate``  within 0.5 s and 10 m of the previous fix of the same
                    aircraft: the same message relayed twice, or an ADS-B and
                    an MLAT position of one instant; 10 m is two CPR position
                    steps (~5.1 m airborne), 0.5 s is the ADS-B position rate
``stale``           the position repeats, unchanged, one first reported more
                    than 15 s earlier while the aircraft reports >= 50 kt and
                    is not on the ground: a feed holding its last position
                    (state-vector feeds do this for minutes when the position
                    is lost) rather than a fix; at 450 kt the true position is
                    then more than 3.5 km away
``altitude_jump``   implied vertical rate above 30,000 ft/min (a fighter's zoom
                    climb, far beyond any airliner or ISR platform), and over
                    longer gaps more than 5,000 ft + 10,000 ft/min (nothing
                    sustains more; emergency descents run 6,000-10,000
                    ft/min), with 1 s and 100 ft of slack: altitude glitches
                    such as 12,925 -> 30,975 -> 12,900 ft one second apart.
                    Also any altitude above 15,000 ft on a row flagged on
                    ground or within 30 s of one (the highest runways are
                    below 14,500 ft; 15,000 ft in 30 s is 30,000 ft/min), and a
                    run of 30 s at or above 30,000 ft without ground speed
                    whose positions stand still (a parked aircraft with a
                    garbled altitude)
``spoofed``         a fix or run of fixes that jumps away from the track and
                    comes back, its neighbours agreeing with each other: up
                    to 3 distinct positions whose jumps in and out exceed 1.5
                    times the reported ground speed (+1 s per timestamp, +500
                    m), longer runs by the 1,200 kt segment decision; or a
                    run of 30 s at or above 30,000 ft reporting ground speeds
                    of at most 100 kt (see :mod:`overflight.clean.spoof`
                    and :mod:`overflight.clean.detours`).
                    "Spoofed" means displaced from a self-consistent track:
                    GNSS spoofing, or a garbled position decode
``speed``           implied ground speed from the last valid fix above
                    1,200 kt (faster than Concorde's 1,170 kt cruise; set
                    ``max_speed_kt`` higher for supersonic military traffic),
                    with 1 s and 100 m of slack for timestamps rounded to the
                    second and position noise
==================  ==========================================================

``speed``, ``spoofed`` (displaced) and ``altitude_jump`` come from one
segment-level decision per aircraft (:mod:`overflight.clean.segments`): a
run of at most ~120 fixes (twice ``jump_penalty_fixes``) that is
incompatible with both neighbours, while the neighbours agree, is rejected;
longer inconsistent stretches are kept and only the fixes right after the
jump that are too far from the last valid fix are rejected.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.clean._arrays import (
    NULL_TIME,
    BoolArray,
    FloatArray,
    IntArray,
    bool_value,
    float_col,
    group_codes,
    sort_order,
    take_rows,
    time_ns,
    with_stats,
)
from overflight.clean.detours import detours
from overflight.clean.pairs import altitude_feasible, position_feasible
from overflight.clean.rules import near_duplicates, near_ground, stale_fixes
from overflight.clean.segments import resolve
from overflight.clean.spoof import slow_at_altitude
from overflight.schema import MESSAGE_SCHEMA, POINT_SCHEMA, conform

#: The reject reasons, in order of precedence.
REASONS: tuple[str, ...] = (
    "out_of_range",
    "null_island",
    "duplicate",
    "near_duplicate",
    "stale",
    "altitude_jump",
    "spoofed",
    "speed",
)
_CODE = {name: i + 1 for i, name in enumerate(REASONS)}

MAX_SPEED_KT = 1200.0
MAX_VERTICAL_RATE_FPM = 30_000.0
SUSTAINED_VERTICAL_RATE_FPM = 10_000.0
CLIMB_RESERVE_FT = 5_000.0
GROUND_MAX_ALTITUDE_FT = 15_000.0
GROUND_WINDOW_S = 30.0
TIME_TOL_S = 1.0
DIST_TOL_M = 100.0
ALT_TOL_FT = 100.0
NEAR_DUPLICATE_S = 0.5
NEAR_DUPLICATE_M = 10.0
STALE_S = 15.0
STALE_MIN_SPEED_KT = 50.0
SPOOF_MIN_ALTITUDE_FT = 30_000.0
SPOOF_MAX_GROUNDSPEED_KT = 100.0
SPOOF_MIN_DURATION_S = 30.0
JUMP_PENALTY_FIXES = 60.0
SEGMENT_GAP_S = 10.0
DETOUR_MAX_FIXES = 3
DETOUR_SPEED_FACTOR = 1.5
DETOUR_TOL_M = 500.0
LOOKAHEAD = 8


def _gaps(t_s: FloatArray, gap_s: float) -> BoolArray:
    out = np.zeros(len(t_s), dtype=bool)
    out[1:] = np.diff(t_s) > gap_s
    return out


TieKeys = Callable[[IntArray], tuple[FloatArray, FloatArray, IntArray]]


def table_tie_keys(table: pa.Table) -> TieKeys:
    """The ``tie_keys`` of :func:`clean_order` for the rows of ``table``."""

    def keys(rows: IntArray) -> tuple[FloatArray, FloatArray, IntArray]:
        sub = table.take(pa.array(rows, type=pa.int64()))
        counts = np.zeros(len(rows), dtype=np.int64)
        for col in sub.columns:
            counts += np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=np.int64)
        return float_col(sub, "latitude"), float_col(sub, "longitude"), counts

    return keys


def clean_order(codes: IntArray, t_ns: IntArray, tie_keys: TieKeys) -> IntArray:
    """The order of :func:`clean`: by aircraft and time, then latitude, longitude, null count.

    ``tie_keys(rows)`` returns the latitude, longitude (null as NaN) and
    number of null fields of those rows of the position table (only rows
    tying on aircraft and time are asked for): among exact copies, the one
    with fewer nulls comes first and is the one kept.
    """
    return sort_order(codes, t_ns, tie_keys)


def clean(
    positions: pa.Table,
    *,
    max_speed_kt: float = MAX_SPEED_KT,
    max_vertical_rate_fpm: float = MAX_VERTICAL_RATE_FPM,
    sustained_vertical_rate_fpm: float = SUSTAINED_VERTICAL_RATE_FPM,
    climb_reserve_ft: float = CLIMB_RESERVE_FT,
    ground_max_altitude_ft: float = GROUND_MAX_ALTITUDE_FT,
    ground_window_s: float = GROUND_WINDOW_S,
    time_tol_s: float = TIME_TOL_S,
    dist_tol_m: float = DIST_TOL_M,
    alt_tol_ft: float = ALT_TOL_FT,
    near_duplicate_s: float = NEAR_DUPLICATE_S,
    near_duplicate_m: float = NEAR_DUPLICATE_M,
    stale_s: float = STALE_S,
    stale_min_speed_kt: float = STALE_MIN_SPEED_KT,
    spoof_min_altitude_ft: float = SPOOF_MIN_ALTITUDE_FT,
    spoof_max_groundspeed_kt: float = SPOOF_MAX_GROUNDSPEED_KT,
    spoof_min_duration_s: float = SPOOF_MIN_DURATION_S,
    jump_penalty_fixes: float = JUMP_PENALTY_FIXES,
    lookahead: int = LOOKAHEAD,
    segment_gap_s: float = SEGMENT_GAP_S,
    detour_max_fixes: int = DETOUR_MAX_FIXES,
    detour_speed_factor: float = DETOUR_SPEED_FACTOR,
    detour_tol_m: float = DETOUR_TOL_M,
    presorted: tuple[IntArray, IntArray] | None = None,
) -> pa.Table:
    """The points table: every position, sorted, with ``valid`` and ``reject_reason``.

    Parameters
    ----------
    positions
        Output of :func:`overflight.clean.to_positions` (or any message
        table; rows without a position are kept and flagged ``out_of_range``).
    max_speed_kt, max_vertical_rate_fpm
        Physical limits of the speed and altitude gates.
    sustained_vertical_rate_fpm, climb_reserve_ft
        Over longer gaps the altitude change may not exceed
        ``climb_reserve_ft + sustained_vertical_rate_fpm * dt`` either.
    ground_max_altitude_ft, ground_window_s
        An altitude above this on a row flagged on ground, or within
        ``ground_window_s`` of one, is an altitude error.
    time_tol_s, dist_tol_m, alt_tol_ft
        Slack added to every gate: timestamp rounding, position and altitude noise.
    near_duplicate_s, near_duplicate_m
        Window of the near-duplicate test.
    stale_s, stale_min_speed_kt
        A repeated position older than ``stale_s`` while moving is ``stale``.
    spoof_min_altitude_ft, spoof_max_groundspeed_kt, spoof_min_duration_s
        The slow-at-cruise-altitude spoofing signature.
    jump_penalty_fixes, lookahead, segment_gap_s
        The segment decision (:func:`overflight.clean.segments.resolve`); a
        fix more than ``segment_gap_s`` after the previous one starts a new
        segment.
    detour_max_fixes, detour_speed_factor, detour_tol_m
        Short detours judged by the reported ground speed
        (:func:`overflight.clean.detours.detours`).
    presorted
        ``(group codes, times in ns)`` of ``positions`` when it is already in
        the order this function sorts by (see :func:`clean_order`); skips
        the sort.

    Returns
    -------
    pyarrow.Table
        :data:`overflight.schema.POINT_SCHEMA`, sorted by ``(icao24,
        timestamp)``, one row per input row, ``flight_id`` null (see
        :func:`overflight.clean.split_flights`); counts per reason under
        ``b"overflight:stats"`` in the schema metadata.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from overflight.schema import conform
    >>> pos = conform(pa.table({
    ...     "timestamp": pa.array([0, 10**9, 2 * 10**9, 3 * 10**9, 3 * 10**9],
    ...                           pa.timestamp("ns", tz="UTC")),
    ...     "icao24": ["abc123"] * 5,
    ...     "latitude": [48.0, 48.002, 51.0, 48.006, 48.006],
    ...     "longitude": [2.0] * 5,
    ... }))
    >>> clean(pos)["reject_reason"].to_pylist()
    [None, None, 'spoofed', None, 'duplicate']
    """
    table = conform(positions, MESSAGE_SCHEMA)
    if presorted is None:
        codes = group_codes(table.column("icao24"))
        t = time_ns(table)
        order = clean_order(codes, t, table_tie_keys(table))
        table = take_rows(table, order)
        codes, t = codes[order], t[order]
    else:
        codes, t = presorted
    n = table.num_rows
    lat, lon = float_col(table, "latitude"), float_col(table, "longitude")
    alt = float_col(table, "altitude")
    alt_any = np.where(np.isnan(alt), float_col(table, "geoaltitude"), alt)
    gs = float_col(table, "groundspeed")
    onground = bool_value(table, "onground")
    t_min = int(t.min()) if n else NULL_TIME  # NULL_TIME is the largest int64
    t0 = t_min if t_min != NULL_TIME else 0
    t_s = (t - t0).astype(np.float64) / 1e9

    reason = np.zeros(n, dtype=np.int8)

    def flag(rows: IntArray | BoolArray, name: str) -> None:
        if rows.dtype == bool:
            reason[rows & (reason == 0)] = _CODE[name]
        else:
            reason[rows[reason[rows] == 0]] = _CODE[name]

    with np.errstate(invalid="ignore"):
        inside = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    flag(~inside | (t == NULL_TIME), "out_of_range")
    flag((lat == 0) & (lon == 0), "null_island")
    dup = np.zeros(n, dtype=bool)
    dup[1:] = (codes[1:] == codes[:-1]) & (t[1:] == t[:-1]) & (lat[1:] == lat[:-1])
    dup[1:] &= lon[1:] == lon[:-1]
    flag(dup, "duplicate")

    nd = near_duplicates(
        codes, t, lat, lon, reason == 0, window_s=near_duplicate_s, dist_m=near_duplicate_m
    )
    flag(nd, "near_duplicate")

    first_seen, stale = stale_fixes(
        codes, t_s, lat, lon, gs, onground, reason == 0,
        stale_s=stale_s, min_speed_kt=stale_min_speed_kt,
    )  # fmt: skip
    flag(stale, "stale")

    with np.errstate(invalid="ignore"):
        high = alt > ground_max_altitude_ft
    flag(high & near_ground(codes, t_s, onground, ground_window_s), "altitude_jump")
    c = np.flatnonzero((reason == 0) & np.isfinite(alt))
    feasible = altitude_feasible(
        alt[c], t_s[c],
        max_vertical_rate_fpm=max_vertical_rate_fpm,
        sustained_vertical_rate_fpm=sustained_vertical_rate_fpm, reserve_ft=climb_reserve_ft,
        time_tol_s=time_tol_s, alt_tol_ft=alt_tol_ft,
    )  # fmt: skip
    bridged, edge = resolve(
        codes[c], feasible, penalty=jump_penalty_fixes, lookahead=lookahead,
        breaks=_gaps(t_s[c], segment_gap_s),
    )  # fmt: skip
    flag(c[bridged | edge], "altitude_jump")

    slow, parked = slow_at_altitude(
        codes, t_s, lat, lon, alt_any, gs, onground,
        min_altitude_ft=spoof_min_altitude_ft, max_groundspeed_kt=spoof_max_groundspeed_kt,
        min_duration_s=spoof_min_duration_s, cand=reason == 0,
    )  # fmt: skip
    flag(slow, "spoofed")
    flag(parked, "altitude_jump")

    spikes = detours(
        codes, first_seen, lat, lon, gs,
        max_run=detour_max_fixes, slack=detour_speed_factor,
        time_tol_s=time_tol_s, dist_tol_m=detour_tol_m, cand=reason == 0,
    )  # fmt: skip
    flag(spikes, "spoofed")

    c = np.flatnonzero(reason == 0)
    feasible = position_feasible(
        lat[c], lon[c], t_s[c], first_seen[c],
        max_speed_kt=max_speed_kt, time_tol_s=time_tol_s, dist_tol_m=dist_tol_m,
    )  # fmt: skip
    bridged, edge = resolve(
        codes[c], feasible, penalty=jump_penalty_fixes, lookahead=lookahead,
        breaks=_gaps(t_s[c], segment_gap_s),
    )  # fmt: skip
    flag(c[bridged], "spoofed")
    flag(c[edge], "speed")

    return _points(table, reason)


def _points(table: pa.Table, reason: npt.NDArray[np.int8]) -> pa.Table:
    valid = reason == 0
    idx = pa.array(reason.astype(np.int32) - 1, mask=valid)
    rr = pa.DictionaryArray.from_arrays(idx, pa.array(REASONS)).cast(pa.string())
    out = conform(
        table.append_column("valid", pa.array(valid)).append_column("reject_reason", rr),
        POINT_SCHEMA,
    )
    counts = [np.count_nonzero(reason == i) for i in range(len(REASONS) + 1)]
    stats: dict[str, object] = {
        "records": len(reason),
        "rejected": len(reason) - int(np.count_nonzero(valid)),
        "reasons": {name: int(counts[i + 1]) for i, name in enumerate(REASONS) if counts[i + 1]},
    }
    return with_stats(out, stats)


def reason_counts(points: pa.Table) -> dict[str, int]:
    """Number of rows per ``reject_reason`` (valid rows excluded)."""
    vc = pc.value_counts(points.column("reject_reason").drop_null())
    return {str(v["values"]): int(v["counts"]) for v in vc.to_pylist()}
