"""The web app's read side: a store built from real data, missing tables, and DuckDB's lock.

This module also builds the store the other ``test_web_*`` modules and the
browser test use (loaded by path, as ``tests/browser/test_report_browser.py``
loads its sample): the Beast capture near St Petersburg and the traffic
sample of a C-2A carrier aircraft, read by ``overflight.ingest`` and cleaned
by ``overflight.clean``, with ``flights`` labelled from the tar1090 aircraft
database, one alert derived from a real position and the reader's own counts
as the feed status.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from overflight import clean, ingest, store

BEAST = Path("raw_modes") / "beastblackbox_ulss7_20180403.beast"
CARRIER = Path("military") / "aircraft_carrier.json.gz"
AIRCRAFT_DB = Path("aircraft_db") / "tar1090_db_flat.csv.gz"
ALERT_COLUMNS = (
    "alert_id VARCHAR, rule VARCHAR, kind VARCHAR, icao24 VARCHAR, flight_id VARCHAR, "
    "callsign VARCHAR, time TIMESTAMPTZ, latitude DOUBLE, longitude DOUBLE, message VARCHAR, "
    "details JSON"
)


@dataclass(frozen=True)
class Built:
    """A store made from real data, and what the tests derive from it independently."""

    db: Path
    points: pd.DataFrame  # what was written to ``points``
    flights: pd.DataFrame
    stats: dict[str, Any]  # the Beast reader's counts


def _labels(shared_data: Path, icao24: list[str]) -> pa.Table:
    """registration, typecode and military flag (dbflags bit 0) from tar1090-db."""
    db = pacsv.read_csv(
        shared_data / AIRCRAFT_DB,
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in ("icao24", "registration", "typecode", "dbflags")}
        ),
    )
    db = db.filter(pc.is_in(db["icao24"], pa.array(icao24)))
    military = pc.equal(pc.utf8_slice_codeunits(db["dbflags"], 0, 1), "1")
    return pa.table(
        {
            "icao24": db["icao24"],
            "registration": db["registration"],
            "typecode": db["typecode"],
            "military": military,
        }
    )


def alert_row(con: duckdb.DuckDBPyConnection, icao24: str, alert_id: str, message: str) -> None:
    """Insert an alert at the newest valid position of ``icao24``."""
    con.execute(
        "INSERT INTO alerts SELECT ?, 'zone-entry', 'entry', icao24, flight_id, callsign, "
        "CAST(timestamp AS TIMESTAMPTZ), latitude, longitude, ?, "
        "json_object('zone', 'test', 'source', source) "
        "FROM points WHERE icao24 = ? AND valid AND latitude IS NOT NULL "
        "ORDER BY timestamp DESC LIMIT 1",
        [alert_id, message, icao24],
    )


def build(folder: Path, shared_data: Path, traffic_samples: Path) -> Built:
    """Write the test store into ``folder`` (once per session, then copied)."""
    beast = ingest.read(shared_data / BEAST)
    stats = json.loads(beast.schema.metadata[b"overflight:stats"])
    p1, f1 = clean.run(beast)
    p2, f2 = clean.run(ingest.read(traffic_samples / CARRIER))
    points = pa.concat_tables([p1, p2], promote_options="permissive")
    flights = pa.concat_tables([f1, f2], promote_options="permissive")
    labels = _labels(shared_data, pc.unique(flights["icao24"]).to_pylist())
    flights = flights.join(labels, "icao24", join_type="left outer")
    db = folder / "web.duckdb"
    store.append(db, {"points": points, "flights": flights}, label="web tests")
    con = duckdb.connect(str(db))
    try:
        con.execute(f"CREATE TABLE alerts ({ALERT_COLUMNS})")
        counts = pc.value_counts(p1["icao24"])
        busiest = counts.field("values")[
            pc.index(counts.field("counts"), pc.max(counts.field("counts"))).as_py()
        ].as_py()
        alert_row(con, busiest, "a-1", f"{busiest} entered the test zone")
        con.execute(
            "CREATE TABLE feed_status (feed VARCHAR, state VARCHAR, since TIMESTAMPTZ, "
            "messages BIGINT, errors BIGINT)"
        )
        first = pc.min(p1["timestamp"]).as_py()
        con.execute(
            "INSERT INTO feed_status VALUES ('beast:ulss7', 'replay', ?, ?, ?)",
            [first, stats["records"], stats["rejected"]],
        )
    finally:
        con.close()
    return Built(db, points.to_pandas(), flights.to_pandas(), stats)


_BUILT: dict[str, Built] = {}


def built_store(tmp_path_factory: Any, shared_data: Path, traffic_samples: Path) -> Built:
    """The session's store (built on first use)."""
    if "store" not in _BUILT:
        _BUILT["store"] = build(tmp_path_factory.mktemp("webstore"), shared_data, traffic_samples)
    return _BUILT["store"]


def copy_store(built: Built, folder: Path) -> Built:
    """A private copy for a test that writes to it."""
    target = folder / "web.duckdb"
    shutil.copyfile(built.db, target)
    return Built(target, built.points, built.flights, built.stats)


def load_by_path() -> Any:
    """Import this file under a fixed name, as other test modules do."""
    name = "overflight_web_test_store"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def get(
    url: str, token: str | None = None, method: str = "GET", body: Any = None
) -> tuple[int, Any]:
    """``(status, parsed JSON body)`` of a request."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, method=method, data=data)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# -- tests of the read side ------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: Any, shared_data: Path, traffic_samples: Path) -> Built:
    return load_by_path().built_store(tmp_path_factory, shared_data, traffic_samples)


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Any]:
    from overflight.web import create_app, create_token
    from overflight.web.server import ServerThread

    tokens = tmp_path / "tokens.json"
    token = create_token(tokens, "read")

    def start(db: Path, **options: Any) -> tuple[str, str]:
        app = create_app(db, tokens, land_boundaries=False, **options)
        srv = ServerThread(app, log_level="warning").start()
        started.append(srv)
        return srv.url, token

    started: list[Any] = []
    yield start
    for srv in started:
        srv.stop()


def test_missing_store_and_tables_read_as_empty(tmp_path: Path, server: Any) -> None:
    url, token = server(tmp_path / "absent.duckdb")
    assert get(f"{url}/api/aircraft", token) == (
        200,
        {"ok": True, "at": None, "window_s": 60.0, "count": 0, "aircraft": []},
    )
    assert get(f"{url}/api/alerts", token) == (200, {"ok": True, "count": 0, "alerts": []})
    status, body = get(f"{url}/api/status", token)
    assert status == 200 and body["database"]["exists"] is False
    assert body["database"]["tables"] == dict.fromkeys(
        ("points", "alerts", "flights", "feed_status")
    )

    # a store with an empty points table and no other tables
    db = tmp_path / "empty.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE points "
        "(timestamp TIMESTAMPTZ, icao24 VARCHAR, latitude DOUBLE, longitude DOUBLE)"
    )
    con.close()
    url, token = server(db)
    assert get(f"{url}/api/aircraft", token)[1]["aircraft"] == []
    status, body = get(f"{url}/api/history", token)
    assert status == 200 and body["total"] == 0 and body["points"]["time"] == []
    status, body = get(f"{url}/api/tracks/4caaae", token)
    assert status == 200 and body["points"] == [] and body["flight_id"] is None


def test_writer_in_another_process_gives_503(built: Built, tmp_path: Path, server: Any) -> None:
    mine = copy_store(built, tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "time.sleep(60)",
            str(mine.db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        url, token = server(mine.db, busy_timeout_s=0.3)
        status, body = get(f"{url}/api/aircraft", token)
        assert status == 503
        assert body == {
            "ok": False,
            "error": "web.duckdb is held for writing by another process; run the watcher "
            "inside the web server (overflight serve --watch) so that both share one connection",
            "status": 503,
        }
    finally:
        holder.kill()
        holder.wait()
    # once the writer is gone the same server reads again
    t0 = time.monotonic()
    while get(f"{url}/api/aircraft", token)[0] != 200:
        assert time.monotonic() - t0 < 10
        time.sleep(0.1)


def test_writer_in_this_process_is_read_through_its_connection(
    built: Built, tmp_path: Path, server: Any
) -> None:
    mine = copy_store(built, tmp_path)
    con = duckdb.connect(str(mine.db))  # the live watcher's connection, held for writing
    try:
        url, token = server(mine.db, connection=con)
        before = get(f"{url}/api/alerts", token)[1]["alerts"]
        icao = sorted(set(built.points["icao24"]))[0]
        alert_row(con, icao, "a-live", "written while the app reads")
        after = get(f"{url}/api/alerts", token)[1]["alerts"]
        assert {a["alert_id"] for a in after} == {"a-live"} | {a["alert_id"] for a in before}
        # a second app in the same process that was not given the connection joins it too
        url2, _ = server(mine.db)
        assert get(f"{url2}/api/alerts", token)[1]["count"] == len(after)

        # the current flight is not labelled yet, an earlier flight of the aircraft is:
        # what belongs to the aircraft (type, registration) still shows
        labelled = get(f"{url}/api/aircraft", token)[1]["aircraft"]
        typed = next(a for a in labelled if a["typecode"])
        con.execute(
            "UPDATE flights SET flight_id = flight_id || '-earlier' WHERE flight_id = ?",
            [typed["flight_id"]],
        )
        now = {a["icao24"]: a for a in get(f"{url}/api/aircraft", token)[1]["aircraft"]}
        assert (now[typed["icao24"]]["typecode"], now[typed["icao24"]]["registration"]) == (
            typed["typecode"],
            typed["registration"],
        )
    finally:
        con.close()
