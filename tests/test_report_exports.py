"""The report's exports, checked against the real input tables and the formats' rules.

GeoJSON against an RFC 7946 checker written here; KML parsed with ElementTree;
CSV read back with pandas; GeoParquet read with geopandas (a peer reader).
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.report import write_report
from overflight.report.geojson import split_antimeridian
from support.report_sample import SAMPLES, Sample, write_sample_report

FT_M = 0.3048
KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture(scope="module")
def sample(report_sample: Sample) -> Sample:
    return report_sample


@pytest.fixture(scope="module")
def out(sample: Any, traffic_samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("report")
    inputs = [str(traffic_samples / s) for s in SAMPLES]
    write_sample_report(d, sample, {"focus": "FRA", "inputs": inputs})
    return d


# --- an RFC 7946 checker ----------------------------------------------------------------


def signed_area(ring: list[list[float]]) -> float:
    """Shoelace: positive for counter-clockwise rings (lon east, lat north)."""
    xy = np.asarray(ring, dtype=float)[:, :2]
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def _position_problems(pos: Any, where: str) -> list[str]:
    if not isinstance(pos, list) or len(pos) not in (2, 3):
        return [f"{where}: position must be 2 or 3 numbers, got {pos!r}"]
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in pos):
        return [f"{where}: non-finite or non-numeric value in {pos!r}"]
    lon, lat = pos[0], pos[1]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return [f"{where}: [lon, lat] out of range: {pos!r}"]
    return []


def _ring_problems(ring: Any, exterior: bool, where: str) -> list[str]:
    problems = [p for i, pos in enumerate(ring) for p in _position_problems(pos, f"{where}[{i}]")]
    if len(ring) < 4:
        problems.append(f"{where}: a linear ring needs at least 4 positions")
    elif ring[0] != ring[-1]:
        problems.append(f"{where}: ring is not closed")
    elif (signed_area(ring) > 0) != exterior:
        problems.append(f"{where}: {'exterior' if exterior else 'interior'} ring wrongly wound")
    return problems


def geometry_problems(g: Any, where: str) -> list[str]:
    if g is None:
        return []
    kind, coords = g.get("type"), g.get("coordinates")
    if kind == "Point":
        return _position_problems(coords, where)
    if kind == "LineString":
        bad = [p for i, pos in enumerate(coords) for p in _position_problems(pos, f"{where}[{i}]")]
        return bad + ([f"{where}: LineString needs 2+ positions"] if len(coords) < 2 else [])
    if kind == "MultiLineString":
        return [
            p
            for i, line in enumerate(coords)
            for p in geometry_problems({"type": "LineString", "coordinates": line}, f"{where}[{i}]")
        ]
    if kind == "Polygon":
        return [
            p
            for i, ring in enumerate(coords)
            for p in _ring_problems(ring, i == 0, f"{where}[{i}]")
        ]
    if kind == "MultiPolygon":
        return [
            p
            for i, poly in enumerate(coords)
            for p in geometry_problems({"type": "Polygon", "coordinates": poly}, f"{where}[{i}]")
        ]
    return [f"{where}: unexpected geometry type {kind!r}"]


def rfc7946_problems(doc: Any) -> list[str]:
    if doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        return ["top level must be a FeatureCollection with a features array"]
    problems = ["'crs' member is not part of RFC 7946"] if "crs" in doc else []
    for i, f in enumerate(doc["features"]):
        if f.get("type") != "Feature" or "geometry" not in f or "properties" not in f:
            problems.append(f"features[{i}]: needs type Feature, geometry and properties")
            continue
        problems += geometry_problems(f["geometry"], f"features[{i}]")
    return problems


def test_checker_catches_a_clockwise_exterior() -> None:
    cw = {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [0, 0]]]}
    assert geometry_problems(cw, "x") == ["x[0]: exterior ring wrongly wound"]


# --- GeoJSON ------------------------------------------------------------------------------


def test_geojson_is_rfc7946(out: Path) -> None:
    doc = json.loads((out / "flights.geojson").read_text(encoding="utf-8"))
    assert rfc7946_problems(doc) == []


def test_geojson_tracks_are_the_input_positions(out: Path, sample: Any) -> None:
    doc = json.loads((out / "flights.geojson").read_text(encoding="utf-8"))
    tracks = [f for f in doc["features"] if f["properties"]["feature_type"] == "track"]
    assert len(tracks) == sample.flights.num_rows
    df = sample.frame.dropna(subset=["latitude", "longitude"])
    for f in tracks:
        g = df[df["flight_id"] == f["properties"]["flight_id"]].sort_values("timestamp")
        coords = np.asarray(f["geometry"]["coordinates"], dtype=float)
        assert f["geometry"]["type"] == "LineString"
        np.testing.assert_array_equal(coords[:, 0], g["longitude"].to_numpy())
        np.testing.assert_array_equal(coords[:, 1], g["latitude"].to_numpy())
        if coords.shape[1] == 3:
            np.testing.assert_allclose(coords[:, 2], g["altitude"].to_numpy() * FT_M, atol=0.051)
        else:
            assert g["altitude"].isna().any()
        assert f["properties"]["callsign"] == g["callsign"].iloc[0]


def test_geojson_events_and_reach(out: Path, sample: Any) -> None:
    doc = json.loads((out / "flights.geojson").read_text(encoding="utf-8"))
    events = [f for f in doc["features"] if f["properties"]["feature_type"] == "event"]
    rows = sample.events.to_pylist()
    assert len(events) == len(rows)
    for f, row in zip(events, rows, strict=True):
        assert f["geometry"]["coordinates"] == [row["longitude"], row["latitude"]]
        assert f["properties"]["kind"] == row["kind"]
        assert f["properties"]["details"] == json.loads(row["details"].replace("NaN", "null"))
    reach = [f for f in doc["features"] if f["properties"]["feature_type"] == "observation_reach"]
    assert len(reach) == sample.reach.num_rows
    for f, text in zip(reach, sample.reach.column("geometry").to_pylist(), strict=True):
        written = shapely.from_geojson(json.dumps(f["geometry"]))
        assert shapely.equals(written, shapely.from_geojson(text))


def test_geojson_splits_a_real_track_moved_onto_the_antimeridian(sample: Any) -> None:
    g = sample.frame.dropna(subset=["latitude", "longitude"])
    g = g[g["flight_id"] == g["flight_id"].iloc[0]]
    lon = g["longitude"].to_numpy()
    moved = (lon - np.median(lon) + 180.0 + 180.0) % 360.0 - 180.0  # centred on the antimeridian
    parts = split_antimeridian(moved, g["latitude"].to_numpy())
    assert len(parts) > 1
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "MultiLineString", "coordinates": parts},
            }
        ],
    }
    assert rfc7946_problems(doc) == []
    _check_split(moved, g["latitude"].to_numpy(), parts)


def _check_split(lon: np.ndarray, lat: np.ndarray, parts: list[list[list[float]]]) -> None:
    kept = []
    for i, part in enumerate(parts):
        arr = np.asarray(part, dtype=float)
        assert np.all(np.abs(np.diff(arr[:, 0])) <= 180.0)
        inner = arr[1 if i > 0 else 0 : len(arr) - 1 if i < len(parts) - 1 else len(arr)]
        if i > 0:
            assert abs(arr[0, 0]) == 180.0 and arr[0, 1] == parts[i - 1][-1][1]
        kept.append(inner)
    together = np.concatenate(kept)
    np.testing.assert_array_equal(together[:, 0], lon)
    np.testing.assert_array_equal(together[:, 1], lat)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-180, 179.999), st.floats(-89, 89)), min_size=2, max_size=30))
def test_split_antimeridian_keeps_every_position(pos: list[tuple[float, float]]) -> None:
    lon = np.array([p[0] for p in pos])
    lat = np.array([p[1] for p in pos])
    parts = split_antimeridian(lon, lat)
    _check_split(lon, lat, parts)


# --- KML ----------------------------------------------------------------------------------


def test_kml_parses_with_one_placemark_per_event(out: Path, sample: Any) -> None:
    root = ET.parse(out / "flights.kml").getroot()
    assert root.tag == f"{KML}kml"
    folders = {f.findtext(f"{KML}name"): f for f in root.iter(f"{KML}Folder")}
    assert len(folders["Events"].findall(f"{KML}Placemark")) == sample.events.num_rows
    tracks = folders["Tracks"].findall(f"{KML}Placemark")
    assert len(tracks) == sample.flights.num_rows
    df = sample.frame.dropna(subset=["latitude", "longitude"])
    for pm, row in zip(tracks, sample.flights.to_pylist(), strict=True):
        assert pm.findtext(f"{KML}name") == row["callsign"]
        line = pm.find(f"{KML}LineString")
        assert line is not None
        coords = np.array([c.split(",") for c in line.findtext(f"{KML}coordinates").split()], float)
        g = df[df["flight_id"] == row["flight_id"]].sort_values("timestamp")
        np.testing.assert_array_equal(coords[:, 0], g["longitude"].to_numpy())
        np.testing.assert_array_equal(coords[:, 1], g["latitude"].to_numpy())
        mode = line.findtext(f"{KML}altitudeMode")
        assert mode == ("clampToGround" if g["altitude"].isna().any() else "absolute")
        if mode == "absolute":
            np.testing.assert_allclose(coords[:, 2], g["altitude"].to_numpy() * FT_M, atol=0.051)


# --- CSV and GeoParquet ---------------------------------------------------------------------


def test_flights_and_events_csv_round_trip(out: Path, sample: Any) -> None:
    for name, table in (("flights.csv", sample.flights), ("events.csv", sample.events)):
        back = pd.read_csv(out / name, dtype={"icao24": str, "callsign": str})
        want = table.to_pandas()
        assert list(back.columns) == list(want.columns)
        for col in want.columns:
            if isinstance(want[col].dtype, pd.DatetimeTZDtype):
                assert back[col].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z").all()
                parsed = pd.to_datetime(back[col], utc=True)
                assert (parsed.to_numpy() == want[col].to_numpy()).all()
            else:
                w = want[col].astype(object).where(want[col].notna(), None).tolist()
                b = back[col].astype(object).where(back[col].notna(), None).tolist()
                assert b == w, col


def test_geoparquet_reads_in_geopandas(out: Path, sample: Any) -> None:
    geopandas = pytest.importorskip("geopandas")
    gdf = geopandas.read_parquet(out / "points.geoparquet")
    assert len(gdf) == sample.points.num_rows
    assert gdf.crs is not None and gdf.crs.equals("OGC:CRS84")
    has = sample.frame["latitude"].notna().to_numpy()
    assert gdf.geometry.isna().to_numpy().tolist() == (~has).tolist()
    np.testing.assert_array_equal(gdf.geometry[has].x.to_numpy(), sample.frame["longitude"][has])
    np.testing.assert_array_equal(gdf.geometry[has].y.to_numpy(), sample.frame["latitude"][has])
    geo = json.loads(pq.read_schema(out / "points.geoparquet").metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    lon, lat = sample.frame["longitude"], sample.frame["latitude"]
    assert geo["columns"]["geometry"]["bbox"] == [lon.min(), lat.min(), lon.max(), lat.max()]


def test_exports_of_tables_without_optional_columns(sample: Any, tmp_path: Path) -> None:
    base_points = [
        "timestamp",
        "icao24",
        "callsign",
        "latitude",
        "longitude",
        "altitude",
        "groundspeed",
        "track",
        "vertical_rate",
        "flight_id",
    ]
    points = sample.points.select(base_points)
    flights = sample.flights.select(
        ["flight_id", "icao24", "callsign", "start", "stop", "n_points"]
    )
    written = write_report(tmp_path, points, flights, None)
    doc = json.loads(written["flights.geojson"].read_text(encoding="utf-8"))
    assert rfc7946_problems(doc) == []
    assert {f["properties"]["feature_type"] for f in doc["features"]} == {"track"}
    assert pd.read_csv(written["events.csv"]).empty
    root = ET.parse(written["flights.kml"]).getroot()
    assert len(list(root.iter(f"{KML}Placemark"))) == flights.num_rows
    assert pq.read_table(written["points.geoparquet"]).num_rows == points.num_rows
