"""Straight legs of many flights at once: how a flight is built from lines.

A *leg* is a run of the resampled track, inside one segment, at least
``min_leg_s`` long, moving (>= 25 kt) and straight (turn rate under
``straight_deg_s`` over a window of ``max(60 s, 2 cadences)``).  From the legs
of a flight:

``leg_share``
    time on legs over moving time (-1 when never moving): high for transits,
    survey lines, radials and racetracks; low for orbits and thermalling;
``legs_per_h``
    legs per hour;
``leg_log_nm``
    log10 of the median leg length in NM, floored at -1 (-1 without legs);
``reversal_share``
    share of consecutive leg pairs flown in opposite directions (courses
    more than ``reverse_deg`` apart): survey lines, racetracks, radials flown
    out and back (-1 with fewer than two legs);
``grid_pair_share``
    share of consecutive pairs that reverse onto a *new* parallel line: the
    lines lie between ``min_offset_nm`` and half a leg length apart, as a
    survey's do, where a racetrack's two sides are flown again and again.

Every value equals :func:`leg_features_one` on that flight alone.

Examples
--------
>>> from overflight.patterns.turns import resample
>>> t = np.arange(0.0, 2400.0, 10.0)
>>> lon = np.where(t < 1200, t, 2400 - t) * 3e-4  # 20 NM out, 20 NM back
>>> f = leg_features_one(resample(t, np.where(t < 1200, 0.0, 0.01), lon))
>>> f["reversal_share"], f["grid_pair_share"]  # back on a line 0.6 NM aside
(1.0, 1.0)
>>> f = leg_features_one(resample(t, np.where(t < 1200, 0.0, 0.001), lon))
>>> f["reversal_share"], f["grid_pair_share"]  # back along the same line
(1.0, 0.0)
"""

from __future__ import annotations

import numpy as np

from overflight.classify.grouped import FloatArray, IntArray, group_median
from overflight.patterns.turns import Resampled, local_xy_nm, runs, windowed_rate

LEG_FEATURES: tuple[str, ...] = (
    "leg_share",
    "legs_per_h",
    "leg_log_nm",
    "reversal_share",
    "grid_pair_share",
)

MOVING_KT = 25.0
STRAIGHT_DEG_S = 0.5
MIN_LEG_S = 120.0
REVERSE_DEG = 155.0
MIN_OFFSET_NM = 0.15


def _pairs(
    lid: IntArray, length: FloatArray, course: FloatArray, cross: FloatArray, g: int
) -> tuple[FloatArray, FloatArray]:
    """Reversal and new-line shares of consecutive leg pairs, per flight."""
    same = np.zeros(lid.size, dtype=bool)
    same[1:] = lid[1:] == lid[:-1]
    turn = np.zeros(lid.size)
    turn[1:] = np.abs((course[1:] - course[:-1] + 180.0) % 360.0 - 180.0)
    rev = same & (turn > REVERSE_DEG)
    # the previous leg's line, seen in this leg's frame, lies at -cross[i-1]
    offset = np.abs(cross + np.r_[0.0, cross[:-1]])
    new_line = rev & (offset > MIN_OFFSET_NM) & (offset < 0.5 * length)
    pairs = np.bincount(lid[same], minlength=g)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(pairs > 0, np.bincount(lid[rev], minlength=g) / pairs, -1.0)
        n = np.where(pairs > 0, np.bincount(lid[new_line], minlength=g) / pairs, -1.0)
    return r, n


def leg_features(
    ids: IntArray,
    seg: IntArray,
    t_s: FloatArray,
    x_nm: FloatArray,
    y_nm: FloatArray,
    speed_kt: FloatArray,
    rate_deg_s: FloatArray,
    step_s: FloatArray,
    hours: FloatArray,
) -> dict[str, FloatArray]:
    """:data:`LEG_FEATURES` of flights laid end to end.

    ``ids`` numbers the flight of every grid point (0..g-1, in order), ``seg``
    its segment; ``x_nm``/``y_nm`` are local coordinates; ``rate_deg_s`` the
    windowed turn rate; ``step_s`` and ``hours`` are per flight.
    """
    g = hours.size
    moving = speed_kt >= MOVING_KT
    straight = moving & (np.abs(rate_deg_s) < STRAIGHT_DEG_S)
    key = ids * (int(seg.max(initial=0)) + 1) + seg
    s0, s1 = runs(straight, key)
    dur = t_s[s1 - 1] - t_s[s0] if s0.size else np.empty(0)
    keep = dur >= MIN_LEG_S
    s0, s1, dur = s0[keep], s1[keep], dur[keep]
    lid = ids[s0]
    dx, dy = x_nm[s1 - 1] - x_nm[s0], y_nm[s1 - 1] - y_nm[s0]
    length = np.hypot(dx, dy)
    course = np.degrees(np.arctan2(dx, dy)) % 360.0
    th = np.radians(course)
    mx, my = (x_nm[s0] + x_nm[s1 - 1]) / 2.0, (y_nm[s0] + y_nm[s1 - 1]) / 2.0
    cross = my * np.sin(th) - mx * np.cos(th)
    n_legs = np.bincount(lid, minlength=g).astype(np.int64)
    moving_s = np.bincount(ids[moving], minlength=g) * step_s
    f: dict[str, FloatArray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        f["leg_share"] = np.where(
            moving_s > 0, np.bincount(lid, weights=dur, minlength=g) / moving_s, -1.0
        )
    f["legs_per_h"] = n_legs / hours
    has = n_legs > 0
    med = np.full(g, 0.1)
    med[has] = group_median(length, n_legs[has])
    f["leg_log_nm"] = np.where(has, np.log10(np.maximum(med, 0.1)), -1.0)
    f["reversal_share"], f["grid_pair_share"] = _pairs(lid, length, course, cross, g)
    return f


def leg_features_one(r: Resampled) -> dict[str, float]:
    """:data:`LEG_FEATURES` of one flight (at least two grid points)."""
    x, y = local_xy_nm(r.latitude, r.longitude, np.median(r.latitude), np.median(r.longitude))
    rate = windowed_rate(r, max(60.0, 2.0 * r.cadence_s))
    hours = max((r.t_s[-1] - r.t_s[0]) / 3600.0, 1e-3)
    f = leg_features(
        np.zeros(r.t_s.size, dtype=np.int64),
        np.asarray(r.seg, dtype=np.int64),
        r.t_s,
        x,
        y,
        r.speed_kt,
        rate,
        np.array([r.step_s]),
        np.array([hours]),
    )
    return {k: float(v[0]) for k, v in f.items()}
