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

:func:`plan_positions` works out, for every column, the message row each
position takes its value from; :func:`take_positions` then copies each column
once (:func:`overflight.clean.run` takes them directly in the order the clean
step sorts by).  The forward fill is one compiled pass over the sorted rows
for all eight fields (:func:`overflight.clean._loops.fill_sources`): in numpy it
took about ten full-length passes per field, 0.3 CPU-s per million messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overflight.clean._arrays import (
    BoolArray,
    IntArray,
    group_codes,
    group_starts,
    single,
    sort_order,
    time_ns,
)
from overflight.clean._loops import fill_sources
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


def _present(col: pa.ChunkedArray | pa.Array) -> BoolArray:
    """True where a value is usable: not null, and not NaN for floats."""
    if pa.types.is_floating(col.type):
        usable: BoolArray = ~np.isnan(col.to_numpy(zero_copy_only=False))  # null comes as NaN
        return usable
    return np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


@dataclass(frozen=True)
class Plan:
    """Where each value of the position table comes from, before any column is copied.

    ``table`` is the conformed message table; the position table has one row
    per position, in ``(icao24, timestamp)`` order, with ``codes`` and
    ``t_ns`` its group codes and times, and ``sources[i]`` the message row
    that column ``i`` of :data:`MESSAGE_SCHEMA` takes its value from (-1:
    null).
    """

    table: pa.Table
    codes: IntArray
    t_ns: IntArray
    sources: tuple[IntArray, ...]


def plan_positions(
    messages: pa.Table,
    max_age_s: float = KINEMATIC_MAX_AGE_S,
    ident_max_age_s: float = IDENT_MAX_AGE_S,
) -> Plan:
    """The :class:`Plan` of :func:`to_positions` (same parameters)."""
    table = conform(messages, MESSAGE_SCHEMA)
    codes = group_codes(table.column("icao24"))
    t = time_ns(table)
    order = sort_order(codes, t)
    codes, t = codes[order], t[order]
    start = group_starts(codes)
    has_pos = pc.and_(table.column("latitude").is_valid(), table.column("longitude").is_valid())
    rows = np.flatnonzero(np.asarray(has_pos.to_numpy(zero_copy_only=False), dtype=bool)[order])
    src_rows = order[rows]  # input row of each output row
    names = [f.name for f in MESSAGE_SCHEMA if f.name in IDENT_FIELDS + KINEMATIC_FIELDS]
    present = np.stack([_present(table.column(name)) for name in names], axis=1)
    limits = [(ident_max_age_s if n in IDENT_FIELDS else max_age_s) * 1e9 for n in names]
    filled, own = fill_sources(order, start, t, present, rows, np.array(limits))
    by_name = {n: src_rows if own[i] else filled[i] for i, n in enumerate(names)}  # own: no fill
    sources = [by_name.get(f.name, src_rows) for f in MESSAGE_SCHEMA]
    return Plan(table, codes[rows], t[rows], tuple(sources))


def take_positions(plan: Plan, rows: IntArray | None = None) -> pa.Table:
    """The position table of ``plan`` (only ``rows`` of it, in that order, when given)."""
    arrays = []
    for field, src in zip(MESSAGE_SCHEMA, plan.sources, strict=True):
        s = src if rows is None else src[rows]
        col = plan.table.column(field.name)
        if 8 * len(s) > len(col):  # a large take is faster from one chunk (a copy per column)
            col = single(col)
        mask = s < 0
        idx = pa.array(s, mask=mask) if mask.any() else pa.array(s)
        arrays.append(col.take(idx))
    relaxed = pa.schema([pa.field(f.name, f.type) for f in MESSAGE_SCHEMA])
    return pa.Table.from_arrays(arrays, schema=relaxed)


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
    return take_positions(plan_positions(table, max_age_s, ident_max_age_s))
