"""The airspace event table and its ``details`` JSON, built a column at a time.

:func:`event_table` turns event rows (numpy columns, see :data:`Rows`) into
the table of :data:`overflight.schema.EVENT_SCHEMA`, sorted by flight and start.
The ``details`` of each row are encoded a key at a time by
:mod:`overflight.jsontext`, so that each is ``json.dumps(details, sort_keys=True)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.airspace.grid import BoolArray, IntArray
from overflight.jsontext import details_column, json_bools, json_floats, json_ints, json_strings
from overflight.schema import EVENT_SCHEMA

KINDS = ("airspace_entry", "zone_entry", "airspace_approach")
#: Event rows as numpy columns, one entry per event: ``row`` (points row of its
#: first fix), ``flight`` (index in the flight names), ``kind`` (index in
#: :data:`KINDS`), ``name`` (country or zone), ``start``/``stop`` (ns),
#: ``latitude``, ``longitude``, ``exit_latitude``, ``exit_longitude``,
#: ``max_depth_m`` (NaN for none), ``over_land``, ``entry_interpolated``,
#: ``exit_interpolated``, ``entry_gap_s``, ``exit_gap_s``, ``n_fixes`` and
#: ``closest_time`` (approaches only).
Rows = dict[str, npt.NDArray[Any]]
_APPROACH = KINDS.index("airspace_approach")


def event_table(
    rows: Rows,
    points: pa.Table,
    flight_names: pa.Array,
    flights: pa.Table | None,
    *,
    foreign_only: bool,
    zone_owner: dict[str, str | None],
) -> pa.Table:
    """The events of ``rows`` sorted by flight id and start, with their details.

    ``flights`` gives each flight's ``registry_country`` (the details'
    ``foreign``); with ``foreign_only`` rows known not to be foreign are
    dropped.  A zone's country is its ``zone_owner``.
    """
    names = flight_names.to_pylist()
    rank = np.empty(len(names), np.int64)
    rank[pc.sort_indices(flight_names).to_numpy()] = np.arange(len(names))
    order = np.lexsort((rows["start"], rank[rows["flight"]]))
    registry = _registry(flights)
    reg = np.array([registry.get(f) for f in names], dtype=object)[rows["flight"][order]]
    country = rows["name"][order].copy()
    zone = rows["kind"][order] == KINDS.index("zone_entry")
    country[zone] = [zone_owner.get(z) for z in country[zone]]
    none = np.array(None, dtype=object)
    known = np.not_equal(reg, none) & np.not_equal(country, none)
    foreign = known & (reg != country)
    if foreign_only:
        keep = ~known | foreign
        order, reg, country, known, foreign = (
            v[keep] for v in (order, reg, country, known, foreign)
        )
    r = {c: v[order] for c, v in rows.items()}
    src = pa.array(r["row"], pa.int64())
    callsign = (
        points.column("callsign").take(src).combine_chunks()
        if "callsign" in points.column_names
        else pa.nulls(order.size, pa.string())
    )
    approach = r["kind"] == _APPROACH
    start, stop = r["start"], r["stop"]
    columns = {
        "flight_id": flight_names.take(pa.array(r["flight"], pa.int64())),
        "icao24": points.column("icao24").take(src),
        "kind": pa.array(np.array(KINDS, dtype=object)[r["kind"]], pa.string()),
        "start": pa.array(start, pa.int64()),
        "stop": pa.array(stop, pa.int64()),
        "latitude": pa.array(r["latitude"]),
        "longitude": pa.array(r["longitude"]),
        "duration_s": pa.array((stop - start).astype(np.float64) / 1e9),
        "country": pa.array(country, pa.string()),
        "details": _details(r, callsign, reg.tolist(), foreign, known),
        "exit_latitude": pa.array(r["exit_latitude"], mask=approach),
        "exit_longitude": pa.array(r["exit_longitude"], mask=approach),
        "max_depth_m": pa.array(r["max_depth_m"], from_pandas=True),
        "over_land": pa.array(r["over_land"], pa.bool_()),
        "authorization": pa.nulls(order.size, pa.string()),
    }
    schema = pa.schema([pa.field(f.name, f.type) for f in EVENT_SCHEMA])
    arrays = [_one_chunk(columns[f.name]).cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _registry(flights: pa.Table | None) -> dict[str, str]:
    if flights is None or "registry_country" not in flights.column_names:
        return {}
    ids = flights.column("flight_id").to_pylist()
    reg = flights.column("registry_country").to_pylist()
    return {f: str(r).upper() for f, r in zip(ids, reg, strict=True) if f is not None and r}


def _one_chunk(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _details(
    r: Rows, callsign: pa.Array, reg: list[str | None], foreign: BoolArray, known: BoolArray
) -> pa.Array:
    """The details JSON of each row (stays and approaches have different fields)."""
    approach = r["kind"] == _APPROACH
    out: list[pa.Array] = []
    at: list[IntArray] = []
    for group in (False, True):
        sel = np.flatnonzero(approach == group)
        g = {c: v[sel] for c, v in r.items()}
        f = {
            "name": json_strings(g["name"].tolist()),
            "latitude": json_floats(g["latitude"]),
            "longitude": json_floats(g["longitude"]),
            "exit_latitude": json_floats(g["exit_latitude"], null=approach[sel]),
            "exit_longitude": json_floats(g["exit_longitude"], null=approach[sel]),
            "max_depth_m": json_floats(g["max_depth_m"], null=np.isnan(g["max_depth_m"])),
            "over_land": json_bools(g["over_land"]),
            "n_fixes": json_ints(g["n_fixes"]),
            "callsign": json_strings(callsign.take(pa.array(sel))),
            "registry_country": json_strings([reg[i] for i in sel.tolist()]),
            "foreign": json_bools(foreign[sel], null=~known[sel]),
        }
        if group:
            f["closest_time"] = json_strings(g["closest_time"].tolist())
        else:
            zone = np.where(g["over_land"], "land", "territorial_sea").astype(object)
            zone[g["kind"] == KINDS.index("zone_entry")] = None
            f["zone"] = json_strings(zone.tolist())
            for side in ("entry", "exit"):
                interpolated = g[f"{side}_interpolated"]
                f[f"{side}_interpolated"] = json_bools(interpolated)
                f[f"{side}_gap_s"] = json_floats(g[f"{side}_gap_s"], null=~interpolated)
        out.append(details_column(f))
        at.append(sel)
    position = np.empty(approach.size, np.int64)
    position[np.concatenate(at)] = np.arange(approach.size)
    return pa.concat_arrays(out).take(pa.array(position))
