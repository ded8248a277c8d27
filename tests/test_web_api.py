"""The JSON API against a store built from real data; expected values derived with pandas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely

from overflight.web.colors import HUE_STOPS, altitude_hsl
from support.web_store import Built, get


@pytest.fixture(scope="module")
def api(tmp_path_factory: Any, web_store: Built) -> Iterator[Any]:
    from overflight.web import create_app, create_token
    from overflight.web.server import ServerThread

    tokens = tmp_path_factory.mktemp("api") / "tokens.json"
    token = create_token(tokens, "read")
    srv = ServerThread(create_app(web_store.db, tokens, land_boundaries=False), log_level="warning")
    srv.start()

    def call(path: str) -> Any:
        status, body = get(f"{srv.url}{path}", token)
        assert status == 200, body
        return body

    call.built = web_store  # type: ignore[attr-defined]
    call.raw = lambda path: get(f"{srv.url}{path}", token)  # type: ignore[attr-defined]
    yield call
    srv.stop()


def _ms(ts: pd.Series) -> np.ndarray:
    return ts.astype("int64").to_numpy() // 10**6


def _iso(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _usable(points: pd.DataFrame) -> pd.DataFrame:
    ok = points["valid"] & points["latitude"].notna() & points["longitude"].notna()
    return points[ok].assign(ms=lambda d: _ms(d["timestamp"].dt.as_unit("ns")))


def test_aircraft_are_the_latest_positions_in_the_window(api: Any) -> None:
    pts = _usable(api.built.points)
    body = api("/api/aircraft")
    at = int(pts["ms"].max())
    assert body["at"] == _iso(at)
    win = pts[(pts["ms"] > at - 60_000) & (pts["ms"] <= at)]
    last = win.sort_values("ms").groupby("icao24").tail(1).set_index("icao24")
    got = {a["icao24"]: a for a in body["aircraft"]}
    assert body["count"] == len(last) == len(got) > 5
    for icao, row in last.iterrows():
        assert got[icao]["time"] == _iso(int(row["ms"]))
        assert got[icao]["latitude"] == pytest.approx(row["latitude"])
        assert got[icao]["longitude"] == pytest.approx(row["longitude"])
    # the alert written on the busiest aircraft marks it
    alerted = [a for a in body["aircraft"] if a["n_alerts"]]
    assert [a["icao24"] for a in alerted] == [win["icao24"].value_counts().idxmax()]


def test_aircraft_at_a_past_time_carry_their_flight_labels(api: Any) -> None:
    pts = _usable(api.built.points)
    c2 = pts[pts["icao24"] == "ae0455"]
    at = int(c2["ms"].iloc[len(c2) // 2])
    body = api(f"/api/aircraft?at={_iso(at)}&window_s=120")
    assert [a["icao24"] for a in body["aircraft"]] == ["ae0455"]
    a = body["aircraft"][0]
    flights = api.built.flights
    label = flights[flights["icao24"] == "ae0455"].iloc[0]
    assert (a["military"], a["typecode"], a["registration"]) == (
        bool(label["military"]),
        label["typecode"],
        label["registration"],
    )
    assert a["military"] is True  # tar1090-db flags the C-2A as military


def test_track_is_the_latest_flight_and_thins_evenly(api: Any) -> None:
    pts = _usable(api.built.points)
    icao = pts["icao24"].value_counts().idxmax()
    mine = pts[pts["icao24"] == icao]
    flight = mine.sort_values("ms")["flight_id"].iloc[-1]
    expect = mine[mine["flight_id"] == flight].sort_values("ms")
    body = api(f"/api/tracks/{icao}")
    assert body["flight_id"] == flight
    assert body["total"] == body["count"] == len(expect)
    assert [p["time"] for p in body["points"]] == [_iso(int(m)) for m in expect["ms"]]
    thin = api(f"/api/tracks/{icao}?max_points=40")
    assert thin["total"] == len(expect) and thin["count"] <= 41
    assert thin["points"][0] == body["points"][0] and thin["points"][-1] == body["points"][-1]
    upper = api(f"/api/tracks/{icao.upper()}")
    assert upper["icao24"] == icao
    status, err = api.raw("/api/tracks/zzzzzz")
    assert status == 400 and err["ok"] is False and err["error"].startswith("icao24:")


def test_alerts_newest_first_and_since(api: Any) -> None:
    pts = _usable(api.built.points)
    body = api("/api/alerts")
    assert body["count"] == 1
    (alert,) = body["alerts"]
    icao = alert["icao24"]
    newest = pts[pts["icao24"] == icao].sort_values("ms").iloc[-1]
    assert alert == {
        "alert_id": "a-1",
        "rule": "zone-entry",
        "kind": "entry",
        "icao24": icao,
        "flight_id": newest["flight_id"],
        "callsign": newest["callsign"],
        # alerts.time is TIMESTAMPTZ (µs): DuckDB rounds the ns time when casting
        "time": _iso(newest["timestamp"].round("us").value // 10**6),
        "latitude": pytest.approx(newest["latitude"]),
        "longitude": pytest.approx(newest["longitude"]),
        "message": f"{icao} entered the test zone",
        "details": {"zone": "test", "source": newest["source"]},
    }
    assert api(f"/api/alerts?since={alert['time']}")["count"] == 0


def test_history_counts_range_and_bbox(api: Any) -> None:
    pts = _usable(api.built.points)
    c2 = pts[pts["icao24"] == "ae0455"]
    start, stop = int(c2["ms"].min()), int(c2["ms"].min()) + 3_600_000
    in_range = pts[(pts["ms"] >= start) & (pts["ms"] <= stop)]
    body = api(f"/api/history?start={_iso(start)}&stop={_iso(stop)}&max_points=500")
    assert body["total"] == len(in_range)
    assert body["stride"] == -(-len(in_range) // 500)
    assert body["count"] <= 500 + len(set(in_range["icao24"]))
    assert body["points"]["time"] == sorted(body["points"]["time"])
    assert [a["icao24"] for a in body["aircraft"]] == sorted(set(in_range["icao24"]))
    assert body["aircraft"][0]["n_points"] == len(in_range)
    # a box around half the positions
    lat_mid = float(in_range["latitude"].median())
    bbox = f"-180,{lat_mid},180,90"
    boxed = api(f"/api/history?start={_iso(start)}&stop={_iso(stop)}&bbox={bbox}")
    assert boxed["total"] == int((in_range["latitude"] >= lat_mid).sum())
    status, err = api.raw(f"/api/history?start={_iso(stop)}&stop={_iso(start)}")
    assert (status, err) == (
        400,
        {"ok": False, "error": "start must be before stop", "status": 400},
    )


def test_status_reports_tables_and_feeds(api: Any) -> None:
    body = api("/api/status")
    built = api.built
    assert body["database"]["tables"] == {
        "points": len(built.points),
        "alerts": 1,
        "flights": len(built.flights),
        "feed_status": 1,
    }
    (feed,) = body["feeds"]
    assert (feed["feed"], feed["messages"], feed["errors"]) == (
        "beast:ulss7",
        built.stats["records"],
        built.stats["rejected"],
    )


def test_boundaries_cover_the_aircraft(api: Any) -> None:
    pts = _usable(api.built.points)
    live = pts[pts["icao24"] != "ae0455"]
    box = (
        live["longitude"].min(),
        live["latitude"].min(),
        live["longitude"].max(),
        live["latitude"].max(),
    )
    body = api("/api/boundaries?bbox=" + ",".join(f"{v:.3f}" for v in box))
    assert body["type"] == "FeatureCollection" and body["pending"] == []
    snapped = body["bbox"]
    assert snapped[0] <= box[0] and snapped[1] <= box[1] and snapped[2] >= box[2]
    geoms = {
        f["properties"]["iso3"]: shapely.geometry.shape(f["geometry"]) for f in body["features"]
    }
    # the receiver was near St Petersburg (MANIFEST): every aircraft there is over Russia,
    # Finland or Estonia, land or 12 NM sea
    xy = shapely.points(live[["longitude", "latitude"]].to_numpy())
    inside = np.zeros(len(xy), dtype=bool)
    for iso in ("RUS", "FIN", "EST"):
        if iso in geoms:
            inside |= shapely.covers(geoms[iso], xy)
    assert inside.mean() > 0.95


def test_openapi_lists_every_route(api: Any) -> None:
    status, spec = api.raw("/api/openapi.json")
    assert status == 200
    assert set(spec["paths"]) == {
        "/api/aircraft",
        "/api/tracks/{icao24}",
        "/api/alerts",
        "/api/history",
        "/api/status",
        "/api/boundaries",
        "/api/admin/tokens",
        "/api/admin/tokens/{token_id}",
        "/api/admin/rules/reload",
    }
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_altitude_colours_follow_the_tar1090_stops() -> None:
    alt = np.array([s[0] for s in HUE_STOPS])
    hsl = altitude_hsl(alt)
    assert hsl[:, 0].tolist() == [s[1] for s in HUE_STOPS]
    between = altitude_hsl([1000.0, 25500.0])[:, 0]
    assert between.tolist() == [pytest.approx(26.25), pytest.approx(220.0)]
    assert altitude_hsl([5000.0], onground=[True])[0].tolist() == [220.0, 0.0, 30.0]
