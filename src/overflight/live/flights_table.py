"""The live store's ``flights`` table: one row per live flight, identity included.

:func:`flight_rows` builds a batch's rows from its stored points and the
tracker's identity rows; :func:`upsert_flights` merges them, inside the
batch's transaction (:class:`overflight.live.sink.Sink`), into the rows the
watcher wrote before (times widened, point counts added, the newest known
identity kept).  Rows another program stored (null ``batch_id``) are never
changed.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overflight.schema import FLIGHT_EXTRA_FIELDS, FLIGHT_FIELDS, POINT_SCHEMA, conform

FLIGHT_TABLE_FIELDS: tuple[pa.Field, ...] = (
    *FLIGHT_FIELDS,
    *FLIGHT_EXTRA_FIELDS,
    pa.field("batch_id", pa.int64()),
)
FLIGHT_TABLE_SCHEMA = pa.schema(FLIGHT_TABLE_FIELDS)
#: ``flights`` columns that come from the stored points rather than the identity rows.
_FROM_POINTS = ("flight_id", "icao24", "start", "stop", "n_points", "batch_id")


def flight_rows(points: pa.Table, identity: pa.Table | None, batch: int) -> pa.Table:
    """The ``flights`` rows of one batch: its points' flights with their identity.

    ``start`` / ``stop`` / ``n_points`` describe the batch's points of each
    flight (the upsert merges them with what is stored); the other columns
    come from ``identity`` (one row per ``flight_id``, as the live tracker's
    flights table; the last row of a ``flight_id`` counts), null where it
    has none.  Flights of ``identity`` without points in the batch have
    ``n_points`` 0 and null times.

    Examples
    --------
    >>> import pyarrow as pa
    >>> pts = pa.table({"flight_id": ["f1", "f1"], "icao24": ["3b7777", "3b7777"],
    ...                 "timestamp": pa.array([1, 2], pa.timestamp("us", "UTC"))})
    >>> ident = pa.table({"flight_id": ["f1"], "icao24": ["3b7777"], "registry_country": ["FRA"]})
    >>> row = flight_rows(pts, ident, 7).to_pylist()[0]
    >>> row["n_points"], row["registry_country"], row["batch_id"]
    (2, 'FRA', 7)
    """
    keys = pa.schema([POINT_SCHEMA.field(c) for c in ("flight_id", "icao24", "timestamp")])
    pts = conform(points, keys)
    pts = pts.filter(pc.is_valid(pts["flight_id"]))
    agg = pts.group_by("flight_id", use_threads=False).aggregate(
        [("icao24", "max"), ("timestamp", "min"), ("timestamp", "max"), ("timestamp", "count")]
    )
    names = {
        "flight_id": "flight_id",
        "icao24_max": "icao24",
        "timestamp_min": "start",
        "timestamp_max": "stop",
        "timestamp_count": "n_points",
    }
    agg = agg.rename_columns([names[c] for c in agg.column_names])
    ident_fields = [f for f in FLIGHT_TABLE_FIELDS if f.name not in _FROM_POINTS]
    if identity is None or identity.num_rows == 0 or "flight_id" not in identity.column_names:
        out = agg
    else:
        ident = conform(identity, pa.schema([FLIGHT_FIELDS[0], FLIGHT_FIELDS[1], *ident_fields]))
        # one row per flight: the last one given
        rows = ident.append_column("_row", pa.array(np.arange(ident.num_rows)))
        last = rows.group_by("flight_id", use_threads=False).aggregate([("_row", "max")])
        ident = ident.take(last["_row_max"])
        out = agg.join(ident, "flight_id", join_type="full outer", right_suffix="_id")
        out = out.set_column(
            out.schema.get_field_index("icao24"),
            "icao24",
            pc.coalesce(out["icao24"], out["icao24_id"]),
        )
    out = out.set_column(
        out.schema.get_field_index("n_points"), "n_points", pc.fill_null(out["n_points"], 0)
    )
    out = out.append_column("batch_id", pa.array([batch] * out.num_rows, pa.int64()))
    return conform(out, FLIGHT_TABLE_SCHEMA)


def upsert_flights(con: duckdb.DuckDBPyConnection, rows: pa.Table) -> None:
    """Merge ``rows`` (:func:`flight_rows`) into the watcher's rows of ``flights``."""
    if rows.num_rows == 0:
        return
    con.register("_flights", rows)
    # an analysis store's ``flights`` may keep times in another precision
    kinds = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'flights' AND table_schema = 'main'"
        ).fetchall()
    )
    merged = {
        "start": f"least(f.start, CAST(s.start AS {kinds['start']}))",
        "stop": f"greatest(f.stop, CAST(s.stop AS {kinds['stop']}))",
        "n_points": "coalesce(f.n_points, 0) + coalesce(s.n_points, 0)",
        "icao24": "coalesce(f.icao24, s.icao24)",
        "batch_id": "s.batch_id",
    }
    newest = 'coalesce(s."{0}", f."{0}")'  # identity: the newest known value wins
    sets = ", ".join(f'"{c}" = {merged.get(c, newest.format(c))}' for c in rows.column_names[1:])
    mine = "f.flight_id = s.flight_id AND f.batch_id IS NOT NULL"
    cols = ", ".join(f'"{c}"' for c in rows.column_names)
    con.execute(f"UPDATE flights AS f SET {sets} FROM _flights AS s WHERE {mine}")
    con.execute(
        f"INSERT INTO flights ({cols}) SELECT {cols} FROM _flights AS s "
        f"WHERE NOT EXISTS (SELECT 1 FROM flights AS f WHERE {mine})"
    )
    con.unregister("_flights")
