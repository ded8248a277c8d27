"""The watcher's ``flights`` table: identity rows stored with the points, shown by ``serve``.

The real components run on loopback: a replay server with the Beast
recording, the watcher (holding the file, and sharing it with a running
``overflight serve``), and the web app.  The registry country of each stored
flight is checked against the ICAO address allocation looked up directly.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from overflight import store
from overflight.identify.allocation import registry_country
from overflight.live.sink import Sink
from support.live_watch import watch_recording
from support.web_store import get as web_get

BEAST = "raw_modes/beastblackbox_ulss7_20180403.beast"
START_NS = 1_522_782_000 * 10**9  # 2018-04-03T19:00:00Z, the recording's day
RUN_CLI = "import sys; from overflight.cli import app; sys.argv[0] = 'overflight'; app()"


def watch(shared_data: Path, db: Path, speed: float, hold: bool, during: Any = None) -> list[Any]:
    """Replay the recording into a watcher on ``db``; call ``during()`` while it runs."""
    return watch_recording(
        shared_data / BEAST, db, speed=speed, hold=hold, start_time_ns=START_NS, during=during
    )


def rows(db: Path, sql: str) -> list[dict[str, Any]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        table: pa.Table = con.sql(sql).to_arrow_table()  # type: ignore[union-attr]
    finally:
        con.close()
    out: list[dict[str, Any]] = table.to_pylist()
    return out


def check_flights(db: Path) -> list[dict[str, Any]]:
    """Every stored flight has one live identity row that matches its points; returns them."""
    per_point = {
        r["flight_id"]: r
        for r in rows(
            db,
            "SELECT flight_id, any_value(icao24) AS icao24, count(*) AS n, "
            "epoch_us(min(timestamp)) AS first, epoch_us(max(timestamp)) AS last "
            "FROM points GROUP BY flight_id",
        )
    }
    live = rows(
        db,
        "SELECT flight_id, icao24, callsign, registry_country, military, isr_type, n_points, "
        "epoch_us(start::TIMESTAMPTZ) AS start, epoch_us(stop::TIMESTAMPTZ) AS stop FROM flights "
        "WHERE batch_id IS NOT NULL ORDER BY flight_id",
    )
    assert per_point and None not in per_point
    assert sorted(r["flight_id"] for r in live) == sorted(per_point)  # one row per flight
    for r in live:
        p = per_point[r["flight_id"]]
        assert r["icao24"] == p["icao24"]
        assert (r["n_points"], r["start"], r["stop"]) == (p["n"], p["first"], p["last"])
        assert isinstance(r["military"], bool) and isinstance(r["isr_type"], bool)
    # the state of registry follows the ICAO address block of each aircraft
    expected = registry_country([r["icao24"] for r in live]).to_pylist()
    assert [r["registry_country"] for r in live] == expected
    assert sum(c is not None for c in expected) >= len(live) // 2
    return live


@pytest.fixture(scope="module")
def held(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store written by a watcher that holds the file (one batch at replay speed 0)."""
    db = tmp_path_factory.mktemp("flights") / "held.duckdb"
    watch(shared_data, db, speed=0, hold=True)
    return db


def test_held_watcher_stores_identity_of_every_flight(held: Path) -> None:
    live = check_flights(held)
    aircraft = {r["icao24"] for r in rows(held, "SELECT DISTINCT icao24 FROM points")}
    assert {r["icao24"] for r in live} == aircraft


def test_older_store_gains_flights_and_keeps_its_rows(held: Path, tmp_path: Path) -> None:
    """A store written before ``flights`` existed: the table appears, nothing is lost."""
    db = tmp_path / "older.duckdb"
    shutil.copy(held, db)
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE flights")
    con.close()
    before = rows(db, "SELECT * EXCLUDE (timestamp), epoch_ns(timestamp) AS t FROM points")
    sink = Sink(db, hold_connection=False)
    points = rows(db, "SELECT flight_id FROM points LIMIT 1")
    fid = points[0]["flight_id"]
    ident = pa.table({"flight_id": [fid], "icao24": [fid.split("_")[0]], "military": [True]})
    assert sink.write(pa.table({}), flights=ident) is None  # no points: no batch, flights kept
    sink.close()
    after = rows(db, "SELECT * EXCLUDE (timestamp), epoch_ns(timestamp) AS t FROM points")
    assert after == before
    stored = rows(db, "SELECT flight_id, military, n_points FROM flights")
    assert stored == [{"flight_id": fid, "military": True, "n_points": 0}]


def get(url: str, token: str) -> tuple[int, Any]:
    """A request to a server that may not listen yet: ``(0, {})`` until it does."""
    try:
        return web_get(url, token)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, {}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """``overflight serve`` (its own process) on a store another program wrote first."""
    import socket

    from overflight.web import create_token, default_tokens_file

    db = tmp_path / "shared.duckdb"
    # an analysis stored before: its flights table has other columns and ns times
    t = pa.array([START_NS, START_NS + 60 * 10**9], pa.timestamp("ns", "UTC"))
    old = pa.table(
        {
            "flight_id": ["3b7777_old", "71be34_old"],
            "icao24": ["3b7777", "71be34"],
            "start": t,
            "stop": t,
            "n_points": [3, 4],
            "registry_country": ["FRA", None],
        }
    )
    store.append(db, {"flights": old}, label="earlier analysis")
    token = create_token(default_tokens_file(db), "read")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while get(f"{url}/api/status", token)[0] != 200:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.2)
        yield db, url, token
    finally:
        proc.terminate()
        proc.wait(10)


def test_running_serve_shows_identity_of_a_shared_watcher(
    shared_data: Path, serve: tuple[Path, str, str]
) -> None:
    """``watch --share-db`` beside ``serve``: the map gets identity while the watcher runs."""
    db, url, token = serve
    before = rows(db, "SELECT * EXCLUDE (start, stop) FROM flights ORDER BY flight_id")

    def look() -> tuple[int | None, list[dict[str, Any]]]:
        status, body = get(f"{url}/api/status", token)
        flights = body["database"]["tables"]["flights"] if status == 200 else None
        status, body = get(f"{url}/api/aircraft?window_s=3600", token)
        return flights, body.get("aircraft", []) if status == 200 else []

    seen = watch(shared_data, db, speed=15, hold=False, during=look)
    live = check_flights(db)
    assert rows(db, "SELECT count(*) AS n FROM ingest_log")[0]["n"] > 1  # rows were updated
    # what was stored before is untouched (the live rows came in beside it)
    kept = rows(
        db,
        "SELECT * EXCLUDE (start, stop) FROM flights WHERE batch_id IS NULL ORDER BY flight_id",
    )
    assert [{k: v for k, v in r.items() if k in before[0]} for r in kept] == before
    # while the watcher ran, serve counted the live flights and showed their registry
    during = [(n, ac) for n, ac in seen if n and n > len(before) and ac]
    assert during, seen
    country = {r["icao24"]: r["registry_country"] for r in live}
    for _, aircraft in during:
        for ac in aircraft:
            assert ac["registry_country"] == country[ac["icao24"]], ac
    # and after it stopped, the status and the aircraft list report every flight
    status, body = get(f"{url}/api/status", token)
    assert status == 200 and body["database"]["tables"]["flights"] == len(live) + len(before)
    _, aircraft = look()
    shown = {a["icao24"]: a["registry_country"] for a in aircraft}
    assert shown and set(shown) <= set(country)
    # 71be34's earlier analysis row has no registry: the live row fills it in
    assert shown == dict(zip(shown, registry_country(list(shown)).to_pylist(), strict=True))
