"""Cut each aircraft's points into flights, and summarise the flights.

Rules, applied to the *valid* fixes of each aircraft in time order:

1. A time gap of more than ``gap_s`` (30 min) between two fixes starts a new
   flight.  Thirty minutes is longer than any reception gap over land with
   today's receiver networks, and shorter than the quickest airline
   turnaround that also loses coverage on the ground; positions a minute
   apart (ADS-B Exchange archives, helicopters orbiting for hours) stay in
   one flight.
2. A stop on the ground between two airborne spells starts a new flight when
   the aircraft is on the ground for more than ``ground_s`` (10 min) - the
   time from the end of one airborne spell to the start of the next, with at
   least one fix flagged ``onground`` in between.  Touch-and-goes and short
   stops of a helicopter stay in one flight; a turnaround splits.  An
   airborne spell must last ``min_airborne_s`` (30 s), so that a few fixes
   with a flickering on-ground flag at the gate do not count as a flight.
   The cut is placed at the longest time gap inside the ground stop (usually
   the time the transponder was off at the gate).  Without ``onground``
   information only rule 1 applies.

Rule 1 looks at all rows, rejected ones included (they still show that the
transponder was heard; a flight whose positions were spoofed for an hour is
one flight), rule 2 at valid fixes.  Rejected fixes join the flight of the
previous valid fix of the same aircraft (the next one when there is none
before, within the same gap-free stretch); a stretch without any valid fix
is a flight of its own.  ``flight_id`` is ``f"{icao24}_{start:%Y%m%dT%H%M%SZ}"``
with ``start`` the time of the flight's first valid fix: it depends only on the
data, not on the input order, and stays the same when the input is split by
aircraft (one file or partition per ``icao24``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overflight.clean._arrays import (
    BoolArray,
    IntArray,
    bool_value,
    group_codes,
    group_starts,
    sort_order,
    take_rows,
    take_strings,
    time_ns,
)
from overflight.clean._loops import carry
from overflight.schema import FLIGHT_SCHEMA, POINT_SCHEMA, TIMESTAMP, conform

GAP_S = 1800.0
GROUND_S = 600.0
MIN_AIRBORNE_S = 30.0


def _range_argmax(lo: IntArray, hi: IntArray, values: np.ndarray) -> IntArray:
    """Index of the largest ``values[k]`` for k in each ``[lo, hi]`` (first on ties)."""
    sizes = hi - lo + 1
    off = np.cumsum(sizes) - sizes
    k = np.repeat(lo - off, sizes) + np.arange(sizes.sum())
    rid = np.repeat(np.arange(len(lo)), sizes)
    order = np.lexsort((k, -values[k], rid))
    best: IntArray = k[order[off]]
    return best


def flight_starts(
    codes: IntArray,
    t_ns: IntArray,
    ground: BoolArray,
    *,
    gap_s: float = GAP_S,
    ground_s: float = GROUND_S,
    min_airborne_s: float = MIN_AIRBORNE_S,
    breaks: BoolArray | None = None,
) -> BoolArray:
    """True on the fixes that start a flight (fixes sorted by aircraft, time).

    ``breaks``, when given, replaces the gap rule: fixes that start a flight
    because of a gap found elsewhere (in all rows rather than valid ones).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([0, 60, 7200, 7260]) * 10**9      # a 2-hour gap
    >>> flight_starts(np.zeros(4, dtype=np.int64), t, np.zeros(4, bool)).tolist()
    [True, False, True, False]
    """
    n = len(codes)
    start = group_starts(codes)
    if n < 2:
        return start
    dt = np.diff(t_ns)
    if breaks is None:
        start[1:] |= dt > gap_s * 1e9
    else:
        start |= breaks
    air = ~ground
    change = start.copy()
    change[1:] |= air[1:] != air[:-1]
    rs = np.flatnonzero(change)
    re = np.r_[rs[1:] - 1, n - 1]
    spell = air[rs] & (t_ns[re] - t_ns[rs] >= min_airborne_s * 1e9)
    s_first, s_last = rs[spell], re[spell]
    if len(s_first) < 2:
        return start
    flight = np.cumsum(start) - 1
    a, b = s_last[:-1], s_first[1:]  # end of one spell, start of the next
    cg = np.cumsum(ground)
    ok = (flight[a] == flight[b]) & (t_ns[b] - t_ns[a] > ground_s * 1e9)
    ok &= cg[b - 1] - cg[a] > 0
    if ok.any():
        gaps = np.r_[0, dt]
        start[_range_argmax(a[ok] + 1, b[ok], gaps)] = True
    return start


def _flight_ids(icao: pa.Array, start_ns: IntArray) -> pa.Array:
    ts = (
        pa.array(start_ns, type=pa.int64())
        .cast(TIMESTAMP)
        .cast(pa.timestamp("s", tz="UTC"), safe=False)
    )
    stamp = pc.strftime(ts, format="%Y%m%dT%H%M%SZ")
    return pc.binary_join_element_wise(icao, stamp, "_")


def split_flights(
    points: pa.Table,
    *,
    gap_s: float = GAP_S,
    ground_s: float = GROUND_S,
    min_airborne_s: float = MIN_AIRBORNE_S,
    presorted: tuple[IntArray, IntArray] | None = None,
) -> pa.Table:
    """The points table with ``flight_id`` set on every row.

    Parameters
    ----------
    points
        Output of :func:`overflight.clean.clean` (a table without ``valid``
        is taken as all valid).
    gap_s, ground_s, min_airborne_s
        The rules of the module docstring.
    presorted
        ``(group codes, times in ns)`` of ``points`` when it is already
        sorted by ``(icao24, timestamp)``; skips the sort.

    Returns
    -------
    pyarrow.Table
        :data:`overflight.schema.POINT_SCHEMA`, sorted by ``(icao24,
        timestamp)``; the input is not modified.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from overflight.schema import conform
    >>> pts = conform(pa.table({
    ...     "timestamp": pa.array([0, 60 * 10**9, 7200 * 10**9], pa.timestamp("ns", tz="UTC")),
    ...     "icao24": ["abc123"] * 3, "latitude": [1.0, 1.01, 1.02], "longitude": [2.0] * 3,
    ... }))
    >>> split_flights(pts)["flight_id"].to_pylist()
    ['abc123_19700101T000000Z', 'abc123_19700101T000000Z', 'abc123_19700101T020000Z']
    """
    return split_numbered(
        points,
        gap_s=gap_s,
        ground_s=ground_s,
        min_airborne_s=min_airborne_s,
        presorted=presorted,
    )[0]


def split_numbered(
    points: pa.Table,
    *,
    gap_s: float = GAP_S,
    ground_s: float = GROUND_S,
    min_airborne_s: float = MIN_AIRBORNE_S,
    presorted: tuple[IntArray, IntArray] | None = None,
) -> tuple[pa.Table, IntArray]:
    """:func:`split_flights`, and the flight of each row as a number from 0 (in no set order)."""
    meta = points.schema.metadata
    table = conform(points, POINT_SCHEMA)
    n = table.num_rows
    if presorted is None:
        codes = group_codes(table.column("icao24"))
        t = time_ns(table)
        order = sort_order(codes, t)
        table = take_rows(table, order)
        codes, t = codes[order], t[order]
    else:
        codes, t = presorted
    valid = np.asarray(
        pc.fill_null(table.column("valid"), True).to_numpy(zero_copy_only=False), dtype=bool
    )
    ground = bool_value(table, "onground")
    # rule 1 on all rows: rejected fixes still show the transponder was heard
    gap = group_starts(codes)
    gap[1:] |= np.diff(t) > gap_s * 1e9
    gap_no = np.cumsum(gap)
    v = np.flatnonzero(valid)
    vbreak = np.ones(len(v), dtype=bool)
    vbreak[1:] = gap_no[v[1:]] != gap_no[v[:-1]]
    fs = flight_starts(
        codes[v], t[v], ground[v], ground_s=ground_s, min_airborne_s=min_airborne_s, breaks=vbreak
    )
    fv = np.full(n, -1, dtype=np.int64)
    fv[v] = np.cumsum(fs) - 1
    flight = carry(fv, gap)  # rejected fixes: flight of the previous valid fix, else the next
    first_row = v[fs]
    orphan = flight < 0  # a stretch between gaps without valid fixes
    if orphan.any():
        o_start = gap & orphan
        flight[orphan] = len(first_row) + np.cumsum(o_start)[orphan] - 1
        first_row = np.r_[first_row, np.flatnonzero(o_start)]
    icao = table.column("icao24").take(pa.array(first_row, type=pa.int64())).combine_chunks()
    ids = _flight_ids(icao, t[first_row])
    flight_id = take_strings(ids, flight)
    out = table.set_column(table.schema.get_field_index("flight_id"), "flight_id", flight_id)
    return (out.replace_schema_metadata(meta) if meta else out), flight


def flights_table(points: pa.Table) -> pa.Table:
    """One row per flight (:data:`overflight.schema.FLIGHT_SCHEMA`).

    ``callsign`` is the most common non-null callsign of the flight's valid
    fixes (of all its fixes if no valid one has one; ties go to the first in
    alphabetical order), ``start``/``stop`` the first and last valid fix
    (all fixes for a flight without valid ones), ``n_points`` the number of
    valid fixes.  Points without ``flight_id`` are split first with
    :func:`split_flights`.  Sorted by ``(icao24, start)``.
    """
    if "flight_id" not in points.column_names or points.column("flight_id").null_count:
        points = split_flights(points)
    cols = {
        "flight_id": points.column("flight_id"),
        "icao24": points.column("icao24"),
        "callsign": points.column("callsign"),
        "timestamp": points.column("timestamp").cast(TIMESTAMP),
        "valid": pc.fill_null(points.column("valid"), True)
        if "valid" in points.column_names
        else pa.array(np.ones(points.num_rows, dtype=bool)),
    }
    tbl = pa.table(cols)
    all_ = tbl.group_by("flight_id").aggregate(
        [("icao24", "min"), ("timestamp", "min"), ("timestamp", "max")]
    )
    val = (
        tbl.filter(tbl.column("valid"))
        .group_by("flight_id")
        .aggregate([("timestamp", "min"), ("timestamp", "max"), ("timestamp", "count")])
    )
    res = all_.join(val, "flight_id", join_type="left outer", right_suffix="_v")
    cs = _mode_callsign(tbl)
    res = res.join(cs, "flight_id", join_type="left outer")
    start = pc.coalesce(res.column("timestamp_min_v"), res.column("timestamp_min"))
    stop = pc.coalesce(res.column("timestamp_max_v"), res.column("timestamp_max"))
    out = pa.table(
        {
            "flight_id": res.column("flight_id"),
            "icao24": res.column("icao24_min"),
            "callsign": res.column("callsign"),
            "start": start,
            "stop": stop,
            "n_points": pc.fill_null(res.column("timestamp_count"), 0).cast(pa.int64()),
        }
    )
    out = out.sort_by([("icao24", "ascending"), ("start", "ascending"), ("flight_id", "ascending")])
    return conform(out, FLIGHT_SCHEMA)


def _mode_callsign(tbl: pa.Table) -> pa.Table:
    """Most common non-null callsign per flight: valid fixes first, else all fixes."""
    named = tbl.filter(pc.is_valid(tbl.column("callsign")))
    counts = named.group_by(["flight_id", "callsign"]).aggregate(
        [("valid", "sum"), ("valid", "count")]
    )
    ranked = counts.sort_by(
        [
            ("flight_id", "ascending"),
            ("valid_sum", "descending"),
            ("valid_count", "descending"),
            ("callsign", "ascending"),
        ]
    )
    fid = ranked.column("flight_id").combine_chunks()
    if len(fid) == 0:
        return pa.table(
            {"flight_id": pa.array([], pa.string()), "callsign": pa.array([], pa.string())}
        )
    first = np.ones(len(fid), dtype=bool)
    first[1:] = pc.not_equal(fid[1:], fid[:-1]).to_numpy(zero_copy_only=False)
    return ranked.filter(pa.array(first)).select(["flight_id", "callsign"])
