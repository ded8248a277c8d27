"""The web app's read side: a store built from real data, missing tables, and DuckDB's lock.

The store is the session's ``web_store`` fixture (tests/conftest.py, built by
tests/support/web_store.py); the tests that write to it work on a copy.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from support.web_store import Built, alert_row, copy_store, get


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


def test_writer_in_another_process_gives_503(web_store: Built, tmp_path: Path, server: Any) -> None:
    mine = copy_store(web_store, tmp_path)
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
            "error": "web.duckdb is held for writing by another process; start the watcher "
            "with `overflight watch --share-db` so that `overflight serve` can read the store "
            "between its batches",
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
    web_store: Built, tmp_path: Path, server: Any
) -> None:
    mine = copy_store(web_store, tmp_path)
    con = duckdb.connect(str(mine.db))  # the live watcher's connection, held for writing
    try:
        url, token = server(mine.db, connection=con)
        before = get(f"{url}/api/alerts", token)[1]["alerts"]
        icao = sorted(set(web_store.points["icao24"]))[0]
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
