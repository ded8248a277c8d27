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
"""

from __future__ import annotations

from typing import Any

import numpy as np

from overflight.patterns.turns import (
    FloatArray,
    Resampled,
    local_xy_nm,
    merge_runs,
    runs,
    windowed_rate,
)


def _cycle_geometry(
    x: FloatArray, y: FloatArray, rel_deg: FloatArray, t: FloatArray
) -> tuple[float, float, float, float]:
    """Mean centre (x, y), median radius and centre drift speed (kt) of a run."""
    n_full = int(np.floor(rel_deg[-1] / 360.0))
    cyc = np.floor(rel_deg / 360.0).astype(np.int64)
    if n_full < 1:
        cyc[:] = 0
        n_full = 1
    cyc = np.clip(cyc, 0, n_full - 1)  # the partial last cycle joins the previous one
    cnt = np.bincount(cyc, minlength=n_full).astype(np.float64)
    cx = np.bincount(cyc, weights=x, minlength=n_full) / np.maximum(cnt, 1)
    cy = np.bincount(cyc, weights=y, minlength=n_full) / np.maximum(cnt, 1)
    ct = np.bincount(cyc, weights=t, minlength=n_full) / np.maximum(cnt, 1)
    radius = float(np.median(np.hypot(x - cx[cyc], y - cy[cyc])))
    drift = 0.0
    if n_full >= 2 and ct[-1] > ct[0]:
        drift = float(np.hypot(cx[-1] - cx[0], cy[-1] - cy[0]) / (ct[-1] - ct[0]) * 3600.0)
    return float(cx.mean()), float(cy.mean()), radius, drift


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
    win = max(window_s, 3.0 * r.cadence_s)
    rate = windowed_rate(r, win)
    short = windowed_rate(r, max(30.0, 2.0 * r.cadence_s))
    bridge = round(bridge_s / r.step_s)
    out: list[dict[str, Any]] = []
    lat0, lon0 = float(np.median(r.latitude)), float(np.median(r.longitude))
    x, y = local_xy_nm(r.latitude, r.longitude, lat0, lon0)
    for sign in (1.0, -1.0):
        s0, s1 = runs(sign * rate >= min_rate_deg_s, r.seg)
        s0, s1 = merge_runs(s0, s1, r.seg, bridge)
        for a, b in zip(s0, s1, strict=True):
            if b - a < 3:
                continue
            rel = sign * (r.heading_deg[a:b] - r.heading_deg[a])
            n_turns = float(rel[-1] / 360.0)
            if n_turns < min_turns:
                continue
            straight = float(np.mean(np.abs(short[a:b]) < straight_rate_deg_s))
            if straight > max_straight_frac:
                continue
            cx, cy, radius, drift = _cycle_geometry(x[a:b], y[a:b], rel, r.t_s[a:b])
            if radius > max_radius_nm:
                continue
            alt = r.altitude[a:b]
            dur = float(r.t_s[b - 1] - r.t_s[a])
            finite = alt[np.isfinite(alt)]
            climb = float((finite[-1] - finite[0]) / dur * 60.0) if finite.size > 1 and dur else 0.0
            out.append(
                {
                    "kind": "orbit",
                    "start_s": float(r.t_s[a]),
                    "stop_s": float(r.t_s[b - 1]),
                    "latitude": lat0 + cy / 60.0405,
                    "longitude": lon0 + cx / (60.0405 * np.cos(np.radians(lat0))),
                    "details": {
                        "radius_nm": round(radius, 2),
                        "n_turns": round(n_turns, 2),
                        "direction": "right" if sign > 0 else "left",
                        "time_on_station_s": round(dur, 1),
                        "altitude_min_ft": _r(np.nanmin(alt)) if finite.size else None,
                        "altitude_max_ft": _r(np.nanmax(alt)) if finite.size else None,
                        "climb_ft_min": round(climb, 1),
                        "drift_kt": round(drift, 1),
                        "speed_kt": round(float(np.median(r.speed_kt[a:b])), 1),
                        "straight_frac": round(straight, 3),
                    },
                }
            )
    out.sort(key=lambda e: e["start_s"])
    return out


def _r(v: Any) -> float:
    return round(float(v), 0)
