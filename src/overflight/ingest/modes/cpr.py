"""Compact Position Reporting (CPR) arithmetic on arrays.

Layout
------
An airborne or surface position carries a 17-bit CPR latitude ``YZ`` and
longitude ``XZ`` (fractions ``yz = YZ / 2^17``, ``xz = XZ / 2^17``) and a
format bit F (0 even, 1 odd). With NZ = 15 latitude zones per quadrant:

* latitude zone size ``Dlat = S / (4 NZ - F)`` where S is 360 deg airborne
  and 90 deg on the surface (surface fields have 4x the resolution);
* ``NL(lat)``, the number of longitude zones at a latitude, falls from 59 at
  the equator to 1 at the poles; the transition latitudes are
  ``acos(sqrt((1 - cos(pi / 2NZ)) / (1 - cos(2 pi / NL))))``;
* longitude zone size ``Dlon = S / max(NL(lat) - F, 1)``.

Global decoding combines one even and one odd report received close in time:
``j = floor(59 yz0 - 60 yz1 + 1/2)`` gives both latitudes, which must fall in
the same NL band; ``m = floor(xz0 (NL - 1) - xz1 NL + 1/2)`` gives the
longitude. Surface results are ambiguous by 90 deg in longitude and between
hemispheres and are resolved with a reference position.

Local decoding takes one report and a reference within half a zone (about
180 NM airborne, 45 NM surface) and returns the candidate nearest the
reference.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

NZ = 15
CPR_SCALE = float(1 << 17)


def _transition_latitudes() -> F64:
    nl = np.arange(59, 1, -1, dtype=np.float64)
    a = 1.0 - np.cos(np.pi / (2 * NZ))
    b = 1.0 - np.cos(2 * np.pi / nl)
    out: F64 = np.degrees(np.arccos(np.sqrt(a / b)))  # ascending, 10.47 .. 87.0
    return out


_TRANSITIONS = _transition_latitudes()


def nl(lat: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Number of longitude zones at each latitude (deg).

    Examples
    --------
    >>> nl(np.array([0.0, 10.5, 52.2, 87.5])).tolist()
    [59, 58, 36, 1]
    """
    count = np.searchsorted(_TRANSITIONS, np.abs(np.asarray(lat, dtype=np.float64)), "right")
    return (59 - count).astype(np.int64)


def _wrap_lon(lon: F64) -> F64:
    return (lon + 180.0) % 360.0 - 180.0


def global_airborne(yz0: F64, xz0: F64, yz1: F64, xz1: F64, odd: B) -> tuple[F64, F64]:
    """Position from an even (``yz0, xz0``) and odd (``yz1, xz1``) airborne pair.

    ``odd`` says which of the two reports the position is wanted for.
    NaN where the two latitudes fall in different NL bands.

    Examples
    --------
    >>> lat, lon = global_airborne(np.array([93000 / 2**17]), np.array([51372 / 2**17]),
    ...                            np.array([74158 / 2**17]), np.array([50194 / 2**17]),
    ...                            np.array([True]))
    >>> round(float(lat[0]), 5), round(float(lon[0]), 5)
    (52.26578, 3.93891)
    """
    return _global(yz0, xz0, yz1, xz1, odd, 360.0, None, None)


def global_surface(
    yz0: F64, xz0: F64, yz1: F64, xz1: F64, odd: B, ref_lat: F64, ref_lon: F64
) -> tuple[F64, F64]:
    """Position from an even/odd surface pair, the ambiguity resolved by a reference."""
    return _global(yz0, xz0, yz1, xz1, odd, 90.0, ref_lat, ref_lon)


def _global(
    yz0: F64,
    xz0: F64,
    yz1: F64,
    xz1: F64,
    odd: B,
    span: float,
    ref_lat: F64 | None,
    ref_lon: F64 | None,
) -> tuple[F64, F64]:
    j = np.floor(59.0 * yz0 - 60.0 * yz1 + 0.5)
    lat0 = span / 60.0 * (np.mod(j, 60.0) + yz0)
    lat1 = span / 59.0 * (np.mod(j, 59.0) + yz1)
    if ref_lat is None:
        lat0 = np.where(lat0 >= 270.0, lat0 - 360.0, lat0)
        lat1 = np.where(lat1 >= 270.0, lat1 - 360.0, lat1)
    else:
        # Surface: each latitude is north or the same minus 90 deg (south).
        this = np.where(odd, lat1, lat0)
        south = np.abs(this - 90.0 - ref_lat) < np.abs(this - ref_lat)
        lat0 = np.where(south, lat0 - 90.0, lat0)
        lat1 = np.where(south, lat1 - 90.0, lat1)
    nl0 = nl(lat0)
    ok = (nl0 == nl(lat1)) & (np.abs(lat0) <= 90.0) & (np.abs(lat1) <= 90.0)
    ni = np.maximum(nl0 - odd, 1)
    m = np.floor(xz0 * (nl0 - 1) - xz1 * nl0 + 0.5)
    lon = span / ni * (np.mod(m, ni) + np.where(odd, xz1, xz0))
    if ref_lon is not None:
        lon = lon + 90.0 * np.round(_wrap_lon(ref_lon - lon) / 90.0)
    lat = np.where(odd, lat1, lat0)
    return np.where(ok, lat, np.nan), np.where(ok, _wrap_lon(lon), np.nan)


def local(yz: F64, xz: F64, odd: B, surface: B, ref_lat: F64, ref_lon: F64) -> tuple[F64, F64]:
    """Position of single reports relative to reference positions.

    The answer is unambiguous only when the reference lies within half a
    zone of the truth; the caller checks the distance.

    Examples
    --------
    >>> lat, lon = local(np.array([93000 / 2**17]), np.array([51372 / 2**17]),
    ...                  np.array([False]), np.array([False]),
    ...                  np.array([52.258]), np.array([3.918]))
    >>> round(float(lat[0]), 5), round(float(lon[0]), 5)
    (52.2572, 3.91937)
    """
    span = np.where(surface, 90.0, 360.0)
    dlat = span / (60.0 - odd)
    j = np.floor(ref_lat / dlat) + np.floor(0.5 + np.mod(ref_lat, dlat) / dlat - yz)
    lat = dlat * (j + yz)
    dlon = span / np.maximum(nl(lat) - odd, 1)
    m = np.floor(ref_lon / dlon) + np.floor(0.5 + np.mod(ref_lon, dlon) / dlon - xz)
    return lat, _wrap_lon(dlon * (m + xz))
