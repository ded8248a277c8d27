"""Row rules of the clean stage: tests that look at a fix and its direct neighbours.

All take arrays sorted by ``(aircraft, time)`` and return boolean masks; see
:mod:`overflight.clean.reject` for the thresholds and why.  ``cand`` marks the
candidate fixes (those no earlier rule rejected): "the previous fix" is the
previous candidate of the same aircraft.  The walks from one candidate to
the next are compiled loops (:mod:`overflight.clean._loops`).
"""

from __future__ import annotations

import numpy as np

from overflight.clean._arrays import BoolArray, FloatArray, IntArray
from overflight.clean._loops import close_pairs, first_seen, near_ground
from overflight.geodesy import haversine_m

__all__ = ["near_duplicates", "near_ground", "stale_fixes"]


def near_duplicates(
    grp: IntArray,
    t_ns: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    cand: BoolArray,
    *,
    window_s: float,
    dist_m: float,
) -> BoolArray:
    """Candidates within ``window_s`` and ``dist_m`` of the previous candidate of the same aircraft.

    Examples
    --------
    >>> import numpy as np
    >>> near_duplicates(np.zeros(3, np.int64), np.array([0, 2 * 10**8, 10**9]),
    ...     np.array([1.0, 1.00001, 1.00002]), np.zeros(3), np.ones(3, bool),
    ...     window_s=0.5, dist_m=10).tolist()
    [False, True, False]
    """
    out = np.zeros(len(grp), dtype=bool)
    p = close_pairs(grp, t_ns, cand, window_s * 1e9)
    a, b = p[:, 0], p[:, 1]
    out[b] = haversine_m(lat[a], lon[a], lat[b], lon[b]) <= dist_m
    return out


def stale_fixes(
    grp: IntArray,
    t_s: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    groundspeed_kt: FloatArray,
    onground: BoolArray,
    cand: BoolArray,
    *,
    stale_s: float,
    min_speed_kt: float,
) -> tuple[FloatArray, BoolArray]:
    """When each fix's exact position was first reported, and which candidate repeats are stale.

    Rows that are not candidates keep their own time and are never stale.

    Examples
    --------
    >>> import numpy as np
    >>> first, stale = stale_fixes(np.zeros(4, dtype=np.int64), np.array([0.0, 10, 20, 30]),
    ...     np.array([1.0, 1, 1, 1]), np.array([2.0, 2, 2, 2]), np.full(4, 450.0),
    ...     np.zeros(4, bool), np.ones(4, bool), stale_s=15, min_speed_kt=50)
    >>> first.tolist(), stale.tolist()
    ([0.0, 0.0, 0.0, 0.0], [False, False, True, True])
    """
    seen = first_seen(grp, t_s, lat, lon, cand)
    with np.errstate(invalid="ignore"):
        moving = (groundspeed_kt >= min_speed_kt) & ~onground
    stale: BoolArray = cand & moving & (t_s - seen > stale_s)
    return seen, stale
