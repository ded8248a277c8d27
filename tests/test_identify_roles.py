"""Missions named by an aircraft database (``db_mission``), on real plane-alert-db rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from overflight.classify.model import DB_MISSION_FACTOR, apply_identity
from overflight.classify.samples import MISSIONS
from overflight.identify import identify_flights, load_aircraft_db
from overflight.identify.roles import DB_MISSION_RULES, db_mission


@pytest.fixture(scope="module")
def plane_alert_db(shared_data: Path) -> pa.Table:
    return load_aircraft_db([shared_data / "aircraft_db" / "plane_alert_db" / "plane-alert-db.csv"])


# each expectation read off the aircraft's row of plane-alert-db.csv by eye
# (operator, category, tags), not from the rules
ROWS = {
    "a51d5f": "firefighting",  # Cal Fire OV-10A, Aerial Firefighter
    "a606a2": "firefighting",  # USDA Forest Service UH-1, Dogs with Jobs
    "4b43ac": "medical",  # Swiss Air Ambulance BK 117, Flying Doctors / Air Ambo
    "3cce6f": "calibration",  # Flight Calibration Services B350, survey category, tag Calibration
    "3924a4": "tv_relay",  # Aero Sotravia, tags Television Relay and Thermal Survey
    "39016d": "survey",  # Institut National Geographique, Aerial Survey
    "3b7777": "aerial_refueling",  # French Air and Space Force KC-135, Air2Air / Refuel
    "406b79": "aerial_refueling",  # the RAF Voyager of the company AirTanker: not firefighting
    "39b415": None,  # ENAC's King Air (Flying Classroom): no mission named
    "a65921": None,  # Five Point Aerial Survey: Oxcart, Covert, Surveillance (isr_type's job)
    "3e46e5": None,  # Aerodata C402: Oxcart, Special Mission, Surveillance, Flight Inspection
    "ae0455": None,  # US Navy C-2 (Carrier Onboard Delivery)
}


def test_rules_name_known_missions() -> None:
    assert {m for m, _ in DB_MISSION_RULES} <= set(MISSIONS)
    assert "surveillance" not in {m for m, _ in DB_MISSION_RULES}  # that is isr_type's job


def test_missions_of_real_entries(plane_alert_db: pa.Table) -> None:
    flights = pa.table({"flight_id": list(ROWS), "icao24": list(ROWS)})
    table = identify_flights(flights, aircraft_db=plane_alert_db)
    got = dict(zip(table["icao24"].to_pylist(), table["db_mission"].to_pylist(), strict=True))
    assert got == ROWS
    out = table.to_pandas()
    reason = out.set_index("icao24")["identity_reason"]
    assert "database mission: firefighting" in reason["a51d5f"]
    assert "database mission" not in reason["39b415"]


def test_entries_without_any_text_keep_their_row() -> None:
    got = db_mission([None, "Cal Fire", None], [None, None, None], [None, None, None])
    assert got.to_pylist() == [None, "firefighting", None]


def test_operator_names_alone() -> None:
    """Without category or tags (an OpenSky database), only the narrower
    operator rules apply: retardant tankers are firefighters, the RAF's
    Voyager operator and a TV station are not named at all."""
    ops = ["10 Tanker Air Carrier", "Bridger Air Tanker 3 LLC", "AirTanker"]
    ops += ["KUSA Television", "Air Methods Corp", "Flight Calibration Services GmbH"]
    got = db_mission(ops, [None] * 6, [None] * 6).to_pylist()
    assert got == ["firefighting", "firefighting", None, None, "medical", "calibration"]


def test_tags_with_a_null_element_keep_the_others() -> None:
    assert db_mission([None], [None], [["Air Ambo", None]]).to_pylist() == ["medical"]
    # tags of another length than the entries are ignored, as alert_role does
    assert db_mission(["Cal Fire", None], [None, None], [["x"]]).to_pylist() == [
        "firefighting",
        None,
    ]


def test_without_database_nothing_is_named() -> None:
    out = identify_flights(pa.table({"flight_id": ["a"], "icao24": ["a51d5f"]}))
    assert out["db_mission"].null_count == 1


def test_counts_over_the_whole_list(plane_alert_db: pa.Table) -> None:
    """Every plane-alert 'Aerial Firefighter' and 'Flying Doctors' entry gets its mission."""
    named = db_mission(
        plane_alert_db["operator"], plane_alert_db["category"], plane_alert_db["tags"]
    ).to_pandas()
    cat = plane_alert_db["category"].to_pandas()
    assert (named[cat == "Aerial Firefighter"] == "firefighting").all()
    assert (named[cat == "Flying Doctors"] == "medical").all()
    assert named.notna().mean() < 0.25  # most entries name no mission


def test_apply_identity_multiplies_the_named_mission() -> None:
    p = pd.DataFrame(
        {"surveillance": [0.6, 0.6, 0.6], "firefighting": [0.3, 0.3, 0.3], "other": [0.1] * 3},
        index=["f", "g", "h"],
    )
    flags = pd.DataFrame({"db_mission": ["firefighting", None, "glider"]}, index=["f", "g", "h"])
    q, notes = apply_identity(p, flags)
    fire = 0.3 * DB_MISSION_FACTOR
    assert q.loc["f", "firefighting"] == pytest.approx(fire / (fire + 0.7))
    assert q.loc["g"].tolist() == pytest.approx(p.loc["g"].tolist())  # nothing known
    assert q.loc["h"].tolist() == pytest.approx(p.loc["h"].tolist())  # not a model class
    assert notes["f"] == "database: firefighting"
    assert notes["g"] == notes["h"] == ""


@pytest.mark.parametrize("dtype", ["object", "string", "string[pyarrow]"])
def test_apply_identity_reads_any_string_dtype(dtype: str) -> None:
    p = pd.DataFrame({"firefighting": [0.5, 0.5], "other": [0.5, 0.5]}, index=["f", "g"])
    flags = pd.DataFrame({"db_mission": pd.array(["firefighting", None], dtype=dtype)}, p.index)
    q, notes = apply_identity(p, flags)
    assert q.loc["f", "firefighting"] == pytest.approx(DB_MISSION_FACTOR / (DB_MISSION_FACTOR + 1))
    assert q.loc["g"].tolist() == [0.5, 0.5]
    assert notes.tolist() == ["database: firefighting", ""]
