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
from overflight.patterns.events import Detail, Events, no_events, py_round, to_dicts
from overflight.patterns.orbit_jit import COLUMNS, orbit_numbers, run_medians
from overflight.patterns.turns import FloatArray, IntArray, Resampled, merge_runs, runs


def orbit_events(
    b: Batch,
    window_s: float = 180.0,
    min_rate_deg_s: float = 0.3,
    min_turns: float = 1.0,
    straight_rate_deg_s: float = 0.4,
    max_straight_frac: float = 0.35,
    max_radius_nm: float = 20.0,
    bridge_s: float = 90.0,
    short: FloatArray | None = None,
) -> Events:
    """Every orbit of a batch, by flight then start.

    Parameters as :func:`find_orbits`; ``short`` is the short-window turn rate
    when already computed.
    """
    r = b.r
    if r.t_s.size == 0:
        return no_events("orbit")
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
) -> Events:
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
    i = np.flatnonzero(~(radius > max_radius_nm))
    i = i[np.lexsort((i, r.t_s[s0[i]], b.flight[s0[i]]))]  # by flight, then start
    a, z = s0[i], s1[i]
    f = b.flight[a]
    start, stop = r.t_s[a], r.t_s[z - 1]
    dur = stop - start
    n_alt = v["n_alt"][i].astype(np.int64)
    no_alt = n_alt == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rise = (v["alt_last"][i] - v["alt_first"][i]) / dur * 60.0
    climb = np.where((n_alt > 1) & (dur != 0.0), rise, 0.0)
    lat0, lon0 = b.lat0[f], b.lon0[f]
    details = {
        "radius_nm": Detail(py_round(radius[i], 2)),
        "n_turns": Detail(py_round(v["n_turns"][i], 2)),
        "direction": Detail(np.where(signs[i] > 0, "right", "left").astype(object)),
        "time_on_station_s": Detail(py_round(dur, 1)),
        "altitude_min_ft": Detail(py_round(v["alt_min"][i], 0), no_alt),
        "altitude_max_ft": Detail(py_round(v["alt_max"][i], 0), no_alt),
        "climb_ft_min": Detail(py_round(climb, 1)),
        "drift_kt": Detail(py_round(drift[i], 1)),
        "speed_kt": Detail(py_round(v["speed"][i], 1)),
        "straight_frac": Detail(py_round(straight[i], 3)),
    }
    return Events(
        "orbit",
        f,
        start,
        stop,
        lat0 + v["cy"][i] / 60.0405,
        lon0 + v["cx"][i] / (60.0405 * np.cos(np.radians(lat0))),
        details,
    )


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
    return to_dicts(orbit_events(from_resampled([r]), *args, max_radius_nm, bridge_s))
