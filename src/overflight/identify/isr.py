"""ISR and surveillance platforms: by type designator, operator and database tags.

``data/isr_types.csv`` lists ICAO type designators (ICAO Doc 8643) of
intelligence, surveillance and reconnaissance platforms with the platform
name, its role and what else must hold for an aircraft of that type to count
(``requires``):

``none``
    The type exists only as a surveillance platform (MQ-9 ``Q9``, RQ-4
    ``Q4``, RC-135 ``R135``, E-3 ``E3TF``/``E3CF``, P-8 ``P8`` ...).
``state``
    Special-mission variants of types that are mostly civil (King Air 350
    ``B350`` for the MC-12W, PC-12 for the U-28A, Global Express for the
    Sentinel R1, Dash 8 / ATR 72 / CN-235 maritime patrol ...): only when the
    operator is military, government or police.
``police_gov``
    Helicopters (``AS50``, ``EC35``, ``EC45``, ``B407``, ``H60`` ...) flown by
    police, border, customs or coast-guard units: only when the operator is
    police or government, not plain military (army trainers would match).

The operator class comes from the aircraft database (plane-alert-db's CMPG
column, tar1090-db's military flag) and, failing that, from the operator's
name (:func:`operator_class`).  plane-alert-db's ``Category`` and tags give a
second, independent hint (:func:`alert_role`).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from overflight.identify.allocation import _as_arrow

BoolArray = npt.NDArray[np.bool_]

#: Operator classes that make a ``state`` type count.
STATE_CLASSES = ("military", "government", "police", "border")
#: Operator classes that make a ``police_gov`` type count.
POLICE_GOV_CLASSES = ("government", "police", "border")

#: Roles from plane-alert-db hints, most specific first.
ROLES: tuple[str, ...] = (
    "isr",
    "aew",
    "maritime_patrol",
    "uav",
    "border_patrol",
    "police",
    "coast_guard",
    "special_forces",
    "aerial_survey",
    "contractor",
    "government",
    "auxiliary",
)
#: Roles that make :func:`alert_role` evidence of an ISR platform.
ISR_ROLES = frozenset({"isr", "aew", "maritime_patrol", "uav", "border_patrol"})
#: Curated roles under which a ``state`` or ``police_gov`` type counts.
CURATED_OK_ROLES = ISR_ROLES | {"police", "coast_guard"}
#: Roles that are evidence of a police or government operator.
STATE_ROLES = frozenset({"border_patrol", "police", "coast_guard", "government"})

#: plane-alert-db ``Category`` values (plane-alert-categories.csv) with a role.
CATEGORY_ROLES: dict[str, str] = {
    "Oxcart": "isr",  # the list's spy-plane category (A-50, Tu-214R, RC-135 ...)
    "UAV": "uav",
    "Police Forces": "police",
    "UK National Police Air Service": "police",
    "Coastguard": "coast_guard",
    "Special Forces": "special_forces",
    "Ptolemy would be proud": "aerial_survey",  # survey and mapping companies
    "Hired Gun": "contractor",  # private contractors to armed forces
    "Governments": "government",
    "Dictator Alert": "government",
    "Head of State": "government",
    "Quango": "government",
    "Nuclear": "government",
    "CAP": "auxiliary",  # Civil Air Patrol, USAF auxiliary
}

#: plane-alert-db tags (case-insensitive) with a role.
TAG_ROLES: dict[str, str] = {
    **dict.fromkeys(
        (
            "surveillance",
            "eye in the sky",
            "spyplane",
            "isr",
            "sigint",
            "elint",
            "comint",
            "reconnaissance",
            "photo recon",
            "electronic combat reconnaissance",
            "rivet joint",
            "alliance ground surveillance",
            "covert",
            "c5isr",
            "c6isr",
            "surveillance radar",
        ),
        "isr",
    ),
    **dict.fromkeys(("aew", "awacs", "airborne early warning", "hawkeye"), "aew"),
    **dict.fromkeys(
        ("maritime patrol", "marine patrol", "asw", "sub hunter", "anti-submarine warfare"),
        "maritime_patrol",
    ),
    **dict.fromkeys(("uav", "drone"), "uav"),
    **dict.fromkeys(("border patrol", "customs"), "border_patrol"),
    **dict.fromkeys(
        (
            "police squad",
            "copper chopper",
            "the cops",
            "the police",
            "highway patrol",
            "flying copper",
        ),
        "police",
    ),
    "coastguard": "coast_guard",
    **dict.fromkeys(("aerial survey", "thermal survey"), "aerial_survey"),
}

# operator names: first matching class wins, in this order
_OPERATOR_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "police",
        r"(?i)polic|polizei|politi|poliisi|sheriff|constabulary|gendarmer|carabinieri|"
        r"guardia civil|highway patrol|state patrol|law enforcement|\bfbi\b|federal bureau|"
        r"drug enforcement|\bdea\b|marshals service",
    ),
    (
        "border",
        r"(?i)border|customs|homeland security|coast ?guard|immigration|frontex|"
        r"garde[- ]c[oô]te|guardia costiera|k[uü]stenwache",
    ),
    (
        "military",
        r"(?i)air force|\barmy\b|\bnavy\b|naval|marine corps|national guard|military|"
        r"armed forces|defen[cs]e force|luftwaffe|bundeswehr|fuerza a[eé]rea|"
        r"aeronautica militare|\busaf\b|\busmc\b|\busn\b",
    ),
    (
        "government",
        r"(?i)government|ministry|minist[eè]r|department of|\bstate of\b|county of|"
        r"city of|public safety|\bnasa\b|\bnoaa\b",
    ),
)


@lru_cache(maxsize=1)
def isr_types() -> pa.Table:
    """The table in ``data/isr_types.csv``: typecode, platform, role, requires, note."""
    ref = resources.files("overflight.identify").joinpath("data/isr_types.csv")
    cols = ("typecode", "platform", "role", "requires", "note")
    with ref.open("rb") as fh:
        return pacsv.read_csv(
            fh,
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(cols, pa.string()),
                strings_can_be_null=True,
                null_values=[""],
            ),
        )


def _strings(values: Any) -> pa.Array:
    arr = _as_arrow(values)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return pa.nulls(len(arr), pa.string())
    return arr.cast(pa.string())


def operator_class(operator: Any) -> pa.Array:
    """Class of each operator name: police, border, military, government, or null.

    Examples
    --------
    >>> operator_class(["Department of Homeland Security", "Royal Air Force",
    ...                 "Ohio Department of Public Safety", "Civil Air Patrol", None]).to_pylist()
    ['border', 'military', 'government', None, None]
    """
    return first_match(_strings(operator), _OPERATOR_PATTERNS)


def first_match(text: pa.Array, rules: tuple[tuple[str, str], ...]) -> pa.Array:
    """The name of the first ``(name, regex)`` rule that matches each string, or null.

    Examples
    --------
    >>> first_match(pa.array(["b a", "c", None]), (("x", "a"), ("y", "b"))).to_pylist()
    ['x', None, None]
    """
    out = pa.nulls(len(text), pa.string())
    for name, pattern in reversed(rules):
        hit = pc.fill_null(pc.match_substring_regex(text, pattern), False)
        out = pc.if_else(hit, pa.scalar(name), out)
    return out


def _role_rank(keys: pa.Array, table: dict[str, str]) -> npt.NDArray[np.int64]:
    """Rank in :data:`ROLES` of each key's role; len(ROLES) when none."""
    names = pa.array(list(table))
    ranks = np.array([ROLES.index(r) for r in table.values()] + [len(ROLES)], dtype=np.int64)
    idx = pc.fill_null(pc.index_in(keys, names), len(table)).to_numpy(zero_copy_only=False)
    return np.asarray(ranks[idx], dtype=np.int64)


def alert_role(category: Any, tags: Any = None) -> pa.Array:
    """Most specific :data:`ROLES` entry from plane-alert-db category and tags.

    Examples
    --------
    >>> alert_role(["Police Forces", "USAF", "UAV"],
    ...            [["Police Squad", "Surveillance"], ["Rivet Joint"], None]).to_pylist()
    ['isr', 'isr', 'uav']
    """
    cat = _strings(category)
    n = len(cat)
    best = _role_rank(cat, CATEGORY_ROLES)
    if tags is not None:
        tl = _as_arrow(tags)
        if pa.types.is_list(tl.type) and len(tl) == n and n:
            flat = pc.utf8_lower(pc.list_flatten(tl).cast(pa.string()))
            parent = pc.list_parent_indices(tl).to_numpy(zero_copy_only=False)
            np.minimum.at(best, parent, _role_rank(flat, TAG_ROLES))
    roles = pa.array([*ROLES, None], type=pa.string())
    return roles.take(pa.array(best))


def isr_type_match(
    typecode: Any,
    op_class: Any,
    military: Any = None,
    curated: Any = None,
    role: Any = None,
) -> tuple[BoolArray, pa.Array]:
    """Whether each aircraft is a listed ISR type under the type's condition.

    Parameters
    ----------
    typecode
        ICAO type designators.
    op_class
        Operator classes (military, government, police, border, civil or null).
    military
        Optional military flags; True counts as class ``military``.
    curated, role
        Optional: whether a hand-curated entry (plane-alert-db) exists for the
        aircraft, and its :func:`alert_role`.  Where one exists, a ``state``
        or ``police_gov`` type counts only when the curated role is a
        surveillance or police role (:data:`CURATED_OK_ROLES`): the curated
        tags tell the VIP Global Express, the calibration King Air and the
        air-ambulance helicopter from their ISR and police namesakes.

    Returns
    -------
    (numpy bool array, pyarrow string array)
        The flag and the platform name of the listed type (null when the
        type is not listed, even when the condition fails).

    Examples
    --------
    >>> ok, name = isr_type_match(["Q9", "B350", "B350", "AS50", "AS50"],
    ...                           [None, "civil", "military", "police", "military"])
    >>> ok.tolist()
    [True, False, True, True, False]
    >>> isr_type_match(["BE20", "BE20"], ["government"] * 2, curated=[True, True],
    ...                role=[None, "isr"])[0].tolist()
    [False, True]
    """
    tc = pc.utf8_upper(pc.utf8_trim_whitespace(_strings(typecode)))
    cls = _strings(op_class)
    n = len(tc)
    tbl = isr_types()
    idx = pc.index_in(tc, tbl["typecode"])
    requires = tbl["requires"].take(idx)
    platform = tbl["platform"].take(idx).combine_chunks()
    state = pc.fill_null(pc.is_in(cls, pa.array(STATE_CLASSES)), False)
    police_gov = pc.fill_null(pc.is_in(cls, pa.array(POLICE_GOV_CLASSES)), False)
    if military is not None:
        mil = pc.fill_null(_as_arrow(military).cast(pa.bool_()), False)
        if len(mil) == n:
            state = pc.or_(state, mil)
    if curated is not None:
        cur = pc.fill_null(_as_arrow(curated).cast(pa.bool_()), False)
        role_ok = pc.fill_null(pc.is_in(_strings(role), pa.array(sorted(CURATED_OK_ROLES))), False)
        if len(cur) == n and len(role_ok) == n:
            state = pc.if_else(cur, role_ok, state)
            police_gov = pc.if_else(cur, role_ok, police_gov)
    ok = pc.case_when(
        pc.make_struct(
            pc.equal(requires, "none"),
            pc.equal(requires, "state"),
            pc.equal(requires, "police_gov"),
        ),
        True,
        state,
        police_gov,
    )
    flag = pc.fill_null(ok, False).to_numpy(zero_copy_only=False).astype(bool)
    return flag, platform
