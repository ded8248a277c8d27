"""Orbits: sustained turning in one direction around a (possibly drifting) centre.

A grid point is *circling* when the unwrapped heading changes by at least
``min_rate_deg_s`` on average over ``window_s`` around it.  Consecutive circling
points that turn the same way form a run (short interruptions are bridged); a
run that turns through ``min_turns`` × 360° and has few straight stretches is an
orbit.  Racetracks and holding patterns also turn steadily on average, but
half their time is straight: ``max_straight_frac`` hands them to the racetrack
detector.

Wind makes an orbit drift downwind.  The centre is therefore estimated per
cycle (each 360° of heading), the radius is measured from each point's own
cycle centre, and the drift speed of the centres is reported (≈ the wind).
The per-run walk behind these numbers is compiled
(:mod:`overflight.patterns.orbit_jit`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from overflight.patterns.batch import (
    Batch,
    from_resampled,
    short_window_s,
    windowed_rate_batch,
)
from overflight.patterns.orbit_jit import COLUMNS, orbit_numbers, run_medians
from overflight.patterns.turns import FloatArray, IntArray, Resampled, merge_runs, runs


def orbits_batch(
    b: Batch,
    window_s: float = 180.0,
    min_rate_deg_s: float = 0.3,
    min_turns: float = 1.0,
    straight_rate_deg_s: float = 0.4,
    max_straight_frac: float = 0.35,
    max_radius_nm: float = 20.0,
    bridge_s: float = 90.0,
    short: FloatArray | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    """``(flight index, event)`` of every orbit in a batch, by flight then start.

    Parameters as :func:`find_orbits`; ``short`` is the short-window turn rate
    when already computed.
    """
    r = b.r
    if r.t_s.size == 0:
        return []
    rate = windowed_rate_batch(b, np.fmax(window_s, 3.0 * b.cadence_s))
    if short is None:
        short = windowed_rate_batch(b, short_window_s(b))
    slow = np.zeros(r.t_s.size + 1, dtype=np.int64)
    np.cumsum(np.abs(short) < straight_rate_deg_s, out=slow[1:])
    bridge = round(bridge_s / r.step_s)
    h = r.heading_deg
    picked: list[tuple[IntArray, IntArray, FloatArray, FloatArray]] = []
    for sign in (1.0, -1.0):
        s0, s1 = runs(sign * rate >= min_rate_deg_s, r.seg)
        s0, s1 = merge_runs(s0, s1, r.seg, bridge)
        keep = s1 - s0 >= 3
        s0, s1 = s0[keep], s1[keep]
        keep = ~(sign * (h[s1 - 1] - h[s0]) / 360.0 < min_turns)
        s0, s1 = s0[keep], s1[keep]
        straight = (slow[s1] - slow[s0]) / (s1 - s0)
        keep = ~(straight > max_straight_frac)
        picked.append((s0[keep], s1[keep], np.full(keep.sum(), sign), straight[keep]))
    s0, s1, signs, straight = (np.concatenate(c) for c in zip(*picked, strict=True))
    return _orbits(b, s0, s1, signs, straight, max_radius_nm)


def _orbits(
    b: Batch,
    s0: IntArray,
    s1: IntArray,
    signs: FloatArray,
    straight: FloatArray,
    max_radius_nm: float,
) -> list[tuple[int, dict[str, Any]]]:
    """Events of the candidate runs whose radius is small enough, by flight then start."""
    r = b.r
    num, dx, dy = orbit_numbers(
        r.heading_deg, b.x, b.y, r.t_s, r.altitude, r.speed_kt, s0, s1, signs
    )
    v = dict(zip(COLUMNS, num, strict=True))
    radius = run_medians(np.asarray(np.hypot(dx, dy), np.float64), s1 - s0)
    has_drift = ~np.isnan(v["drift_dt"])
    drift = np.zeros(s0.size)
    drift[has_drift] = (
        np.hypot(v["drift_dx"][has_drift], v["drift_dy"][has_drift])
        / v["drift_dt"][has_drift]
        * 3600.0
    )
    found: list[tuple[int, float, dict[str, Any]]] = []
    for i in np.flatnonzero(~(radius > max_radius_nm)):
        a, z = int(s0[i]), int(s1[i])
        f = int(b.flight[a])
        dur = float(r.t_s[z - 1] - r.t_s[a])
        n_alt = int(v["n_alt"][i])
        climb = (v["alt_last"][i] - v["alt_first"][i]) / dur * 60.0 if n_alt > 1 and dur else 0.0
        lat0, lon0 = float(b.lat0[f]), float(b.lon0[f])
        e = {
            "kind": "orbit",
            "start_s": float(r.t_s[a]),
            "stop_s": float(r.t_s[z - 1]),
            "latitude": lat0 + float(v["cy"][i]) / 60.0405,
            "longitude": lon0 + float(v["cx"][i]) / (60.0405 * np.cos(np.radians(lat0))),
            "details": {
                "radius_nm": round(float(radius[i]), 2),
                "n_turns": round(float(v["n_turns"][i]), 2),
                "direction": "right" if signs[i] > 0 else "left",
                "time_on_station_s": round(dur, 1),
                "altitude_min_ft": _r(v["alt_min"][i]) if n_alt else None,
                "altitude_max_ft": _r(v["alt_max"][i]) if n_alt else None,
                "climb_ft_min": round(float(climb), 1),
                "drift_kt": round(float(drift[i]), 1),
                "speed_kt": round(float(v["speed"][i]), 1),
                "straight_frac": round(float(straight[i]), 3),
            },
        }
        found.append((f, e["start_s"], e))
    found.sort(key=lambda fe: (fe[0], fe[1]))
    return [(f, e) for f, _, e in found]


def find_orbits(
    r: Resampled,
    window_s: float = 180.0,
    min_rate_deg_s: float = 0.3,
    min_turns: float = 1.0,
    straight_rate_deg_s: float = 0.4,
    max_straight_frac: float = 0.35,
    max_radius_nm: float = 20.0,
    bridge_s: float = 90.0,
) -> list[dict[str, Any]]:
    """Orbits in one resampled flight.

    Parameters
    ----------
    r
        The flight, from :func:`overflight.patterns.turns.resample`.
    window_s
        Averaging window of the turn rate that decides *circling*; widened to
        three fixes when the feed is sparser.
    min_rate_deg_s
        Mean turn rate that counts as circling (0.3 °/s: a 20-minute orbit,
        e.g. 10 NM radius at 190 kt).
    min_turns
        Net heading change, in full turns, for a run to be an orbit.
    straight_rate_deg_s, max_straight_frac
        A run whose short-window turn rate stays below ``straight_rate_deg_s``
        for more than ``max_straight_frac`` of its time is a racetrack, not an
        orbit.
    max_radius_nm
        Larger "orbits" are wide turns of a transit, not orbits.
    bridge_s
        Runs of the same direction separated by less than this are joined.

    Returns
    -------
    list of dict
        One per orbit: ``start_s``, ``stop_s``, ``latitude``, ``longitude``
        (mean centre) and ``details``.
    """
    if r.t_s.size < 3:
        return []
    args = (window_s, min_rate_deg_s, min_turns, straight_rate_deg_s, max_straight_frac)
    found = orbits_batch(from_resampled([r]), *args, max_radius_nm, bridge_s)
    return [e for _, e in found]


def _r(v: Any) -> float:
    return round(float(v), 0)
