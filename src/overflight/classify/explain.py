r"""Short human-readable reasons for a mission label.

A reason names what drove the label: the patterns that filled the flight,
the speed and altitude envelope, and any identity facts that were applied.

Examples
--------
>>> row = dict({"duration_h": 2.0, "speed_q50": 90.0, "alt_q10": 2000.0,
...     "alt_q90": 5000.0, "orbit_share": 0.8, "orbit_turns_per_h": 12.0,
...     "orbit_log_radius_nm": 0.0, "racetrack_share": 0.0, "grid_share": 0.0,
...     "loiter_share": 0.9, "racetrack_leg_nm": -1.0, "grid_lines": 0.0,
...     "loiter_radius_nm": 2.0})
>>> print(reason(row, "surveillance", 0.9, "").replace("; ", ";\n"))
surveillance p=0.90: orbits 80% of 2.0 h (24 turns, r≈1.0 NM);
loiter 90% within 2.0 NM;
90 kt, 2,000–5,000 ft
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The features a reason reads.
REASON_KEYS: tuple[str, ...] = (
    "duration_h",
    "speed_q50",
    "alt_q10",
    "alt_q90",
    "orbit_share",
    "orbit_turns_per_h",
    "orbit_log_radius_nm",
    "racetrack_share",
    "racetrack_leg_nm",
    "grid_share",
    "grid_lines",
    "loiter_share",
    "loiter_radius_nm",
)


def _patterns(row: Mapping[str, Any]) -> list[str]:
    hours = float(row["duration_h"])
    parts: list[str] = []
    if row["orbit_share"] >= 0.05:
        turns = float(row["orbit_turns_per_h"]) * hours
        radius = 10 ** float(row["orbit_log_radius_nm"]) if row["orbit_log_radius_nm"] > -1 else 0
        share = f"orbits {row['orbit_share']:.0%} of {hours:.1f} h"
        parts.append(f"{share} ({turns:.0f} turns, r≈{radius:.1f} NM)")
    if row["racetrack_share"] >= 0.05:
        parts.append(
            f"racetrack {row['racetrack_share']:.0%} (legs {row['racetrack_leg_nm']:.0f} NM)"
        )
    if row["grid_share"] >= 0.05:
        parts.append(f"survey grid {row['grid_share']:.0%} ({row['grid_lines']:.0f} lines)")
    if row["loiter_share"] >= 0.05:
        parts.append(f"loiter {row['loiter_share']:.0%} within {row['loiter_radius_nm']:.1f} NM")
    if not parts:
        parts.append(f"no orbit, racetrack, grid or loiter in {hours:.1f} h")
    return parts


def reason(row: Mapping[str, Any], mission: str, p: float, identity: str) -> str:
    """One line: mission, probability, patterns, envelope, identity facts."""
    env = f"{row['speed_q50']:.0f} kt"
    if row["alt_q10"] >= 0:
        env += f", {row['alt_q10']:,.0f}–{row['alt_q90']:,.0f} ft"
    text = f"{mission} p={p:.2f}: " + "; ".join([*_patterns(row), env])
    if identity:
        text += f"; identity: {identity}"
    return text
