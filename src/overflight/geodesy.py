"""Small vectorised geodesy helpers shared by every stage.

Distances use a spherical Earth of mean radius 6,371,008.8 m (IUGG), which is
within 0.5 % of the ellipsoid: enough for speed checks and pattern geometry.
Where exactness matters (airspace boundaries) the airspace stage projects.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8
NM_M = 1852.0
FT_M = 0.3048
KT_MS = NM_M / 3600.0

FloatArray = npt.NDArray[np.float64]


def haversine_m(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in metres; broadcasts, NaN passes through.

    Examples
    --------
    >>> round(float(haversine_m(0.0, 0.0, 0.0, 1.0)))
    111195
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def bearing_deg(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Initial great-circle bearing from point 1 to point 2, degrees in [0, 360).

    Examples
    --------
    >>> float(bearing_deg(0.0, 0.0, 1.0, 0.0))
    0.0
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    y = np.sin(dlmb) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dlmb)
    return np.degrees(np.arctan2(y, x)) % 360.0


def destination(lat: Any, lon: Any, bearing: Any, distance_m: Any) -> tuple[Any, Any]:
    """Point reached from (lat, lon) along ``bearing`` degrees after ``distance_m``.

    Examples
    --------
    >>> lat, lon = destination(0.0, 0.0, 90.0, 111195.0)
    >>> round(float(lat), 6), round(float(lon), 3)
    (0.0, 1.0)
    """
    d = np.asarray(distance_m) / EARTH_RADIUS_M
    th = np.radians(bearing)
    p1 = np.radians(lat)
    l1 = np.radians(lon)
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(th))
    l2 = l1 + np.arctan2(np.sin(th) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 540.0) % 360.0 - 180.0
