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

from overflight.patterns.batch import (
    Batch,
    from_resampled,
    median,
    short_window_s,
    windowed_rate_batch,
)
from overflight.patterns.turns import FloatArray, Resampled, merge_runs, runs


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
    radius = median(np.hypot(x - cx[cyc], y - cy[cyc]))
    drift = 0.0
    if n_full >= 2 and ct[-1] > ct[0]:
        drift = float(np.hypot(cx[-1] - cx[0], cy[-1] - cy[0]) / (ct[-1] - ct[0]) * 3600.0)
    return float(cx.mean()), float(cy.mean()), radius, drift


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
    found: list[tuple[int, float, dict[str, Any]]] = []
    for sign in (1.0, -1.0):
        s0, s1 = runs(sign * rate >= min_rate_deg_s, r.seg)
        s0, s1 = merge_runs(s0, s1, r.seg, bridge)
        keep = s1 - s0 >= 3
        s0, s1 = s0[keep], s1[keep]
        keep = ~(sign * (h[s1 - 1] - h[s0]) / 360.0 < min_turns)
        s0, s1 = s0[keep], s1[keep]
        straight = (slow[s1] - slow[s0]) / (s1 - s0)
        keep = ~(straight > max_straight_frac)
        for a, z, st in zip(s0[keep], s1[keep], straight[keep], strict=True):
            f = int(b.flight[a])
            e = _orbit(b, f, int(a), int(z), sign, float(st), max_radius_nm)
            if e is not None:
                found.append((f, e["start_s"], e))
    found.sort(key=lambda fe: (fe[0], fe[1]))
    return [(f, e) for f, _, e in found]


def _orbit(
    b: Batch, f: int, a: int, z: int, sign: float, straight: float, max_radius_nm: float
) -> dict[str, Any] | None:
    r = b.r
    rel = sign * (r.heading_deg[a:z] - r.heading_deg[a])
    n_turns = float(rel[-1] / 360.0)
    cx, cy, radius, drift = _cycle_geometry(b.x[a:z], b.y[a:z], rel, r.t_s[a:z])
    if radius > max_radius_nm:
        return None
    lat0, lon0 = float(b.lat0[f]), float(b.lon0[f])
    alt = r.altitude[a:z]
    dur = float(r.t_s[z - 1] - r.t_s[a])
    finite = alt[np.isfinite(alt)]
    climb = float((finite[-1] - finite[0]) / dur * 60.0) if finite.size > 1 and dur else 0.0
    return {
        "kind": "orbit",
        "start_s": float(r.t_s[a]),
        "stop_s": float(r.t_s[z - 1]),
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
            "speed_kt": round(median(r.speed_kt[a:z]), 1),
            "straight_frac": round(straight, 3),
        },
    }


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
