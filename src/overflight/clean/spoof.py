"""Physically impossible tracks: displaced positions, impossible speeds and climbs.

Three tests, all on candidate fixes (those that passed the row rules), sorted
by ``(aircraft, time)``:

``slow_at_altitude``
    GNSS spoofing typically pins the reported position to a fixed point or
    drags it slowly, while the barometric altitude (not GNSS-derived) still
    reads cruise level.  No aircraft that reaches FL300 can hold a ground
    speed of 100 kt or less there for long: jets and turboprops need well over
    200 kt true airspeed at that height, and the strongest jet streams
    (~250 kt) are not sustained head-on.  A run of fixes at or above
    30,000 ft reporting at most 100 kt that lasts 30 s or more is ``spoofed``.
    The same picture without any reported ground speed, positions standing
    still, is an aircraft parked with a garbled altitude (``altitude_jump``).
    Gliders in mountain wave and balloons can break this rule; both are rare
    above FL300 and neither is what this tool looks for.

``position_feasible`` / ``altitude_feasible``
    Pairwise tests used by :func:`overflight.clean.segments.resolve`.  Fix b
    can follow fix a when the distance is at most
    ``max_speed * (dt + time_tol) + dist_tol``: the time tolerance absorbs
    timestamps quantised to the second (a 475 kt airliner seen at 08:16:39
    and 08:16:40 can be 0.44 km apart, 850 kt if taken literally), the
    distance tolerance absorbs position noise.  For positions ``dt`` runs from
    the moment fix a's position was *first* reported: state-vector feeds
    repeat the last position each second, and the next real position then
    looks like a jump made in one second.
"""

from __future__ import annotations

import numpy as np

from overflight.clean._arrays import BoolArray, FloatArray, IntArray
from overflight.clean.segments import Feasible
from overflight.geodesy import KT_MS, haversine_m


def slow_at_altitude(
    grp: IntArray,
    t_s: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    altitude_ft: FloatArray,
    groundspeed_kt: FloatArray,
    onground: BoolArray,
    *,
    min_altitude_ft: float,
    max_groundspeed_kt: float,
    min_duration_s: float,
) -> tuple[BoolArray, BoolArray]:
    """Fixes in a sustained run at cruise altitude moving at walking pace.

    A run is a sequence of consecutive fixes of one aircraft at or above
    ``min_altitude_ft``, not flagged on ground, whose ground speed is at most
    ``max_groundspeed_kt`` or unknown, lasting ``min_duration_s`` or more.

    Returns
    -------
    spoofed, parked
        ``spoofed``: runs with reported ground speeds (mostly): the GNSS
        velocity itself agrees with an impossible picture, the signature of
        spoofing.  ``parked``: runs without ground speed whose positions move
        no faster than ``max_groundspeed_kt`` (path length over duration): an
        aircraft standing still with a garbled altitude.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(0.0, 60.0, 10.0)
    >>> z = np.zeros(6)
    >>> spoofed, parked = slow_at_altitude(np.zeros(6, dtype=np.int64), t, z, z,
    ...     np.full(6, 38000.0), np.array([480, 50, 51, 50, 50, 480.0]), np.zeros(6, bool),
    ...     min_altitude_ft=30000, max_groundspeed_kt=100, min_duration_s=30)
    >>> spoofed.tolist(), parked.any()
    ([False, True, True, True, True, False], np.False_)
    """
    n = len(grp)
    if n == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    known = np.isfinite(groundspeed_kt)
    with np.errstate(invalid="ignore"):
        cond = (altitude_ft >= min_altitude_ft) & ~onground
        cond &= ~known | (groundspeed_kt <= max_groundspeed_kt)
    change = np.ones(n, dtype=bool)
    change[1:] = (grp[1:] != grp[:-1]) | (cond[1:] != cond[:-1])
    starts = np.flatnonzero(change)
    ends = np.r_[starts[1:] - 1, n - 1]
    rid = np.cumsum(change) - 1
    duration = t_s[ends] - t_s[starts]
    step = np.zeros(n)
    b = np.flatnonzero(cond & ~change)  # a step inside a run
    step[b] = haversine_m(lat[b - 1], lon[b - 1], lat[b], lon[b])
    path_kt = np.add.reduceat(step, starts) / np.maximum(duration, 1e-9) / KT_MS
    by_gs = np.add.reduceat(known.astype(np.int64), starts) * 2 > ends - starts + 1
    long_run = (duration >= min_duration_s)[rid] & cond
    spoofed: BoolArray = long_run & by_gs[rid]
    parked: BoolArray = long_run & ~by_gs[rid] & (path_kt <= max_groundspeed_kt)[rid]
    return spoofed, parked


def detours(
    grp: IntArray,
    t_s: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    groundspeed_kt: FloatArray,
    *,
    max_run: int,
    slack: float,
    time_tol_s: float,
    dist_tol_m: float,
) -> BoolArray:
    """Fixes displaced from the track and back, judged by the reported ground speed.

    Works on distinct positions (repeats of one position count once, at the
    time it was first reported).  A block of 1 to ``max_run`` consecutive
    positions is a detour when the jump into it and the jump out of it are
    both longer than the aircraft can fly at ``slack`` times its reported
    ground speed (the largest of the fixes around), while the positions before
    and after the block are within that reach of each other.  Each distance
    gets ``dist_tol_m`` and each time ``time_tol_s`` (per end) of slack.  Fixes
    without any reported ground speed nearby are left to the 1,200 kt gate.

    Examples
    --------
    >>> import numpy as np
    >>> lat = np.array([48.9730, 48.9731, 48.9868, 48.9736, 48.9737])  # 1.5 km spike
    >>> lon = np.array([2.2100, 2.2115, 2.2127, 2.2157, 2.2172])
    >>> detours(np.zeros(5, dtype=np.int64), np.arange(5.0), lat, lon, np.full(5, 206.0),
    ...     max_run=3, slack=1.5, time_tol_s=1.0, dist_tol_m=500.0).tolist()
    [False, False, True, False, False]
    """
    n = len(grp)
    out = np.zeros(n, dtype=bool)
    if n < 3:
        return out
    change = np.ones(n, dtype=bool)
    change[1:] = (grp[1:] != grp[:-1]) | (lat[1:] != lat[:-1]) | (lon[1:] != lon[:-1])
    starts = np.flatnonzero(change)
    rid = np.cumsum(change) - 1
    g, t = grp[starts], t_s[starts]
    la, lo = lat[starts], lon[starts]
    with np.errstate(invalid="ignore"):
        v = np.fmax.reduceat(groundspeed_kt, starts) * KT_MS
    m = len(starts)
    flagged = np.zeros(m, dtype=bool)
    step = np.full(m, np.inf)  # distance from the previous distinct position
    step[1:] = haversine_m(la[:-1], lo[:-1], la[1:], lo[1:])

    def reach(i: IntArray, j: IntArray, s: FloatArray) -> FloatArray:
        out_: FloatArray = slack * s * (t[j] - t[i] + 2 * time_tol_s) + dist_tol_m
        return out_

    for size in range(1, max_run + 1):
        k = np.arange(1, m - size)  # block k .. k+size-1, neighbours k-1 and k+size
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


def position_feasible(
    lat: FloatArray,
    lon: FloatArray,
    t_s: FloatArray,
    first_seen_s: FloatArray,
    *,
    max_speed_kt: float,
    time_tol_s: float,
    dist_tol_m: float,
) -> Feasible:
    """Pairwise test: can position b follow position a at ``max_speed_kt``?"""
    v = max_speed_kt * KT_MS

    def feasible(a: IntArray, b: IntArray) -> BoolArray:
        d = haversine_m(lat[a], lon[a], lat[b], lon[b])
        ok: BoolArray = d <= v * (t_s[b] - first_seen_s[a] + time_tol_s) + dist_tol_m
        return ok

    return feasible


def altitude_feasible(
    altitude_ft: FloatArray,
    t_s: FloatArray,
    *,
    max_vertical_rate_fpm: float,
    sustained_vertical_rate_fpm: float,
    reserve_ft: float,
    time_tol_s: float,
    alt_tol_ft: float,
) -> Feasible:
    """Pairwise test: can altitude b follow altitude a?

    The allowed change over ``dt`` is the smaller of a burst line
    (``max_vertical_rate_fpm``) and a sustained line
    (``reserve_ft + sustained_vertical_rate_fpm * dt``): a fighter can zoom a
    few thousand feet at 30,000 ft/min, but nothing keeps that up for minutes,
    so a long gap does not make a 36,000 ft jump plausible.

    Examples
    --------
    >>> import numpy as np
    >>> f = altitude_feasible(np.array([1550.0, 38000.0, 1600.0]), np.array([0.0, 169.0, 170.0]),
    ...     max_vertical_rate_fpm=30000, sustained_vertical_rate_fpm=10000, reserve_ft=5000,
    ...     time_tol_s=1, alt_tol_ft=100)
    >>> f(np.array([0, 0]), np.array([1, 2])).tolist()
    [False, True]
    """
    burst = max_vertical_rate_fpm / 60.0
    sustained = sustained_vertical_rate_fpm / 60.0

    def feasible(a: IntArray, b: IntArray) -> BoolArray:
        dz = np.abs(altitude_ft[b] - altitude_ft[a])
        dt = t_s[b] - t_s[a] + time_tol_s
        ok: BoolArray = dz <= np.minimum(burst * dt, reserve_ft + sustained * dt) + alt_tol_ft
        return ok

    return feasible
