"""Observation reach: how much of a focus country a flight that stayed outside could see.

For every flight that never entered the focus country's national airspace,
the reach is the part of that country (its land by default) within sensor
range of at least one valid fix: the union of discs around the fixes,
intersected with the country, computed in an azimuthal equidistant projection
centred on the flight.  The range of a fix is its line of sight to the ground,
capped by ``range_km``:

* ``radio``: 4.12 km x sqrt(altitude in m) (standard 4/3 Earth refraction);
* ``optical``: 3.57 km x sqrt(altitude in m) (geometric horizon).

Fixes without an altitude are skipped.  Only fixes within range of the
country are used, thinned to one per eighth of the range along the track.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import shapely

from overflight.airspace.boundaries import Boundaries
from overflight.airspace.classify import coordinates
from overflight.airspace.distance import border_distance, degree_radius
from overflight.airspace.grid import FloatArray, IntArray
from overflight.geodesy import FT_M, haversine_m

HORIZON_KM_PER_SQRT_M = {"radio": 4.12, "optical": 3.57}
DEFAULT_RANGE_KM = 150.0

REACH_SCHEMA = pa.schema(
    [
        pa.field("flight_id", pa.string()),
        pa.field("icao24", pa.string()),
        pa.field("country", pa.string()),
        pa.field("n_fixes", pa.int64()),
        pa.field("max_range_km", pa.float64()),
        pa.field("area_km2", pa.float64()),
        pa.field("geometry_wkb", pa.binary()),
        pa.field("geometry_geojson", pa.string()),
    ]
)


def horizon_km(altitude_ft: FloatArray, sensor: str = "radio") -> FloatArray:
    """Line-of-sight distance (km) from an altitude to the ground.

    Examples
    --------
    >>> round(float(horizon_km(np.array([10000 / 0.3048]))[0]), 1)
    412.0
    """
    k = HORIZON_KM_PER_SQRT_M[sensor]
    h = np.maximum(np.asarray(altitude_ft, dtype=np.float64) * FT_M, 0.0)
    return np.asarray(k * np.sqrt(h), dtype=np.float64)


def _altitude_ft(points: pa.Table) -> FloatArray:
    alt = np.full(points.num_rows, np.nan)
    for name in ("geoaltitude", "altitude"):
        if name in points.column_names:
            v = points.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
            alt = np.where(np.isnan(alt), v, alt)
    return alt


def _thin(lon: FloatArray, lat: FloatArray, step_m: float) -> IntArray:
    """Indices keeping one fix per ``step_m`` of track."""
    if lon.size < 2:
        return np.arange(lon.size)
    along = np.concatenate([[0.0], np.cumsum(haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]))])
    bucket = np.floor(along / step_m)
    return np.flatnonzero(np.diff(bucket, prepend=-1.0) != 0)


def _reach_one(
    country: shapely.Geometry, lon: FloatArray, lat: FloatArray, radius_m: FloatArray
) -> tuple[shapely.Geometry, shapely.Geometry]:
    """The seen part of ``country`` in the local projection and in lon/lat."""
    import pyproj

    lon0 = float(
        np.degrees(np.arctan2(np.sin(np.radians(lon)).mean(), np.cos(np.radians(lon)).mean()))
    )
    lat0 = float(lat.mean())
    aeqd = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m")
    fwd = pyproj.Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
    inv = pyproj.Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True)
    x, y = fwd.transform(lon, lat)
    cover = shapely.union_all(shapely.buffer(shapely.points(x, y), radius_m, quad_segs=16))
    dlat, dlon = degree_radius(radius_m, lat)
    box = (
        float((lon - dlon).min()),
        float((lat - dlat).min()),
        float((lon + dlon).max()),
        float((lat + dlat).max()),
    )
    if box[0] >= -180.0 and box[2] <= 180.0:
        country = shapely.intersection(country, shapely.box(*box))

    def to_xy(c: FloatArray) -> FloatArray:
        return np.column_stack(fwd.transform(c[:, 0], c[:, 1]))

    def to_lonlat(c: FloatArray) -> FloatArray:
        return np.column_stack(inv.transform(c[:, 0], c[:, 1]))

    seen = shapely.intersection(_polygonal(shapely.transform(country, to_xy)), cover)
    return seen, _polygonal(shapely.transform(seen, to_lonlat))


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """``geom`` made valid where a projection bent it out of shape.

    Parts of a country cut by the search box meet along the box edge; in
    the curved projection they can overlap by a hair, which GEOS refuses
    ("side location conflict").  Valid geometries are returned as they are.
    """
    if shapely.is_valid(geom):
        return geom
    return shapely.make_valid(geom, method="structure", keep_collapsed=False)


def observation_reach(
    points: pa.Table,
    boundaries: Boundaries,
    focus: str,
    range_km: float | None = DEFAULT_RANGE_KM,
    *,
    sensor: str = "radio",
    layer: str = "land",
) -> pa.Table:
    """Area of ``focus`` within sensor range of each flight that stayed outside it.

    Parameters
    ----------
    points
        The points table (``flight_id``, ``icao24``, ``latitude``,
        ``longitude``, ``valid``, ``altitude`` or ``geoaltitude`` in ft).
    boundaries
        From :func:`overflight.airspace.load_boundaries`.
    focus
        ISO3 code of the observed country.
    range_km
        Sensor range cap (None: :data:`DEFAULT_RANGE_KM`).
    sensor
        ``radio`` or ``optical`` line of sight.
    layer
        ``land`` (the territory) or ``maritime`` (land and territorial sea).

    Returns
    -------
    pyarrow.Table
        :data:`REACH_SCHEMA`: one row per flight with a reach, its area in
        km² and the polygon (WKB and GeoJSON, lon/lat).
    """
    if sensor not in HORIZON_KM_PER_SQRT_M:
        raise ValueError(f"sensor {sensor!r}: expected one of {sorted(HORIZON_KM_PER_SQRT_M)}")
    focus = focus.upper()
    range_km = DEFAULT_RANGE_KM if range_km is None else float(range_km)
    kinds = (layer,) if any(la.kind == layer for la in boundaries.layers) else ("maritime",)
    cache_key = f"reach:{focus}:{kinds[0]}"
    if cache_key not in boundaries.extras:
        boundaries.extras[cache_key] = boundaries.country_geometry(focus, kinds)
    country = boundaries.extras[cache_key]
    lon, lat = coordinates(points)
    radius = np.minimum(horizon_km(_altitude_ft(points), sensor), range_km) * 1000.0
    ids = boundaries.classify(lon, lat)
    info = boundaries.info()
    inside = np.array([focus in c for c in info.countries] + [False], bool)[ids]
    flight = points.column("flight_id").to_pylist()
    icao = points.column("icao24").to_pylist()
    rows: dict[str, list[object]] = {f.name: [] for f in REACH_SCHEMA}
    ok = np.isfinite(lon) & np.isfinite(lat) & (radius > 0)
    entered = {flight[i] for i in np.flatnonzero(inside)}
    by_flight: dict[str, list[int]] = {}
    for i in np.flatnonzero(ok).tolist():
        if flight[i] is not None and flight[i] not in entered:
            by_flight.setdefault(flight[i], []).append(i)
    if shapely.is_empty(country):
        return REACH_SCHEMA.empty_table()
    for fid in sorted(by_flight):
        idx = np.asarray(by_flight[fid])
        d = border_distance(
            boundaries, "airspace_entry", focus, lon[idx], lat[idx], float(radius[idx].max()) + 1.0
        )
        idx = idx[d <= radius[idx]]
        if idx.size == 0:
            continue
        idx = idx[_thin(lon[idx], lat[idx], float(radius[idx].min()) / 8.0)]
        seen_xy, seen = _reach_one(country, lon[idx], lat[idx], radius[idx])
        area_km2 = float(shapely.area(seen_xy)) / 1e6
        if area_km2 <= 0.0:
            continue
        rows["flight_id"].append(fid)
        rows["icao24"].append(icao[idx[0]])
        rows["country"].append(focus)
        rows["n_fixes"].append(int(idx.size))
        rows["max_range_km"].append(float(radius[idx].max()) / 1000.0)
        rows["area_km2"].append(area_km2)
        rows["geometry_wkb"].append(shapely.to_wkb(seen))
        rows["geometry_geojson"].append(json.dumps(json.loads(shapely.to_geojson(seen))))
    return pa.table(rows, schema=REACH_SCHEMA)
