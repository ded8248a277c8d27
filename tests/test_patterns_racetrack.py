"""Racetracks flown inside published refuelling areas (tar1090 reference shapes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import shape

from overflight.geodesy import NM_M, destination
from overflight.patterns import detect_patterns

AREAS = "trajectories/tar1090_reference_areas/UK_Mil_AAR_Zones.geojson"


def _rectangle_nm(geom: object) -> tuple[float, float, float, float, float]:
    """Centre lat/lon, long side and short side (NM), and long-axis bearing."""
    rect = shape(geom).minimum_rotated_rectangle  # type: ignore[arg-type]
    c = np.array(rect.exterior.coords)[:4]
    lat0, lon0 = float(c[:, 1].mean()), float(c[:, 0].mean())
    x = (c[:, 0] - lon0) * 60.0405 * np.cos(np.radians(lat0))
    y = (c[:, 1] - lat0) * 60.0405
    sides = [(x[(i + 1) % 4] - x[i], y[(i + 1) % 4] - y[i]) for i in range(2)]
    lengths = [float(np.hypot(*s)) for s in sides]
    k = int(np.argmax(lengths))
    bearing = float(np.degrees(np.arctan2(*sides[k])) % 360.0)
    return lat0, lon0, max(lengths), min(lengths), bearing


def _stadium_flight(
    lat0: float,
    lon0: float,
    leg_nm: float,
    radius_nm: float,
    bearing: float,
    tas_kt: float = 430.0,
    laps: int = 4,
) -> pd.DataFrame:
    """A tanker flying laps of a racetrack centred on the area, one fix every 4 s."""
    v = tas_kt / 3600.0
    step = 4.0
    s = np.arange(0.0, laps * (2 * leg_nm + 2 * np.pi * radius_nm), v * step)
    per = 2 * leg_nm + 2 * np.pi * radius_nm
    u = s % per
    arc = np.pi * radius_nm
    # local frame: legs along +x at y=-r (outbound) and -x at y=+r (inbound)
    x = np.empty_like(u)
    y = np.empty_like(u)
    a = u < leg_nm
    x[a], y[a] = -leg_nm / 2 + u[a], -radius_nm
    b = (u >= leg_nm) & (u < leg_nm + arc)
    th = (u[b] - leg_nm) / radius_nm
    x[b], y[b] = leg_nm / 2 + radius_nm * np.sin(th), -radius_nm * np.cos(th)
    c = (u >= leg_nm + arc) & (u < 2 * leg_nm + arc)
    x[c], y[c] = leg_nm / 2 - (u[c] - leg_nm - arc), radius_nm
    d = u >= 2 * leg_nm + arc
    th = (u[d] - 2 * leg_nm - arc) / radius_nm
    x[d], y[d] = -leg_nm / 2 - radius_nm * np.sin(th), radius_nm * np.cos(th)
    # rotate: local +x points along the area's long axis
    br = np.radians(bearing)
    east = x * np.sin(br) - y * np.cos(br)
    north = x * np.cos(br) + y * np.sin(br)
    lat, lon = destination(
        lat0, lon0, np.degrees(np.arctan2(east, north)), np.hypot(east, north) * NM_M
    )
    t = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(s.size) * step, unit="s")
    return pd.DataFrame(
        {
            "flight_id": "tanker",
            "icao24": "43c000",
            "timestamp": t,
            "latitude": lat,
            "longitude": lon,
            "altitude": 24000.0,
        }
    )


@pytest.mark.parametrize("index", [0, 1, 2])
def test_racetrack_in_aar_area_has_matching_legs(shared_data: Path, index: int) -> None:
    feat = json.loads((shared_data / AREAS).read_text())["features"][index]
    lat0, lon0, long_nm, _short_nm, bearing = _rectangle_nm(feat["geometry"])
    radius = 430.0 / 3600.0 / np.radians(1.5)  # 1.5 °/s turns at 430 kt
    expected_leg = long_nm - 2 * radius  # the straight part that fits in the area
    assert expected_leg > 20
    ev = detect_patterns(_stadium_flight(lat0, lon0, expected_leg, radius, bearing)).to_pandas()
    rt = ev[ev["kind"] == "racetrack"]
    assert len(rt) == 1, ev[["kind", "details"]]
    d = json.loads(rt["details"].iloc[0])
    assert d["leg_length_nm"] == pytest.approx(expected_leg, rel=0.15)
    assert d["width_nm"] == pytest.approx(2 * radius, rel=0.25)
    assert d["holding"] is False
    assert d["n_turns"] >= 3
    assert not (ev["kind"] == "orbit").any()
    # the event centre is inside the published area
    from shapely.geometry import Point

    assert shape(feat["geometry"]).contains(Point(rt["longitude"].iloc[0], rt["latitude"].iloc[0]))


@pytest.mark.parametrize(("tas_kt", "leg_s"), [(220.0, 60.0), (240.0, 90.0)])
def test_holding_pattern_is_a_racetrack_tagged_holding(tas_kt: float, leg_s: float) -> None:
    # ICAO holding: rate-one (3 °/s) turns, 1-minute legs below FL140, 1.5 above
    leg_nm = tas_kt * leg_s / 3600.0
    radius = tas_kt / 3600.0 / np.radians(3.0)
    ev = detect_patterns(_stadium_flight(48.0, 2.0, leg_nm, radius, 40.0, tas_kt, 4)).to_pandas()
    rt = ev[ev["kind"] == "racetrack"]
    assert len(rt) == 1
    d = json.loads(rt["details"].iloc[0])
    assert d["holding"] is True
    assert d["leg_length_nm"] == pytest.approx(leg_nm, rel=0.25)
    assert d["leg_duration_s"] == pytest.approx(leg_s, rel=0.25)
    assert not (ev["kind"] == "orbit").any()
