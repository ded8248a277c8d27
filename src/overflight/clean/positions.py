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
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.clean._arrays import (
    BoolArray,
    FloatArray,
    IntArray,
    group_codes,
    group_starts,
    single,
    sort_order,
    take_strings,
    time_ns,
)
from overflight.clean._loops import RowArray, fill_sources
from overflight.schema import MESSAGE_SCHEMA, conform

_NEVER_FILLED = ("timestamp", "icao24", "source")
_LAT = MESSAGE_SCHEMA.get_field_index("latitude")

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


def _values(col: pa.ChunkedArray | pa.Array) -> FloatArray:
    """A float column as one numpy array (null as NaN)."""
    out: FloatArray = pc.fill_null(col, np.nan).to_numpy()  # 3x faster than with the nulls
    return out


def _present(col: pa.ChunkedArray | pa.Array, values: FloatArray | None) -> BoolArray:
    """True where a value is usable: not null, and not NaN for floats (``values``)."""
    if values is not None:
        usable: BoolArray = ~np.isnan(values)  # null comes as NaN
        return usable
    return np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


@dataclass(frozen=True)
class Plan:
    """Where each value of the position table comes from, before any column is copied.

    ``table`` is the conformed message table; the position table has one row
    per position, in ``(icao24, timestamp)`` order, with ``codes`` and
    ``t_ns`` its group codes and times, and ``sources[i]`` the message row
    that column ``i`` of :data:`MESSAGE_SCHEMA` takes its value from (-1:
    null).  ``values`` holds the float columns of ``table`` as numpy (null
    as NaN).

    A source row is never null in its column: a carried value comes from a
    row that has it (not null, not NaN), a row keeps its own value only
    when every position has one, and every position has a latitude and a
    longitude.  So a value of the position table is null exactly where its
    source is -1, except in the columns that are never filled (timestamp,
    icao24, source) when the messages have nulls there.
    """

    table: pa.Table
    codes: IntArray
    t_ns: IntArray
    sources: tuple[RowArray, ...]
    values: dict[str, FloatArray]


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
    values = {
        f.name: _values(table.column(f.name)) for f in MESSAGE_SCHEMA if f.type == pa.float64()
    }
    names = [f.name for f in MESSAGE_SCHEMA if f.name in IDENT_FIELDS + KINEMATIC_FIELDS]
    present = np.stack([_present(table.column(n), values.get(n)) for n in names])
    limits = [(ident_max_age_s if n in IDENT_FIELDS else max_age_s) * 1e9 for n in names]
    filled, own = fill_sources(order, start, t, present, rows, np.array(limits))
    by_name = {n: src_rows if own[i] else filled[i] for i, n in enumerate(names)}  # own: no fill
    sources = [by_name.get(f.name, src_rows) for f in MESSAGE_SCHEMA]
    return Plan(table, codes[rows], t[rows], tuple(sources), values)


def null_counts(plan: Plan, rows: IntArray) -> IntArray:
    """Number of null fields of the given rows of the position table (see :class:`Plan`)."""
    counts = np.zeros(len(rows), dtype=np.int64)
    for field, src in zip(MESSAGE_SCHEMA, plan.sources, strict=True):
        s = src[rows]
        col = plan.table.column(field.name)
        if field.name in _NEVER_FILLED and col.null_count:
            counts += np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)[s]
        else:
            counts += s < 0
    return counts


def tie_keys(plan: Plan, rows: IntArray) -> tuple[FloatArray, FloatArray, IntArray]:
    """Latitude, longitude and null count of the given rows of the position table."""
    src = plan.sources[_LAT]
    lat, lon = plan.values["latitude"][src[rows]], plan.values["longitude"][src[rows]]
    return lat, lon, null_counts(plan, rows)


def gather_numpy(values: npt.NDArray[np.generic], s: RowArray, typ: pa.DataType) -> pa.Array:
    """``values[s]`` as an Arrow array of type ``typ``, null (and 0) where ``s < 0``.

    This is what Arrow's ``take`` gives with ``s`` as a masked index, when
    ``values`` is not null at the rows ``s`` reads.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> gather_numpy(np.array([1.5, 2.5]), np.array([1, -1, 0]), pa.float64()).to_pylist()
    [2.5, None, 1.5]
    """
    return _masked(np.take(values, s), s < 0, typ)


def _masked(out: npt.NDArray[np.generic], mask: BoolArray, typ: pa.DataType) -> pa.Array:
    """``out`` as an Arrow array, null (and set to 0, as ``take`` leaves it) where ``mask``."""
    nulls = int(np.count_nonzero(mask))
    if not nulls:
        return pa.array(out, type=typ)
    out[mask] = 0
    valid = pa.py_buffer(np.packbits(~mask, bitorder="little"))
    return pa.Array.from_buffers(typ, len(out), [valid, pa.py_buffer(out)], null_count=nulls)


@dataclass(frozen=True)
class _Rows:
    """The rows ``rows`` (all when None) of columns of ``n`` rows, taken the cheap way.

    When ``rows`` is a permutation that moves few rows (the tie-breaks of
    :func:`overflight.clean.clean_order`), ``moved`` holds those positions
    and the rows they take: an index is copied and only they are gathered,
    and a gathered column is permuted there after the gather.
    """

    rows: IntArray | None
    moved: tuple[IntArray, IntArray] | None

    @classmethod
    def of(cls, rows: IntArray | None, n: int) -> _Rows:
        if rows is None or len(rows) != n:
            return cls(rows, None)
        at = np.flatnonzero(rows != np.arange(n))
        return cls(rows, (at, rows[at]) if 8 * len(at) <= n else None)

    def index(self, a: RowArray) -> RowArray:
        """``a[rows]``."""
        if self.rows is None:
            return a
        if self.moved is None:
            return a[self.rows]
        out = a.copy()
        out[self.moved[0]] = a[self.moved[1]]
        return out

    def gather(self, values: FloatArray, src: RowArray, typ: pa.DataType) -> pa.Array:
        """``gather_numpy(values, src[rows], typ)``."""
        if self.moved is None:
            return gather_numpy(values, self.index(src), typ)
        out, mask = np.take(values, src), src < 0
        at, take_from = self.moved
        out[at], mask[at] = out[take_from], mask[take_from]
        return _masked(out, mask, typ)


def take_positions(plan: Plan, rows: IntArray | None = None) -> pa.Table:
    """The position table of ``plan`` (only ``rows`` of it, in that order, when given).

    Float columns are gathered in numpy (:func:`gather_numpy`: their nulls
    are where the source is -1, see :class:`Plan`), about a third of the
    time of Arrow's ``take`` with a masked index; the timestamps come from
    ``plan.t_ns``; strings of one width (``icao24``) are gathered as
    fixed-width items (:func:`overflight.clean._arrays.take_strings`); the
    other string columns and ``onground`` go through ``take`` (a compiled
    byte copy of the strings was slower).  Each source array that ``take``
    needs is reordered by ``rows`` once.
    """
    sel = _Rows.of(rows, len(plan.t_ns))
    composed: dict[int, RowArray] = {}
    arrays = []
    for field, src in zip(MESSAGE_SCHEMA, plan.sources, strict=True):
        col = plan.table.column(field.name)
        if field.name in plan.values:
            arrays.append(sel.gather(plan.values[field.name], src, field.type))
            continue
        if field.name == "timestamp" and not col.null_count:
            arrays.append(pa.array(sel.index(plan.t_ns), type=pa.int64()).view(field.type))
            continue
        if id(src) not in composed:
            composed[id(src)] = sel.index(src)
        s = composed[id(src)]
        if pa.types.is_string(field.type) and (
            field.name not in _NEVER_FILLED or not col.null_count
        ):
            arrays.append(take_strings(col, s))  # the source rows are not null
            continue
        if 8 * len(s) > len(col):  # a large take is faster from one chunk (a copy per column)
            col = single(col)
        mask = s < 0
        arrays.append(col.take(pa.array(s, mask=mask) if mask.any() else pa.array(s)))
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
