"""Aircraft colour by altitude, on the scale tar1090 users know.

The stops are tar1090's defaults (``ColorByAlt`` in ``html/defaults.js``):
hue is interpolated linearly in altitude between the stops below (orange at
the surface, yellow, green near 10,000 ft, through blue to magenta at
40,000 ft and red at 51,000 ft); saturation is 88 %; lightness is
interpolated in hue, so that yellow and green are not too bright.  Aircraft
on the ground are grey, aircraft of unknown altitude light grey.

The map's JavaScript reads :data:`SCALE` from ``/app/colors.json`` so that the
page and :func:`altitude_hsl` cannot disagree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

#: (altitude ft, hue deg)
HUE_STOPS: tuple[tuple[float, float], ...] = (
    (0.0, 20.0),
    (2000.0, 32.5),
    (4000.0, 43.0),
    (6000.0, 54.0),
    (8000.0, 72.0),
    (9000.0, 85.0),
    (11000.0, 140.0),
    (40000.0, 300.0),
    (51000.0, 360.0),
)
#: (hue deg, lightness %)
LIGHTNESS_STOPS: tuple[tuple[float, float], ...] = (
    (0, 53), (20, 50), (32, 54), (40, 52), (46, 51), (50, 46), (60, 43), (80, 41),
    (100, 41), (120, 41), (140, 41), (160, 40), (180, 40), (190, 44), (198, 50),
    (200, 58), (220, 58), (240, 58), (255, 55), (266, 55), (270, 58), (280, 58),
    (290, 47), (300, 43), (310, 48), (320, 48), (340, 52), (360, 53),
)  # fmt: skip
SATURATION = 88.0
GROUND = (220.0, 0.0, 30.0)
UNKNOWN = (0.0, 0.0, 75.0)

#: Everything the browser needs to colour aircraft like :func:`altitude_hsl`.
SCALE: dict[str, Any] = {
    "hue": [list(s) for s in HUE_STOPS],
    "lightness": [list(s) for s in LIGHTNESS_STOPS],
    "saturation": SATURATION,
    "ground": list(GROUND),
    "unknown": list(UNKNOWN),
    "legend_ft": [0, 2000, 4000, 6000, 8000, 10000, 20000, 30000, 40000],
}


def altitude_hsl(
    altitude_ft: npt.ArrayLike, onground: npt.ArrayLike | None = None
) -> npt.NDArray[np.float64]:
    """HSL (hue deg, saturation %, lightness %) for each altitude, shape ``(n, 3)``.

    NaN altitudes get :data:`UNKNOWN`; rows with ``onground`` true get
    :data:`GROUND`.

    Examples
    --------
    >>> altitude_hsl([0.0, 40000.0, float("nan")]).round(1).tolist()
    [[20.0, 88.0, 50.0], [300.0, 88.0, 43.0], [0.0, 0.0, 75.0]]
    """
    alt = np.atleast_1d(np.asarray(altitude_ft, dtype=np.float64))
    hx, hy = np.array(HUE_STOPS).T
    lx, ly = np.array(LIGHTNESS_STOPS, dtype=np.float64).T
    hue = np.interp(alt, hx, hy)
    out = np.column_stack([hue, np.full_like(hue, SATURATION), np.interp(hue, lx, ly)])
    out[np.isnan(alt)] = UNKNOWN
    if onground is not None:
        ground = np.broadcast_to(np.asarray(onground, dtype=bool), alt.shape)
        out[ground] = GROUND
    return out


def css(hsl: npt.ArrayLike) -> list[str]:
    """CSS ``hsl(...)`` strings, rounded as the browser rounds them.

    Examples
    --------
    >>> css([[20.0, 88.0, 50.0]])
    ['hsl(20, 88%, 50%)']
    """
    arr = np.atleast_2d(np.asarray(hsl, dtype=np.float64)).round(0).astype(int)
    return [f"hsl({h}, {s}%, {li}%)" for h, s, li in arr]
