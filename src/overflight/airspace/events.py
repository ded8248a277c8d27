"""Entries into national airspace (and user zones), one row per stay.

A *stay* is a maximal run of consecutive valid fixes of one flight inside one
country's national airspace (or one user zone).  Its row in ``events.parquet``:

=================  =============================================================
kind               ``airspace_entry`` (a country), ``zone_entry`` (a user zone),
                   ``airspace_approach`` (with ``focus``: a flight that stayed
                   outside but came within ``near_km``)
start, stop        entry and exit time, interpolated at the boundary crossing
                   between the last fix outside and the first fix inside (and
                   the reverse); the first/last fix when the flight starts or
                   ends inside
latitude/longitude entry position (interpolated likewise)
duration_s         stop - start
country            the ISO3 code entered (the zone's owner for a zone)
exit_latitude/...  exit position
max_depth_m        furthest distance inside the boundary (negative for an
                   approach: the closest distance outside)
over_land          whether any fix of the stay was over the country's land (the
                   details' ``zone`` says ``land`` or ``territorial_sea`` only)
authorization      null here; set by :func:`overflight.airspace.authorise.apply_authorisations`
details            JSON with the above plus interpolation flags, claimants, ...
=================  =============================================================

Only valid fixes count: a rejected (spoofed) position never creates or
extends a stay.  The crossing is found by bisection along the segment between
the two fixes with the exact point classifier (to 1e-9 of the segment; see
:mod:`overflight.airspace.crossing`, which runs it for all crossings at once);
the details are encoded by :mod:`overflight.airspace.details`.

The valid fixes are selected, and the stays found, by compiled walks over
the fixes in (flight, time) order (:mod:`overflight.airspace.stays`): a
stay of a key goes on while the next fix of the flight is inside it too, and
keeps the deepest known depth and whether any fix was over land as it goes;
the fixes whose depth is not known from the points are measured afterwards,
key by key, in time order.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.airspace.boundaries import Boundaries
from overflight.airspace.crossing import crossing_fractions, wrap_lon
from overflight.airspace.details import KINDS, Rows, event_table
from overflight.airspace.distance import DEFAULT_MAX_DISTANCE_M, border_distance
from overflight.airspace.grid import BoolArray, FloatArray, Int32Array, IntArray
from overflight.airspace.keys import Keys
from overflight.airspace.stays import _Fixes, _walk
from overflight.patterns.events import py_round
from overflight.schema import EVENT_FIELDS, EVENT_SCHEMA

#: Event columns only airspace entries fill (declared in :mod:`overflight.schema`).
AIRSPACE_EVENT_FIELDS: tuple[pa.Field, ...] = tuple(
    f
    for f in EVENT_FIELDS
    if f.name in {"exit_latitude", "exit_longitude", "max_depth_m", "over_land", "authorization"}
)
AIRSPACE_EVENT_SCHEMA = EVENT_SCHEMA


def airspace_events(
    points: pa.Table,
    boundaries: Boundaries,
    focus: str | None = None,
    near_km: float = 50.0,
    flights: pa.Table | None = None,
    *,
    foreign_only: bool = False,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    reuse_point_distances: bool = False,
    point_ids: Int32Array | None = None,
) -> pa.Table:
    """One row per stay in a national airspace or user zone (see the module docstring).

    Parameters
    ----------
    points
        The points table: ``flight_id``, ``icao24``, ``timestamp``,
        ``latitude``, ``longitude``, ``valid`` (and ``callsign``).
    boundaries
        From :func:`overflight.airspace.load_boundaries`.
    focus
        ISO3 code: only stays in that country, plus ``airspace_approach`` rows
        for flights that stayed outside but came within ``near_km`` of it.
    near_km
        Approach distance for ``focus``.
    flights
        Optional flights table; its ``registry_country`` (ISO3) marks each
        row ``foreign`` in the details.
    foreign_only
        With ``flights``: drop rows of aircraft registered in the country entered.
    max_distance_m
        Depths saturate at this value.
    reuse_point_distances
        Take the depth of fixes inside a single country from the points'
        ``boundary_distance_m`` (:func:`classify_points` with the same
        ``max_distance_m``) instead of measuring it again; fixes in joint
        claims and in zones are always measured.
    point_ids
        The class id of every row of ``points``
        (:func:`~overflight.airspace.classify.point_classes`), when the
        caller has them; else the fixes are classified here.

    Returns
    -------
    pyarrow.Table
        :data:`AIRSPACE_EVENT_SCHEMA`, sorted by flight and start.
    """
    focus = focus.upper() if focus else None
    keys = Keys(boundaries, focus)
    fx = _Fixes.of(points)
    ids = boundaries.classify(fx.lon, fx.lat) if point_ids is None else point_ids[fx.rows]
    ids = np.asarray(ids)
    dist = np.empty(0)
    if reuse_point_distances and "boundary_distance_m" in points.column_names:
        col = points.column("boundary_distance_m")
        dist = np.asarray(pc.fill_null(col, np.nan).to_numpy(zero_copy_only=False), np.float64)
    st = _stay_runs(keys, fx, ids, dist, max_distance_m)
    rows = _stays(keys, fx, st)
    if focus is not None:
        k = keys.index.get(("airspace_entry", focus), -1)
        entered = np.unique(fx.flight[st.p0[st.key == k]])
        near = _approaches(boundaries, focus, fx, entered, near_km, max_distance_m)
        rows = {c: np.concatenate([rows[c], near[c]]) for c in rows}
    owners = {
        n: (c[0] if c else None)
        for n, c, kd in zip(
            boundaries.item_names, boundaries.item_codes, boundaries.item_kind, strict=True
        )
        if kd == 2
    }
    fix = rows.pop("fix")
    rows["row"], rows["flight"] = fx.rows[fix], fx.flight[fix]
    return event_table(
        rows, points, fx.names, flights, foreign_only=foreign_only, zone_owner=owners
    )


class _Runs(NamedTuple):
    """Stays as runs of consecutive fixes of a flight inside one key's area."""

    key: IntArray
    p0: IntArray  # first fix
    p1: IntArray  # last fix
    depth: FloatArray  # deepest fix (NaN when none is measured)
    over_land: BoolArray


def _stay_runs(
    keys: Keys, fx: _Fixes, ids: npt.NDArray[Any], dist: FloatArray, max_distance_m: float
) -> _Runs:
    """Every stay, by flight, key and time, with its depth and whether it was over land.

    ``dist`` (per points row, or empty): the points' boundary distances, the
    depth of a fix in a single country's airspace.  Other fixes are measured
    with :func:`border_distance`, key by key.
    """
    member, land = keys.matrices()
    cls_of, key_of = np.nonzero(member)  # the keys of each class, ascending
    cls_start = np.searchsorted(cls_of, np.arange(member.shape[0] + 1))
    single = keys.single() if dist.size else np.full(member.shape[0], -1, np.int64)
    flight, key, p0, p1, depth, over_land, todo = _walk(
        fx.flight,
        ids,
        cls_start,
        key_of,
        land[cls_of, key_of],
        single,
        fx.rows,
        dist,
        float(max_distance_m),
        len(keys.keys),
    )
    tp, tk, ts = todo
    by = np.lexsort((tp, tk))  # key by key, in time order
    tp, tk, ts = tp[by], tk[by], ts[by]
    cut = np.flatnonzero(np.diff(tk, prepend=-1, append=-1))
    for a, b in zip(cut[:-1].tolist(), cut[1:].tolist(), strict=True):
        kind, name = keys.keys[int(tk[a])]
        f = tp[a:b]
        d = border_distance(keys.b, kind, name, fx.lon[f], fx.lat[f], max_distance_m)
        np.fmax.at(depth, ts[a:b], d)
    order = np.lexsort((p0, key, flight))
    return _Runs(key[order], p0[order], p1[order], depth[order], over_land[order])


def _stays(keys: Keys, fx: _Fixes, st: _Runs) -> Rows:
    """Rows of the stays."""
    lon, lat, ts = fx.lon, fx.lat, fx.ts
    p0, p1, key = st.p0, st.p1, st.key
    has_prev = fx.rank[p0] > 0
    has_next = fx.rank[p1] < fx.nvalid[p1] - 1
    a, c = p0[has_prev], p1[has_next]
    outer = np.concatenate([a - 1, c + 1])  # the fix outside, then the fix inside
    inner = np.concatenate([a, c])
    t = crossing_fractions(
        keys.b.index,
        keys.items(),
        keys.inside,
        lon[outer],
        lat[outer],
        lon[inner],
        lat[inner],
        np.concatenate([key[has_prev], key[has_next]]),
    )
    t_in, t_out = np.ones(p0.size), np.zeros(p0.size)
    t_in[has_prev] = t[: a.size]
    t_out[has_next] = 1.0 - t[a.size :]
    prev, nxt = np.where(has_prev, p0 - 1, p0), np.where(has_next, p1 + 1, p1)

    def interp(
        i: IntArray, j: IntArray, t: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        x = wrap_lon(lon[i] + t * wrap_lon(lon[j] - lon[i]))
        y = lat[i] + t * (lat[j] - lat[i])
        return x, y, ts[i] + t * (ts[j] - ts[i]).astype(np.float64)

    in_x, in_y, in_t = interp(prev, p0, t_in)
    out_x, out_y, out_t = interp(p1, nxt, t_out)
    kind = np.array([KINDS.index(k) for k, _ in keys.keys], np.int64)[key]
    names = np.array([n for _, n in keys.keys], dtype=object)[key]
    return {
        "fix": p0,
        "kind": kind,
        "name": names,
        "start": np.rint(in_t).astype(np.int64),
        "stop": np.rint(out_t).astype(np.int64),
        "latitude": in_y,
        "longitude": in_x,
        "exit_latitude": out_y,
        "exit_longitude": out_x,
        "max_depth_m": py_round(st.depth, 1),
        "over_land": st.over_land,
        "entry_interpolated": has_prev,
        "exit_interpolated": has_next,
        "entry_gap_s": np.where(has_prev, (ts[p0] - ts[prev]).astype(np.float64) / 1e9, np.nan),
        "exit_gap_s": np.where(has_next, (ts[nxt] - ts[p1]).astype(np.float64) / 1e9, np.nan),
        "n_fixes": p1 - p0 + 1,
        "closest_time": np.full(p0.size, None, dtype=object),
    }


def _approaches(
    b: Boundaries,
    focus: str,
    fx: _Fixes,
    entered: IntArray,
    near_km: float,
    max_distance_m: float,
) -> Rows:
    """Flights that never entered ``focus`` but came within ``near_km`` of it."""
    cand = np.flatnonzero(~np.isin(fx.flight, entered))
    if cand.size == 0 or focus not in b.country_codes:
        cand = cand[:0]
    cap = min(near_km * 1000.0 * 1.01 + 1.0, max_distance_m)  # farther fixes do not matter
    d = (
        border_distance(b, "airspace_entry", focus, fx.lon[cand], fx.lat[cand], cap)
        if cand.size
        else np.zeros(0)
    )
    keep = d <= near_km * 1000.0
    near, d = cand[keep], d[keep]
    first = np.flatnonzero(np.diff(fx.flight[near], prepend=-1))
    last = np.append(first[1:], near.size)[: first.size] - 1
    group = np.repeat(np.arange(first.size), last - first + 1)
    low = np.minimum.reduceat(d, first) if first.size else d
    at_min = np.flatnonzero(d == low[group])  # the first closest fix of each flight:
    pos = at_min[np.flatnonzero(np.diff(group[at_min], prepend=-1))]
    best = near[pos]
    n = first.size
    return {
        "fix": near[first],
        "kind": np.full(n, KINDS.index("airspace_approach"), np.int64),
        "name": np.full(n, focus, dtype=object),
        "start": fx.ts[near[first]],
        "stop": fx.ts[near[last]],
        "latitude": fx.lat[best],
        "longitude": fx.lon[best],
        "exit_latitude": np.full(n, np.nan),
        "exit_longitude": np.full(n, np.nan),
        "max_depth_m": py_round(-d[pos], 1),
        "over_land": np.zeros(n, bool),
        "entry_interpolated": np.zeros(n, bool),
        "exit_interpolated": np.zeros(n, bool),
        "entry_gap_s": np.full(n, np.nan),
        "exit_gap_s": np.full(n, np.nan),
        "n_fixes": last - first + 1,
        "closest_time": np.array(  # ISO 8601 UTC to the millisecond, like the CSV exports
            [
                s + "Z"
                for s in np.datetime_as_string(
                    np.asarray(fx.ts[best], np.int64).view("datetime64[ns]"), unit="ms"
                )
            ],
            dtype=object,
        ),
    }
