"""The DuckDB store the web tests serve (the ``web_store`` fixture in conftest.py).

Built from real data: the Beast capture near St Petersburg and the traffic
sample of a C-2A carrier aircraft, read by ``overflight.ingest`` and cleaned
by ``overflight.clean``, with ``flights`` labelled from the tar1090 aircraft
database, one alert derived from a real position and the reader's own counts
as the feed status.  :func:`get` is the tests' HTTP client.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

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


def copy_store(built: Built, folder: Path) -> Built:
    """A private copy for a test that writes to it."""
    target = folder / "web.duckdb"
    shutil.copyfile(built.db, target)
    return Built(target, built.points, built.flights, built.stats)


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
