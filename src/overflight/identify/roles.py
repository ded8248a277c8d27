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
whose pattern matches the aircraft's category and tags, else its operator's
name, or null.  The classify stage takes it as evidence, not as
the answer: such an aircraft also ferries, trains and flies for tests, so it
multiplies that mission's probability by a fixed factor
(:data:`overflight.classify.model.DB_MISSION_FACTOR`) and says so in the
reason.  Surveillance is not here: police, border and ISR entries already
make ``isr_type`` (:mod:`overflight.identify.isr`).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from overflight.identify.allocation import _as_arrow
from overflight.identify.isr import _strings

#: (mission, case-insensitive pattern over ``category | tags``, then over
#: the operator's name), first match wins.  Order matters where an entry carries two roles: the
#: relay aircraft is also tagged ``Thermal Survey``, a calibration aircraft
#: sits in the survey category (``Ptolemy would be proud``), a firefighting
#: air force may also fly tankers.  "Air Attack" alone is not enough (it is
#: also a vanity tag), nor is "tanker" for firefighting (the RAF's Voyagers
#: belong to an operator called AirTanker).
DB_MISSION_RULES: tuple[tuple[str, str], ...] = (
    ("tv_relay", r"television|\btv relay\b"),
    (
        "firefighting",
        r"aerial firefighter|fire ?fight|fire extinguisher|water ?bomb|super scooper|"
        r"wildfire|\bcal ?fire\b|forest service|s[ée]curit[ée] civile|protezione civile|"
        r"bomberos|feuerwehr|vigili del fuoco|fire (?:service|department|dept|brigade)",
    ),
    (
        "medical",
        r"flying doctors|air ambo|ambulance|medevac|medical evac|\bhems\b|air rescue|"
        r"\brega\b|\bsamu\b",
    ),
    ("calibration", r"calibration|flight inspection|flight check"),
    ("aerial_refueling", r"refuel|\bair ?2 ?air\b|\btanker\b"),
    ("survey", r"ptolemy would be proud|aerial survey|photogrammetr|\bmapping\b|geophysic"),
)


def _first_rule(text: pa.Array) -> pa.Array:
    low = pc.utf8_lower(text)
    out = pa.nulls(len(low), pa.string())
    for mission, pattern in reversed(DB_MISSION_RULES):
        hit = pc.fill_null(pc.match_substring_regex(low, pattern), False)
        out = pc.if_else(hit, pa.scalar(mission), out)
    return out


def db_mission(operator: Any, category: Any, tags: Any = None) -> pa.Array:
    """Mission named by each aircraft's database entry (null where none is).

    The curated category and tags are read first; the operator's name only
    where they name no mission (a fire department's air ambulance, filed
    under ``Flying Doctors``, is medical).

    Examples
    --------
    >>> db_mission(["Cal Fire", "Swiss Air Ambulance AG", "Ecole Aviation Civile", None],
    ...            ["Aerial Firefighter", "Flying Doctors", "Watch Me Fly", None],
    ...            [["Air Attack"], ["Air Ambo"], ["Flying Classroom"], None]).to_pylist()
    ['firefighting', 'medical', None, None]
    >>> db_mission(["Aero Sotravia", "County Fire Department"], ["Dogs with Jobs", None],
    ...            [["Television Relay", "Thermal Survey"], ["Air Ambo"]]).to_pylist()
    ['tv_relay', 'medical']
    """
    # nulls become empty strings: with null_handling="skip", pyarrow 26 drops
    # the rows where every part is null instead of returning them
    curated = [pc.fill_null(_strings(category), "")]
    if tags is not None:
        tl = _as_arrow(tags)
        if pa.types.is_list(tl.type) or pa.types.is_large_list(tl.type):
            curated.append(pc.fill_null(pc.binary_join(tl.cast(pa.list_(pa.string())), " | "), ""))
    by_entry = _first_rule(pc.binary_join_element_wise(*curated, " | "))
    by_operator = _first_rule(pc.fill_null(_strings(operator), ""))
    return pc.coalesce(by_entry, by_operator)
