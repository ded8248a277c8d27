"""What the report needs from the boundaries: their provenance and the polygons to draw."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from overflight.airspace.boundaries import Boundaries
from overflight.airspace.classify import coordinates

_ZONE_OF_KIND = {"maritime": "territorial_sea", "land": "land"}


def _package(source: Path) -> tuple[str, str | None] | None:
    """(npm name, version) when ``source`` sits in an npm package."""
    meta = source.parent / "package.json"
    if not meta.is_file():
        return None
    try:
        doc = json.loads(meta.read_text())
    except (OSError, ValueError):
        return None
    return str(doc.get("name") or source.parent.name), doc.get("version")


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def dataset_info(b: Boundaries) -> dict[str, Any]:
    """Provenance of the boundary data: ``{"name", "version", "sources": [...]}``.

    ``name`` joins the npm package names (or file names) of the layers,
    ``version`` their versions; each source lists its kind, path, SHA-256,
    feature count and the repairs made while loading it.
    """
    names, versions, sources = [], [], []
    for la in b.layers:
        path = Path(la.source)
        pkg = _package(path)
        names.append(pkg[0] if pkg else path.name)
        versions.append((pkg[1] if pkg else None) or "")
        sources.append(
            {
                "kind": la.kind,
                "path": str(path),
                "sha256": _sha256(path),
                "features": int(la.geoms.size),
                "repairs": list(la.notes),
            }
        )
    version = " + ".join(versions) if any(versions) else None
    return {"name": " + ".join(names), "version": version, "sources": sources}


def boundary_features(
    b: Boundaries,
    points: pa.Table,
    focus: str | None = None,
    margin_deg: float = 4.0,
) -> list[dict[str, Any]]:
    """GeoJSON features of the national boundaries around the valid points, for the map.

    Each polygon is cut to the points' bounding box widened by its own
    extent (at least ``margin_deg``) and simplified to extent / 5000 degrees
    (0.0005 to 0.01, i.e. about 50 m to 1 km), then made valid; properties are
    ``{"iso3", "zone": "land"|"territorial_sea", "name", "focus"}``.  User
    zones are left out.  Empty when there is no valid point.
    """
    lon, lat = coordinates(points)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return []
    west, east = float(lon[ok].min()), float(lon[ok].max())
    south, north = float(lat[ok].min()), float(lat[ok].max())
    extent = max(east - west, north - south)
    pad = max(extent, margin_deg)
    rect = (
        max(west - pad, -180.0),
        max(south - pad, -90.0),
        min(east + pad, 180.0),
        min(north + pad, 90.0),
    )
    tolerance = float(np.clip(extent / 5000.0, 0.0005, 0.01))
    hits = shapely.STRtree(b.item_geoms).query(shapely.box(*rect))
    features = []
    for i in sorted(hits.tolist()):
        if b.item_kind[i] == 2:  # user zones: the report's map draws countries only
            continue
        geom = shapely.clip_by_rect(b.item_geoms[i], *rect)
        # topology-preserving simplification costs seconds a country; a plain
        # one followed by make_valid gives the same picture at map scale
        geom = shapely.make_valid(shapely.simplify(geom, tolerance, preserve_topology=False))
        parts = shapely.get_parts(geom)
        parts = parts[shapely.get_type_id(parts) == 3]
        if parts.size == 0:
            continue
        code = "/".join(b.item_codes[i]) or None
        props = {
            "iso3": code,
            "zone": _ZONE_OF_KIND[("maritime", "land")[int(b.item_kind[i])]],
            "name": b.item_names[i] or code,
            "focus": bool(focus and focus.upper() in b.item_codes[i]),
        }
        shape = json.loads(shapely.to_geojson(shapely.multipolygons(parts)))
        features.append({"type": "Feature", "properties": props, "geometry": shape})
    return features
