"""The watcher's DuckDB file: batched, transactional writes that survive ``kill -9``.

Tables (created on first use; other programs such as the web app read them)
--------------------------------------------------------------------------
``points``
    the canonical point columns (:data:`overflight.schema.POINT_SCHEMA`:
    ``timestamp`` TIMESTAMPTZ, ``icao24``, ``callsign``, ``latitude``,
    ``longitude``, ``altitude`` ft, ``geoaltitude`` ft, ``groundspeed`` kt,
    ``track`` deg, ``vertical_rate`` ft/min, ``squawk``, ``onground``,
    ``source`` (the feed), ``flight_id``, ``valid``, ``reject_reason``), the
    airspace columns ``country``, ``zone``, ``boundary_distance_m`` (null
    without boundaries) and ``batch_id``.
``alerts``
    ``alert_id`` (primary key, stable per episode), ``rule``, ``kind``,
    ``icao24``, ``flight_id``, ``callsign``, ``time`` TIMESTAMPTZ,
    ``latitude``, ``longitude``, ``message``, ``details`` (JSON text),
    ``batch_id``.
``flights``
    one row per live flight, upserted by ``flight_id`` in the batch of its
    points: :data:`overflight.schema.FLIGHT_FIELDS` (``flight_id``,
    ``icao24``, ``callsign``, ``start`` / ``stop`` of its stored points,
    ``n_points`` stored), the identity columns of
    :data:`~overflight.schema.FLIGHT_EXTRA_FIELDS` (``registry_country``,
    ``military``, ``registration``, ``typecode``, ``operator``,
    ``isr_type``, ...; the newest non-null value wins) and ``batch_id`` (the
    last batch that touched it).  Rows another program stored (null
    ``batch_id``, e.g. ``overflight store``'s analyses) are never changed.
``feed_status``
    one row per feed: ``feed`` (primary key), ``kind``, ``address``,
    ``state`` (connecting / connected / reconnecting / stopped), ``since``
    TIMESTAMPTZ, ``messages``, ``errors``, ``detail`` (JSON counts by
    reason), ``updated`` TIMESTAMPTZ.
``ingest_log``
    one row per committed batch: ``batch_id`` (primary key),
    ``committed_at`` TIMESTAMPTZ, ``n_rows`` (points), ``n_alerts``.
``alert_episodes``
    ``rule``, ``icao24``, ``start_ns``, ``last_ns``: open alert episodes, so a
    restarted watcher does not alert twice.

A batch is one transaction: its points, flights, alerts, feed states and log row are
all stored or none is.  It is *acknowledged* when ``COMMIT`` returns: DuckDB
has then written it to its write-ahead log, which it replays when the file
is opened again after a crash.  Timestamps are stored with microsecond
precision (DuckDB's ``TIMESTAMPTZ``, truncated from the pipeline's ns); the
session time zone is UTC.

While the watcher runs it holds DuckDB's write lock on the file; other
processes can read it only when the sink is opened with
``hold_connection=False`` (it then connects for each batch).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from overflight import store
from overflight.errors import StoreError
from overflight.live.flights_table import FLIGHT_TABLE_FIELDS, flight_rows, upsert_flights
from overflight.live.rules import Alert
from overflight.schema import (
    CLEAN_FIELDS,
    TRACK_FIELDS,
    conform,
)

POINT_FIELDS: tuple[pa.Field, ...] = (
    *TRACK_FIELDS,
    *CLEAN_FIELDS,
    pa.field("country", pa.string()),
    pa.field("zone", pa.string()),
    pa.field("boundary_distance_m", pa.float64()),
    pa.field("batch_id", pa.int64()),
)
POINT_TABLE_SCHEMA = pa.schema(POINT_FIELDS)
#: How long a sink that does not hold the file waits for another process's lock.
SHARED_LOCK_WAIT_S = 5.0

_DDL = (
    "CREATE TABLE IF NOT EXISTS alerts (alert_id VARCHAR PRIMARY KEY, rule VARCHAR, "
    "kind VARCHAR, icao24 VARCHAR, flight_id VARCHAR, callsign VARCHAR, time TIMESTAMPTZ, "
    "latitude DOUBLE, longitude DOUBLE, message VARCHAR, details VARCHAR, batch_id BIGINT)",
    "CREATE TABLE IF NOT EXISTS feed_status (feed VARCHAR PRIMARY KEY, kind VARCHAR, "
    "address VARCHAR, state VARCHAR, since TIMESTAMPTZ, messages BIGINT, errors BIGINT, "
    "detail VARCHAR, updated TIMESTAMPTZ)",
    "CREATE TABLE IF NOT EXISTS ingest_log (batch_id BIGINT PRIMARY KEY, "
    "committed_at TIMESTAMPTZ, n_rows BIGINT, n_alerts BIGINT)",
    "CREATE TABLE IF NOT EXISTS alert_episodes (rule VARCHAR, icao24 VARCHAR, "
    "start_ns BIGINT, last_ns BIGINT, PRIMARY KEY (rule, icao24))",
)


@dataclass(frozen=True)
class FeedState:
    """One row of ``feed_status``."""

    feed: str
    kind: str
    address: str
    state: str
    since: datetime
    messages: int
    errors: int
    detail: dict[str, int]


def _duck_type(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    if pa.types.is_floating(t):
        return "DOUBLE"
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    return "VARCHAR"


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    con = store.connect(path)
    con.execute("SET TimeZone = 'UTC'")
    return con


def _ensure_columns(con: duckdb.DuckDBPyConnection, table: str, fields: Sequence[pa.Field]) -> None:
    """Create ``table`` with ``fields``, or add those an older ``table`` lacks."""
    have = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = 'main'",
            [table],
        ).fetchall()
    }
    if not have:
        cols = ", ".join(f'"{f.name}" {_duck_type(f.type)}' for f in fields)
        con.execute(f"CREATE TABLE {table} ({cols})")
        return
    for f in fields:
        if f.name not in have:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{f.name}" {_duck_type(f.type)}')


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the live tables, and add missing columns to an older ``points`` / ``flights``."""
    _ensure_columns(con, "points", POINT_FIELDS)
    _ensure_columns(con, "flights", FLIGHT_TABLE_FIELDS)
    for ddl in _DDL:
        con.execute(ddl)


class Sink:
    """Write batches into the DuckDB file at ``db_path`` (one writer thread at a time).

    Parameters
    ----------
    db_path
        The DuckDB file (created when missing).
    hold_connection
        Keep the file open between batches (fast); ``False`` connects for
        each batch so that other processes can open the file in between.
    """

    def __init__(self, db_path: str | Path, hold_connection: bool = True) -> None:
        self.path = Path(db_path)
        self.hold = hold_connection
        self._con: duckdb.DuckDBPyConnection | None = None
        con = self._open()
        try:
            ensure_tables(con)
            rows = con.execute("SELECT coalesce(max(batch_id), 0) FROM ingest_log").fetchall()
            self.next_batch = int(rows[0][0]) + 1
        finally:
            self._release(con)

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self._con is not None:
            return self._con
        # sharing the file: another process (a second watcher, a reader) may hold
        # it for a moment; wait for it rather than fail
        deadline = time.monotonic() + (0.0 if self.hold else SHARED_LOCK_WAIT_S)
        while True:
            try:
                con = _connect(self.path)
                break
            except StoreError as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        if self.hold:
            self._con = con
        return con

    def _release(self, con: duckdb.DuckDBPyConnection) -> None:
        if not self.hold:
            con.close()

    def close(self) -> None:
        """Close the file (checkpointing the write-ahead log)."""
        if self._con is not None:
            self._con.close()
            self._con = None

    # -- state after a restart ------------------------------------------------
    def stored_marks(self) -> pa.Table:
        """Per (source, icao24): last stored time and its flight id."""
        con = self._open()
        try:
            return con.sql(
                "SELECT source, icao24, max(timestamp) AS timestamp, "
                "arg_max(flight_id, timestamp) AS flight_id FROM points GROUP BY source, icao24"
            ).to_arrow_table()
        finally:
            self._release(con)

    def episodes(self) -> pa.Table:
        """The saved alert episodes."""
        con = self._open()
        try:
            return con.sql(
                "SELECT rule, icao24, start_ns, last_ns FROM alert_episodes"
            ).to_arrow_table()
        finally:
            self._release(con)

    # -- writing ------------------------------------------------------------
    def write(
        self,
        points: pa.Table,
        alerts: Sequence[Alert] = (),
        feeds: Sequence[FeedState] = (),
        episodes: pa.Table | None = None,
        flights: pa.Table | None = None,
    ) -> int | None:
        """Store one batch in one transaction; return its ``batch_id`` once committed.

        ``flights`` holds the identity rows of the points' flights (the live
        tracker's flights table); each flight with points or identity in the
        batch is upserted into ``flights``.  Returns None (and writes nothing
        to ``ingest_log``) when the batch has neither points nor alerts; feed
        states, flights and episodes are still saved.
        """
        has_rows = points.num_rows > 0 or len(alerts) > 0
        has_flights = points.num_rows > 0 or (flights is not None and flights.num_rows > 0)
        has_episodes = episodes is not None and episodes.num_rows > 0
        if not has_rows and not feeds and not has_flights and not has_episodes:
            return None
        batch: int | None = None
        con = self._open()
        try:
            con.execute("BEGIN TRANSACTION")
            if has_rows:
                batch = self._claim_batch(con)
            staged = self._insert_points(con, points, batch or 0) if points.num_rows else points
            if has_flights:
                upsert_flights(con, flight_rows(staged, flights, batch or 0))
            if alerts:
                self._insert_alerts(con, alerts, batch or 0)
            if feeds:
                self._upsert_feeds(con, feeds)
            if episodes is not None and episodes.num_rows:
                con.register("_episodes", episodes)
                con.execute("INSERT OR REPLACE INTO alert_episodes SELECT * FROM _episodes")
                con.unregister("_episodes")
            if batch is not None:
                con.execute(
                    "INSERT INTO ingest_log VALUES (?, ?, ?, ?)",
                    [batch, datetime.now(UTC), points.num_rows, len(alerts)],
                )
            con.execute("COMMIT")
        except (duckdb.Error, pa.ArrowException) as exc:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise StoreError(f"{self.path}: batch not stored, will retry ({exc})") from exc
        finally:
            self._release(con)
        if batch is not None:
            self.next_batch = batch + 1
        return batch

    def _claim_batch(self, con: duckdb.DuckDBPyConnection) -> int:
        """The next ``batch_id``, read inside the batch's transaction.

        Another watcher started with ``--share-db`` may have committed
        batches into the same file since this one last wrote: numbering on
        from the stored maximum keeps ``ingest_log``'s key unique.
        """
        rows = con.execute("SELECT coalesce(max(batch_id), 0) FROM ingest_log").fetchall()
        return max(self.next_batch, int(rows[0][0]) + 1)

    @staticmethod
    def _insert_points(con: duckdb.DuckDBPyConnection, points: pa.Table, batch: int) -> pa.Table:
        """Insert ``points``; return them as stored (microsecond times, ``batch_id``)."""
        table = (
            points.append_column("batch_id", pa.array([batch] * points.num_rows, pa.int64()))
            if "batch_id" not in points.column_names
            else points
        )
        staged = conform(table, POINT_TABLE_SCHEMA)
        # DuckDB keeps microseconds: truncate here, so the stored time is floor(ns / 1000)
        micros = pc.divide(staged["timestamp"].cast(pa.int64()), 1000).cast(
            pa.timestamp("us", "UTC")
        )
        staged = staged.set_column(0, "timestamp", micros)
        con.register("_points", staged)
        cols = ", ".join(f'"{f.name}"' for f in POINT_FIELDS)
        con.execute(f"INSERT INTO points ({cols}) SELECT {cols} FROM _points")
        con.unregister("_points")
        return staged

    @staticmethod
    def _insert_alerts(con: duckdb.DuckDBPyConnection, alerts: Sequence[Alert], batch: int) -> None:
        rows = [
            (
                a.alert_id,
                a.rule,
                a.kind,
                a.icao24,
                a.flight_id,
                a.callsign,
                a.time,
                a.latitude,
                a.longitude,
                a.message,
                json.dumps(a.details, default=str),
                batch,
            )
            for a in alerts
        ]
        con.executemany(
            "INSERT OR IGNORE INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )

    @staticmethod
    def _upsert_feeds(con: duckdb.DuckDBPyConnection, feeds: Sequence[FeedState]) -> None:
        now = datetime.now(UTC)
        rows = [
            (
                f.feed,
                f.kind,
                f.address,
                f.state,
                f.since,
                f.messages,
                f.errors,
                json.dumps(f.detail, sort_keys=True),
                now,
            )
            for f in feeds
        ]
        con.executemany(
            "INSERT OR REPLACE INTO feed_status VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )


def export_days(db_path: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the stored points as ``out_dir/day=YYYY-MM-DD/points.parquet`` (UTC days).

    Each file is written under a temporary name and renamed into place, so a
    reader never sees half a file.  Returns the files written.

    Raises
    ------
    StoreError
        When the file is missing or locked by a running watcher.
    """
    p = Path(db_path)
    if not p.exists():
        raise StoreError(f"{p}: no such store")
    try:
        con = duckdb.connect(str(p), read_only=True)
    except duckdb.Error as exc:
        raise StoreError(f"{p}: cannot open for export ({exc})") from exc
    try:
        con.execute("SET TimeZone = 'UTC'")
        return _export(con, Path(out_dir))
    finally:
        con.close()


def _export(con: duckdb.DuckDBPyConnection, out: Path) -> list[Path]:
    days = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT strftime(timestamp, '%Y-%m-%d') AS day FROM points ORDER BY day"
        ).fetchall()
        if r[0] is not None
    ]
    written: list[Path] = []
    for day in days:
        folder = out / f"day={day}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "points.parquet"
        tmp = folder / f".points.parquet.{os.getpid()}.tmp"
        if len(day) != 10 or not day.replace("-", "").isdigit():
            continue
        con.execute(
            f"COPY (SELECT * FROM points WHERE strftime(timestamp, '%Y-%m-%d') = '{day}' "
            f"ORDER BY icao24, timestamp) TO '{_sql_path(tmp)}' (FORMAT PARQUET)"
        )
        tmp.replace(target)
        written.append(target)
    return written


def _sql_path(p: Path) -> str:
    return str(p).replace("'", "''")


def read_status(db_path: str | Path) -> dict[str, Any]:
    """Counts of the live tables (read-only; for tests and the CLI)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        out: dict[str, Any] = {}
        for name in ("points", "alerts", "ingest_log"):
            out[name] = int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
        return out
    finally:
        con.close()
