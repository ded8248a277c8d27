"""Boundary files: the default npm data and any user GeoJSON, Shapefile or GeoPackage.

The defaults are the npm packages ``@geo-maps/countries-maritime-10m`` (each
country's land and territorial sea, from OpenStreetMap) and
``@geo-maps/countries-coastline-10m`` (the same clipped at the coastline),
installed by ``npm install`` in the project.  They are found through
``$OVERFLIGHT_NODE_MODULES``, else by walking up from this package and from the
working directory to a ``node_modules`` folder that holds them.

Every feature needs an ISO 3166-1 alpha-3 code (the ``A3`` property in the npm
data; ``ISO_A3``/``ADM0_A3`` in Natural Earth, ``ISO_TER1`` in Marine Regions,
...).  Coordinates are reprojected to WGS84 lon/lat when the file declares
another CRS.  Problems raise :class:`~overflight.errors.BoundaryError` naming
the file and the feature.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from overflight.errors import BoundaryError

DEFAULT_PACKAGES = {
    "maritime": "@geo-maps/countries-maritime-10m",
    "land": "@geo-maps/countries-coastline-10m",
}
#: Properties holding an ISO 3166-1 alpha-3 code, in order of preference.
ISO_FIELDS = (
    "A3",
    "ADM0_A3",
    "ISO_A3",
    "ISO_A3_EH",
    "ISO3",
    "ISO_3",
    "ISOA3",
    "ISO_TER1",
    "ISO_SOV1",
    "SOV_A3",
    "GID_0",
    "OWNER",
    "ISO3166_1_ALPHA_3",
    "ISO_3166_1_ALPHA_3",
    "COUNTRY_ISO3",
)
#: Properties naming a feature (used for user zones and in messages).
NAME_FIELDS = ("NAME", "GEONAME", "DESIGNATOR", "IDENT", "TITLE", "LABEL", "ID")
_ISO3 = re.compile(r"^[A-Z]{3}$")
_POLYGON, _MULTIPOLYGON, _COLLECTION = 3, 6, 7


@dataclass(frozen=True)
class RawLayer:
    """Features of one boundary file, as read (before validity repair)."""

    path: Path
    geoms: npt.NDArray[np.object_]
    codes: list[tuple[str, ...]]
    names: list[str]
    notes: list[str]

    def label(self, i: int) -> str:
        """``feature 12 (ZAF)``: how messages name feature ``i``."""
        what = "/".join(self.codes[i]) or self.names[i]
        return f"feature {i} ({what})" if what else f"feature {i}"


def find_default(kind: str) -> Path:
    """Path of the default npm GeoJSON for ``kind`` (``maritime`` or ``land``).

    Raises
    ------
    BoundaryError
        When the package is not installed, with the command that fixes it.
    """
    rel = Path(DEFAULT_PACKAGES[kind]) / "map.geo.json"
    roots: list[Path] = []
    env = os.environ.get("OVERFLIGHT_NODE_MODULES")
    if env:
        roots.append(Path(env))
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        roots.extend(p / "node_modules" for p in (start, *start.parents))
    for root in roots:
        if (root / rel).is_file():
            return root / rel
    raise BoundaryError(
        f"default boundaries not installed: {DEFAULT_PACKAGES[kind]} not found in "
        "$OVERFLIGHT_NODE_MODULES or any node_modules above the package or the working "
        "directory; run `npm install` in the project, or pass --boundaries FILE",
        rel,
    )


def _read(path: Path) -> tuple[dict[str, Any], Any, list[Any]]:
    from pyogrio.raw import read

    if not path.exists():
        raise BoundaryError("file not found", path)
    try:
        meta, _fids, wkb, fields = read(path, force_2d=True)
    except Exception as exc:  # pyogrio/GDAL raise several unrelated types
        raise BoundaryError(
            f"cannot read as a vector file (GeoJSON, Shapefile, GeoPackage): {exc}", path
        ) from exc
    if wkb is None:
        raise BoundaryError("the file has no geometry column", path)
    return meta, wkb, list(fields)


def _code_fields(names: list[str], iso_field: str | None, path: Path) -> list[int]:
    """Indices of the code properties to use, preferred first."""
    upper = [n.upper() for n in names]
    if iso_field is not None:
        if iso_field.upper() not in upper:
            raise BoundaryError(
                f"no property {iso_field!r}; the features have {names}", path, "feature 0"
            )
        wanted = [iso_field.upper()]
    else:
        wanted = [f for f in ISO_FIELDS if f in upper]
    return [upper.index(f) for f in wanted]


def _siblings(names: list[str], idx: int) -> list[int]:
    """``ISO_TER1`` -> indices of ``ISO_TER2``, ``ISO_TER3`` (joint claims in Marine Regions)."""
    name = names[idx].upper()
    if not name.endswith("1"):
        return []
    upper = [n.upper() for n in names]
    return [upper.index(name[:-1] + d) for d in "23" if name[:-1] + d in upper]


def _clean_code(value: Any) -> str | None:
    if value is None:
        return None
    code = str(value).strip().upper()
    return code if _ISO3.match(code) else None


def _codes(
    names: list[str], fields: list[Any], n: int, path: Path, kind: str, iso_field: str | None
) -> list[tuple[str, ...]]:
    candidates = _code_fields(names, iso_field, path)
    if not candidates:
        if kind == "zones":
            return [()] * n
        raise BoundaryError(
            "no ISO 3166-1 alpha-3 country code property: expected one of "
            f"{', '.join(ISO_FIELDS)} (or pass iso_field=); the features have {names}",
            path,
            "feature 0",
        )
    out: list[tuple[str, ...]] = []
    for i in range(n):
        found: tuple[str, ...] = ()
        for f in candidates:
            first = _clean_code(fields[f][i])
            if first is not None:
                extra = (_clean_code(fields[s][i]) for s in _siblings(names, f))
                found = tuple(dict.fromkeys([first, *(c for c in extra if c)]))
                break
        if not found and kind != "zones":
            f0 = candidates[0]
            raise BoundaryError(
                f"country code property {names[f0]!r} is {fields[f0][i]!r}; expected a "
                "three-letter ISO 3166-1 alpha-3 code",
                path,
                f"feature {i}",
            )
        out.append(found)
    return out


def _names(names: list[str], fields: list[Any], n: int) -> list[str]:
    upper = [x.upper() for x in names]
    for f in NAME_FIELDS:
        if f in upper:
            col = fields[upper.index(f)]
            return ["" if v is None else str(v) for v in col]
    return [""] * n


def _polygonal(geoms: npt.NDArray[np.object_], layer: RawLayer) -> npt.NDArray[np.object_]:
    out = geoms.copy()
    types = shapely.get_type_id(geoms)
    for i in np.flatnonzero(types != _POLYGON):
        g = geoms[i]
        if g is None or shapely.is_empty(g):
            raise BoundaryError("the feature has no geometry", layer.path, layer.label(int(i)))
        if types[i] == _MULTIPOLYGON:
            continue
        if types[i] == _COLLECTION:
            parts = shapely.get_parts(g)
            parts = parts[np.isin(shapely.get_type_id(parts), (_POLYGON, _MULTIPOLYGON))]
            if parts.size:
                out[i] = shapely.multipolygons(shapely.get_parts(parts))
                continue
        raise BoundaryError(
            f"geometry is {g.geom_type}; expected Polygon or MultiPolygon",
            layer.path,
            layer.label(int(i)),
        )
    return out


def _to_wgs84(
    geoms: npt.NDArray[np.object_], crs: str | None, layer: RawLayer
) -> tuple[npt.NDArray[np.object_], list[str]]:
    if crs is None:
        return geoms, []
    import pyproj

    try:
        src = pyproj.CRS.from_user_input(crs)
        wgs84 = pyproj.CRS.from_epsg(4326)
        if src.equals(wgs84, ignore_axis_order=True):
            return geoms, []
        tr = pyproj.Transformer.from_crs(src, wgs84, always_xy=True)
    except pyproj.exceptions.CRSError as exc:
        raise BoundaryError(f"unusable CRS {crs!r}: {exc}", layer.path) from exc

    def fwd(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lon, lat = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    out = shapely.transform(geoms, fwd)
    if not np.isfinite(shapely.get_coordinates(out)).all():
        raise BoundaryError(f"coordinates cannot be reprojected from {src.name}", layer.path)
    return out, [f"reprojected from {src.to_string()} to EPSG:4326"]


def _check_range(geoms: npt.NDArray[np.object_], layer: RawLayer, crs: str | None) -> None:
    b = shapely.bounds(geoms)
    bad = (b[:, 0] < -360) | (b[:, 2] > 360) | (b[:, 1] < -90) | (b[:, 3] > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        hint = "the file declares no CRS" if crs is None else f"the file declares {crs}"
        raise BoundaryError(
            f"coordinates {tuple(round(float(v), 3) for v in b[i])} (bounds) are not "
            f"longitude/latitude degrees; expected WGS84 (EPSG:4326) and {hint}: "
            "reproject the file or declare its CRS",
            layer.path,
            layer.label(i),
        )


def read_layer(path: str | os.PathLike[str], kind: str, iso_field: str | None = None) -> RawLayer:
    """Read one boundary file into polygons (lon/lat), codes and names.

    Parameters
    ----------
    path
        GeoJSON, Shapefile, GeoPackage or any vector format GDAL reads.
    kind
        ``maritime``, ``land`` or ``zones`` (zones do not need a country code).
    iso_field
        Property holding the ISO3 code, when not one of :data:`ISO_FIELDS`.

    Raises
    ------
    BoundaryError
        Unreadable file, no code property, a feature without a valid code or
        geometry, a non-polygon feature, coordinates that are not lon/lat.
    """
    p = Path(path)
    meta, wkb, fields = _read(p)
    names = [str(n) for n in meta["fields"]]
    n = len(wkb)
    if n == 0:
        raise BoundaryError("the file has no features", p)
    codes = _codes(names, fields, n, p, kind, iso_field)
    labels = _names(names, fields, n)
    try:
        geoms = shapely.from_wkb(np.asarray(wkb, dtype=object))
    except shapely.errors.GEOSException as exc:
        raise BoundaryError(f"unreadable geometry: {exc}", p) from exc
    layer = RawLayer(p, geoms, codes, labels, [])
    geoms = _polygonal(geoms, layer)
    crs = meta.get("crs")
    geoms, notes = _to_wgs84(geoms, crs, layer)
    _check_range(geoms, layer, crs)
    return RawLayer(p, geoms, codes, labels, notes)
