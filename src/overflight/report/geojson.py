"""RFC 7946 GeoJSON export: tracks, events and observation reach.

One ``FeatureCollection`` with three kinds of feature, told apart by the
``feature_type`` property:

* ``track``: one per flight, a ``LineString`` of ``[lon, lat]`` positions
  (``[lon, lat, altitude_m]`` when every position of the flight has a
  barometric altitude, converted from ft to metres), split into a
  ``MultiLineString`` where it crosses the antimeridian (RFC 7946 §3.1.9);
  properties are the flight's row.
* ``event``: one ``Point`` per event row (null geometry when the event has no
  position); ``details`` is parsed from its JSON text.
* ``observation_reach``: the reach polygons, oriented counter-clockwise
  (RFC 7946 §3.1.6).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import shapely

from overflight.geodesy import FT_M
from overflight.report._frame import (
    column,
    group_bounds,
    parse_details,
    records,
    valid_positions,
)

Coords = list[list[float]]


def split_antimeridian(
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    alt: npt.NDArray[np.float64] | None = None,
) -> list[Coords]:
    """Cut a track where it jumps across ±180°, adding the crossing point to both sides.

    Examples
    --------
    >>> parts = split_antimeridian(np.array([179.0, -179.0]), np.array([0.0, 2.0]))
    >>> parts
    [[[179.0, 0.0], [180.0, 1.0]], [[-180.0, 1.0], [-179.0, 2.0]]]
    """
    cols = [lon, lat] if alt is None else [lon, lat, alt]
    coords = np.column_stack(cols) if len(lon) else np.zeros((0, len(cols)))
    jumps = np.flatnonzero(np.abs(np.diff(lon)) > 180.0)
    if len(jumps) == 0:
        return [coords.tolist()]
    parts: list[Coords] = []
    begin = 0
    tail: list[float] | None = None
    for i in jumps.tolist():
        east = lon[i] > 0  # moving east across +180 onto -180
        edge = 180.0 if east else -180.0
        nxt = lon[i + 1] + (360.0 if east else -360.0)
        frac = (edge - lon[i]) / (nxt - lon[i]) if nxt != lon[i] else 0.0
        cross = [float(v[i] + frac * (v[i + 1] - v[i])) for v in cols]
        piece = ([] if tail is None else [tail]) + coords[begin : i + 1].tolist()
        parts.append([*piece, [edge, *cross[1:]]])
        tail = [-edge, *cross[1:]]
        begin = i + 1
    parts.append(([] if tail is None else [tail]) + coords[begin:].tolist())
    return parts


def track_geometry(
    lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64], alt_ft: npt.NDArray[np.float64]
) -> dict[str, Any] | None:
    """GeoJSON geometry of one flight's positions (None when it has none)."""
    if len(lon) == 0:
        return None
    alt = None
    if len(alt_ft) and bool(np.all(np.isfinite(alt_ft))):
        alt = np.round(alt_ft * FT_M, 1)
    if len(lon) == 1:
        first = [float(lon[0]), float(lat[0])] + ([] if alt is None else [float(alt[0])])
        return {"type": "Point", "coordinates": first}
    parts = split_antimeridian(lon, lat, alt)
    if len(parts) == 1:
        return {"type": "LineString", "coordinates": parts[0]}
    return {"type": "MultiLineString", "coordinates": parts}


def oriented(geometry: Any) -> dict[str, Any] | None:
    """A GeoJSON geometry (dict or text) with polygon exteriors counter-clockwise.

    Examples
    --------
    >>> g = oriented({"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [0, 0]]]})
    >>> g["coordinates"][0]
    [[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
    """
    if geometry is None:
        return None
    text = geometry if isinstance(geometry, str) else json.dumps(geometry)
    try:
        geom = shapely.from_geojson(text)
    except shapely.errors.GEOSException:
        return None
    if geom is None or geom.is_empty:
        return None
    out: dict[str, Any] = json.loads(shapely.to_geojson(shapely.orient_polygons(geom)))
    return out


def flight_features(points: pa.Table, flights: pa.Table) -> list[dict[str, Any]]:
    """One ``track`` feature per flight, in the order of the flights table."""
    pts = valid_positions(points)
    fid = column(pts, "flight_id")
    assert fid is not None
    lon, lat = column(pts, "longitude"), column(pts, "latitude")
    alt = column(pts, "altitude")
    assert lon is not None and lat is not None
    alt = np.full(len(lon), np.nan) if alt is None else alt
    starts, stops = group_bounds(fid)
    where = {fid[s]: (s, e) for s, e in zip(starts.tolist(), stops.tolist(), strict=True)}
    icao = column(pts, "icao24")
    assert icao is not None
    rows = records(flights)
    known = {r["flight_id"] for r in rows}
    rows += [{"flight_id": k, "icao24": icao[s]} for k, (s, _) in where.items() if k not in known]
    features = []
    for row in rows:
        s, e = where.get(row["flight_id"], (0, 0))
        geom = track_geometry(lon[s:e], lat[s:e], alt[s:e])
        props = {"feature_type": "track", **row, "n_positions_drawn": e - s}
        if geom is not None and len(geom["coordinates"]) and geom["type"] != "Point":
            first = geom["coordinates"][0]
            first = first[0] if geom["type"] == "MultiLineString" else first
            props["altitude_encoding"] = "barometric, metres" if len(first) == 3 else "omitted"
        features.append({"type": "Feature", "geometry": geom, "properties": props})
    return features


def event_features(events: pa.Table | None) -> list[dict[str, Any]]:
    """One ``event`` Point feature per event row."""
    features = []
    for row in records(events):
        lat, lon = row.pop("latitude", None), row.pop("longitude", None)
        geom = None
        if lat is not None and lon is not None:
            geom = {"type": "Point", "coordinates": [lon, lat]}
        if "details" in row and row["details"] is not None:
            parsed = parse_details(row["details"])
            row["details"] = parsed if parsed else row["details"]
        props = {"feature_type": "event", **row}
        features.append({"type": "Feature", "geometry": geom, "properties": props})
    return features


def reach_features(reach: pa.Table | None) -> list[dict[str, Any]]:
    """One ``observation_reach`` feature per reach row, polygons counter-clockwise."""
    features = []
    for row in records(reach):
        geom = oriented(row.pop("geometry", None))
        props = {"feature_type": "observation_reach", **row}
        features.append({"type": "Feature", "geometry": geom, "properties": props})
    return features


def feature_collection(
    points: pa.Table, flights: pa.Table, events: pa.Table | None, reach: pa.Table | None = None
) -> dict[str, Any]:
    """The whole export as a GeoJSON ``FeatureCollection`` dict."""
    features = flight_features(points, flights) + event_features(events) + reach_features(reach)
    return {"type": "FeatureCollection", "features": features}


def write_geojson(
    path: str | Path,
    points: pa.Table,
    flights: pa.Table,
    events: pa.Table | None,
    reach: pa.Table | None = None,
) -> Path:
    """Write :func:`feature_collection` to ``path`` (UTF-8, strict JSON: no NaN)."""
    out = Path(path)
    fc = feature_collection(points, flights, events, reach)
    out.write_text(json.dumps(fc, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    return out
