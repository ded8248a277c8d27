"""Entries and exits on real flights: runs, crossing times and places, depth, spoofed fixes.

Expected stays are derived here from shapely's ``contains_xy`` on the
boundary polygons, fix by fix; expected distances from pyproj projections.
Crossing fractions are checked against a plain bisection that asks shapely at
every midpoint, on segments built from the real boundary edges to be awkward
(through vertices, along edges, from a point on the boundary, tiny, long,
across the antimeridian).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import pytest
import shapely

from overflight.airspace import Boundaries, airspace_events, load_boundaries, point_classes
from overflight.airspace.crossing import BISECT_STEPS, bisect_reference, crossing_fractions
from overflight.airspace.keys import Keys
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
    ids = point_classes(rejected, boundaries)  # -1 for the rejected fix
    given = airspace_events(rejected, boundaries, point_ids=ids)
    assert "CUB" not in given.column("country").to_pylist()
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
    # the closest fix's time, ISO 8601 UTC to the millisecond like every other time written
    closest = json.loads(row["details"])["closest_time"]
    at = ms804.filter(
        pc.and_(
            pc.equal(ms804["longitude"], row["longitude"]),
            pc.equal(ms804["latitude"], row["latitude"]),
        )
    )["timestamp"][0].as_py()
    assert closest == at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
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
    # as pipeline.place calls it: the points' class ids passed, not worked out again
    ids = point_classes(points, boundaries)
    given = airspace_events(points, boundaries, reuse_point_distances=True, point_ids=ids)
    assert given.equals(measured)


def shapely_inside(b: Boundaries, keys: Keys) -> Callable[..., np.ndarray]:
    """``inside(lon, lat, key)`` by shapely's ``contains_xy`` on each key's polygons."""

    def owns(i: int, kind: str, name: str) -> bool:
        if kind == "airspace_entry":
            return bool(b.item_kind[i] < 2 and name in b.item_codes[i])
        return bool(b.item_kind[i] == 2 and b.item_names[i] == name)

    polygons = {
        k: [i for i in range(b.item_geoms.size) if owns(i, kind, name)]
        for k, (kind, name) in enumerate(keys.keys)
    }

    def inside(lon: np.ndarray, lat: np.ndarray, key: np.ndarray) -> np.ndarray:
        out = np.zeros(lon.size, bool)
        for k in np.unique(key).tolist():
            sel = np.flatnonzero(key == k)
            for i in polygons[k]:
                out[sel] |= shapely.contains_xy(b.item_geoms[i], lon[sel], lat[sel])
        return out

    return inside


def bisect_with(inside: Callable[..., np.ndarray], x0, y0, x1, y1, key) -> np.ndarray:
    """Plain bisection (the original algorithm): every midpoint asked."""
    dlon = (x1 - x0 + 180.0) % 360.0 - 180.0
    lo, hi = np.zeros(x0.size), np.ones(x0.size)
    for _ in range(BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        ins = inside((x0 + mid * dlon + 180.0) % 360.0 - 180.0, y0 + mid * (y1 - y0), key)
        hi, lo = np.where(ins, mid, hi), np.where(ins, lo, mid)
    return hi


def _awkward(
    b: Boundaries, code: str, rng: np.random.Generator, n: int, east_deg: float
) -> list[np.ndarray]:
    """Candidate segments (x0, y0, x1, y1) around ``n`` random border edges of ``code``
    (edges with a longitude beyond +/-``east_deg``)."""
    e = b.index.edges
    items = [i for i, c in enumerate(b.item_codes) if code in c and b.item_kind[i] < 2]
    eids = np.flatnonzero(np.isin(e.item, items) & (np.abs(np.asarray(e.ax)) >= east_deg))
    pick = rng.choice(eids, n)
    ax, ay, bx, by = (np.asarray(v)[pick] for v in (e.ax, e.ay, e.bx, e.by))
    ex, ey = bx - ax, by - ay
    nx, ny = -ey, ex
    mx, my = ax + 0.5 * ex, ay + 0.5 * ey
    out = []
    for scale in (3.0, 1e-2, 1e-5, 1e-9, 1e-12):  # through a vertex, long to tiny
        dx, dy = rng.normal(size=(2, n)) * scale
        out.append(np.array([ax - dx, ay - dy, ax + dx, ay + dy]))
    for side in (1.0, -1.0):  # from a point on the boundary, across it
        out.append(np.array([mx, my, mx + side * 0.3 * nx, my + side * 0.3 * ny]))
    for off in (1e-12, -1e-12, 0.0):  # along the edge, just off it or on its line
        x, y = ax - 0.5 * ex + off * nx, ay - 0.5 * ey + off * ny
        out.append(np.array([x, y, x + 2.0 * ex + 1e-3 * nx, y + 2.0 * ey + 1e-3 * ny]))
    return out


def _crossings(
    b: Boundaries, keys: Keys, code: str, n: int, seed: int, east_deg: float = 0.0
) -> list[np.ndarray]:
    """Awkward segments of ``code`` from its outside to its inside (by shapely)."""
    inside = shapely_inside(b, keys)
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = np.concatenate(_awkward(b, code, rng, n, east_deg), axis=1)
    x0, x1 = (x0 + 180.0) % 360.0 - 180.0, (x1 + 180.0) % 360.0 - 180.0
    y0, y1 = np.clip(y0, -89.9, 89.9), np.clip(y1, -89.9, 89.9)
    key = np.full(x0.size, keys.index[("airspace_entry", code)])
    in0, in1 = inside(x0, y0, key), inside(x1, y1, key)
    keep = in0 != in1
    swap = in0[keep]  # start outside
    x0, y0, x1, y1 = (v[keep] for v in (x0, y0, x1, y1))
    return [
        np.where(swap, x1, x0),
        np.where(swap, y1, y0),
        np.where(swap, x0, x1),
        np.where(swap, y0, y1),
        key[keep],
    ]


@pytest.mark.parametrize(
    ("code", "n", "east_deg"),
    [("CHE", 400, 0.0), ("FRA", 400, 0.0), ("FJI", 200, 179.9), ("RUS", 200, 179.9)],
)
def test_crossings_equal_a_shapely_bisection_on_awkward_segments(
    boundaries: Boundaries, code: str, n: int, east_deg: float
) -> None:
    keys = Keys(boundaries, None)
    x0, y0, x1, y1, key = _crossings(boundaries, keys, code, n, len(code) + n, east_deg)
    assert x0.size > n // 2  # many candidates cross
    got = crossing_fractions(boundaries.index, keys.items(), keys.inside, x0, y0, x1, y1, key)
    expected = bisect_with(shapely_inside(boundaries, keys), x0, y0, x1, y1, key)
    np.testing.assert_array_equal(got, expected)
    if east_deg:  # segments across the antimeridian (bisected plainly) were met
        assert (np.abs(x1 - x0) > 180.0).any()


def test_crossings_counts_midpoints_and_handles_none(boundaries: Boundaries) -> None:
    keys = Keys(boundaries, None)
    x0, y0, x1, y1, key = _crossings(boundaries, keys, "CHE", 200, seed=7)
    asked = []

    def counting(lon: np.ndarray, lat: np.ndarray, k: np.ndarray) -> np.ndarray:
        asked.append(lon.size)
        return keys.inside(lon, lat, k)

    got = crossing_fractions(boundaries.index, keys.items(), counting, x0, y0, x1, y1, key)
    assert np.array_equal(got, bisect_reference(keys.inside, x0, y0, x1, y1, key))
    assert len(asked) <= BISECT_STEPS + 2
    empty = np.zeros(0)
    none = crossing_fractions(boundaries.index, keys.items(), keys.inside, *[empty] * 4, key[:0])
    assert none.size == 0


def test_zone_crossings_equal_a_shapely_bisection(tmp_path: Path) -> None:
    ring = shapely.Polygon([(8.0, 45.5), (9.0, 45.5), (8.5, 46.4), (8.0, 46.5)])
    for name, geom, props in (
        ("z", ring, {"name": "TEST AREA"}),
        ("m", shapely.box(5.9, 45.8, 10.5, 47.8), {"A3": "CHE"}),
    ):
        shape = json.loads(shapely.to_geojson(geom))
        feature = {"type": "Feature", "properties": props, "geometry": shape}
        (tmp_path / f"{name}.geojson").write_text(
            json.dumps({"type": "FeatureCollection", "features": [feature]})
        )
    b = load_boundaries(
        tmp_path / "m.geojson", land=False, zones=tmp_path / "z.geojson", cache_dir=False
    )
    keys = Keys(b, None)
    rng = np.random.default_rng(3)
    corners = np.asarray(ring.exterior.coords)
    side = rng.integers(0, 4, 4000)
    base = corners[side] + rng.uniform(0, 1, (4000, 1)) * (corners[side + 1] - corners[side])
    x0, y0 = (base + rng.normal(size=(4000, 2)) * 10.0 ** rng.uniform(-12, -1, (4000, 1))).T
    x1, y1 = (base + rng.normal(size=(4000, 2)) * 10.0 ** rng.uniform(-12, -1, (4000, 1))).T
    key = np.full(x0.size, keys.index[("zone_entry", "TEST AREA")])
    inside = shapely_inside(b, keys)
    in0, in1 = inside(x0, y0, key), inside(x1, y1, key)
    ok = ~in0 & in1
    args = (x0[ok], y0[ok], x1[ok], y1[ok], key[ok])
    assert ok.sum() > 500
    got = crossing_fractions(b.index, keys.items(), keys.inside, *args)
    np.testing.assert_array_equal(got, bisect_with(inside, *args))
