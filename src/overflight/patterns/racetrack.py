"""Racetracks and survey grids from chains of reversing straight legs.

Racetrack
    Three or more legs joined by reversals that turn the same way, where every
    other leg lies on the same line (cross-track spread under ``line_tol_nm``
    or a fifth of the leg length).  AWACS and tanker tracks, ISR patrol lines
    and holding patterns all look like this; a racetrack whose legs last
    40–120 s and are under 8 NM long is tagged ``holding`` (ICAO holds use
    1-minute legs below FL140 and 1.5-minute legs above).
Grid
    Chains that are not racetracks go to :mod:`overflight.patterns.grid`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from overflight.patterns.batch import Batch, from_resampled
from overflight.patterns.grid import grid_details
from overflight.patterns.legs import Legs, leg_offsets, legs_batch, reversal_chains
from overflight.patterns.reduce_jit import np_mean, np_median
from overflight.patterns.turns import FloatArray, IntArray, Resampled


def _band(r: Resampled, a: int, b: int) -> tuple[float | None, float | None]:
    alt = r.altitude[a:b]
    alt = alt[np.isfinite(alt)]
    if alt.size == 0:
        return None, None
    return round(float(alt.min()), 0), round(float(alt.max()), 0)


def _centre(r: Resampled, a: int, b: int) -> tuple[float, float]:
    return np_mean(r.latitude[a:b]), np_mean(r.longitude[a:b])


def _is_racetrack(legs: Legs, idx: IntArray, cross: FloatArray, line_tol_nm: float) -> bool:
    turns = legs.turn_after_deg[idx[:-1]]
    same_way = max(np.count_nonzero(turns > 0), np.count_nonzero(turns < 0)) / turns.size
    tol = max(line_tol_nm, 0.2 * np_median(legs.length_nm[idx]))
    even, odd = cross[0::2], cross[1::2]
    tight = np.ptp(even) <= tol and (odd.size < 2 or np.ptp(odd) <= tol)
    return bool(same_way >= 0.75 and tight)


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


def shapes_batch(
    b: Batch,
    line_tol_nm: float = 1.5,
    min_grid_legs: int = 4,
    min_grid_lines: int = 3,
    grid_line_tol_nm: float = 0.15,
    short: FloatArray | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    """``(flight index, event)`` of every racetrack and grid of a batch, in order.

    ``short`` is the short-window turn rate when already computed.
    """
    r = b.r
    legs = legs_batch(b, short=short)
    out: list[tuple[int, dict[str, Any]]] = []
    for idx in reversal_chains(legs):
        cross, _along, axis = leg_offsets(r, legs, idx)
        a, z = int(legs.start[idx[0]]), int(legs.stop[idx[-1]])
        lo, hi = _band(r, a, z)
        lat, lon = _centre(r, a, z)
        dur = float(r.t_s[z - 1] - r.t_s[a])
        leg_nm = np_median(legs.length_nm[idx])
        leg_s = np_median(legs.duration_s[idx])
        base = {
            "leg_length_nm": round(leg_nm, 2),
            "leg_duration_s": round(leg_s, 1),
            "n_legs": int(idx.size),
            "orientation_deg": round(axis, 1),
            "time_on_station_s": round(dur, 1),
            "altitude_min_ft": lo,
            "altitude_max_ft": hi,
            "speed_kt": round(np_median(r.speed_kt[a:z]), 1),
        }
        if _is_racetrack(legs, idx, cross, line_tol_nm):
            width = abs(np_median(cross[0::2]) - np_median(cross[1::2]))
            details = base | {
                "n_turns": round((idx.size - 1) / 2.0, 1),
                "width_nm": round(width, 2),
                "holding": bool(40.0 <= leg_s <= 120.0 and leg_nm <= 8.0),
            }
            out.append((int(b.flight[a]), _event("racetrack", r, a, z, lat, lon, details)))
            continue
        grid = grid_details(cross, int(idx.size), min_grid_legs, min_grid_lines, grid_line_tol_nm)
        if grid is not None:
            out.append((int(b.flight[a]), _event("grid", r, a, z, lat, lon, base | grid)))
    return out


def _event(
    kind: str, r: Resampled, a: int, b: int, lat: float, lon: float, details: dict[str, Any]
) -> dict[str, Any]:
    return {
        "kind": kind,
        "start_s": float(r.t_s[a]),
        "stop_s": float(r.t_s[b - 1]),
        "latitude": lat,
        "longitude": lon,
        "details": details,
    }
