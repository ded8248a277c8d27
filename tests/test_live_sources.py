"""Decoded sources live: SBS-1 over TCP and readsb JSON over HTTP and from a file."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import warnings
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import shapely

from overflight import airspace, clean, ingest, pipeline
from overflight.classify.samples import load_rnc
from overflight.geodesy import haversine_m
from overflight.live.feeds import FeedSpec
from overflight.live.replay import ReplayServer, load_recording
from overflight.live.rules import Alert, parse_rules
from overflight.live.watcher import WatchConfig, Watcher
from overflight.patterns import detect_patterns

SBS = "raw_modes/beastblackbox_ulss7_20180403_decoded.sbs"
TRACE = "trajectories/readsb_trace_full_ac671b_DAL1812.json"


def keys(db: Path) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT icao24, epoch_us(timestamp) AS t_us, latitude, longitude FROM points"
        ).df()
    finally:
        con.close()


def file_keys(path: Path, fmt: str) -> pd.DataFrame:
    points, _ = clean.run(ingest.read(path, fmt=fmt))
    df = points.select(["icao24", "timestamp", "latitude", "longitude"]).to_pandas()
    df["t_us"] = df["timestamp"].astype("int64") // 1000
    return df.drop(columns="timestamp")


async def watch_until(
    config: WatchConfig, done: asyncio.Future[None] | None = None, stop_after_s: float | None = None
) -> Watcher:
    watcher = Watcher(config)
    run = asyncio.create_task(watcher.run())
    if done is not None:
        await asyncio.wait_for(done, 30)
    if stop_after_s is not None:
        await asyncio.sleep(stop_after_s)
        watcher.request_stop()
    await asyncio.wait_for(run, 30)
    return watcher


def test_sbs_feed_matches_the_file_reader(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / SBS

    async def go() -> Watcher:
        server = ReplayServer(load_recording(path), speed=30.0)
        port = await server.start()
        config = WatchConfig(
            db=tmp_path / "sbs.duckdb",
            feeds=[FeedSpec("sbs", f"127.0.0.1:{port}")],
            idle_exit_s=1.0,
            tick_s=0.25,
            flush_s=0.5,
            echo=False,
        )
        watcher = Watcher(config)
        run = asyncio.create_task(watcher.run())
        await asyncio.wait_for(server.wait_done(), 30)
        await server.close()
        await asyncio.wait_for(run, 30)
        return watcher

    watcher = asyncio.run(go())
    live = keys(tmp_path / "sbs.duckdb")
    ref = file_keys(path, "sbs")
    m = ref.merge(live, on=["icao24", "t_us"], how="outer", indicator=True)
    counts = m["_merge"].value_counts()
    print(counts.to_dict(), dict(watcher.feeds[0].status.counts))
    assert set(live["icao24"]) == set(ref["icao24"])
    # every live row is a file row; rows the live path drops are exact repeats of a
    # row within the de-duplication window (same content, the same second)
    assert counts.get("right_only", 0) == 0
    assert counts["both"] >= 0.99 * len(ref)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_readsb_over_http_and_from_a_file(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / TRACE
    served = tmp_path / "www"
    served.mkdir()
    shutil.copy(src, served / "trace.json")
    http = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(served)))
    threading.Thread(target=http.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{http.server_address[1]}/trace.json"
    local = tmp_path / "aircraft.json"
    shutil.copy(src, local)
    os.utime(local, (1, 1))
    config = WatchConfig(
        db=tmp_path / "readsb.duckdb",
        feeds=[FeedSpec("readsb", url), FeedSpec("readsb", str(local))],
        poll_s=0.2,
        tick_s=0.2,
        flush_s=0.3,
        echo=False,
    )
    watcher = asyncio.run(watch_until(config, stop_after_s=2.5))
    http.shutdown()
    live = keys(tmp_path / "readsb.duckdb")
    ref = file_keys(src, "readsb")

    # polled again and again, from two feeds: every point stored once
    def rows(df: pd.DataFrame) -> list[tuple[str, int]]:
        return sorted(zip(df["icao24"], df["t_us"], strict=True))

    assert rows(live) == rows(ref)
    states = {f.spec.kind: f.status.state for f in watcher.feeds}
    assert states == {"readsb": "stopped"}
    http_feed, file_feed = watcher.feeds
    assert http_feed.status.messages >= 2  # polled every 0.2 s
    assert file_feed.status.messages == 1  # read again only when readsb rewrites it


def test_readsb_unreachable_keeps_retrying(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="overflight.live")
    config = WatchConfig(
        db=tmp_path / "none.duckdb",
        feeds=[
            FeedSpec("readsb", str(tmp_path / "missing.json")),
            FeedSpec("beast", "127.0.0.1:9"),
        ],
        tick_s=0.2,
        flush_s=0.3,
        echo=False,
    )
    asyncio.run(watch_until(config, stop_after_s=1.6))
    assert "feed readsb:" in caplog.text and "dropped" in caplog.text
    assert caplog.text.count("feed beast:127.0.0.1:9 dropped") >= 2


def test_entry_and_unauthorised_entry_alerts(shared_data: Path, tmp_path: Path) -> None:
    """A real trace from Belize across Mexico into the USA, live, with real boundaries."""
    border_file = shared_data / "boundaries" / "osm_borders_maritime_10000m.geo.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a repaired self-intersection far away (PSE)
        bounds = airspace.load_boundaries(maritime=border_file, land=False)
    auth = tmp_path / "auth.yaml"
    auth.write_text("authorisations:\n  - country: USA\n    callsign: ['DAL*']\n")
    context = pipeline.Context(boundaries=bounds, authorisations=airspace.load_authorisations(auth))
    rules = parse_rules(
        [
            {"name": "into-mex", "kind": "entry", "countries": ["MEX"]},
            {"name": "unauthorised", "kind": "unauthorized_entry"},
        ]
    )
    # expected, independently: shapely on the same GeoJSON, consecutive valid fixes
    points, _ = clean.run(ingest.read(shared_data / TRACE, fmt="readsb"))
    v = points.filter(points["valid"]).to_pandas().sort_values("timestamp")
    doc = json.loads(border_file.read_text())
    mex = shapely.union_all(
        [
            shapely.geometry.shape(f["geometry"])
            for f in doc["features"]
            if f["properties"].get("isoA3") == "MEX"
        ]
    )
    inside = shapely.contains_xy(mex, v["longitude"].to_numpy(), v["latitude"].to_numpy())
    entries = np.flatnonzero(inside[1:] & ~inside[:-1]) + 1
    t_entry = v["timestamp"].astype("int64").to_numpy()[entries]
    expected = 1 + int(np.count_nonzero(np.diff(t_entry) > 600e9)) if entries.size else 0
    assert expected >= 1

    config = WatchConfig(
        db=tmp_path / "air.duckdb",
        feeds=[FeedSpec("readsb", str(shared_data / TRACE))],
        rules=rules,
        context=context,
        poll_s=0.2,
        tick_s=0.2,
        flush_s=0.3,
        echo=False,
    )
    alerts: list[Alert] = []

    async def go() -> None:
        watcher = Watcher(config, on_alert=alerts.append)
        run = asyncio.create_task(watcher.run())
        for _ in range(300):  # until the trace is stored (at most 30 s)
            if watcher.stats.points or watcher.stats.counts["tick_errors"]:
                break
            await asyncio.sleep(0.1)
        watcher.request_stop()
        await asyncio.wait_for(run, 60)

    asyncio.run(go())
    into = [a for a in alerts if a.rule == "into-mex"]
    assert len(into) == expected
    assert abs(into[0].time.timestamp() * 1e9 - t_entry[0]) < 1e6
    # DAL flights are authorised in the USA only: the Mexican crossing is the one alert
    unauth = [a for a in alerts if a.rule == "unauthorised"]
    assert [a.details["country"] for a in unauth] == ["MEX"]
    con = duckdb.connect(str(tmp_path / "air.duckdb"), read_only=True)
    stored = con.execute("SELECT count(*), count(country) FROM points WHERE valid").fetchall()[0]
    con.close()
    assert stored[0] == len(v) and stored[1] > 0


def test_orbit_alert_from_a_real_surveillance_flight(shared_data: Path, tmp_path: Path) -> None:
    """A DHS helicopter's positions over the 2016 convention, as SBS lines, replayed fast."""
    rnc = load_rnc(shared_data / "trajectories" / "buzzfeed_2016_conventions_rnc.csv")
    heli = rnc[rnc["callsign"] == "N6987A"]
    span = heli.groupby("flight_id")["timestamp"].agg(lambda s: (s.max() - s.min()).seconds)
    flight = heli[heli["flight_id"] == span.idxmax()].sort_values("timestamp")
    # expected independently: the file pipeline's detector on the same positions
    ref = detect_patterns(flight).to_pandas()
    assert (ref["kind"] == "orbit").any()
    stamp = flight["timestamp"].dt.strftime("%Y/%m/%d,%H:%M:%S.000")
    lines = [
        f"MSG,3,1,1,{r.icao24.upper()},1,{s},{s},{r.callsign},{r.altitude:.0f},,,"
        f"{r.latitude:.5f},{r.longitude:.5f},,,,,,0"
        for r, s in zip(flight.itertuples(), stamp, strict=True)
    ]
    sbs_file = tmp_path / "n6987a.sbs"
    sbs_file.write_text("\n".join(lines) + "\n")
    rules = parse_rules(
        [{"name": "orbits", "kind": "pattern", "patterns": ["orbit"], "episode_gap_s": 86400}]
    )

    async def go() -> list[Alert]:
        alerts: list[Alert] = []
        server = ReplayServer(load_recording(sbs_file), speed=10000.0)
        port = await server.start()
        config = WatchConfig(
            db=tmp_path / "orbit.duckdb",
            feeds=[FeedSpec("sbs", f"127.0.0.1:{port}")],
            rules=rules,
            patterns_every_s=0.5,
            idle_exit_s=2.0,
            tick_s=0.2,
            flush_s=0.3,
            echo=False,
        )
        watcher = Watcher(config, on_alert=alerts.append)
        run = asyncio.create_task(watcher.run())
        await asyncio.wait_for(server.wait_done(), 30)
        await server.close()
        await asyncio.wait_for(run, 60)
        return alerts

    alerts = asyncio.run(go())
    assert [(a.rule, a.icao24) for a in alerts] == [("orbits", flight["icao24"].iloc[0])]
    first = ref[ref["kind"] == "orbit"].iloc[0]
    assert (
        haversine_m(alerts[0].latitude, alerts[0].longitude, first["latitude"], first["longitude"])
        < 5 * 1852
    )
