"""The canonical tables that flow through every stage, declared once.

Column names and units follow OpenSky and the ``traffic`` library so that a
table written by overflight opens in those tools without renaming:

==============  ======================  =========================================
column          type                    meaning
==============  ======================  =========================================
timestamp       timestamp[ns, UTC]      time of the report
icao24          string                  ICAO 24-bit address, 6 lowercase hex chars
callsign        string                  flight identification, stripped
latitude        float64                 degrees north, WGS84
longitude       float64                 degrees east, WGS84, in [-180, 180)
altitude        float64                 barometric altitude, ft
geoaltitude     float64                 geometric (GNSS) altitude, ft
groundspeed     float64                 kt
track           float64                 degrees true, [0, 360)
vertical_rate   float64                 ft/min
squawk          string                  Mode A code, 4 octal digits
onground        bool                    surface position / on-ground flag
source          string                  where the row came from (file or feed)
==============  ======================  =========================================

Readers (``ingest``) emit the *message table*: the columns above, one row per
decoded message or record, null where the message does not carry a field.
``clean`` turns it into the *points table*: one row per position with
``flight_id``, ``valid`` and ``reject_reason`` added.  Later stages add the
columns listed in :data:`POINT_EXTRA_FIELDS`.  A drift test checks that no stage
emits a column that is not declared here.
"""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("ns", tz="UTC")

TRACK_FIELDS: tuple[pa.Field, ...] = (
    pa.field("timestamp", TIMESTAMP, nullable=False),
    pa.field("icao24", pa.string(), nullable=False),
    pa.field("callsign", pa.string()),
    pa.field("latitude", pa.float64()),
    pa.field("longitude", pa.float64()),
    pa.field("altitude", pa.float64()),
    pa.field("geoaltitude", pa.float64()),
    pa.field("groundspeed", pa.float64()),
    pa.field("track", pa.float64()),
    pa.field("vertical_rate", pa.float64()),
    pa.field("squawk", pa.string()),
    pa.field("onground", pa.bool_()),
    pa.field("source", pa.string()),
)

#: The message table every reader returns.
MESSAGE_SCHEMA = pa.schema(TRACK_FIELDS)

#: Columns the clean stage adds to each position.
CLEAN_FIELDS: tuple[pa.Field, ...] = (
    pa.field("flight_id", pa.string()),
    pa.field("valid", pa.bool_(), nullable=False),
    pa.field("reject_reason", pa.string()),
)

#: Columns added by later stages (airspace, patterns), declared here so that
#: the drift test knows them.
POINT_EXTRA_FIELDS: tuple[pa.Field, ...] = (
    pa.field("country", pa.string()),
    pa.field("countries", pa.list_(pa.string())),
    pa.field("zone", pa.string()),
    pa.field("boundary_distance_m", pa.float64()),
)

#: The points table written to ``points.parquet`` after cleaning.
POINT_SCHEMA = pa.schema(TRACK_FIELDS + CLEAN_FIELDS)

#: ``flights.parquet``: one row per flight.
FLIGHT_FIELDS: tuple[pa.Field, ...] = (
    pa.field("flight_id", pa.string(), nullable=False),
    pa.field("icao24", pa.string(), nullable=False),
    pa.field("callsign", pa.string()),
    pa.field("start", TIMESTAMP, nullable=False),
    pa.field("stop", TIMESTAMP, nullable=False),
    pa.field("n_points", pa.int64(), nullable=False),
)
FLIGHT_SCHEMA = pa.schema(FLIGHT_FIELDS)

#: Columns that the identify and classify stages add to ``flights.parquet``.
FLIGHT_EXTRA_FIELDS: tuple[pa.Field, ...] = (
    pa.field("registry_country", pa.string()),
    pa.field("military", pa.bool_()),
    pa.field("registration", pa.string()),
    pa.field("typecode", pa.string()),
    pa.field("operator", pa.string()),
    pa.field("isr_type", pa.bool_()),
    pa.field("drone_envelope", pa.bool_()),
    # a registration national registers reserve for gliders (identify/registration.py)
    pa.field("glider_registration", pa.bool_()),
    # the mission an aircraft database names for the aircraft (identify/roles.py)
    pa.field("db_mission", pa.string()),
    pa.field("identity_reason", pa.string()),
    pa.field("mission", pa.string()),
    pa.field("mission_confidence", pa.float64()),
    pa.field("mission_reason", pa.string()),
)

#: ``events.parquet``: interval table shared by airspace and pattern detectors.
EVENT_FIELDS: tuple[pa.Field, ...] = (
    pa.field("flight_id", pa.string(), nullable=False),
    pa.field("icao24", pa.string(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),
    pa.field("start", TIMESTAMP),
    pa.field("stop", TIMESTAMP),
    pa.field("latitude", pa.float64()),
    pa.field("longitude", pa.float64()),
    pa.field("duration_s", pa.float64()),
    pa.field("country", pa.string()),
    pa.field("details", pa.string()),
    # airspace entries: where the stay ended, how deep it went, over what
    pa.field("exit_latitude", pa.float64()),
    pa.field("exit_longitude", pa.float64()),
    pa.field("max_depth_m", pa.float64()),
    pa.field("over_land", pa.bool_()),
    pa.field("authorization", pa.string()),
)
EVENT_SCHEMA = pa.schema(EVENT_FIELDS)

#: Every column name any stage may emit, by table.
DECLARED_COLUMNS: dict[str, frozenset[str]] = {
    "messages": frozenset(f.name for f in TRACK_FIELDS),
    "points": frozenset(f.name for f in TRACK_FIELDS + CLEAN_FIELDS + POINT_EXTRA_FIELDS),
    "flights": frozenset(f.name for f in FLIGHT_FIELDS + FLIGHT_EXTRA_FIELDS),
    "events": frozenset(f.name for f in EVENT_FIELDS),
}


def empty_messages() -> pa.Table:
    """Return an empty message table with the canonical schema."""
    return MESSAGE_SCHEMA.empty_table()


def conform(table: pa.Table, schema: pa.Schema = MESSAGE_SCHEMA) -> pa.Table:
    """Return ``table`` with exactly the columns of ``schema``, in its order.

    Missing columns are added as nulls; extra columns are dropped; types are
    cast (raising :class:`pyarrow.ArrowInvalid` when a cast is unsafe).
    """
    n = table.num_rows
    arrays = []
    for field in schema:
        if field.name in table.column_names:
            col = table.column(field.name)
            if col.type != field.type:
                col = col.cast(field.type)
            arrays.append(col)
        else:
            arrays.append(pa.nulls(n, type=field.type))
    # nullable=False is documentation of intent; arrow enforces it only on
    # validate(full=True), so build with a relaxed schema of the same types.
    relaxed = pa.schema([pa.field(f.name, f.type) for f in schema])
    return pa.Table.from_arrays(arrays, schema=relaxed)
