"""Message table to position table: carry the latest known fields onto each position.

Raw Mode S gives one field family per message: an airborne position message
has latitude, longitude and altitude; a velocity message has ground speed,
track and vertical rate; identification has the callsign; a Mode A reply has
the squawk.  :func:`to_positions` sorts the messages by ``(icao24, timestamp)``
and, for every row that has a position, fills each missing field with the
latest earlier value of the same aircraft, provided that value is recent
enough:

=========================================  ============  ==========================
fields                                     max age       why
=========================================  ============  ==========================
callsign, squawk                           1,800 s       identity: set once per flight,
                                                         broadcast every few seconds
                                                         (callsign) or on interrogation
                                                         (squawk); 30 min matches the
                                                         default flight gap, so a
                                                         value never leaks into the
                                                         next flight after a long gap
altitude, geoaltitude, groundspeed,        10 s          kinematics: velocity and
track, vertical_rate, onground                           position are broadcast twice
                                                         a second, so 10 s spans ~20
                                                         missed messages, while a
                                                         value that old is still
                                                         close: a standard-rate turn
                                                         (3 deg/s) changes the track
                                                         by at most 30 deg, a 6,000
                                                         ft/min descent the altitude
                                                         by 1,000 ft
=========================================  ============  ==========================

The fill only looks backwards in time (a value received after the position
is not used for it), so the result does not depend on what arrives later.
For OpenSky or traffic inputs, where every row is complete, the table comes
back sorted and otherwise unchanged.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overflight.clean._arrays import group_codes, group_starts, last_index, sort_order, time_ns
from overflight.schema import MESSAGE_SCHEMA, conform

#: Default maximum age of a carried kinematic value (altitude, speed, track...), s.
KINEMATIC_MAX_AGE_S = 10.0
#: Default maximum age of a carried identity value (callsign, squawk), s.
IDENT_MAX_AGE_S = 1800.0

IDENT_FIELDS = ("callsign", "squawk")
KINEMATIC_FIELDS = (
    "altitude",
    "geoaltitude",
    "groundspeed",
    "track",
    "vertical_rate",
    "onground",
)


def _present(col: pa.Array) -> np.ndarray:
    """True where a value is usable: not null, and not NaN for floats."""
    ok = col.is_valid()
    if pa.types.is_floating(col.type):
        ok = pc.and_(ok, pc.invert(pc.fill_null(pc.is_nan(col), True)))
    return np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)


def to_positions(
    messages: pa.Table,
    max_age_s: float = KINEMATIC_MAX_AGE_S,
    ident_max_age_s: float = IDENT_MAX_AGE_S,
) -> pa.Table:
    """One row per position, with the latest recent values of the other fields.

    Parameters
    ----------
    messages
        A message table (:data:`overflight.schema.MESSAGE_SCHEMA`), any order.
    max_age_s
        How old a carried altitude, geoaltitude, groundspeed, track,
        vertical_rate or onground value may be, in seconds.
    ident_max_age_s
        How old a carried callsign or squawk may be, in seconds.

    Returns
    -------
    pyarrow.Table
        The rows whose latitude and longitude are both non-null, sorted by
        ``(icao24, timestamp)``, conforming to ``MESSAGE_SCHEMA``.  A value
        already on the row is kept; a missing one is taken from the latest
        earlier row of the same aircraft that has it, if not older than the
        limit.  The input is not modified.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from overflight.schema import conform
    >>> msgs = conform(pa.table({
    ...     "timestamp": pa.array([0, 400_000_000, 500_000_000], pa.timestamp("ns", tz="UTC")),
    ...     "icao24": ["abc123"] * 3,
    ...     "callsign": ["AFR1", None, None],
    ...     "groundspeed": [None, 250.0, None],
    ...     "latitude": [None, None, 48.5],
    ...     "longitude": [None, None, 2.3],
    ... }))
    >>> pos = to_positions(msgs)
    >>> pos.num_rows, pos["callsign"][0].as_py(), pos["groundspeed"][0].as_py()
    (1, 'AFR1', 250.0)
    """
    table = conform(messages, MESSAGE_SCHEMA)
    if table.num_rows == 0:
        return table
    codes = group_codes(table.column("icao24"))
    t = time_ns(table)
    order = sort_order(codes, t)
    codes, t = codes[order], t[order]
    start = group_starts(codes)
    lat_ok = table.column("latitude").is_valid().to_numpy(zero_copy_only=False)
    lon_ok = table.column("longitude").is_valid().to_numpy(zero_copy_only=False)
    has_pos = np.asarray(lat_ok, dtype=bool)[order] & np.asarray(lon_ok, dtype=bool)[order]
    rows = np.flatnonzero(has_pos)
    src_rows = order[rows]  # input row of each output row
    t_rows = t[rows]
    arrays = []
    for field in MESSAGE_SCHEMA:
        col = table.column(field.name).combine_chunks()
        idx = pa.array(src_rows)
        if field.name in IDENT_FIELDS or field.name in KINEMATIC_FIELDS:
            present = _present(col)
            if not present[src_rows].all():  # else nothing to fill
                limit = ident_max_age_s if field.name in IDENT_FIELDS else max_age_s
                last = last_index(present[order], start)[rows]
                safe = np.where(last >= 0, last, 0)
                age_ns = t_rows.astype(np.float64) - t[safe].astype(np.float64)
                use = (last >= 0) & (age_ns <= limit * 1e9)
                idx = pa.array(order[safe], mask=~use)
        arrays.append(col.take(idx))
    relaxed = pa.schema([pa.field(f.name, f.type) for f in MESSAGE_SCHEMA])
    return pa.Table.from_arrays(arrays, schema=relaxed)
