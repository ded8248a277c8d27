"""Row rules of the clean stage: tests that look at a fix and its direct neighbours.

All take arrays sorted by ``(aircraft, time)`` and return boolean masks; see
:mod:`overflight.clean.reject` for the thresholds and why.
"""

from __future__ import annotations

import numpy as np

from overflight.clean._arrays import (
    BoolArray,
    FloatArray,
    IntArray,
    group_starts,
    last_index,
    run_starts,
)
from overflight.geodesy import haversine_m


def near_duplicates(
    grp: IntArray,
    t_ns: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    *,
    window_s: float,
    dist_m: float,
) -> BoolArray:
    """Fixes within ``window_s`` and ``dist_m`` of the previous fix of the same aircraft."""
    out = np.zeros(len(grp), dtype=bool)
    if len(grp) > 1:
        close = (grp[1:] == grp[:-1]) & (t_ns[1:] - t_ns[:-1] <= window_s * 1e9)
        b = np.flatnonzero(close) + 1
        out[b] = haversine_m(lat[b - 1], lon[b - 1], lat[b], lon[b]) <= dist_m
    return out


def stale_fixes(
    grp: IntArray,
    t_s: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    groundspeed_kt: FloatArray,
    onground: BoolArray,
    *,
    stale_s: float,
    min_speed_kt: float,
) -> tuple[FloatArray, BoolArray]:
    """When each fix's exact position was first reported, and which repeats are stale.

    Examples
    --------
    >>> import numpy as np
    >>> first, stale = stale_fixes(np.zeros(4, dtype=np.int64), np.array([0.0, 10, 20, 30]),
    ...     np.array([1.0, 1, 1, 1]), np.array([2.0, 2, 2, 2]), np.full(4, 450.0),
    ...     np.zeros(4, bool), stale_s=15, min_speed_kt=50)
    >>> first.tolist(), stale.tolist()
    ([0.0, 0.0, 0.0, 0.0], [False, False, True, True])
    """
    n = len(grp)
    change = np.ones(n, dtype=bool)
    change[1:] = (grp[1:] != grp[:-1]) | (lat[1:] != lat[:-1]) | (lon[1:] != lon[:-1])
    first_seen: FloatArray = t_s[run_starts(change)]
    with np.errstate(invalid="ignore"):
        moving = (groundspeed_kt >= min_speed_kt) & ~onground
    stale: BoolArray = moving & (t_s - first_seen > stale_s)
    return first_seen, stale


def near_ground(grp: IntArray, t_s: FloatArray, onground: BoolArray, window_s: float) -> BoolArray:
    """Rows within ``window_s`` of a row of the same aircraft flagged on ground."""
    start = group_starts(grp)
    before = last_index(onground, start)
    end_rev = group_starts(grp[::-1])
    after_rev = last_index(onground[::-1], end_rev)[::-1]
    n = len(grp)
    after = np.where(after_rev >= 0, n - 1 - after_rev, -1)
    dt_b = np.where(before >= 0, t_s - t_s[np.maximum(before, 0)], np.inf)
    dt_a = np.where(after >= 0, t_s[np.maximum(after, 0)] - t_s, np.inf)
    out: BoolArray = np.minimum(dt_b, dt_a) <= window_s
    return out
