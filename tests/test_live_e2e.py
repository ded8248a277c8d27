"""End to end on loopback: a real Beast recording replayed, watched, stored, alerted.

The reference is the file path: ``ingest.read`` + ``clean.run`` on the same
capture with the same start time.  The live path pairs CPR reports across
ticks, so it may miss a position at the start of a pairing; the test
quantifies that and requires 99 % of the file's positions within 50 m.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from overflight import clean, ingest
from overflight.geodesy import haversine_m
from overflight.ingest.modes import clock
from overflight.live.feeds import FeedSpec
from overflight.live.replay import ReplayServer, load_recording
from overflight.live.rules import Alert, parse_rules
from overflight.live.sink import export_days
from overflight.live.watcher import WatchConfig, Watcher

BEAST = "raw_modes/beastblackbox_ulss7_20180403.beast"
# the capture's start, written in its original file name (see ingest/beast.py)
START = "1522782148.136310917"
SPEED = 25.0


def stored_points(db: Path) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT icao24, epoch_us(timestamp) AS t_us, latitude, longitude, flight_id, "
            "valid, source, batch_id FROM points"
        ).df()
    finally:
        con.close()


def reference_points(path: Path) -> pd.DataFrame:
    msgs = ingest.read(path, fmt="beast", start_time=START)
    points, _ = clean.run(msgs)
    df = points.select(["icao24", "timestamp", "latitude", "longitude"]).to_pandas()
    df["t_us"] = df["timestamp"].astype("int64") // 1000
    return df.drop(columns="timestamp")


async def watch_replay(
    paths: list[Path],
    db: Path,
    *,
    kind: str = "beast",
    rules: Any = None,
    webhooks: tuple[str, ...] = (),
    during: Callable[[list[ReplayServer]], Any] | None = None,
) -> tuple[Watcher, list[Alert], list[ReplayServer]]:
    """Replay each file on its own port, watch them all until the data stops."""
    servers = [ReplayServer(load_recording(p), speed=SPEED) for p in paths]
    ports = [await s.start() for s in servers]
    config = WatchConfig(
        db=db,
        feeds=[FeedSpec(kind, f"127.0.0.1:{p}") for p in ports],
        rules=parse_rules(rules) if rules else (),
        webhooks=webhooks,
        start_time_ns=clock.to_ns(START),
        idle_exit_s=1.0,
        tick_s=0.25,
        flush_s=0.5,
        echo=False,
    )
    alerts: list[Alert] = []
    watcher = Watcher(config, on_alert=alerts.append)
    run = asyncio.create_task(watcher.run())
    if during is not None:
        await during(servers)
    for s in servers:
        await asyncio.wait_for(s.wait_done(), 30)
        await s.close()
    await asyncio.wait_for(run, 30)
    return watcher, alerts, servers


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def reference(shared_data: Path) -> pd.DataFrame:
    return reference_points(shared_data / BEAST)


@pytest.fixture(scope="module")
def live_run(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory, reference: pd.DataFrame
) -> dict[str, Any]:
    """One uninterrupted run: the file served twice (two feeds), a watchlist rule, a webhook."""
    db = tmp_path_factory.mktemp("live") / "live.duckdb"
    # watch the aircraft with the most positions in the file
    target = reference["icao24"].value_counts().index[0]
    rules = {"rules": [{"name": "watched", "kind": "watchlist", "icao24": [target]}]}
    _Hook.received = []
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{hook.server_address[1]}/alerts"
    path = shared_data / BEAST
    watcher, alerts, _ = asyncio.run(watch_replay([path, path], db, rules=rules, webhooks=(url,)))
    hook.shutdown()
    return {
        "db": db,
        "watcher": watcher,
        "alerts": alerts,
        "target": target,
        "hooks": list(_Hook.received),
    }


def test_same_aircraft_and_positions_as_analyze(
    live_run: dict[str, Any], reference: pd.DataFrame
) -> None:
    live = stored_points(live_run["db"])
    assert set(live["icao24"]) == set(reference["icao24"])
    assert not live.duplicated(["icao24", "t_us"]).any(), "the second feed was not de-duplicated"
    m = reference.merge(live, on=["icao24", "t_us"], how="left", suffixes=("", "_live"))
    found = m["latitude_live"].notna()
    dist = haversine_m(m["latitude"], m["longitude"], m["latitude_live"], m["longitude_live"])
    matched = found & (np.nan_to_num(dist, nan=np.inf) <= 50.0)
    missing = int((~found).sum())
    print(f"live matched {int(matched.sum())}/{len(m)} file positions; {missing} missing")
    assert matched.mean() >= 0.99
    # and nothing that the file decode does not have
    extra = live.merge(reference, on=["icao24", "t_us"], how="left", indicator=True)
    assert (extra["_merge"] == "both").mean() >= 0.99


def test_flights_match_analyze(live_run: dict[str, Any], shared_data: Path) -> None:
    msgs = ingest.read(shared_data / BEAST, fmt="beast", start_time=START)
    points, _ = clean.run(msgs)
    live = stored_points(live_run["db"])
    assert set(live["flight_id"]) == set(points["flight_id"].to_pylist())


def test_alert_once_per_episode_to_every_output(
    live_run: dict[str, Any], reference: pd.DataFrame
) -> None:
    target = live_run["target"]
    t = np.sort(reference.loc[reference["icao24"] == target, "t_us"].to_numpy())
    episodes = 1 + int(np.count_nonzero(np.diff(t) > 600e6))  # default gap 600 s
    alerts = live_run["alerts"]
    assert [a.icao24 for a in alerts] == [target] * episodes
    con = duckdb.connect(str(live_run["db"]), read_only=True)
    stored = con.execute("SELECT alert_id, rule, icao24 FROM alerts").fetchall()
    con.close()
    assert stored == [(a.alert_id, "watched", target) for a in alerts]
    assert [h["alert_id"] for h in live_run["hooks"]] == [a.alert_id for a in alerts]
    first = reference.loc[reference["icao24"] == target].sort_values("t_us").iloc[0]
    hook = live_run["hooks"][0]
    assert (
        haversine_m(hook["latitude"], hook["longitude"], first["latitude"], first["longitude"]) < 50
    )


def test_batches_match_ingest_log(live_run: dict[str, Any]) -> None:
    con = duckdb.connect(str(live_run["db"]), read_only=True)
    rows = con.execute(
        "SELECT l.batch_id, l.n_rows, count(p.batch_id) FROM ingest_log l "
        "LEFT JOIN points p USING (batch_id) GROUP BY ALL ORDER BY 1"
    ).fetchall()
    status = con.execute("SELECT feed, state, messages FROM feed_status").fetchall()
    con.close()
    assert rows and all(n == c for _, n, c in rows)
    assert len(status) == 2 and all(s == "stopped" and m > 0 for _, s, m in status)


def test_reconnect_loses_and_repeats_nothing(
    shared_data: Path, tmp_path: Path, live_run: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """The server dies mid-stream and comes back: the watcher reconnects and catches up."""

    async def cut_and_restore(servers: list[ReplayServer]) -> None:
        s = servers[0]
        while s.records_sent < s.recording.size // 3:
            await asyncio.sleep(0.05)
        await s.close()
        await asyncio.sleep(0.3)
        again = ReplayServer(s.recording, port=s.port, speed=SPEED)
        await again.start()
        servers[0] = again

    caplog.set_level("INFO", logger="overflight.live")
    db = tmp_path / "re.duckdb"
    watcher, _, _ = asyncio.run(watch_replay([shared_data / BEAST], db, during=cut_and_restore))
    text = caplog.text
    assert "dropped" in text and text.count("connected") >= 2
    assert watcher.feeds[0].status.counts["replayed"] > 0
    live = stored_points(db)
    ref = stored_points(live_run["db"])
    assert not live.duplicated(["icao24", "t_us"]).any()
    assert len(live) == len(ref)
    assert set(zip(live["icao24"], live["t_us"], strict=True)) == set(
        zip(ref["icao24"], ref["t_us"], strict=True)
    )


def test_export_by_day(live_run: dict[str, Any], tmp_path: Path) -> None:
    files = export_days(live_run["db"], tmp_path / "export")
    live = stored_points(live_run["db"])
    days = sorted(
        pd.to_datetime(live["t_us"], unit="us", utc=True).dt.strftime("%Y-%m-%d").unique()
    )
    assert [f.parent.name for f in files] == [f"day={d}" for d in days]
    assert all(f.name == "points.parquet" for f in files)
    assert sum(pq.read_metadata(f).num_rows for f in files) == len(live)
