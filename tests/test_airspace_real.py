"""Country, zone and boundary distance on the real npm boundaries and real flights.

Expected answers come from shapely on the raw npm GeoJSON (read here with
pyogrio, made valid with shapely's own ``make_valid``) and from pyproj
geodesics, never from overflight's output.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import pytest
import shapely
from pyogrio.raw import read

from overflight.airspace import Boundaries, classify_points
from overflight.airspace.sources import find_default
from overflight.errors import BoundaryError

GEOD = pyproj.Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def raw() -> dict[str, tuple[list[str], np.ndarray]]:
    """The npm layers as published: codes and (possibly invalid) polygons."""
    out = {}
    for kind in ("maritime", "land"):
        try:
            _, _, wkb, fields = read(find_default(kind))
        except BoundaryError as exc:
            pytest.skip(str(exc))
        out[kind] = ([str(c) for c in fields[0]], shapely.from_wkb(wkb))
    return out


def reference(
    raw: dict[str, tuple[list[str], np.ndarray]], x: np.ndarray, y: np.ndarray
) -> tuple[list[list[str]], list[str]]:
    """Countries and zone of each point by shapely ``contains_xy`` on the raw layers."""
    found: dict[str, list[set[str]]] = {}
    for kind, (codes, geoms) in raw.items():
        sets: list[set[str]] = [set() for _ in range(x.size)]
        pts, feats = shapely.STRtree(geoms).query(shapely.points(x, y))
        for f in np.unique(feats):
            sel = pts[feats == f]
            pad = 0.05
            piece = shapely.clip_by_rect(
                geoms[f],
                x[sel].min() - pad,
                y[sel].min() - pad,
                x[sel].max() + pad,
                y[sel].max() + pad,
            )
            piece = shapely.make_valid(piece)
            for p in sel[shapely.contains_xy(piece, x[sel], y[sel])]:
                sets[p].add(codes[f])
        found[kind] = sets
    countries = [sorted(m | la) for m, la in zip(found["maritime"], found["land"], strict=True)]
    zones = [
        "land" if la else ("territorial_sea" if m else "international")
        for m, la in zip(found["maritime"], found["land"], strict=True)
    ]
    return countries, zones


def _table(lon: np.ndarray, lat: np.ndarray, valid: np.ndarray | None = None) -> pa.Table:
    n = lon.size
    return pa.table(
        {
            "latitude": lat,
            "longitude": lon,
            "flight_id": ["f"] * n,
            "valid": np.ones(n, bool) if valid is None else valid,
        }
    )


def _check_against_shapely(b: Boundaries, raw: dict, lon: np.ndarray, lat: np.ndarray) -> pa.Table:
    out = classify_points(_table(lon, lat), b, distance=False)
    countries, zones = reference(raw, lon, lat)
    assert out.column("countries").to_pylist() == countries
    assert out.column("zone").to_pylist() == zones
    expected_country = ["/".join(c) if c else None for c in countries]
    assert out.column("country").to_pylist() == expected_country
    return out


def test_dal1812_from_belize_matches_shapely(
    boundaries: Boundaries, raw: dict, shared_data: Path
) -> None:
    doc = json.loads(
        (shared_data / "trajectories" / "readsb_trace_full_ac671b_DAL1812.json").read_text()
    )
    trace = np.array([r[:3] for r in doc["trace"]], dtype=float)
    out = _check_against_shapely(boundaries, raw, trace[:, 2], trace[:, 1])
    seen = out.column("country").to_pylist()
    # a flight from Belize over Mexico into the United States: real borders and coasts
    assert {"BLZ", "MEX", "USA", None} <= set(seen)
    zones = set(out.column("zone").to_pylist())
    assert zones == {"land", "territorial_sea", "international"}


def test_egyptair_ms804_matches_shapely(
    boundaries: Boundaries, raw: dict, shared_data: Path
) -> None:
    with sqlite3.connect(shared_data / "trajectories" / "opensky_msr804_20160519.sqlite3") as db:
        pos = pd.read_sql("select longitude, latitude from positions order by timestamp", db)
    out = _check_against_shapely(boundaries, raw, pos.longitude.to_numpy(), pos.latitude.to_numpy())
    assert {"FRA", "CHE", "ITA", "HRV"} <= set(out.column("country").to_pylist())


def _offshore(
    raw: dict, coast_code: str, sea_lon: float, sea_lat: float, km: float
) -> tuple[float, float]:
    """The point ``km`` out to sea, along the perpendicular from the nearest point of the coast."""
    codes, geoms = raw["land"]
    land = shapely.make_valid(
        shapely.clip_by_rect(
            geoms[codes.index(coast_code)], sea_lon - 2, sea_lat - 2, sea_lon + 2, sea_lat + 2
        )
    )
    aeqd = pyproj.Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={sea_lat} +lon_0={sea_lon} +datum=WGS84", always_xy=True
    )
    local = shapely.transform(land, lambda xy: np.column_stack(aeqd.transform(*xy.T)))
    coast = shapely.get_coordinates(shapely.shortest_line(shapely.Point(0, 0), local))[1]
    clon, clat = aeqd.transform(*coast, direction="INVERSE")
    azimuth = GEOD.inv(clon, clat, sea_lon, sea_lat)[0]
    lon, lat, _ = GEOD.fwd(clon, clat, azimuth, km * 1000.0)
    # the perpendicular really is km from the coast
    x, y = aeqd.transform(lon, lat)
    assert abs(shapely.distance(local, shapely.Point(x, y)) - km * 1000.0) < 0.01 * km * 1000.0
    return float(lon), float(lat)


def test_ten_km_off_new_jersey_is_national_forty_is_international(
    boundaries: Boundaries, raw: dict
) -> None:
    lon10, lat10 = _offshore(raw, "USA", -73.9, 39.6, 10.0)
    lon40, lat40 = _offshore(raw, "USA", -73.9, 39.6, 40.0)
    out = classify_points(_table(np.array([lon10, lon40]), np.array([lat10, lat40])), boundaries)
    assert out.column("country").to_pylist() == ["USA", None]
    assert out.column("zone").to_pylist() == ["territorial_sea", "international"]
    dist = out.column("boundary_distance_m").to_pylist()
    # 12 NM = 22.2 km from the baseline: about 12 km inside, about 18 km outside
    codes, geoms = raw["maritime"]
    usa = shapely.make_valid(shapely.clip_by_rect(geoms[codes.index("USA")], -77, 37, -71, 42))
    for (lon, lat), d in zip(((lon10, lat10), (lon40, lat40)), dist, strict=True):
        aeqd = pyproj.Transformer.from_crs(
            "EPSG:4326", f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84", always_xy=True
        )
        local = shapely.transform(
            usa.boundary, lambda xy, t=aeqd: np.column_stack(t.transform(*xy.T))
        )
        expected = shapely.distance(local, shapely.Point(0, 0))
        assert abs(abs(d) - expected) < 0.005 * expected + 50.0
    assert 5_000 < dist[0] < 20_000 and -25_000 < dist[1] < -10_000


def test_crimea_reports_both_claimants(boundaries: Boundaries, raw: dict) -> None:
    lon, lat = np.array([34.1, 30.5]), np.array([45.0, 50.45])  # Crimea; Kyiv
    out = classify_points(_table(lon, lat), boundaries, distance=False)
    countries, zones = reference(raw, lon, lat)
    assert countries[0] == ["RUS", "UKR"] and countries[1] == ["UKR"]
    assert out.column("countries").to_pylist() == countries
    assert out.column("country").to_pylist() == ["RUS/UKR", "UKR"]
    assert out.column("zone").to_pylist() == zones == ["land", "land"]


@pytest.mark.parametrize(("code", "south", "north"), [("FJI", -19.0, -15.0), ("RUS", 64.0, 70.0)])
def test_antimeridian_either_side(
    boundaries: Boundaries, raw: dict, code: str, south: float, north: float
) -> None:
    codes, geoms = raw["land"]
    geom = geoms[codes.index(code)]

    def inside(west: float, east: float) -> shapely.Point:
        piece = shapely.make_valid(shapely.clip_by_rect(geom, west, south, east, north))
        return shapely.point_on_surface(piece)

    east, west = inside(179.0, 180.0), inside(-180.0, -179.0)
    lon = np.array([east.x, west.x])
    lat = np.array([east.y, west.y])
    assert lon[0] > 179.0 and lon[1] < -179.0
    out = classify_points(_table(lon, lat), boundaries, distance=False)
    assert out.column("country").to_pylist() == [code, code]
    assert out.column("zone").to_pylist() == ["land", "land"]


def test_rejected_points_get_no_airspace(boundaries: Boundaries) -> None:
    out = classify_points(
        _table(np.array([34.1, 34.1]), np.array([45.0, 45.0]), np.array([True, False])), boundaries
    )
    assert out.column("country").to_pylist() == ["RUS/UKR", None]
    assert out.column("zone").to_pylist() == ["land", None]
    assert out.column("boundary_distance_m").null_count == 1
