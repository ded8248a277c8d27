"""The queries behind the JSON API, each returning plain JSON-ready values.

Times go in as epoch milliseconds (UTC) and come out as ISO 8601 strings
(``2018-04-03T19:02:28.136Z``), except in :func:`history`, whose columnar
arrays carry epoch milliseconds to stay small.  Rows flagged ``valid = false``
by the clean stage are left out everywhere.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from overflight.web.data import FLOAT_TYPES, Snapshot, quote

#: Per-position fields of ``points`` the API passes on (beyond time and position).
POINT_FIELDS = (
    "callsign",
    "altitude",
    "geoaltitude",
    "groundspeed",
    "track",
    "vertical_rate",
    "squawk",
    "onground",
    "flight_id",
    "country",
    "zone",
    "boundary_distance_m",
)
#: Per-flight fields of ``flights`` joined onto aircraft.
FLIGHT_FIELDS = (
    "registry_country",
    "military",
    "registration",
    "typecode",
    "operator",
    "isr_type",
    "mission",
    "mission_confidence",
    "mission_reason",
)
#: Flight fields that describe the aircraft, whichever flight they were found on.
AIRCRAFT_FIELDS = frozenset(
    ("registry_country", "military", "registration", "typecode", "operator", "isr_type")
)
ALERT_FIELDS = (
    "alert_id",
    "rule",
    "kind",
    "icao24",
    "flight_id",
    "callsign",
    "latitude",
    "longitude",
    "message",
    "details",
)
TRACK_FIELDS = ("altitude", "groundspeed", "track", "vertical_rate", "onground")


def iso(ms: int | float | None) -> str | None:
    """ISO 8601 UTC string of epoch milliseconds.

    Examples
    --------
    >>> iso(1522782148136)
    '2018-04-03T19:02:28.136Z'
    """
    if ms is None:
        return None
    dt = datetime.fromtimestamp(ms / 1000.0, UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_ms(dt: datetime) -> int:
    """Epoch milliseconds of ``dt``; a naive datetime is taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def positioned_sql(snap: Snapshot) -> str:
    """SQL keeping ``points`` rows with a finite position and not rejected by the clean stage."""
    valid = " AND valid IS NOT FALSE" if "valid" in snap.columns("points") else ""
    return "isfinite(latitude) AND isfinite(longitude)" + valid


def latest_ms(snap: Snapshot) -> int | None:
    """Epoch ms of the newest point (else the newest alert), None when the store is empty."""
    for table, col in (("points", "timestamp"), ("alerts", "time")):
        if snap.has(table, col):
            expr, _ = snap.time_col(table, col)
            v = snap.integer(f"SELECT epoch_ns(max({expr})) // 1000000 FROM {table}")
            if v is not None:
                return v
    return None


def json_rows(table: pa.Table, time_cols: tuple[str, ...] = ("time",)) -> list[dict[str, Any]]:
    """Rows of ``table`` as dicts, the epoch-ms columns ``time_cols`` as ISO strings."""
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        for c in time_cols:
            if c in row:
                row[c] = iso(row[c])
    return rows


def _last(snap: Snapshot, name: str) -> str:
    ty = snap.columns("points").get(name)
    if ty is None:
        return f"NULL AS {quote(name)}"
    ref = quote(name)
    val = f"CASE WHEN isfinite({ref}) THEN {ref} END" if ty.startswith(FLOAT_TYPES) else ref
    return f"arg_max({val}, {quote('timestamp')}) FILTER (WHERE {val} IS NOT NULL) AS {ref}"


def flight_meta(snap: Snapshot, key: str) -> str:
    """A subquery of ``flights`` with one row per ``key`` (``flight_id`` or ``icao24``)."""
    cols = ", ".join(
        f"max({quote(f)}) AS {quote(f)}" if f in snap.columns("flights") else f"NULL AS {quote(f)}"
        for f in FLIGHT_FIELDS
    )
    return f"(SELECT {quote(key)}, {cols} FROM flights GROUP BY {quote(key)})"


def _join_flights(snap: Snapshot, left: str) -> tuple[str, str]:
    """``(select list, join clause)`` adding :data:`FLIGHT_FIELDS` to ``left``'s rows.

    Rows join their flight by ``flight_id``; what belongs to the aircraft
    rather than the flight (:data:`AIRCRAFT_FIELDS`) falls back to any flight
    of the same ``icao24``, so a flight not yet labelled still shows as
    military when an earlier one was.
    """
    by_flight = snap.has("flights", "flight_id") and "flight_id" in snap.columns("points")
    by_aircraft = snap.has("flights", "icao24")
    joins, select = "", []
    if by_flight:
        joins += f" LEFT JOIN {flight_meta(snap, 'flight_id')} f ON f.flight_id = {left}.flight_id"
    if by_aircraft:
        joins += f" LEFT JOIN {flight_meta(snap, 'icao24')} g ON g.icao24 = {left}.icao24"
    for name in FLIGHT_FIELDS:
        q = quote(name)
        sources = [f"f.{q}"] if by_flight else []
        if by_aircraft and (name in AIRCRAFT_FIELDS or not by_flight):
            sources.append(f"g.{q}")
        expr = f"COALESCE({', '.join(sources)})" if sources else "NULL"
        select.append(f"{expr} AS {q}")
    return ", ".join(select), joins


def aircraft(
    snap: Snapshot, at_ms: int, window_s: float, alert_window_s: float
) -> list[dict[str, Any]]:
    """The latest position of every aircraft seen in ``(at - window_s, at]``.

    Each row carries the newest non-null value of every :data:`POINT_FIELDS`
    in the window, the :data:`FLIGHT_FIELDS` of its flight, and ``n_alerts``
    / ``last_alert`` for alerts in ``(at - alert_window_s, at]``.
    """
    if not snap.has("points", "timestamp", "icao24", "latitude", "longitude"):
        return []
    ts = quote("timestamp")
    window, params = snap.between("points", "timestamp", at_ms - int(window_s * 1000), at_ms)
    fields = ", ".join(_last(snap, f) for f in POINT_FIELDS)
    last = (
        f"SELECT icao24, max({snap.ms('points', 'timestamp')}) AS time, "
        f"arg_max(latitude, {ts}) AS latitude, arg_max(longitude, {ts}) AS longitude, {fields} "
        f"FROM points WHERE {positioned_sql(snap)}{window} GROUP BY icao24"
    )
    flight_select, flight_join = _join_flights(snap, "a")
    alert_select, alert_join = "NULL AS n_alerts, NULL AS last_alert", ""
    if snap.has("alerts", "icao24", "time"):
        msg = "arg_max(message, time)" if "message" in snap.columns("alerts") else "NULL"
        recent, more = snap.between("alerts", "time", at_ms - int(alert_window_s * 1000), at_ms)
        alert_join = (
            f" LEFT JOIN (SELECT icao24, count(*) AS n_alerts, {msg} AS last_alert FROM alerts "
            f"WHERE TRUE{recent} GROUP BY icao24) al ON al.icao24 = a.icao24"
        )
        alert_select = "al.n_alerts, al.last_alert"
        params += more
    sql = (
        f"SELECT a.*, {flight_select}, {alert_select} FROM ({last}) a"
        f"{flight_join}{alert_join} ORDER BY a.icao24"
    )
    rows = json_rows(snap.arrow(sql, params))
    for r in rows:
        r["n_alerts"] = int(r["n_alerts"] or 0)
    return rows


def stride_for(n: int, max_points: int) -> int:
    """Keep every k-th row so that at most about ``max_points`` remain.

    Examples
    --------
    >>> stride_for(10, 20), stride_for(100, 20), stride_for(101, 20)
    (1, 5, 6)
    """
    return max(1, math.ceil(n / max(1, max_points)))


def _decimate(table: pa.Table, max_points: int) -> pa.Table:
    """Every k-th row and the last one, at most ``max_points`` (>= 2) rows in all."""
    n = table.num_rows
    if n <= max_points:
        return table
    k = math.ceil((n - 1) / max(1, max_points - 1))
    keep = np.append(np.arange(0, n - 1, k), n - 1)
    return table.take(pa.array(keep))


def track(
    snap: Snapshot,
    icao24: str,
    start_ms: int | None,
    stop_ms: int | None,
    max_points: int,
) -> dict[str, Any]:
    """Positions of ``icao24`` in ``[start, stop]``, by default its latest flight up to ``stop``."""
    out: dict[str, Any] = {"icao24": icao24, "flight_id": None, "points": [], "flight": None}
    if not snap.has("points", "timestamp", "icao24", "latitude", "longitude"):
        return out | {"start": iso(start_ms), "stop": iso(stop_ms), "count": 0}
    ms = snap.ms("points", "timestamp")
    upto, params = snap.between("points", "timestamp", None, stop_ms)
    where = f"icao24 = ? AND {positioned_sql(snap)}{upto}"
    params.insert(0, icao24)
    flight_id = None
    if start_ms is None and "flight_id" in snap.columns("points"):
        flight_id = snap.scalar(
            f"SELECT arg_max(flight_id, {quote('timestamp')}) FROM points WHERE {where}", params
        )
    if flight_id is not None:
        where += " AND flight_id = ?"
        params.append(flight_id)
    else:
        if start_ms is None:
            last = snap.integer(f"SELECT max({ms}) FROM points WHERE {where}", params)
            start_ms = None if last is None else last - 2 * 3600 * 1000
        if start_ms is not None:
            after, more = snap.between("points", "timestamp", start_ms - 1, None)
            where += after
            params += more
    cols = ", ".join(snap.col("points", f) for f in TRACK_FIELDS)
    table = snap.arrow(
        f"SELECT {ms} AS time, latitude, longitude, {cols} FROM points WHERE {where} "
        f"ORDER BY {quote('timestamp')}",
        params,
    )
    total = table.num_rows
    points = json_rows(_decimate(table, max_points))
    flight = None
    if flight_id is not None and snap.has("flights", "flight_id"):
        meta = json_rows(
            snap.arrow(
                f"SELECT * FROM {flight_meta(snap, 'flight_id')} WHERE flight_id = ?", [flight_id]
            )
        )
        flight = meta[0] if meta else None
    return out | {
        "flight_id": flight_id,
        "start": points[0]["time"] if points else iso(start_ms),
        "stop": points[-1]["time"] if points else iso(stop_ms),
        "count": len(points),
        "total": total,
        "points": points,
        "flight": flight,
    }


def _details(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def alerts(
    snap: Snapshot, since_ms: int | None, until_ms: int | None, limit: int
) -> list[dict[str, Any]]:
    """Alerts with ``since < time <= until``, newest first, at most ``limit``."""
    if not snap.has("alerts", "time"):
        return []
    expr, _ = snap.time_col("alerts", "time")
    between, params = snap.between("alerts", "time", since_ms, until_ms)
    where = "TRUE" + between
    cols = ", ".join(snap.col("alerts", f) for f in ALERT_FIELDS)
    order = f"{expr} DESC" + (", alert_id DESC" if "alert_id" in snap.columns("alerts") else "")
    rows = json_rows(
        snap.arrow(
            f"SELECT {snap.ms('alerts', 'time')} AS time, {cols} FROM alerts "
            f"WHERE {where} ORDER BY {order} LIMIT ?",
            [*params, int(limit)],
        )
    )
    for r in rows:
        r["details"] = _details(r["details"])
        if r["alert_id"] is not None:
            r["alert_id"] = str(r["alert_id"])
    return rows
