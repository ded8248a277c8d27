"""ISR type list, operator classes and plane-alert hints, checked on the real databases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from overflight.identify.databases import read_aircraft_db
from overflight.identify.isr import (
    CATEGORY_ROLES,
    ISR_ROLES,
    ROLES,
    TAG_ROLES,
    alert_role,
    isr_type_match,
    isr_types,
    operator_class,
)


@pytest.fixture(scope="module")
def plane_alert(shared_data: Path) -> pd.DataFrame:
    return read_aircraft_db(
        shared_data / "aircraft_db" / "plane_alert_db" / "plane-alert-db.csv"
    ).to_pandas()


def test_designators_exist_in_doc8643_list(shared_data: Path) -> None:
    types = json.loads(
        (shared_data / "aircraft_db" / "tar1090_db_master" / "icao_aircraft_types.json").read_text()
    )
    t = isr_types().to_pandas()
    assert t["typecode"].is_unique
    missing = sorted(set(t["typecode"]) - set(types))
    assert not missing, missing
    assert set(t["requires"]) <= {"none", "state", "police_gov"}
    assert t["platform"].notna().all() and t["role"].notna().all()
    # helicopters are the police_gov types, per the type list's own description code
    heli = t[t["typecode"].map(lambda c: types[c]["desc"].startswith("H"))]
    assert set(heli["requires"]) == {"police_gov"}


def test_categories_and_tags_exist_in_plane_alert(
    shared_data: Path, plane_alert: pd.DataFrame
) -> None:
    cats = pd.read_csv(
        shared_data / "aircraft_db" / "plane_alert_db" / "plane-alert-categories.csv"
    )
    assert set(CATEGORY_ROLES) <= set(cats["Category"])
    tags = {t.lower() for ts in plane_alert["tags"].dropna() for t in ts}
    assert set(TAG_ROLES) <= tags, sorted(set(TAG_ROLES) - tags)
    assert set(CATEGORY_ROLES.values()) | set(TAG_ROLES.values()) <= set(ROLES)


def test_dedicated_types_are_state_aircraft(plane_alert: pd.DataFrame, shared_data: Path) -> None:
    """Every plane-alert entry of a 'none' type (MQ-9, RC-135, E-3, P-8 ...) is Mil or Gov,
    and tar1090-db flags nearly all its aircraft of those types as military."""
    t = isr_types().to_pandas()
    dedicated = set(t.loc[t["requires"] == "none", "typecode"]) - {"DRON"}
    rows = plane_alert[plane_alert["typecode"].isin(dedicated)]
    print(rows["operator_class"].value_counts().to_dict())
    assert len(rows) > 200
    assert rows["operator_class"].isin(["military", "government"]).all(), rows[
        ~rows["operator_class"].isin(["military", "government"])
    ]
    tar = read_aircraft_db(shared_data / "aircraft_db" / "tar1090_db_flat.csv.gz").to_pandas()
    sub = tar[tar["typecode"].isin(dedicated)]
    share = float(sub["military"].mean())
    print(f"tar1090-db: {len(sub)} aircraft of dedicated ISR types, {share:.1%} flagged military")
    assert share > 0.8


def test_type_match_against_curated_surveillance_tags(plane_alert: pd.DataFrame) -> None:
    """How much of plane-alert's own surveillance list the type rule finds (report),
    and that it flags few aircraft plane-alert lists with no surveillance role."""
    role = alert_role(plane_alert["category"], plane_alert["tags"].tolist())
    surv = pd.Series(role.to_pylist()).isin(ISR_ROLES | {"police", "coast_guard"}).to_numpy()
    ok, _ = isr_type_match(
        plane_alert["typecode"], plane_alert["operator_class"], plane_alert["military"]
    )
    recall = float(ok[surv].mean())
    flagged_other = float(ok[~surv].mean())
    print(
        f"plane-alert: {int(surv.sum())} aircraft with a surveillance/police role; type rule finds "
        f"{recall:.1%} of them and flags {flagged_other:.1%} of the {int((~surv).sum())} others"
    )
    assert recall > 0.4
    assert flagged_other < 0.25
    # with the curated role given, the type rule never contradicts plane-alert on conditional types
    ok2, _ = isr_type_match(
        plane_alert["typecode"],
        plane_alert["operator_class"],
        plane_alert["military"],
        np.ones(len(plane_alert), dtype=bool),
        role,
    )
    listed = isr_types().to_pandas().set_index("typecode")["requires"]
    cond = plane_alert["typecode"].map(listed).isin(["state", "police_gov"]).to_numpy()
    assert not (ok2 & cond & ~surv).any()


def test_operator_class_against_cmpg(plane_alert: pd.DataFrame) -> None:
    """The name rule against plane-alert's hand-set CMPG column."""
    got = pd.Series(operator_class(plane_alert["operator"]).to_pylist())
    cmpg = plane_alert["operator_class"]
    for cls, allowed in {
        "military": {"military"},
        "police": {"police", "border"},
        "government": {"government", "border", "police"},
    }.items():
        sel = cmpg == cls
        hit = float(got[sel.to_numpy()].isin(allowed).mean())
        print(f"CMPG {cls}: name rule agrees for {hit:.1%} of {int(sel.sum())}")
        assert hit > 0.4
    civ = cmpg == "civil"
    wrong = float(got[civ.to_numpy()].isin(["military", "police"]).mean())
    print(f"CMPG civil: name rule says military/police for {wrong:.1%}")
    assert wrong < 0.05


def test_real_examples(plane_alert: pd.DataFrame) -> None:
    by = plane_alert.set_index("icao24")
    row = by.loc["407918"]  # G-TEKV, UK Border Force Tekever AR5
    assert alert_role([row["category"]], [row["tags"]]).to_pylist() == ["uav"]
    row = by.loc["3b7777"]  # French KC-135: no surveillance role
    assert alert_role([row["category"]], [row["tags"]]).to_pylist() == [None]


@pytest.mark.parametrize(
    ("typecode", "cls", "military", "expected"),
    [
        ("Q9", None, False, True),
        ("q9 ", "civil", False, True),
        ("B350", "civil", False, False),
        ("B350", None, True, True),
        ("B350", "government", False, True),
        ("AS50", "police", False, True),
        ("AS50", "military", True, False),
        ("AS50", None, False, False),
        ("A320", "military", True, False),
        (None, "military", True, False),
    ],
)
def test_type_conditions(
    typecode: str | None, cls: str | None, military: bool, expected: bool
) -> None:
    ok, _ = isr_type_match([typecode], [cls], [military])
    assert ok.tolist() == [expected]


def test_contracts() -> None:
    assert isr_type_match([], [])[0].tolist() == []
    assert alert_role([]).to_pylist() == []
    assert alert_role([None], [None]).to_pylist() == [None]
    assert operator_class([1, 2]).to_pylist() == [None, None]
    assert operator_class(
        ["Sheriff's Office", "Garde-côtes", "United States Navy"]
    ).to_pylist() == [
        "police",
        "border",
        "military",
    ]
