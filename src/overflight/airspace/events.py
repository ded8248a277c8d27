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
the two fixes with the exact point classifier (to 1e-9 of the segment).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.airspace.boundaries import Boundaries
from overflight.airspace.classify import coordinates
from overflight.airspace.distance import DEFAULT_MAX_DISTANCE_M, border_distance
from overflight.airspace.grid import BoolArray, FloatArray, IntArray
from overflight.schema import EVENT_FIELDS, EVENT_SCHEMA

#: Columns the airspace stage adds to the event table (to be declared in schema.py).
#: Event columns only airspace entries fill (declared in :mod:`overflight.schema`).
AIRSPACE_EVENT_FIELDS: tuple[pa.Field, ...] = tuple(
    f
    for f in EVENT_FIELDS
    if f.name in {"exit_latitude", "exit_longitude", "max_depth_m", "over_land", "authorization"}
)
AIRSPACE_EVENT_SCHEMA = EVENT_SCHEMA
_BISECT_STEPS = 30


class _Keys:
    """What a stay is in: ("airspace_entry", ISO3) or ("zone_entry", zone name)."""

    def __init__(self, b: Boundaries, focus: str | None) -> None:
        self.b = b
        codes = [focus] if focus else b.country_codes
        zone_names = sorted({b.item_names[i] for i in np.flatnonzero(b.item_kind == 2)})
        self.keys = [("airspace_entry", c) for c in codes] + [("zone_entry", z) for z in zone_names]
        self.index = {k: i for i, k in enumerate(self.keys)}
        self._member = np.zeros((0, len(self.keys)), bool)
        self._land = np.zeros((0, len(self.keys)), bool)

    def matrices(self) -> tuple[BoolArray, BoolArray]:
        """(class x key membership, class x key over land)."""
        info = self.b.info()
        n = len(info.country)
        if self._member.shape[0] != n:
            member = np.zeros((n, len(self.keys)), bool)
            land = np.zeros((n, len(self.keys)), bool)
            for c in range(n):
                for code in info.countries[c]:
                    k = self.index.get(("airspace_entry", code))
                    if k is not None:
                        member[c, k] = True
                        land[c, k] = code in info.land_countries[c]
                for z in info.zones[c]:
                    member[c, self.index[("zone_entry", z)]] = True
            self._member, self._land = member, land
        return self._member, self._land

    def inside(self, lon: FloatArray, lat: FloatArray, key: IntArray) -> BoolArray:
        ids = self.b.classify(lon, lat)
        member, _ = self.matrices()
        return (ids >= 0) & member[np.maximum(ids, 0), key]


def _wrap(lon: FloatArray) -> FloatArray:
    return np.asarray((lon + 180.0) % 360.0 - 180.0, dtype=np.float64)


def _crossing(
    keys: _Keys,
    lon0: FloatArray,
    lat0: FloatArray,
    lon1: FloatArray,
    lat1: FloatArray,
    key: IntArray,
) -> FloatArray:
    """Fraction t along 0 -> 1 (0 outside, 1 inside) where the key's boundary is crossed."""
    dlon = _wrap(lon1 - lon0)
    lo, hi = np.zeros(lon0.size), np.ones(lon0.size)
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        ins = keys.inside(_wrap(lon0 + mid * dlon), lat0 + mid * (lat1 - lat0), key)
        hi = np.where(ins, mid, hi)
        lo = np.where(ins, lo, mid)
    return hi


def _sorted_valid(points: pa.Table) -> tuple[IntArray, IntArray]:
    """Row numbers of valid fixes sorted by (flight, time), and their flight codes."""
    lon, lat = coordinates(points)
    fid = pc.dictionary_encode(points.column("flight_id").combine_chunks())
    codes = fid.indices.to_numpy(zero_copy_only=False)
    codes = np.where(pc.is_valid(fid.indices).to_numpy(zero_copy_only=False), codes, -1)
    ts = points.column("timestamp").cast(pa.int64()).to_numpy(zero_copy_only=False)
    ok = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat) & (codes >= 0))
    order = ok[np.lexsort((ts[ok], codes[ok]))]
    return order, codes[order].astype(np.int64)


def _runs(flight: IntArray, key: IntArray, rank: IntArray) -> tuple[IntArray, IntArray]:
    """First and last position of each run of consecutive ranks with the same flight and key."""
    if flight.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    brk = np.ones(flight.size, bool)
    brk[1:] = (flight[1:] != flight[:-1]) | (key[1:] != key[:-1]) | (rank[1:] != rank[:-1] + 1)
    first = np.flatnonzero(brk)
    return first, np.append(first[1:], flight.size) - 1


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

    Returns
    -------
    pyarrow.Table
        :data:`AIRSPACE_EVENT_SCHEMA`, sorted by flight and start.
    """
    focus = focus.upper() if focus else None
    keys = _Keys(boundaries, focus)
    rows, fixes = _sorted_valid(points)
    lon_all, lat_all = coordinates(points)
    lon, lat = lon_all[rows], lat_all[rows]
    ts = points.column("timestamp").cast(pa.int64()).to_numpy(zero_copy_only=False)[rows]
    first_of_flight = np.flatnonzero(np.diff(fixes, prepend=-1))
    n_of_flight = np.diff(np.append(first_of_flight, fixes.size))
    rank = np.arange(fixes.size) - np.repeat(first_of_flight, n_of_flight)
    nvalid = np.repeat(n_of_flight, n_of_flight)

    ids = boundaries.classify(lon, lat)
    member, land = keys.matrices()
    cls_of_pair, ki = np.nonzero(member)  # CSR of keys per class, class-major
    start = np.searchsorted(cls_of_pair, np.arange(member.shape[0]))
    count = np.where(ids >= 0, np.bincount(cls_of_pair, minlength=member.shape[0])[ids], 0)
    pi = np.repeat(np.arange(ids.size), count)
    ki = ki[
        np.repeat(start[np.maximum(ids, 0)] - (np.cumsum(count) - count), count)
        + np.arange(pi.size)
    ]
    order = np.lexsort((rank[pi], ki, fixes[pi]))
    pi, ki = pi[order], ki[order]
    r0, r1 = _runs(fixes[pi], ki, rank[pi])
    key = ki[r0]
    on_land = land[ids[pi], ki]
    known = None
    if reuse_point_distances and "boundary_distance_m" in points.column_names:
        col = points.column("boundary_distance_m")
        dist = pc.fill_null(col, np.nan).to_numpy(zero_copy_only=False)[rows]
        single = np.array([c[0] if len(c) == 1 else "" for c in boundaries.info().countries])
        code = np.where(ids >= 0, single[np.maximum(ids, 0)], "")
        known = (code, np.asarray(dist, np.float64))
    stays = _stays(
        keys,
        boundaries,
        lon,
        lat,
        ts,
        rank,
        nvalid,
        pi,
        ki,
        r0,
        r1,
        key,
        on_land,
        max_distance_m,
        known,
    )
    if focus is not None:
        k = keys.index.get(("airspace_entry", focus), -1)
        entered = set(fixes[pi[r0][key == k]].tolist())
        stays += _approaches(
            boundaries, focus, lon, lat, ts, fixes, entered, near_km, max_distance_m
        )
    owners = {
        n: (c[0] if c else None)
        for n, c, kd in zip(
            boundaries.item_names, boundaries.item_codes, boundaries.item_kind, strict=True
        )
        if kd == 2
    }
    return _table(points, rows, stays, flights, foreign_only, owners)


def _stays(
    keys: _Keys,
    b: Boundaries,
    lon: FloatArray,
    lat: FloatArray,
    ts: IntArray,
    rank: IntArray,
    nvalid: IntArray,
    pi: IntArray,
    ki: IntArray,
    r0: IntArray,
    r1: IntArray,
    key: IntArray,
    land_of_pair: BoolArray,
    max_distance_m: float,
    known: tuple[npt.NDArray[np.str_], FloatArray] | None = None,
) -> list[dict[str, Any]]:
    """Rows of the stays: runs ``r0[i]..r1[i]`` of (fix ``pi``, key ``ki``) pairs.

    ``known``: per fix, the code of the one country it is in (else "") and its
    distance to that country's border, used for depths instead of measuring.
    """
    p0, p1 = pi[r0], pi[r1]
    has_prev = rank[p0] > 0
    has_next = rank[p1] < nvalid[p1] - 1
    t_in = np.ones(p0.size)
    t_out = np.zeros(p0.size)
    a, c = p0[has_prev], p1[has_next]
    if a.size:
        t_in[has_prev] = _crossing(keys, lon[a - 1], lat[a - 1], lon[a], lat[a], key[has_prev])
    if c.size:
        t_out[has_next] = 1.0 - _crossing(
            keys, lon[c + 1], lat[c + 1], lon[c], lat[c], key[has_next]
        )
    prev, nxt = np.where(has_prev, p0 - 1, p0), np.where(has_next, p1 + 1, p1)

    def interp(
        i: IntArray, j: IntArray, t: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        x = _wrap(lon[i] + t * _wrap(lon[j] - lon[i]))
        y = lat[i] + t * (lat[j] - lat[i])
        return x, y, ts[i] + t * (ts[j] - ts[i]).astype(np.float64)

    in_x, in_y, in_t = interp(prev, p0, t_in)
    out_x, out_y, out_t = interp(p1, nxt, t_out)
    depth = np.full(p0.size, np.nan)
    run_of_pair = np.repeat(np.arange(r0.size), r1 - r0 + 1)
    for k in np.unique(key).tolist():
        sel = np.flatnonzero(key[run_of_pair] == k)
        kind, name = keys.keys[k]
        fix = pi[sel]
        d = np.full(sel.size, np.nan)
        todo = np.ones(sel.size, bool)
        if known is not None and kind == "airspace_entry":
            ok = (known[0][fix] == name) & np.isfinite(known[1][fix])
            d[ok] = np.minimum(np.abs(known[1][fix[ok]]), max_distance_m)
            todo = ~ok
        if todo.any():
            f = fix[todo]
            d[todo] = border_distance(b, kind, name, lon[f], lat[f], max_distance_m)
        np.fmax.at(depth, run_of_pair[sel], d)
    over_land = np.zeros(p0.size, bool)
    np.logical_or.at(over_land, run_of_pair, land_of_pair)
    out = []
    for r in range(p0.size):
        kind, name = keys.keys[int(key[r])]
        out.append(
            {
                "fix": int(p0[r]),
                "kind": kind,
                "name": name,
                "start": round(float(in_t[r])),
                "stop": round(float(out_t[r])),
                "latitude": float(in_y[r]),
                "longitude": float(in_x[r]),
                "exit_latitude": float(out_y[r]),
                "exit_longitude": float(out_x[r]),
                "max_depth_m": None if np.isnan(depth[r]) else round(float(depth[r]), 1),
                "over_land": bool(over_land[r]),
                "zone": ("land" if over_land[r] else "territorial_sea")
                if kind != "zone_entry"
                else None,
                "entry_interpolated": bool(has_prev[r]),
                "exit_interpolated": bool(has_next[r]),
                "entry_gap_s": (float(ts[p0[r]] - ts[prev[r]]) / 1e9) if has_prev[r] else None,
                "exit_gap_s": (float(ts[nxt[r]] - ts[p1[r]]) / 1e9) if has_next[r] else None,
                "n_fixes": int(r1[r] - r0[r] + 1),
            }
        )
    return out


def _approaches(
    b: Boundaries,
    focus: str,
    lon: FloatArray,
    lat: FloatArray,
    ts: IntArray,
    fixes: IntArray,
    entered: set[int],
    near_km: float,
    max_distance_m: float,
) -> list[dict[str, Any]]:
    """Flights that never entered ``focus`` but came within ``near_km`` of it."""
    cand = np.flatnonzero(~np.isin(fixes, list(entered)))
    if cand.size == 0 or focus not in b.country_codes:
        return []
    cap = min(near_km * 1000.0 * 1.01 + 1.0, max_distance_m)  # farther fixes do not matter
    d = border_distance(b, "airspace_entry", focus, lon[cand], lat[cand], cap)
    near = cand[d <= near_km * 1000.0]
    dist = np.full(lon.size, np.inf)
    dist[cand] = d
    out = []
    for f in np.unique(fixes[near]).tolist():
        sel = near[fixes[near] == f]
        best = sel[np.argmin(dist[sel])]
        out.append(
            {
                "fix": int(sel[0]),
                "kind": "airspace_approach",
                "name": focus,
                "start": int(ts[sel[0]]),
                "stop": int(ts[sel[-1]]),
                "latitude": float(lat[best]),
                "longitude": float(lon[best]),
                "exit_latitude": None,
                "exit_longitude": None,
                "max_depth_m": round(-float(dist[best]), 1),
                "over_land": False,
                "closest_time": str(np.datetime64(int(ts[best]), "ns")) + "Z",
                "n_fixes": int(sel.size),
            }
        )
    return out


def _registry(flights: pa.Table | None) -> dict[str, str]:
    if flights is None or "registry_country" not in flights.column_names:
        return {}
    ids = flights.column("flight_id").to_pylist()
    reg = flights.column("registry_country").to_pylist()
    return {f: str(r).upper() for f, r in zip(ids, reg, strict=True) if f is not None and r}


def _table(
    points: pa.Table,
    rows: IntArray,
    stays: list[dict[str, Any]],
    flights: pa.Table | None,
    foreign_only: bool,
    zone_owner: dict[str, str | None],
) -> pa.Table:
    registry = _registry(flights)
    fid = points.column("flight_id").take(pa.array(rows)).to_pylist()
    icao = points.column("icao24").take(pa.array(rows)).to_pylist()
    callsign: list[Any] = (
        points.column("callsign").take(pa.array(rows)).to_pylist()
        if "callsign" in points.column_names
        else [None] * rows.size
    )
    out: dict[str, list[Any]] = {f.name: [] for f in AIRSPACE_EVENT_SCHEMA}
    for s in sorted(stays, key=lambda s: (str(fid[s["fix"]]), s["start"])):
        flight = fid[s["fix"]]
        country = s["name"] if s["kind"] != "zone_entry" else zone_owner.get(s["name"])
        reg = registry.get(flight)
        foreign = None if reg is None or country is None else reg != country
        if foreign_only and foreign is False:
            continue
        details = {k: v for k, v in s.items() if k not in ("fix", "kind", "start", "stop")}
        details.update(callsign=callsign[s["fix"]], registry_country=reg, foreign=foreign)
        out["flight_id"].append(flight)
        out["icao24"].append(icao[s["fix"]])
        out["kind"].append(s["kind"])
        out["start"].append(s["start"])
        out["stop"].append(s["stop"])
        out["latitude"].append(s["latitude"])
        out["longitude"].append(s["longitude"])
        out["duration_s"].append((s["stop"] - s["start"]) / 1e9)
        out["country"].append(country)
        out["details"].append(json.dumps(details, sort_keys=True))
        for name in ("exit_latitude", "exit_longitude", "max_depth_m", "over_land"):
            out[name].append(s[name])
        out["authorization"].append(None)
    return pa.table(
        out, schema=pa.schema([pa.field(f.name, f.type) for f in AIRSPACE_EVENT_SCHEMA])
    )
