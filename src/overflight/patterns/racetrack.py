"""Racetracks and survey grids from chains of reversing straight legs.

Racetrack
    Three or more legs joined by reversals that turn the same way, where every
    other leg lies on the same line (cross-track spread under ``line_tol_nm``
    or a fifth of the leg length).  AWACS and tanker tracks, ISR patrol lines
    and holding patterns all look like this; a racetrack whose legs last
    40–120 s and are under 8 NM long is tagged ``holding`` (ICAO holds use
    1-minute legs below FL140 and 1.5-minute legs above).
Grid
    Chains that are not racetracks and step sideways over several lines
    (:mod:`overflight.patterns.grid`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from overflight.patterns.batch import Batch, from_resampled
from overflight.patterns.events import Detail, Events, no_events, py_round, to_dicts
from overflight.patterns.legs import chain_bounds, legs_batch
from overflight.patterns.shapes_jit import COLUMNS, axis_sums, chain_numbers, mid_means
from overflight.patterns.turns import FloatArray, Resampled


def find_racetracks_and_grids(
    r: Resampled,
    line_tol_nm: float = 1.5,
    min_grid_legs: int = 4,
    min_grid_lines: int = 3,
    grid_line_tol_nm: float = 0.15,
) -> list[dict[str, Any]]:
    """Racetrack and grid events of one resampled flight.

    Returns
    -------
    list of dict
        ``kind`` (``racetrack`` or ``grid``), ``start_s``, ``stop_s``,
        ``latitude``, ``longitude`` and ``details``.
    """
    if r.t_s.size < 3:
        return []
    args = (line_tol_nm, min_grid_legs, min_grid_lines, grid_line_tol_nm)
    return [e for _, e in shapes_batch(from_resampled([r]), *args)]


def shape_events(
    b: Batch,
    line_tol_nm: float = 1.5,
    min_grid_legs: int = 4,
    min_grid_lines: int = 3,
    grid_line_tol_nm: float = 0.15,
    short: FloatArray | None = None,
) -> tuple[Events, Events]:
    """The racetracks and the grids of a batch, each in order.

    Each chain of reversing legs is a racetrack when its turns mostly go one
    way (three quarters) and its even and its odd legs each lie within
    ``max(line_tol_nm, leg length / 5)`` across; else a grid when it has
    ``min_grid_legs`` legs on ``min_grid_lines`` lines (offsets more than
    ``grid_line_tol_nm`` apart).  Cross-track offsets are those of
    :func:`~overflight.patterns.legs.leg_offsets`; the per-chain walk is
    compiled (:mod:`overflight.patterns.shapes_jit`).  ``short`` is the
    short-window turn rate when already computed.
    """
    r = b.r
    legs = legs_batch(b, short=short)
    c0, c1 = chain_bounds(legs)
    if c0.size == 0:
        return no_events("racetrack"), no_events("grid")
    doubled = np.radians(2.0 * legs.course_deg)
    sin_sum, cos_sum = axis_sums(np.sin(doubled), np.cos(doubled), c0, c1)
    axis = np.degrees(np.arctan2(sin_sum, cos_sum)) / 2.0 % 180.0
    lat0, lon0 = mid_means(r.latitude, r.longitude, legs.start, legs.stop, c0, c1)
    num = chain_numbers(
        r.latitude,
        r.longitude,
        r.altitude,
        r.speed_kt,
        legs.start,
        legs.stop,
        legs.length_nm,
        legs.duration_s,
        legs.turn_after_deg,
        c0,
        c1,
        lat0,
        lon0,
        np.cos(np.radians(lat0)),
        np.sin(np.radians(axis)),
        np.cos(np.radians(axis)),
        float(line_tol_nm),
        int(min_grid_legs),
        int(min_grid_lines),
        float(grid_line_tol_nm),
    )
    v = dict(zip(COLUMNS, num, strict=True))
    a, z = legs.start[c0], legs.stop[c1 - 1]
    start, stop = r.t_s[a], r.t_s[z - 1]
    n_legs = c1 - c0
    base = {
        "leg_length_nm": Detail(py_round(v["leg_nm"], 2)),
        "leg_duration_s": Detail(py_round(v["leg_s"], 1)),
        "n_legs": Detail(n_legs),
        "orientation_deg": Detail(py_round(axis, 1)),
        "time_on_station_s": Detail(py_round(stop - start, 1)),
        "altitude_min_ft": Detail(py_round(v["alt_min"], 0), v["n_alt"] == 0.0),
        "altitude_max_ft": Detail(py_round(v["alt_max"], 0), v["n_alt"] == 0.0),
        "speed_kt": Detail(py_round(v["speed"], 1)),
    }
    race = base | {
        "n_turns": Detail(py_round((n_legs - 1) / 2.0, 1)),
        "width_nm": Detail(py_round(v["width"], 2)),
        "holding": Detail((v["leg_s"] >= 40.0) & (v["leg_s"] <= 120.0) & (v["leg_nm"] <= 8.0)),
    }
    grid = base | {
        "n_turns": Detail(n_legs - 1),
        "n_lines": Detail(np.where(v["shape"] == 2.0, v["n_lines"], 0).astype(np.int64)),
        "line_spacing_nm": Detail(py_round(v["spacing"], 2)),
        "width_nm": Detail(py_round(v["width"], 2)),
    }
    every = Events("", b.flight[a], start, stop, v["latitude"], v["longitude"], {})
    found = []
    for code, kind, details in ((1.0, "racetrack", race), (2.0, "grid", grid)):
        ev = every._replace(kind=kind, details=details)
        found.append(ev.take(np.flatnonzero(v["shape"] == code)))
    return found[0], found[1]


def shapes_batch(
    b: Batch,
    line_tol_nm: float = 1.5,
    min_grid_legs: int = 4,
    min_grid_lines: int = 3,
    grid_line_tol_nm: float = 0.15,
    short: FloatArray | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    """``(flight index, event)`` of every racetrack and grid of a batch, in order
    (:func:`shape_events` as dicts)."""
    args = (line_tol_nm, min_grid_legs, min_grid_lines, grid_line_tol_nm)
    race, grid = shape_events(b, *args, short=short)
    flight = np.concatenate([race.flight, grid.flight])
    events = to_dicts(race) + to_dicts(grid)
    by = np.lexsort((np.concatenate([race.start_s, grid.start_s]), flight))  # chain order
    return [(int(flight[i]), events[i]) for i in by.tolist()]
