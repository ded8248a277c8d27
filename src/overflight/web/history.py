"""Replay and status queries: positions of a time range, decimated, and the state of the feeds."""

from __future__ import annotations

from typing import Any

from overflight.web.data import Snapshot, quote
from overflight.web.queries import (
    alerts,
    flight_meta,
    iso,
    json_rows,
    positioned_sql,
    stride_for,
)

Bbox = tuple[float, float, float, float]
#: Columns of each replayed position besides time, icao24 and position.
HISTORY_FIELDS = ("altitude", "track", "groundspeed", "onground")
TABLES = ("points", "alerts", "flights", "feed_status")


def bbox_sql(bbox: Bbox | None) -> tuple[str, list[object]]:
    """SQL condition (starting with `` AND``) and parameters keeping points inside ``bbox``.

    A box whose west edge is east of its east edge crosses the antimeridian.

    Examples
    --------
    >>> bbox_sql((170.0, -10.0, -170.0, 10.0))[0]
    ' AND latitude >= ? AND latitude <= ? AND (longitude >= ? OR longitude <= ?)'
    """
    if bbox is None:
        return "", []
    west, south, east, north = bbox
    lon = (
        "longitude >= ? AND longitude <= ?"
        if west <= east
        else "(longitude >= ? OR longitude <= ?)"
    )
    return f" AND latitude >= ? AND latitude <= ? AND {lon}", [south, north, west, east]


def _empty_points() -> dict[str, list[Any]]:
    return {k: [] for k in ("time", "icao24", "latitude", "longitude", *HISTORY_FIELDS)}


def history(
    snap: Snapshot, start_ms: int, stop_ms: int, bbox: Bbox | None, max_points: int
) -> dict[str, Any]:
    """Positions in ``[start, stop]`` (and ``bbox``), thinned per aircraft to about ``max_points``.

    Returns columnar arrays under ``points`` (``time`` in epoch ms), one
    summary per aircraft under ``aircraft`` and the alerts of the range.
    """
    out: dict[str, Any] = {
        "start": iso(start_ms),
        "stop": iso(stop_ms),
        "bbox": list(bbox) if bbox else None,
        "total": 0,
        "count": 0,
        "stride": 1,
        "points": _empty_points(),
        "aircraft": [],
        "alerts": [],
    }
    if not snap.has("points", "timestamp", "icao24", "latitude", "longitude"):
        return out
    span, params = snap.between("points", "timestamp", start_ms - 1, stop_ms)
    box, box_params = bbox_sql(bbox)
    where = f"{positioned_sql(snap)}{span}{box}"
    params += box_params
    total = snap.integer(f"SELECT count(*) FROM points WHERE {where}", params) or 0
    stride = stride_for(total, max_points)
    cols = ", ".join(snap.col("points", f) for f in HISTORY_FIELDS)
    ts = quote("timestamp")
    table = snap.arrow(
        f"SELECT {snap.ms('points', 'timestamp')} AS time, icao24, "
        f"round(latitude, 5) AS latitude, round(longitude, 5) AS longitude, {cols} "
        f"FROM points WHERE {where} "
        f"QUALIFY (row_number() OVER (PARTITION BY icao24 ORDER BY {ts}) - 1) % {stride} = 0 "
        f"ORDER BY {ts}, icao24",
        params,
    )
    callsign = (
        f"arg_max(callsign, {ts}) FILTER (WHERE callsign IS NOT NULL)"
        if "callsign" in snap.columns("points")
        else "NULL"
    )
    per = (
        f"SELECT icao24, {callsign} AS callsign, count(*) AS n_points, "
        f"min({snap.ms('points', 'timestamp')}) AS first, "
        f"max({snap.ms('points', 'timestamp')}) AS last FROM points WHERE {where} GROUP BY icao24"
    )
    if snap.has("flights", "icao24"):
        meta = flight_meta(snap, "icao24")
        sql = f"SELECT p.*, f.* EXCLUDE (icao24) FROM ({per}) p LEFT JOIN {meta} f USING (icao24)"
    else:
        sql = per
    craft = json_rows(snap.arrow(sql + " ORDER BY 1", params), ("first", "last"))
    return out | {
        "total": total,
        "count": table.num_rows,
        "stride": stride,
        "points": table.to_pydict(),
        "aircraft": craft,
        "alerts": alerts(snap, start_ms - 1, stop_ms, 1000),
    }


def status(snap: Snapshot, name: str) -> dict[str, Any]:
    """Row counts of the tables, the time span of ``points`` and each feed's latest state."""
    tables: dict[str, int | None] = {}
    for t in TABLES:
        tables[t] = snap.integer(f"SELECT count(*) FROM {t}") or 0 if snap.columns(t) else None
    first = last = None
    if snap.has("points", "timestamp"):
        ms = snap.ms("points", "timestamp")
        span = snap.arrow(f"SELECT min({ms}) AS a, max({ms}) AS b FROM points").to_pylist()[0]
        first, last = iso(span["a"]), iso(span["b"])
    feeds: list[dict[str, Any]] = []
    if snap.has("feed_status", "feed"):
        cols = ", ".join(
            snap.col("feed_status", c) for c in ("feed", "state", "messages", "errors")
        )
        since = "NULL"
        order = "feed"
        if "since" in snap.columns("feed_status"):
            since = snap.ms("feed_status", "since")
            order = f"{since} DESC"
        feeds = json_rows(
            snap.arrow(
                f"SELECT {cols}, {since} AS since FROM feed_status "
                f"QUALIFY row_number() OVER (PARTITION BY feed ORDER BY {order}) = 1 ORDER BY feed"
            ),
            ("since",),
        )
    return {
        "database": {"name": name, "exists": snap.con is not None, "tables": tables},
        "first": first,
        "last": last,
        "feeds": feeds,
    }
