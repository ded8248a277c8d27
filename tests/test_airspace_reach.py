"""Observation reach of a real flight that stayed outside the focus country."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely

from overflight.airspace import Boundaries, horizon_km, observation_reach
from overflight.geodesy import EARTH_RADIUS_M, haversine_m


@pytest.fixture(scope="module")
def ms804(shared_data: Path) -> pa.Table:
    with sqlite3.connect(shared_data / "trajectories" / "opensky_msr804_20160519.sqlite3") as db:
        pos = pd.read_sql(
            "select timestamp, longitude, latitude, altitude from positions order by timestamp", db
        )
    n = len(pos)
    return pa.table(
        {
            "timestamp": pa.array(
                (pos.timestamp.to_numpy() * 1e9).astype("int64"), pa.timestamp("ns", tz="UTC")
            ),
            "icao24": ["010093"] * n,
            "latitude": pos.latitude.to_numpy(),
            "longitude": pos.longitude.to_numpy(),
            "altitude": pos.altitude.to_numpy() / 0.3048,  # metres in the file, feet in the table
            "flight_id": ["ms804"] * n,
            "valid": np.ones(n, bool),
        }
    )


def test_horizon_is_the_refracted_line_of_sight() -> None:
    h_m = np.array([100.0, 3000.0, 11000.0])
    radio = np.sqrt(2 * (4 / 3) * EARTH_RADIUS_M * h_m) / 1000.0  # 4/3 Earth radius
    optical = np.sqrt(2 * EARTH_RADIUS_M * h_m) / 1000.0
    assert horizon_km(h_m / 0.3048) == pytest.approx(radio, rel=0.002)
    assert horizon_km(h_m / 0.3048, "optical") == pytest.approx(optical, rel=0.002)


def test_reach_into_germany_matches_a_monte_carlo_estimate(
    boundaries: Boundaries, ms804: pa.Table
) -> None:
    range_km = 100.0
    reach = observation_reach(ms804, boundaries, "DEU", range_km=range_km)
    assert reach.num_rows == 1
    row = reach.to_pylist()[0]
    seen = shapely.from_wkb(row["geometry_wkb"])
    assert shapely.equals_exact(seen, shapely.from_geojson(row["geometry_geojson"]), tolerance=1e-9)
    germany = _land(boundaries, "DEU")
    assert shapely.area(shapely.difference(seen, germany.buffer(1e-6))) < 1e-6 * shapely.area(seen)
    # independent estimate: random points of Germany's land within range of a fix
    lon = ms804.column("longitude").to_numpy()
    lat = ms804.column("latitude").to_numpy()
    west, south, east, north = shapely.bounds(seen)
    rng = np.random.default_rng(11)
    n = 6000
    x = rng.uniform(west, east, n)
    y = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(south)), np.sin(np.radians(north)), n)))
    near = (lon > west - 2) & (lon < east + 2) & (lat > south - 2) & (lat < north + 2)
    in_range = np.zeros(n, bool)
    for fx, fy in zip(lon[near][::2], lat[near][::2], strict=True):
        in_range |= haversine_m(y, x, fy, fx) <= range_km * 1000.0
    shapely.prepare(germany)
    hit = in_range & shapely.contains_xy(germany, x, y)
    box_km2 = (
        (EARTH_RADIUS_M / 1000.0) ** 2
        * np.radians(east - west)
        * (np.sin(np.radians(north)) - np.sin(np.radians(south)))
    )
    estimate = hit.mean() * box_km2
    assert row["area_km2"] == pytest.approx(estimate, rel=0.06)
    assert row["max_range_km"] == pytest.approx(range_km)


def test_no_reach_for_a_flight_that_entered(boundaries: Boundaries, ms804: pa.Table) -> None:
    assert observation_reach(ms804, boundaries, "CHE", range_km=None).num_rows == 0


def test_low_altitude_limits_the_range(boundaries: Boundaries, ms804: pa.Table) -> None:
    low = ms804.set_column(4, "altitude", pa.array(np.full(ms804.num_rows, 50.0 / 0.3048)))
    # 50 m: a 29 km radio horizon; the closest approach to Germany is about 12 km
    reach = observation_reach(low, boundaries, "DEU", range_km=150.0)
    assert reach.num_rows == 1
    assert reach.column("max_range_km")[0].as_py() == pytest.approx(
        float(horizon_km(np.array([50.0 / 0.3048]))[0])
    )
    assert reach.column("area_km2")[0].as_py() < 2000.0


def test_search_box_cut_that_bends_in_projection(boundaries: Boundaries) -> None:
    """A fix near Basel with a 150 km range: the search box cuts Switzerland into
    parts meeting along its edge, which overlap once projected (GEOS raised
    "side location conflict"); the seen area is still valid and inside the country."""
    lon, lat = 7.528310922499998, 47.5983829822  # outside CHE, about 2 km from it
    assert not shapely.contains_xy(_land(boundaries, "CHE"), lon, lat)
    fixes = pa.table(
        {
            "timestamp": pa.array([0, 60 * 10**9], pa.timestamp("ns", tz="UTC")),
            "icao24": ["abcdef"] * 2,
            "latitude": [lat] * 2,
            "longitude": [lon] * 2,
            "altitude": [40_000.0] * 2,
            "flight_id": ["f"] * 2,
            "valid": [True] * 2,
        }
    )
    reach = observation_reach(fixes, boundaries, "CHE", range_km=150.0)
    assert reach.num_rows == 1
    seen = shapely.from_wkb(reach.column("geometry_wkb")[0].as_py())
    assert shapely.is_valid(seen) and not seen.is_empty
    land = _land(boundaries, "CHE")
    assert shapely.area(shapely.difference(seen, land.buffer(1e-6))) < 1e-6 * shapely.area(seen)
    # every part of it is within range: its farthest vertex is at most 150 km away
    xy = shapely.get_coordinates(seen)
    assert haversine_m(xy[:, 1], xy[:, 0], lat, lon).max() <= 150_000.0 * 1.001


def _land(b: Boundaries, code: str) -> shapely.Geometry:
    return shapely.union_all(
        [
            g
            for g, c, k in zip(b.item_geoms, b.item_codes, b.item_kind, strict=True)
            if code in c and k == 1
        ]
    )
