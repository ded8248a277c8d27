"""OpenSky Network state vectors (CSV/Parquet) and the osky-sample SQLite flights.

Two naming schemes, both in SI units (m, m/s) that are converted to ft, kt and
ft/min:

* REST API (``/states/all``): ``icao24, callsign, origin_country,
  time_position, last_contact, longitude, latitude, baro_altitude, on_ground,
  velocity, true_track, vertical_rate, sensors, geo_altitude, squawk, spi,
  position_source``. The time is ``time_position``, else ``last_contact``, else
  a ``time`` column when the export added one.
* Historical database (Impala ``state_vectors_data4``): ``time, icao24, lat,
  lon, velocity, heading, vertrate, callsign, onground, alert, spi, squawk,
  baroaltitude, geoaltitude, lastposupdate, lastcontact, hour``. The time is
  ``time`` (the state vector's time, as traffic uses it).

The osky-sample SQLite files (``flights(id, first, last, icao24, callsign)``,
``positions(flight, timestamp, longitude, latitude, altitude m, accuracy)``,
``velocities(flight, timestamp, velocity m/s, heading, verticalRate m/s)``)
give one row per position and one per velocity, sorted by time, with the
flight's address and callsign on each; records are numbered positions first.

Files whose columns already use traffic's names and units (``altitude`` in ft)
are not OpenSky files here: :mod:`overflight.ingest.traffic_json` and
:mod:`overflight.ingest.tabular` read them.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overflight.errors import FormatError
from overflight.ingest._columns import (
    Rejections,
    callsign,
    convert,
    epoch_to_ns,
    finish,
    json_numbers,
    json_strings,
)
from overflight.ingest.tabular import Loaded, canonicalise, load, names_of

SQLITE_MAGIC = b"SQLite format 3\x00"
HISTORICAL = {
    "timestamp": "time",
    "icao24": "icao24",
    "latitude": "lat",
    "longitude": "lon",
    "groundspeed": "velocity",
    "track": "heading",
    "vertical_rate": "vertrate",
    "callsign": "callsign",
    "onground": "onground",
    "squawk": "squawk",
    "altitude": "baroaltitude",
    "geoaltitude": "geoaltitude",
}
REST = {
    "icao24": "icao24",
    "callsign": "callsign",
    "latitude": "latitude",
    "longitude": "longitude",
    "altitude": "baro_altitude",
    "onground": "on_ground",
    "groundspeed": "velocity",
    "track": "true_track",
    "vertical_rate": "vertical_rate",
    "geoaltitude": "geo_altitude",
    "squawk": "squawk",
}
REST_TIMES = ("time_position", "last_contact", "time")
UNITS = {"altitude": "m", "geoaltitude": "m", "groundspeed": "m/s", "vertical_rate": "m/s"}
_TEXT = ("icao24", "callsign", "squawk")


def scheme(names: list[str]) -> str | None:
    """``"historical"``, ``"rest"`` or None for a list of column names.

    Examples
    --------
    >>> scheme(["time", "icao24", "lat", "lon", "baroaltitude"])
    'historical'
    >>> scheme(["icao24", "time_position", "baro_altitude", "latitude", "longitude"])
    'rest'
    >>> scheme(["timestamp", "icao24", "latitude", "longitude", "altitude"]) is None
    True
    """
    have = set(names)
    if {"time", "icao24", "lat", "lon", "baroaltitude"} <= have:
        return "historical"
    if {"icao24", "baro_altitude", "latitude", "longitude"} <= have and have & set(REST_TIMES):
        return "rest"
    return None


def _sqlite_tables(path: Path) -> set[str]:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
            rows = con.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    except sqlite3.Error:
        return set()
    return {str(r[0]) for r in rows}


def sniff(head: bytes, path: Path) -> bool:
    """True for OpenSky-named CSV/Parquet columns or an osky-sample SQLite file."""
    if head.startswith(SQLITE_MAGIC):
        return {"flights", "positions"} <= _sqlite_tables(path)
    return scheme(names_of(head, path)) is not None


def _query(con: sqlite3.Connection, sql: str, width: int) -> list[list[Any]]:
    rows = con.execute(sql).fetchall()
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def _read_sqlite(path: Path, non_icao: str) -> pa.Table:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
            fid, ficao, fcall = _query(con, "SELECT id, icao24, callsign FROM flights", 3)
            pos = _query(
                con, "SELECT flight, timestamp, latitude, longitude, altitude FROM positions", 5
            )
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            vel = (
                _query(
                    con,
                    "SELECT flight, timestamp, velocity, heading, verticalRate FROM velocities",
                    5,
                )
                if "velocities" in tables
                else [[] for _ in range(5)]
            )
    except sqlite3.Error as exc:
        raise FormatError(
            f"not an OpenSky sample database ({exc}); expected tables flights(id, icao24, "
            "callsign), positions(flight, timestamp, latitude, longitude, altitude) and "
            "velocities(flight, timestamp, velocity, heading, verticalRate)",
            path,
            "byte 0",
        ) from exc
    n_pos, n_vel = len(pos[0]), len(vel[0])
    n = n_pos + n_vel
    address = dict(zip(fid, ficao, strict=True))
    name = dict(zip(fid, fcall, strict=True))
    flight = pos[0] + vel[0]
    stamp, bad_time = json_numbers(pos[1] + vel[1])
    nan_v, nan_p = [None] * n_vel, [None] * n_pos
    lat, bad_lat = json_numbers(pos[2] + nan_v)
    lon, bad_lon = json_numbers(pos[3] + nan_v)
    alt, bad_alt = json_numbers(pos[4] + nan_v)
    gs, bad_gs = json_numbers(nan_p + vel[2])
    track, bad_track = json_numbers(nan_p + vel[3])
    rate, bad_rate = json_numbers(nan_p + vel[4])
    ts, bad_ns = epoch_to_ns(stamp, "s")
    order = np.argsort(np.where(bad_ns, np.iinfo(np.int64).max, ts), kind="stable")
    rej = Rejections(np.arange(1, n + 1)[order], "record")
    rej.reject((bad_time | bad_ns)[order], "timestamp")
    bad = bad_lat | bad_lon | bad_alt | bad_gs | bad_track | bad_rate
    rej.reject(bad[order], "number")
    idx = pa.array(order)
    cols = {
        "timestamp": ts[order],
        "icao24": json_strings([address.get(f) for f in flight]).take(idx),
        "callsign": callsign(json_strings([name.get(f) for f in flight])).take(idx),
        "latitude": lat[order],
        "longitude": lon[order],
        "altitude": convert(alt, "altitude", "m")[order],
        "groundspeed": convert(gs, "groundspeed", "m/s")[order],
        "track": track[order],
        "vertical_rate": convert(rate, "vertical_rate", "m/s")[order],
    }
    extra = {"positions": n_pos, "velocities": n_vel}
    return finish(cols, rej, path, "opensky", non_icao=non_icao, extra=extra)


def _rest_time(loaded: Loaded) -> Loaded:
    """``loaded`` with a ``_timestamp`` column: the first of the REST time columns."""
    table = loaded.table
    cols = [table.column(c) for c in REST_TIMES if c in table.column_names]
    if len({c.type for c in cols}) > 1:
        cols = [c.cast(pa.string()) for c in cols]
    stamp = pc.coalesce(*cols) if len(cols) > 1 else cols[0]
    return Loaded(
        table.append_column("_timestamp", stamp), loaded.positions, loaded.unit, loaded.bad_fields
    )


def read(path: Path, non_icao: str = "keep", **_: Any) -> pa.Table:
    """Read OpenSky state vectors (CSV, Parquet) or an osky-sample SQLite file.

    Raises
    ------
    FormatError
        When the columns are neither the REST nor the historical names.
    """
    with open(path, "rb") as fh:
        magic = fh.read(len(SQLITE_MAGIC))
    if magic == SQLITE_MAGIC:
        return _read_sqlite(path, non_icao)
    loaded = load(path, _TEXT)
    kind = scheme(loaded.table.column_names)
    if kind is None:
        raise FormatError(
            "not OpenSky state vectors: expected REST names (icao24, time_position, "
            "baro_altitude, ...) or historical names (time, icao24, lat, lon, baroaltitude, ...); "
            f"columns present: {', '.join(loaded.table.column_names)}",
            path,
            "line 1",
        )
    if kind == "rest":
        loaded = _rest_time(loaded)
        mapping = {**REST, "timestamp": "_timestamp"}
    else:
        mapping = dict(HISTORICAL)
    present = {k: v for k, v in mapping.items() if v in loaded.table.column_names}
    units = {k: v for k, v in UNITS.items() if k in present}
    return canonicalise(loaded, present, path, "opensky", units, "UTC", "s", non_icao)
