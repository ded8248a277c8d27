"""The airspace event table and its ``details`` JSON, built a column at a time.

:func:`event_table` turns event rows (numpy columns, see :data:`Rows`) into
the table of :data:`overflight.schema.EVENT_SCHEMA`, sorted by flight and start.

Each value is encoded the way :func:`json.dumps` encodes it (floats by
``float.__repr__``, ``NaN``/``Infinity`` for non-finite ones, strings
ASCII-escaped, ``null``/``true``/``false``), and the objects are joined with
keys in sorted order, so :func:`details_column` gives, row for row, the same
text as ``json.dumps(row, sort_keys=True)``.

Examples
--------
>>> import numpy as np
>>> col = details_column(
...     {
...         "n": json_ints(np.array([3, 4])),
...         "d": json_floats(np.array([1.5, np.nan]), null=np.array([False, True])),
...         "ok": json_bools(np.array([True, False])),
...         "who": json_strings(["a\\u00e9", None]),
...     }
... )
>>> for text in col.to_pylist():
...     print(text)
{"d": 1.5, "n": 3, "ok": true, "who": "a\\u00e9"}
{"d": null, "n": 4, "ok": false, "who": null}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.airspace.grid import BoolArray, FloatArray, IntArray
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
_escape = json.encoder.encode_basestring_ascii


def json_floats(values: FloatArray, null: BoolArray | None = None) -> pa.Array:
    """JSON numbers as ``json.dumps`` writes them (``null`` where ``null`` is True).

    Arrow's float-to-string cast writes the same shortest round-trip digits as
    ``float.__repr__`` (both pick the closest of the shortest strings, and no
    double lies halfway between two of them) and, for a magnitude in
    [1e-4, 1e7), the same layout but for ``.0`` after a whole number; other
    values (NaN, infinities, tiny and huge magnitudes) are written by Python.
    """
    text = pa.array(values, pa.float64()).cast(pa.string())
    size = np.abs(values)
    small = size < 1e7
    whole = small & (values == np.trunc(values))
    if whole.any():
        text = pc.if_else(pa.array(whole), pc.binary_join_element_wise(text, ".0", ""), text)
    other = ~(small & (whole | (size >= 1e-4)))
    if null is not None:
        other &= ~null  # written as null below
    if other.any():
        fixed = [_float_text(v) for v in values[other].tolist()]
        text = pc.replace_with_mask(text, pa.array(other), pa.array(fixed, pa.string()))
    return _null(text, null)


def _float_text(v: float) -> str:
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    return float.__repr__(v)


def _null(text: pa.Array, null: BoolArray | None) -> pa.Array:
    if null is None or not null.any():
        return text
    return pc.if_else(pa.array(null), pa.scalar("null"), text)


def json_ints(values: IntArray) -> pa.Array:
    """JSON integers."""
    return pa.array(values, pa.int64()).cast(pa.string())


def json_bools(values: BoolArray, null: BoolArray | None = None) -> pa.Array:
    """JSON booleans (``null`` where ``null`` is True)."""
    text = pc.if_else(pa.array(values, pa.bool_()), pa.scalar("true"), pa.scalar("false"))
    return _null(text, null)


def json_strings(values: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> pa.Array:
    """JSON strings, ASCII-escaped as :func:`json.dumps` does (None gives ``null``).

    Each distinct string is escaped once (the values are dictionary-encoded).
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    arr = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    enc = arr.dictionary_encode()
    words = pa.array([_escape(v) for v in enc.dictionary.to_pylist()], pa.string())
    return words.take(enc.indices).fill_null("null")


def details_column(fields: Mapping[str, pa.Array]) -> pa.Array:
    """One JSON object per row from encoded values (see above; at least one field), keys sorted."""
    parts: list[str | pa.Array] = []
    for i, name in enumerate(sorted(fields)):
        parts += [("{" if i == 0 else ", ") + _escape(name) + ": ", fields[name]]
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


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
