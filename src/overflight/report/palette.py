"""Colours and legend labels shared by the map, the timelines and the legend.

Tracks are coloured by airspace zone when the airspace stage ran, else by
altitude band.  With a focus country, national airspace of any other country
gets its own colour so that the focus stands out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

UNKNOWN = "#8a8f98"
PATTERN = "#00897b"
REACH = "#4a6fa5"
ENTRY = "#c62828"

ZONE_COLORS: dict[str, str] = {
    "land": "#c62828",
    "territorial_sea": "#ef8f00",
    "foreign": "#7b52ab",
    "international": "#1565c0",
    "unknown": UNKNOWN,
}

#: (upper bound ft, key, colour); the last band is open.
ALTITUDE_BANDS: tuple[tuple[float, str, str], ...] = (
    (1_000.0, "< 1,000 ft", "#0d0887"),
    (5_000.0, "1,000–5,000 ft", "#5b02a3"),
    (10_000.0, "5,000–10,000 ft", "#9a179b"),
    (20_000.0, "10,000–20,000 ft", "#cb4678"),
    (30_000.0, "20,000–30,000 ft", "#eb7852"),
    (float("inf"), "> 30,000 ft", "#e8a21a"),
)

EVENT_COLORS: dict[str, str] = {
    "airspace_entry": "#c62828",
    "orbit": PATTERN,
    "racetrack": "#2e7d32",
    "grid": "#6d4c41",
    "loiter": "#00838f",
}


def zone_labels(focus: str | None) -> dict[str, str]:
    """Legend text of each zone key."""
    who = focus or "National"
    return {
        "land": f"{who} airspace over land",
        "territorial_sea": f"{who} airspace over territorial sea",
        "foreign": "Other national airspace",
        "international": "International airspace",
        "unknown": "Zone unknown",
    }


def color_keys(
    zone: npt.NDArray[Any] | None,
    country: npt.NDArray[Any] | None,
    altitude_ft: npt.NDArray[np.float64] | None,
    focus: str | None,
) -> tuple[npt.NDArray[np.object_], dict[str, str], dict[str, str]]:
    """Colour key of each position, plus the colour and the label of each key used.

    Examples
    --------
    >>> keys, colors, labels = color_keys(np.array(["land", None], dtype=object), None, None, None)
    >>> keys.tolist(), labels["land"]
    (['land', 'unknown'], 'National airspace over land')
    """
    if zone is not None and any(z is not None for z in zone.tolist()):
        keys = np.where(
            np.isin(zone, ["land", "territorial_sea", "international"]), zone, "unknown"
        )
        keys = keys.astype(object)
        if focus and country is not None:
            national = np.isin(keys, ["land", "territorial_sea"])
            upper = pc.utf8_upper(pc.fill_null(pa.array(country, pa.string()), ""))
            other = pc.not_equal(upper, focus.upper()).to_numpy(zero_copy_only=False)
            keys[national & other] = "foreign"
        labels = zone_labels(focus)
        used = [k for k in ZONE_COLORS if k in set(keys.tolist())]
        return keys, {k: ZONE_COLORS[k] for k in used}, {k: labels[k] for k in used}
    n = 0 if altitude_ft is None else len(altitude_ft)
    alt = np.full(n, np.nan) if altitude_ft is None else altitude_ft
    bounds = np.array([b[0] for b in ALTITUDE_BANDS])
    idx = np.searchsorted(bounds, np.where(np.isfinite(alt), alt, 0.0), side="right")
    idx = np.minimum(idx, len(ALTITUDE_BANDS) - 1)
    names = np.array([b[1] for b in ALTITUDE_BANDS], dtype=object)
    keys = np.where(np.isfinite(alt), names[idx], "Altitude unknown").astype(object)
    present = set(keys.tolist())
    colors = {b[1]: b[2] for b in ALTITUDE_BANDS if b[1] in present}
    if "Altitude unknown" in present:
        colors["Altitude unknown"] = UNKNOWN
    return keys, colors, {k: k for k in colors}
