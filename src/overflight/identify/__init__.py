"""identify: who is this aircraft.

:func:`identify_flights` adds to each flight the state of registry (from the
ICAO address block), a military flag, registration, ICAO type designator and
operator (from optional aircraft databases), whether the type is an ISR or
surveillance platform, whether the flight kept a drone-like envelope, whether
the registration (from a database or the callsign) is a glider's, the
mission the database names for the aircraft (``db_mission``), and
``identity_reason``: the evidence behind those columns, in words.

Modules: :mod:`~overflight.identify.allocation` (address to State),
:mod:`~overflight.identify.military` (military blocks and callsigns),
:mod:`~overflight.identify.databases` and
:mod:`~overflight.identify.db_readers` (aircraft databases),
:mod:`~overflight.identify.isr` (ISR types, operator classes, plane-alert
hints), :mod:`~overflight.identify.roles` (missions named by a database),
:mod:`~overflight.identify.squawk` (Mode A code labels),
:mod:`~overflight.identify.registration` (glider registrations),
:mod:`~overflight.identify.envelope` and
:mod:`~overflight.identify.envelope_stats` (drone-like envelope, its compiled
per-flight pass), :mod:`~overflight.identify.flight_squawks` (labels per
flight), :mod:`~overflight.identify.flightcodes` (flight numbering shared by
both, and by the pattern stage).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overflight.identify.allocation import registry_country, registry_lookup
from overflight.identify.databases import DB_SCHEMA, load_aircraft_db, lookup_aircraft
from overflight.identify.envelope import EnvelopeThresholds, flight_envelope
from overflight.identify.flight_squawks import flight_squawks
from overflight.identify.flightcodes import flight_codes
from overflight.identify.isr import (
    ISR_ROLES,
    alert_role,
    isr_type_match,
    operator_class,
)
from overflight.identify.military import MILITARY_CALLSIGNS, military_block, military_callsign
from overflight.identify.registration import glider_mark
from overflight.identify.roles import db_mission
from overflight.identify.squawk import STATE_SQUAWK_LABELS, squawk_label
from overflight.schema import FLIGHT_EXTRA_FIELDS

__all__ = [
    "IDENTITY_FIELDS",
    "EnvelopeThresholds",
    "flight_envelope",
    "identify_flights",
    "load_aircraft_db",
    "lookup_aircraft",
    "military_block",
    "military_callsign",
    "registry_country",
    "registry_lookup",
    "squawk_label",
]

#: Columns :func:`identify_flights` adds, as declared in :mod:`overflight.schema`.
IDENTITY_FIELDS: tuple[pa.Field, ...] = tuple(
    f
    for f in FLIGHT_EXTRA_FIELDS
    if f.name not in ("mission", "mission_confidence", "mission_reason")
)

_NULL_STR = pa.scalar(None, pa.string())

# plane-alert roles that stand for an operator class when the database has none
_ROLE_CLASS = {
    "police": "police",
    "border_patrol": "border",
    "coast_guard": "border",
    "government": "government",
}


def _str(x: pa.Array | pa.ChunkedArray) -> pa.Array:
    arr = x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x
    return arr.cast(pa.string())


def _text(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation; null when any part is null."""
    return pc.binary_join_element_wise(*parts, "", null_handling="emit_null")


def _opt(*parts: pa.Array | str) -> pa.Array:
    """Like :func:`_text`, but an empty string where a part is null."""
    return pc.coalesce(_text(*parts), pa.scalar(""))


def _has_label(lists: pa.Array, labels: frozenset[str]) -> np.ndarray:  # type: ignore[type-arg]
    n = len(lists)
    flat = pc.list_flatten(lists)
    parent = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    hit = pc.is_in(flat, pa.array(sorted(labels), pa.string())).to_numpy(zero_copy_only=False)
    out = np.zeros(n, dtype=bool)
    np.logical_or.at(out, parent[hit], True)
    return out


def identify_flights(
    flights: pa.Table,
    points: pa.Table | None = None,
    aircraft_db: pa.Table | None = None,
    thresholds: EnvelopeThresholds | None = None,
) -> pa.Table:
    """Add the identity columns (:data:`IDENTITY_FIELDS`) to a flights table.

    Parameters
    ----------
    flights
        One row per flight with at least ``flight_id`` and ``icao24``;
        ``callsign`` is used when present.
    points
        The points table of these flights (``flight_id``, ``timestamp``,
        ``altitude``, ``groundspeed``, ``vertical_rate``, ``squawk``,
        ``valid``), for the squawk labels and the drone-like envelope.
    aircraft_db
        A table from :func:`~overflight.identify.databases.load_aircraft_db`.
    thresholds
        Envelope thresholds (:class:`EnvelopeThresholds`).

    Returns
    -------
    pyarrow.Table
        ``flights`` with the identity columns added (replaced if present).
        ``military`` is True when the address lies in a military block, a
        database flags the aircraft or its operator as military, or the
        callsign has a military prefix; False otherwise.  ``isr_type`` is
        True when the ICAO type is a listed ISR platform and the type's
        operator condition holds, when plane-alert-db tags or category name
        a surveillance role, or when the callsign is an ISR callsign.

    Examples
    --------
    >>> import pyarrow as pa
    >>> f = pa.table({"flight_id": ["a"], "icao24": ["ae0455"], "callsign": ["FORTE11"]})
    >>> out = identify_flights(f)
    >>> out.select(["registry_country", "military", "isr_type"]).to_pylist()
    [{'registry_country': 'USA', 'military': True, 'isr_type': True}]
    >>> out["identity_reason"][0].as_py()
    'registry USA; military address block; callsign FORTE: USAF RQ-4 Global Hawk'
    """
    n = flights.num_rows
    icao = flights["icao24"]
    flight_ids = _str(flights["flight_id"])
    reg = registry_lookup(icao)
    iso3 = reg["iso3"].combine_chunks()
    mil_block = military_block(icao)

    db = aircraft_db if aircraft_db is not None else DB_SCHEMA.empty_table()
    ac = lookup_aircraft(db, icao)

    def existing(name: str) -> pa.Array:
        if name in flights.column_names:
            return _str(flights[name])
        return pa.nulls(n, pa.string())

    registration = pc.coalesce(_str(ac["registration"]), existing("registration"))
    typecode = pc.coalesce(_str(ac["typecode"]), existing("typecode"))
    operator = pc.coalesce(_str(ac["operator"]), existing("operator"))

    callsign = existing("callsign")
    glider, glider_why = glider_mark(registration, callsign)
    cs_prefix = military_callsign(callsign)
    rules = {r.prefix: r for r in MILITARY_CALLSIGNS}
    prefixes = pa.array(list(rules))
    cs_idx = pc.index_in(cs_prefix, prefixes)
    cs_isr = pc.fill_null(pa.array([r.isr for r in rules.values()]).take(cs_idx), False)
    cs_name = pa.array([r.operator for r in rules.values()]).take(cs_idx)

    role = alert_role(ac["category"], ac["tags"].combine_chunks())
    named = db_mission(operator, ac["category"], ac["tags"].combine_chunks(), role)
    op_cls = pc.coalesce(
        _str(ac["operator_class"]),
        operator_class(operator),
        pa.array([*_ROLE_CLASS.values(), None], pa.string()).take(
            pc.fill_null(pc.index_in(role, pa.array(list(_ROLE_CLASS))), len(_ROLE_CLASS))
        ),
    )
    db_mil = pc.fill_null(ac["military"].combine_chunks(), False)
    military = pc.or_(
        pc.or_(db_mil, pa.array(mil_block)),
        pc.or_(pc.is_valid(cs_prefix), pc.fill_null(pc.equal(op_cls, "military"), False)),
    )

    if points is not None and points.num_rows:
        codes = flight_codes(points)
        label_lists, squawk_text = flight_squawks(points, flight_ids, codes)
        env = flight_envelope(points, thresholds, codes)
        env_rows = env.take(pc.index_in(flight_ids, env["flight_id"]))
    else:
        label_lists = pa.array([[]] * n, pa.list_(pa.string()))
        squawk_text = pa.nulls(n, pa.string())
        env_rows = None
    state_squawk = pa.array(_has_label(label_lists, STATE_SQUAWK_LABELS))
    # a law-enforcement squawk stands for a police operator when nothing else is known
    cls_for_type = pc.if_else(
        pc.and_(pc.is_null(op_cls), state_squawk), pa.scalar("police"), op_cls
    )
    curated = pc.fill_null(pc.match_substring(_str(ac["db_source"]), "plane_alert"), False)
    type_ok, platform = isr_type_match(typecode, cls_for_type, military, curated, role)
    role_isr = pc.fill_null(pc.is_in(role, pa.array(sorted(ISR_ROLES))), False)
    isr = pc.or_(pc.or_(pa.array(type_ok), role_isr), cs_isr)

    if env_rows is not None:
        drone = pc.fill_null(env_rows["drone_envelope"], False)
        env_text = _text(
            "drone-like envelope (",
            env_rows["envelope"],
            "): ",
            pc.cast(pc.round(env_rows["duration_h"], 1), pa.string()),
            " h, median ",
            pc.cast(pc.cast(pc.round(env_rows["median_altitude_ft"], -2), pa.int64()), pa.string()),
            " ft, ",
            pc.cast(pc.cast(pc.round(env_rows["median_groundspeed_kt"]), pa.int64()), pa.string()),
            " kt",
        )
    else:
        drone = pa.array(np.zeros(n, dtype=bool))
        env_text = pa.nulls(n, pa.string())

    kind = reg["kind"].combine_chunks()
    registry_text = pc.case_when(
        pc.make_struct(pc.is_valid(iso3), pc.equal(kind, "icao_temporary"), pc.is_valid(kind)),
        _text("registry ", iso3),
        "ICAO temporary address",
        _text("ICAO block: ", reg["state"].combine_chunks()),
    )
    registry_text = pc.coalesce(registry_text, pa.scalar("address in no allocated block"))
    parts = [
        registry_text,
        pc.if_else(pa.array(mil_block), "military address block", _NULL_STR),
        pc.if_else(db_mil, _text("database: military (", _str(ac["db_source"]), ")"), _NULL_STR),
        _text("operator ", operator, _opt(" (", op_cls, ")")),
        _text("plane-alert: ", _str(ac["category"]), _opt(" (", role, ")")),
        _text("database mission: ", named),
        _text("callsign ", cs_prefix, ": ", cs_name),
        _text("glider registration ", glider_why),
        pc.if_else(
            pa.array(type_ok),
            _text("ISR type ", typecode, ": ", platform),
            _text(
                "type ",
                typecode,
                " can be ",
                platform,
                pc.if_else(
                    curated,
                    " but plane-alert-db gives no surveillance role",
                    " but the operator is not a state operator",
                ),
            ),
        ),
        squawk_text,
        env_text,
    ]
    # registry_text is never null: pyarrow 26 drops rows whose parts are all
    # null under null_handling="skip" (the table would lose flights)
    reason = pc.binary_join_element_wise(*parts, "; ", null_handling="skip")

    out = {
        "registry_country": iso3,
        "military": military,
        "registration": registration,
        "typecode": typecode,
        "operator": operator,
        "isr_type": isr,
        "drone_envelope": drone,
        "glider_registration": pa.array(glider),
        "db_mission": named,
        "identity_reason": reason,
    }
    table = flights
    for field in IDENTITY_FIELDS:
        col = pc.cast(out[field.name], field.type)
        if field.name in table.column_names:
            table = table.set_column(table.column_names.index(field.name), field, col)
        else:
            table = table.append_column(field, col)
    return table
