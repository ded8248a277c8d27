"""Glider registrations: the marks national registers keep for gliders."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from overflight.identify import identify_flights
from overflight.identify.databases import DB_SCHEMA
from overflight.identify.registration import GLIDER_MARKS, glider_mark


@pytest.mark.parametrize(
    "text",
    ["D-6567", "D-KVLT", "DKVLT", "F-CHDN", "FCHDN", "f-cijo", " HB-1824 ", "HB-37", "OE-5123"],
)
def test_glider_marks_match(text: str) -> None:
    hit, why = glider_mark(pa.array([None]), pa.array([text]))
    assert hit.tolist() == [True]
    assert text.strip().upper() in why[0].as_py()


@pytest.mark.parametrize(
    "text",
    [
        "D-EABC",  # German single-engine aeroplane
        "DLH4AB",  # airline callsign
        "D6567",  # digits without the hyphen: could be an IATA flight number
        "HB1234",
        "F-GKXA",  # French aeroplane
        "FCA123",  # airline designator and flight number
        "HB-JNA",  # Swiss airliner
        "OE-7123",  # Austrian ultralight block
        "OE-LBA",
        "N123AB",
        "",
    ],
)
def test_other_marks_do_not(text: str) -> None:
    hit, why = glider_mark(pa.array([text]), pa.array([text]))
    assert hit.tolist() == [False]
    assert why[0].as_py() is None


def test_database_registration_comes_first() -> None:
    hit, why = glider_mark(pa.array(["F-CABC", None]), pa.array(["DKABC", None]))
    assert hit.tolist() == [True, False]
    assert why[0].as_py().startswith("F-CABC ")


def test_chunked_and_non_string_input() -> None:
    reg = pa.chunked_array([pa.array(["D-KABC"]), pa.array([None], pa.string())])
    hit, _ = glider_mark(reg, pa.array([None, 1234]))
    assert hit.tolist() == [True, False]


@given(st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=20))
def test_any_text_is_answered(texts: list[str | None]) -> None:
    arr = pa.array(texts, pa.string())
    hit, why = glider_mark(arr, arr)
    assert len(hit) == len(texts) == len(why)
    assert [w is not None for w in why.to_pylist()] == hit.tolist()


def test_every_mark_has_a_meaning() -> None:
    assert all(m.meaning and m.pattern for m in GLIDER_MARKS)


def test_identify_flights_sets_the_flag_and_says_why() -> None:
    flights = pa.table(
        {
            "flight_id": ["a", "b", "c"],
            "icao24": ["3e65c2", "3c6444", "ddfd15"],
            "callsign": ["D-KRPK", "DLH4AB", None],
        }
    )
    known = {"icao24": ["ddfd15"], "registration": ["F-CHDN"]}
    full = pa.table(
        {f.name: pa.array(known.get(f.name, [None]), f.type) for f in DB_SCHEMA},
        schema=DB_SCHEMA,
    )
    out = identify_flights(flights, aircraft_db=full)
    assert out["glider_registration"].to_pylist() == [True, False, True]
    reasons = out["identity_reason"].to_pylist()
    assert "glider registration D-KRPK (Germany, D-K: powered sailplane)" in reasons[0]
    assert "glider registration" not in reasons[1]
    assert "glider registration F-CHDN (France, F-C: glider)" in reasons[2]
