"""Per-point country, zone and signed boundary distance.

:func:`classify_points` adds the columns declared in
:data:`overflight.schema.POINT_EXTRA_FIELDS`:

``country``
    ISO3 code of the national airspace the point is in; for a point claimed
    by several countries (Crimea) their codes sorted and joined by ``/``
    (``RUS/UKR``); null over international airspace and for invalid points.
``countries``
    every claimant, sorted (empty list over international airspace).
``zone``
    ``land``, ``territorial_sea`` or ``international``.
``boundary_distance_m``
    signed distance to the nearest national-airspace boundary, positive
    inside (see :mod:`overflight.airspace.distance`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.airspace.boundaries import ZONE_NAMES, Boundaries
from overflight.airspace.distance import DEFAULT_MAX_DISTANCE_M, boundary_distance_m
from overflight.airspace.grid import FloatArray, Int32Array

POINT_COLUMNS = ("country", "countries", "zone", "boundary_distance_m")


def coordinates(points: pa.Table, valid_only: bool = True) -> tuple[FloatArray, FloatArray]:
    """Longitude and latitude as float arrays, NaN where null (or invalid when ``valid_only``)."""
    masked = valid_only and "valid" in points.column_names

    def column(name: str) -> FloatArray:
        # a copy unless the mask below makes one (to_numpy may give an Arrow buffer's view)
        values = points.column(name).to_numpy(zero_copy_only=False)
        return np.asarray(values.astype(np.float64, copy=not masked), np.float64)

    lon, lat = column("longitude"), column("latitude")
    if masked:
        valid = points.column("valid").fill_null(False).to_numpy(zero_copy_only=False)
        lon = np.where(valid, lon, np.nan)
        lat = np.where(valid, lat, np.nan)
    return lon, lat


def classify_lonlat(b: Boundaries, lon: npt.ArrayLike, lat: npt.ArrayLike) -> Int32Array:
    """Class id of each point (-1 for a missing coordinate); see :meth:`Boundaries.info`.

    Longitudes are wrapped to [-180, 180).  The answer for every point equals
    shapely's ``contains_xy`` against every boundary polygon (a point on a
    boundary line is outside it).
    """
    return b.classify(lon, lat)


def point_classes(points: pa.Table, boundaries: Boundaries, valid_only: bool = True) -> Int32Array:
    """Class id of each row of ``points`` (-1 where it has no valid position).

    The ids :func:`classify_points` and
    :func:`~overflight.airspace.events.airspace_events` work from; a caller
    that runs both passes them to each (``ids=``) and classifies once.
    """
    lon, lat = coordinates(points, valid_only)
    return boundaries.classify(lon, lat)


def _take(values: pa.Array, ids: Int32Array) -> pa.Array:
    return values.take(pa.array(ids, type=pa.int32(), mask=ids < 0))


def classify_points(
    points: pa.Table,
    boundaries: Boundaries,
    *,
    distance: bool = True,
    valid_only: bool = True,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    ids: Int32Array | None = None,
) -> pa.Table:
    """Return ``points`` with country, countries, zone and boundary_distance_m.

    Parameters
    ----------
    points
        A table with ``longitude`` and ``latitude`` (and ``valid``).
    boundaries
        From :func:`overflight.airspace.load_boundaries`.
    distance
        Compute ``boundary_distance_m`` (else null); it costs far more than
        the classification.
    valid_only
        Leave rows with ``valid`` false null (a rejected position is not
        evidence of where the aircraft was).
    max_distance_m
        Distances saturate at this value.
    ids
        The class id of each row if already known (:func:`point_classes`
        with the same ``valid_only``), so they are not worked out twice.

    Returns
    -------
    pyarrow.Table
        A new table; existing columns of the same names are replaced.
    """
    lon, lat = coordinates(points, valid_only)
    if ids is None:
        ids = boundaries.classify(lon, lat)
    info = boundaries.info()
    country = _take(pa.array(info.country, pa.string()), ids)
    countries = _take(pa.array(info.countries, pa.list_(pa.string())), ids)
    zone = _take(pa.array([ZONE_NAMES[z] for z in info.zone], pa.string()), ids)
    if distance:
        dist = boundary_distance_m(boundaries, lon, lat, ids, info.countries, max_distance_m)
        dist_col = pa.array(dist, pa.float64(), mask=np.isnan(dist))
    else:
        dist_col = pa.nulls(points.num_rows, pa.float64())
    out = points
    for name, col in zip(POINT_COLUMNS, (country, countries, zone, dist_col), strict=True):
        if name in out.column_names:
            out = out.set_column(out.column_names.index(name), name, col)
        else:
            out = out.append_column(name, col)
    return out
