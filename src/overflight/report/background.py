"""The map's background: country land and territorial sea, since the report loads no tiles.

Boundary polygons are cut to an area of interest (a box around each flight,
widened by a margin) and simplified to a tolerance that suits the size of the
flights, so a report about one coastline stays small and sharp.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

ISO_KEYS = ("iso3", "ISO3", "iso_a3", "ISO_A3", "isoA3", "A3", "adm0_a3", "ADM0_A3", "owner")
ZONE_KEYS = ("zone", "kind", "zoneType", "zone_type", "layer")


def boundary_props(props: dict[str, Any]) -> tuple[str | None, str]:
    """ISO3 code and zone (``"land"`` or ``"territorial_sea"``) of a boundary feature.

    Examples
    --------
    >>> boundary_props({"isoA3": "FRA", "zoneType": "12NM"})
    ('FRA', 'territorial_sea')
    >>> boundary_props({"A3": "MEX"})
    ('MEX', 'land')
    """
    iso = next((str(props[k]) for k in ISO_KEYS if props.get(k)), None)
    raw = next((str(props[k]).lower() for k in ZONE_KEYS if props.get(k)), "land")
    sea = any(w in raw for w in ("territor", "12", "sea", "marit", "water"))
    return iso, "territorial_sea" if sea and "land" not in raw else "land"


def area_of_interest(
    boxes: Sequence[Sequence[Sequence[float]]], min_margin_deg: float = 4.0
) -> tuple[Any, float]:
    """Union of the ``[[south, west], [north, east]]`` boxes, each widened, and a tolerance.

    Each box grows by its own extent (at least ``min_margin_deg``); the
    simplification tolerance is the median flight extent / 2500, within
    0.001–0.02 degrees (about 100 m to 2 km).

    Examples
    --------
    >>> area, tol = area_of_interest([[[50.0, 1.0], [51.0, 2.0]]])
    >>> area.bounds, tol
    ((-3.0, 46.0, 6.0, 55.0), 0.001)
    """
    arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 2, 2)
    extent = np.maximum(arr[:, 1, 0] - arr[:, 0, 0], arr[:, 1, 1] - arr[:, 0, 1])
    margin = np.maximum(extent, min_margin_deg)
    south = np.clip(arr[:, 0, 0] - margin, -89.0, 89.0)
    north = np.clip(arr[:, 1, 0] + margin, -89.0, 89.0)
    # Tracks across the antimeridian are drawn past ±180 (see mapdata): then the
    # area is one turn of longitude centred on them, so no country is drawn twice.
    lo, hi = float(arr[:, 0, 1].min()), float(arr[:, 1, 1].max())
    start = -180.0 if lo >= -180.0 and hi <= 180.0 else (lo + hi) / 2.0 - 180.0
    west = np.clip(arr[:, 0, 1] - margin, start, start + 360.0)
    east = np.clip(arr[:, 1, 1] + margin, start, start + 360.0)
    area = shapely.union_all(shapely.box(west, south, east, north))
    tolerance = float(np.clip(np.median(extent) / 2500.0, 0.001, 0.02))
    return area, tolerance


def _polygons(geometry: Any) -> list[Any]:
    try:
        geom = shapely.from_geojson(json.dumps(geometry))
    except (shapely.errors.GEOSException, TypeError, ValueError):
        return []
    if geom is None:
        return []
    return [g for g in shapely.get_parts(shapely.get_parts(geom)) if g.geom_type == "Polygon"]


def _shifted_clip(polys: list[Any], bounds: tuple[float, float, float, float]) -> Any:
    """The polygons within ``bounds``, with copies a turn east and west where it runs past ±180."""
    west, south, east, north = bounds
    base = shapely.MultiPolygon(polys)
    parts = []
    for offset in (-360.0, 0.0, 360.0):
        if east < offset - 180.0 or west > offset + 180.0:
            continue
        piece = shapely.clip_by_rect(base, west - offset, south, east - offset, north)
        if offset and not piece.is_empty:
            piece = shapely.transform(piece, lambda c, o=offset: c + np.array([o, 0.0]))
        parts += [
            g for g in shapely.get_parts(shapely.get_parts(piece)) if g.geom_type == "Polygon"
        ]
    return shapely.MultiPolygon(parts)


def _clip(polys: list[Any], area: Any, tolerance_deg: float) -> Any:
    geom = _shifted_clip(polys, area.bounds)
    if geom.is_empty:
        return geom
    geom = shapely.make_valid(geom)
    if not shapely.equals(area, shapely.box(*area.bounds)):
        geom = shapely.intersection(geom, area)
    geom = shapely.simplify(geom, tolerance_deg, preserve_topology=True)
    parts = [g for g in shapely.get_parts(shapely.get_parts(geom)) if g.geom_type == "Polygon"]
    return shapely.transform(shapely.MultiPolygon(parts), lambda c: np.round(c, 4))


def boundaries(
    features: Sequence[dict[str, Any]] | None,
    focus: str | None,
    area: Any,
    tolerance_deg: float,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Boundary features cut to ``area`` and simplified, and a label for each country.

    Properties become ``{"iso3", "zone": "land"|"territorial_sea", "focus"}``;
    territorial seas come first so land draws over them.  Features whose
    geometry cannot be read are skipped.  Labels (``{"t", "at": [lat, lon],
    "focus"}``) sit inside the largest piece of each country's land.
    """
    out = []
    label_at: dict[str, tuple[float, Any]] = {}
    for feat in features or ():
        iso, zone = boundary_props(dict(feat.get("properties") or {}))
        polys = _polygons(feat.get("geometry"))
        if not polys:
            continue
        geom = _clip(polys, area, tolerance_deg)
        if geom.is_empty:
            continue
        is_focus = bool(focus and iso and iso.upper() == focus.upper())
        props = {"iso3": iso, "zone": zone, "focus": is_focus}
        out.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": json.loads(shapely.to_geojson(geom)),
            }
        )
        if iso and zone == "land":
            biggest = max(shapely.get_parts(geom), key=lambda g: g.area)
            if biggest.area > label_at.get(iso, (0.0, None))[0]:
                label_at[iso] = (biggest.area, biggest.point_on_surface())
    out.sort(key=lambda f: (f["properties"]["zone"] == "land", f["properties"]["focus"]))
    labels = [
        {"t": iso, "at": [round(p.y, 4), round(p.x, 4)], "focus": bool(focus and iso == focus)}
        for iso, (_, p) in sorted(label_at.items())
    ]
    return out, labels
