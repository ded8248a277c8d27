"""Spoofed or garbled positions seen at cruise altitude: :func:`slow_at_altitude`.

GNSS spoofing typically pins the reported position to a fixed point or drags
it slowly, while the barometric altitude (not GNSS-derived) still reads
cruise level.  No aircraft that reaches FL300 can hold a ground speed of 100
kt or less there for long: jets and turboprops need well over 200 kt true
airspeed at that height, and the strongest jet streams (~250 kt) are not
sustained head-on.  A run of fixes at or above 30,000 ft reporting at most
100 kt that lasts 30 s or more is ``spoofed``.  The same picture without any
reported ground speed, positions standing still, is an aircraft parked with
a garbled altitude (``altitude_jump``).  Gliders in mountain wave and
balloons can break this rule; both are rare above FL300 and neither is what
this tool looks for.

The other displaced-position tests are short detours judged by the reported
ground speed (:mod:`overflight.clean.detours`) and the segment decision over
the pairwise speed and climb tests (:mod:`overflight.clean.segments`,
:mod:`overflight.clean.pairs`).
"""

from __future__ import annotations

import numpy as np

from overflight.clean._arrays import BoolArray, FloatArray, IntArray
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
    cand: BoolArray | None = None,
) -> tuple[BoolArray, BoolArray]:
    """Fixes in a sustained run at cruise altitude moving at walking pace.

    A run is a sequence of consecutive fixes of one aircraft at or above
    ``min_altitude_ft``, not flagged on ground, whose ground speed is at most
    ``max_groundspeed_kt`` or unknown, lasting ``min_duration_s`` or more.
    Only the ``cand`` rows (all when None) are fixes; the others are skipped
    (they neither join nor break a run).

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
    spoofed = np.zeros(n, dtype=bool)
    parked = np.zeros(n, dtype=bool)
    known = np.isfinite(groundspeed_kt)
    with np.errstate(invalid="ignore"):
        cond = (altitude_ft >= min_altitude_ft) & ~onground
        cond &= ~known | (groundspeed_kt <= max_groundspeed_kt)
    if cand is not None:
        cond &= cand
    s = np.flatnonzero(cond)  # few rows: the work below is on them only
    if len(s) == 0:
        return spoofed, parked
    change = np.ones(len(s), dtype=bool)  # a run starts (the previous fix is not in it)
    nth = np.cumsum(cand)[s] if cand is not None else s
    change[1:] = (grp[s[1:]] != grp[s[:-1]]) | (nth[1:] != nth[:-1] + 1)
    starts = np.flatnonzero(change)
    ends = np.r_[starts[1:] - 1, len(s) - 1]
    rid = np.cumsum(change) - 1
    duration = t_s[s[ends]] - t_s[s[starts]]
    step = np.zeros(len(s))
    b = np.flatnonzero(~change)  # a step inside a run
    step[b] = haversine_m(lat[s[b - 1]], lon[s[b - 1]], lat[s[b]], lon[s[b]])
    path_kt = np.add.reduceat(step, starts) / np.maximum(duration, 1e-9) / KT_MS
    by_gs = np.add.reduceat(known[s].astype(np.int64), starts) * 2 > ends - starts + 1
    long_run = (duration >= min_duration_s)[rid]
    spoofed[s] = long_run & by_gs[rid]
    parked[s] = long_run & ~by_gs[rid] & (path_kt <= max_groundspeed_kt)[rid]
    return spoofed, parked
