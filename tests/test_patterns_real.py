"""Pattern detectors on real flights: RNC orbits, glider thermals, airliners."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from overflight.classify.samples import load_labelled_samples, load_rnc, read_traffic_json
from overflight.geodesy import haversine_m
from overflight.patterns import detect_patterns

CONVENTION = (41.4965, -81.6882)  # Quicken Loans Arena, Cleveland


@pytest.fixture(scope="module")
def rnc(shared_data: Path) -> pd.DataFrame:
    return load_rnc(shared_data / "trajectories" / "buzzfeed_2016_conventions_rnc.csv")


def _winding_turns(df: pd.DataFrame, lat0: float, lon0: float) -> float:
    """Independent count: net angle swept around a centre by the positions / 360."""
    x = (df["longitude"].to_numpy() - lon0) * np.cos(np.radians(lat0))
    y = df["latitude"].to_numpy() - lat0
    ang = np.unwrap(np.arctan2(y, x))
    return float(abs(ang[-1] - ang[0]) / (2 * np.pi))


def test_rnc_helicopters_orbit_the_convention(rnc: pd.DataFrame) -> None:
    heli = rnc[rnc["callsign"].isin(["N6987A", "N752AM", "N6981A", "N6968A"])]
    # long flights whose median position is within 5 NM of the arena
    span = heli.groupby("flight_id")["timestamp"].agg(lambda s: (s.max() - s.min()).seconds)
    long = span[span > 3600].index
    pts = heli[heli["flight_id"].isin(long)]
    med = pts.groupby("flight_id")[["latitude", "longitude"]].median()
    near = med[haversine_m(med["latitude"], med["longitude"], *CONVENTION) < 5 * 1852].index
    assert len(near) >= 10
    pts = pts[pts["flight_id"].isin(near)]
    ev = detect_patterns(pts).to_pandas()
    orbits = ev[ev["kind"] == "orbit"]
    found = 0
    for fid, g in pts.groupby("flight_id"):
        lat0, lon0 = float(g["latitude"].median()), float(g["longitude"].median())
        expected = _winding_turns(g, lat0, lon0)
        o = orbits[orbits["flight_id"] == fid]
        turns = sum(json.loads(d)["n_turns"] for d in o["details"])
        if expected >= 5:
            found += 1
            # orbits cover most of the winding the positions show
            assert turns >= 0.5 * expected, (fid, turns, expected)
            # and their centres sit over the data's own centre
            dist = haversine_m(o["latitude"], o["longitude"], lat0, lon0) / 1852
            assert float(np.median(dist)) < 2.0
    assert found >= 5
    # across all flights the orbit centres are over the arena
    d = haversine_m(orbits["latitude"], orbits["longitude"], *CONVENTION) / 1852
    assert float(np.median(d)) < 2.0


@pytest.fixture(scope="module")
def gliders(traffic_samples: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("samples")
    (root / "gliders").mkdir()
    for name in ("sisteron", "franconia"):
        (root / "gliders" / f"{name}.json.gz").symlink_to(
            traffic_samples / "gliders" / f"{name}.json.gz"
        )
    pts, _ = load_labelled_samples(root)
    return pts.to_pandas()


def test_glider_thermals_are_climbing_orbits(gliders: pd.DataFrame) -> None:
    ev = detect_patterns(gliders).to_pandas()
    for fid, g in gliders.groupby("flight_id"):
        o = ev[(ev["flight_id"] == fid) & (ev["kind"] == "orbit")]
        details = [json.loads(d) for d in o["details"]]
        assert len(details) >= 3
        # thermalling: tight circles that gain height (independently: the
        # altitude series climbs inside the orbit intervals)
        climbs = []
        for _, row in o.iterrows():
            inside = g[(g["timestamp"] >= row["start"]) & (g["timestamp"] <= row["stop"])]
            alt = inside["altitude"].dropna()
            if len(alt) > 2:
                climbs.append(alt.iloc[-1] - alt.iloc[0])
        assert float(np.median([d["radius_nm"] for d in details])) < 1.0
        assert np.mean(np.array(climbs) > 0) > 0.6


def test_airliners_do_not_orbit(traffic_samples: Path) -> None:
    raw = read_traffic_json(traffic_samples / "collections" / "quickstart.json.gz")
    df = raw.assign(
        timestamp=pd.to_datetime(raw["timestamp"], unit="ms", utc=True),
        flight_id=raw["icao24"].astype(str) + ":" + raw["callsign"].fillna("").astype(str),
    )
    n = df["flight_id"].nunique()
    ev = detect_patterns(df).to_pandas()
    with_orbit = ev.loc[ev["kind"] == "orbit", "flight_id"].nunique()
    assert n > 200
    assert with_orbit / n < 0.02
    assert not (ev["kind"] == "grid").any()
    # any racetrack an airliner flies here is a holding pattern
    for d in ev.loc[ev["kind"] == "racetrack", "details"]:
        assert json.loads(d)["leg_length_nm"] < 15
