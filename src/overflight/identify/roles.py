"""The mission an aircraft database names for an aircraft (``db_mission``).

Some aircraft exist for one job, and the curated databases say so:
plane-alert-db files the CAL FIRE Broncos and Trackers under ``Aerial
Firefighter``, air ambulances under ``Flying Doctors`` (tags ``Air Ambo``,
``Medical Evac``), flight-inspection aircraft under tags such as ``Flight
Inspection`` or ``Calibration``, tankers under ``Air2Air`` / ``Refuel``,
survey companies under ``Ptolemy would be proud`` (``Aerial Survey``), and
the Tour de France relay aircraft under ``Television Relay``.  Operator names
say it too (``Swiss Air Ambulance``, ``Flight Calibration Services``,
``USDA Forest Service``).

:func:`db_mission` returns the first mission of :data:`DB_MISSION_RULES`
whose pattern matches the aircraft's category and tags, else the first of
:data:`OPERATOR_MISSION_RULES` that matches its operator's name, else null.
The classify stage takes it as evidence, not as the answer: such an
aircraft also ferries, trains and flies for tests, so it multiplies that
mission's probability by a fixed factor
(:data:`overflight.classify.model.DB_MISSION_FACTOR`) and says so in the
reason.  Surveillance is not here: police, border and ISR entries already
make ``isr_type`` (:mod:`overflight.identify.isr`), and an entry with a
surveillance role names no other mission.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from overflight.identify.allocation import _as_arrow
from overflight.identify.isr import ISR_ROLES, _strings, first_match

#: (mission, case-insensitive pattern over ``category | tags``), first
#: match wins.  Order matters where an entry carries two roles: the relay
#: aircraft is also tagged ``Thermal Survey``, a calibration aircraft sits in
#: the survey category (``Ptolemy would be proud``), a firefighting air
#: force may also fly tankers.  "Air Attack" alone is not enough (it is also
#: a vanity tag).
DB_MISSION_RULES: tuple[tuple[str, str], ...] = (
    ("tv_relay", r"television|\btv relay\b"),
    (
        "firefighting",
        r"aerial firefighter|fire ?fight|fire extinguisher|water ?bomb|super scooper|"
        r"wildfire",
    ),
    ("medical", r"flying doctors|air ambo|ambulance|medevac|medical evac|\bhems\b|air rescue"),
    ("calibration", r"calibration|flight inspection|flight check"),
    ("aerial_refueling", r"refuel|\bair ?2 ?air\b|\btanker\b"),
    ("survey", r"ptolemy would be proud|aerial survey|photogrammetr|\bmapping\b|geophysic"),
)

#: The same for operator names, read only where the category and tags name
#: no mission (an OpenSky database has operators but no tags).  Narrower:
#: a name says less than a curator's tag.  No "tanker" (10 Tanker Air
#: Carrier and Bridger Air Tanker drop retardant; AirTanker flies the RAF's
#: Voyagers), no "television" (a station's news helicopter is no relay).
OPERATOR_MISSION_RULES: tuple[tuple[str, str], ...] = (
    (
        "firefighting",
        r"\bcal ?fire\b|forest service|s[ée]curit[ée] civile|protezione civile|bomberos|"
        r"feuerwehr|vigili del fuoco|fire (?:service|department|dept|brigade|fighting)|"
        r"\bair tanker\b|\baero tanker\b|\btanker air carrier\b",
    ),
    (
        "medical",
        r"ambulance|air rescue|\brega\b|\bsamu\b|medevac|\bhems\b|flying doctor|"
        r"air methods|life ?flight|care ?flight",
    ),
    ("calibration", r"calibration|flight inspection|flight check"),
    ("survey", r"aerial survey|airborne survey|photogrammetr|\bmapping\b|geophysic"),
)


def _lower(text: Any) -> pa.Array:
    return pc.utf8_lower(pc.fill_null(_strings(text), ""))


def _tag_text(tags: Any, n: int) -> pa.Array | None:
    """Each entry's tags joined into one string (null tags skipped), or None
    when ``tags`` is not a list column of ``n`` rows."""
    tl = _as_arrow(tags)
    if not (pa.types.is_list(tl.type) or pa.types.is_large_list(tl.type)) or len(tl) != n:
        return None
    tl = tl.cast(pa.list_(pa.string()))
    filled = pa.ListArray.from_arrays(tl.offsets, pc.fill_null(tl.values, ""), mask=pc.is_null(tl))
    return pc.fill_null(pc.binary_join(filled, " | "), "")


def db_mission(operator: Any, category: Any, tags: Any = None, role: Any = None) -> pa.Array:
    """Mission named by each aircraft's database entry (null where none is).

    The curated category and tags are read first (:data:`DB_MISSION_RULES`);
    the operator's name only where they name no mission
    (:data:`OPERATOR_MISSION_RULES`): a fire department's air ambulance, filed
    under ``Flying Doctors``, is medical.  Where ``role`` (the entry's
    :func:`~overflight.identify.isr.alert_role`) is a surveillance role, no
    mission is named: a sheriff's covert aerial-survey contractor is
    surveillance, which ``isr_type`` already says.

    Examples
    --------
    >>> db_mission(["Cal Fire", "Swiss Air Ambulance AG", "Ecole Aviation Civile", None],
    ...            ["Aerial Firefighter", "Flying Doctors", "Watch Me Fly", None],
    ...            [["Air Attack"], ["Air Ambo"], ["Flying Classroom"], None]).to_pylist()
    ['firefighting', 'medical', None, None]
    >>> db_mission(["Aero Sotravia", "County Fire Department", "10 Tanker Air Carrier"],
    ...            ["Dogs with Jobs", None, None],
    ...            [["Television Relay", "Thermal Survey"], ["Air Ambo"], None]).to_pylist()
    ['tv_relay', 'medical', 'firefighting']
    """
    # nulls become empty strings: with null_handling="skip", pyarrow 26 drops
    # the rows where every part is null instead of returning them
    cat = _lower(category)
    parts = [cat]
    if tags is not None and (joined := _tag_text(tags, len(cat))) is not None:
        parts.append(pc.utf8_lower(joined))
    by_entry = first_match(pc.binary_join_element_wise(*parts, " | "), DB_MISSION_RULES)
    by_operator = first_match(_lower(operator), OPERATOR_MISSION_RULES)
    named = pc.coalesce(by_entry, by_operator)
    if role is not None:
        isr = pc.fill_null(pc.is_in(_strings(role), pa.array(sorted(ISR_ROLES))), False)
        named = pc.if_else(isr, pa.scalar(None, pa.string()), named)
    return named
