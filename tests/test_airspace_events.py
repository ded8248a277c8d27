"""Entries and exits on real flights: runs, crossing times and places, depth, spoofed fixes.

Expected stays are derived here from shapely's ``contains_xy`` on the
boundary polygons, fix by fix; expected distances from pyproj projections.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import pytest
import shapely

from overflight.airspace import Boundaries, airspace_events, load_boundaries
from overflight.errors import BoundaryError


@pytest.fixture(scope="module")
def boundaries() -> Boundaries:
    try:
        b = load_boundaries()
    except BoundaryError as exc:
        pytest.skip(str(exc))
    shapely.prepare(b.item_geoms)  # the reference tests below use shapely on them
    return b


def _points(lon: np.ndarray, lat: np.ndarray, t_s: np.ndarray, flight: str = "f1") -> pa.Table:
    n = lon.size
    return pa.table(
        {
            "timestamp": pa.array((t_s * 1e9).astype("int64"), pa.timestamp("ns", tz="UTC")),
            "icao24": ["abc123"] * n,
            "callsign": ["TEST1"] * n,
            "latitude": lat,
            "longitude": lon,
            "flight_id": [flight] * n,
            "valid": np.ones(n, bool),
        }
    )


@pytest.fixture(scope="module")
def dal1812(shared_data: Path) -> pa.Table:
    doc = json.loads(
        (shared_data / "trajectories" / "readsb_trace_full_ac671b_DAL1812.json").read_text()
    )
    tr = np.array([r[:3] for r in doc["trace"]], dtype=float)
    # the trace holds a day of the aircraft: keep the Belize -> United States leg (first 3 h)
    leg = tr[:, 0] < 3 * 3600
    return _points(tr[leg, 2], tr[leg, 1], doc["timestamp"] + tr[leg, 0])


@pytest.fixture(scope="module")
def ms804(shared_data: Path) -> pa.Table:
    with sqlite3.connect(shared_data / "trajectories" / "opensky_msr804_20160519.sqlite3") as db:
        pos = pd.read_sql(
            "select timestamp, longitude, latitude from positions order by timestamp", db
        )
    return _points(
        pos.longitude.to_numpy(), pos.latitude.to_numpy(), pos.timestamp.to_numpy(), "ms804"
    )


def _inside(
    b: Boundaries, code: str, lon: np.ndarray, lat: np.ndarray, kinds: tuple[int, ...] = (0, 1)
) -> np.ndarray:
    sel = [i for i, c in enumerate(b.item_codes) if code in c and b.item_kind[i] in kinds]
    return (
        np.any([shapely.contains_xy(b.item_geoms[i], lon, lat) for i in sel], axis=0)
        if sel
        else np.zeros(lon.size, bool)
    )


def _expected_runs(b: Boundaries, pts: pa.Table, codes: list[str]) -> list[tuple[str, int, int]]:
    lon = pts.column("longitude").to_numpy()
    lat = pts.column("latitude").to_numpy()
    runs = []
    for code in codes:
        ins = np.concatenate([[False], _inside(b, code, lon, lat), [False]])
        starts = np.flatnonzero(~ins[:-1] & ins[1:])
        stops = np.flatnonzero(ins[:-1] & ~ins[1:]) - 1
        runs += [(code, int(s), int(e)) for s, e in zip(starts, stops, strict=True)]
    return sorted(runs, key=lambda r: r[1])


def _metres_to_boundary(geom: shapely.Geometry, lon: float, lat: float) -> float:
    aeqd = pyproj.Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84", always_xy=True
    )
    near = shapely.clip_by_rect(geom.boundary, lon - 8, lat - 6, lon + 8, lat + 6)
    local = shapely.transform(near, lambda xy: np.column_stack(aeqd.transform(*xy.T)))
    return float(shapely.distance(local, shapely.Point(0, 0)))


def test_dal1812_entries_and_exits(boundaries: Boundaries, dal1812: pa.Table) -> None:
    ev = airspace_events(dal1812, boundaries)
    entries = ev.filter(pc.equal(ev.column("kind"), "airspace_entry"))
    codes = sorted(set(entries.column("country").to_pylist()))
    assert {"BLZ", "MEX", "USA"} <= set(codes)
    runs = _expected_runs(boundaries, dal1812, codes)
    t = dal1812.column("timestamp").cast(pa.int64()).to_numpy()
    rows = entries.to_pylist()
    starts = entries.column("start").cast(pa.int64()).to_numpy()
    stops = entries.column("stop").cast(pa.int64()).to_numpy()
    order = np.argsort(starts, kind="stable")
    assert [rows[k]["country"] for k in order] == [c for c, _, _ in runs]
    for (code, first, last), k in zip(runs, order, strict=True):
        lo = t[first - 1] if first > 0 else t[first]
        assert lo <= starts[k] <= t[first]
        hi = t[last + 1] if last + 1 < t.size else t[last]
        assert t[last] <= stops[k] <= hi
        row = rows[k]
        assert row["duration_s"] == pytest.approx((stops[k] - starts[k]) / 1e9)
        geom = shapely.union_all(
            [
                boundaries.item_geoms[i]
                for i, c in enumerate(boundaries.item_codes)
                if code in c and boundaries.item_kind[i] < 2
            ]
        )
        if first > 0:  # an interpolated crossing lies on the boundary
            assert _metres_to_boundary(geom, row["longitude"], row["latitude"]) < 5.0
        lon = dal1812.column("longitude").to_numpy()[first : last + 1]
        lat = dal1812.column("latitude").to_numpy()[first : last + 1]
        assert row["over_land"] == bool(_inside(boundaries, code, lon, lat, (1,)).any())
        if code == "BLZ":  # depth: the deepest fix, measured independently
            deepest = max(_metres_to_boundary(geom, x, y) for x, y in zip(lon, lat, strict=True))
            assert row["max_depth_m"] == pytest.approx(deepest, rel=0.005, abs=50.0)
        details = json.loads(row["details"])
        assert details["entry_interpolated"] == (first > 0)
        assert details["n_fixes"] == last - first + 1


def test_a_rejected_fix_never_creates_an_entry(boundaries: Boundaries, dal1812: pa.Table) -> None:
    # move one fix over international waters onto Cuba (a spoofed position)
    lat = dal1812.column("latitude").to_numpy().copy()
    lon = dal1812.column("longitude").to_numpy().copy()
    national = np.any(
        [
            shapely.contains_xy(g, lon, lat)
            for g in boundaries.item_geoms[boundaries.item_kind == 0]
        ],
        axis=0,
    )
    outside = np.flatnonzero(~national)
    i = int(outside[outside.size // 2])
    lon[i], lat[i] = -79.5, 22.0
    assert _inside(boundaries, "CUB", lon[i : i + 1], lat[i : i + 1]).all()
    spoofed = dal1812.set_column(3, "latitude", pa.array(lat)).set_column(
        4, "longitude", pa.array(lon)
    )
    valid = np.ones(lat.size, bool)
    valid[i] = False
    rejected = spoofed.set_column(6, "valid", pa.array(valid))
    assert "CUB" not in airspace_events(rejected, boundaries).column("country").to_pylist()
    # the same fix marked valid does make an entry (the test above is not vacuous)
    assert "CUB" in airspace_events(spoofed, boundaries).column("country").to_pylist()


def test_focus_keeps_the_focus_country_only(boundaries: Boundaries, dal1812: pa.Table) -> None:
    ev = airspace_events(dal1812, boundaries, focus="mex")
    assert ev.num_rows >= 1
    assert set(ev.column("country").to_pylist()) == {"MEX"}
    assert set(ev.column("kind").to_pylist()) == {"airspace_entry"}


def test_focus_approach_of_a_flight_that_stayed_outside(
    boundaries: Boundaries, ms804: pa.Table
) -> None:
    lon = ms804.column("longitude").to_numpy()
    lat = ms804.column("latitude").to_numpy()
    assert not _inside(boundaries, "DEU", lon, lat).any()
    ev = airspace_events(ms804, boundaries, focus="DEU", near_km=50.0)
    assert ev.column("kind").to_pylist() == ["airspace_approach"]
    row = ev.to_pylist()[0]
    deu = shapely.union_all(
        [
            boundaries.item_geoms[i]
            for i, c in enumerate(boundaries.item_codes)
            if "DEU" in c and boundaries.item_kind[i] == 0
        ]
    )
    expected = _metres_to_boundary(deu, row["longitude"], row["latitude"])
    assert -row["max_depth_m"] == pytest.approx(expected, rel=0.005, abs=50.0)
    assert expected < 50_000.0
    assert airspace_events(ms804, boundaries, focus="DEU", near_km=5.0).num_rows == 0


def test_zone_entries_with_user_zones(tmp_path: Path, ms804: pa.Table) -> None:
    zone = {
        "type": "Feature",
        "properties": {"name": "TEST AREA", "A3": "CHE"},
        "geometry": json.loads(shapely.to_geojson(shapely.box(8.0, 45.5, 9.0, 46.5))),
    }
    land = {
        "type": "Feature",
        "properties": {"A3": "CHE"},
        "geometry": json.loads(shapely.to_geojson(shapely.box(5.9, 45.8, 10.5, 47.8))),
    }
    (tmp_path / "z.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [zone]})
    )
    (tmp_path / "m.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [land]})
    )
    b = load_boundaries(
        tmp_path / "m.geojson", land=False, zones=tmp_path / "z.geojson", cache_dir=False
    )
    ev = airspace_events(ms804, b)
    zones = ev.filter(pc.equal(ev.column("kind"), "zone_entry"))
    lon = ms804.column("longitude").to_numpy()
    lat = ms804.column("latitude").to_numpy()
    ins = (lon > 8.0) & (lon < 9.0) & (lat > 45.5) & (lat < 46.5)
    expected = int((ins[1:] & ~ins[:-1]).sum() + ins[0])
    assert zones.num_rows == expected > 0
    assert set(zones.column("country").to_pylist()) == {"CHE"}
    assert {json.loads(d)["name"] for d in zones.column("details").to_pylist()} == {"TEST AREA"}


def test_depths_from_point_distances_equal_measured(
    boundaries: Boundaries, traffic_samples: Path
) -> None:
    from overflight import clean, ingest
    from overflight.airspace import classify_points
    from overflight.schema import conform

    table = ingest.read(traffic_samples / "surveillance" / "border_control.json.gz")
    points, _ = clean.run(conform(table.replace_schema_metadata(None)))
    points = classify_points(points, boundaries)
    measured = airspace_events(points, boundaries)
    reused = airspace_events(points, boundaries, reuse_point_distances=True)
    assert measured.num_rows > 0 and pc.max(measured.column("max_depth_m")).as_py() > 0
    assert reused.equals(measured)
