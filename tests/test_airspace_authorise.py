"""Authorisation files (YAML, CSV) and the marking of real entries."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from overflight.airspace import (
    Boundaries,
    airspace_events,
    apply_authorisations,
    load_authorisations,
)
from overflight.airspace.authorise import Rule
from overflight.errors import BoundaryError, FormatError

HOUR_NS = 3600 * 10**9


@pytest.fixture(scope="module")
def entries(shared_data: Path) -> tuple[pa.Table, pa.Table]:
    """Entries of the real DAL1812 leg (Belize, Mexico, United States) and its flights row."""
    from overflight.airspace import load_boundaries

    try:
        b: Boundaries = load_boundaries()
    except BoundaryError as exc:
        pytest.skip(str(exc))
    doc = json.loads(
        (shared_data / "trajectories" / "readsb_trace_full_ac671b_DAL1812.json").read_text()
    )
    tr = np.array([r[:3] for r in doc["trace"]], dtype=float)
    tr = tr[tr[:, 0] < 3 * 3600]
    n = len(tr)
    points = pa.table(
        {
            "timestamp": pa.array(
                ((doc["timestamp"] + tr[:, 0]) * 1e9).astype("int64"), pa.timestamp("ns", tz="UTC")
            ),
            "icao24": [doc["icao"]] * n,
            "callsign": ["DAL1812"] * n,
            "latitude": tr[:, 1],
            "longitude": tr[:, 2],
            "flight_id": ["dal"] * n,
            "valid": np.ones(n, bool),
        }
    )
    events = airspace_events(points, b)
    flights = pa.table(
        {"flight_id": ["dal"], "operator": [doc["ownOp"]], "registration": [doc["r"]]}
    )
    return events, flights


def _status(events: pa.Table) -> dict[str, str]:
    e = events.filter(pc.equal(events.column("kind"), "airspace_entry"))
    return dict(
        zip(e.column("country").to_pylist(), e.column("authorization").to_pylist(), strict=True)
    )


def _window(events: pa.Table, country: str) -> tuple[int, int]:
    e = events.filter(pc.equal(events.column("country"), country))
    return e.column("start").cast(pa.int64())[0].as_py(), e.column("stop").cast(pa.int64())[
        0
    ].as_py()


def _hhmm(ns: int) -> str:
    m = (ns // (60 * 10**9)) % (24 * 60)
    return f"{m // 60:02d}:{m % 60:02d}"


def test_yaml_rules_mark_real_entries(tmp_path: Path, entries: tuple[pa.Table, pa.Table]) -> None:
    events, flights = entries
    start, stop = _window(events, "MEX")
    day = np.datetime64(start, "ns").astype("datetime64[D]")
    f = tmp_path / "auth.yaml"
    f.write_text(
        f"""
authorisations:
  - country: MEX
    operator: "delta*"
    from: {day}
    until: {day}
    daily: "{_hhmm(start - HOUR_NS)}-{_hhmm(stop + HOUR_NS)}"
    note: overflight permit
  - country: USA
    icao24: [AC671B]
  - country: BLZ
    callsign: ["AAL*"]
"""
    )
    rules = load_authorisations(f)
    out = apply_authorisations(events, flights, rules)
    assert _status(out) == {"MEX": "authorized", "USA": "authorized", "BLZ": "unauthorized"}
    mex = out.filter(pc.equal(out.column("country"), "MEX"))
    details = json.loads(mex.column("details")[0].as_py())
    assert details["authorization_note"] == "overflight permit"
    assert details["authorization_rule"] == "auth.yaml:rule 1"
    assert events.column("authorization").null_count == events.num_rows  # input untouched


def test_rules_outside_the_window_do_not_authorise(
    tmp_path: Path, entries: tuple[pa.Table, pa.Table]
) -> None:
    events, flights = entries
    start, _ = _window(events, "MEX")
    f = tmp_path / "auth.csv"
    f.write_text(
        "country,operator,callsign,registration,daily,from,until\n"
        # the first rule's daily window starts an hour after the entry
        f"MEX,DELTA*,,,{_hhmm(start + HOUR_NS)}-{_hhmm(start + 2 * HOUR_NS)},,\n"
        "MEX,,,N899DN,,2030-01-01,\n"  # not yet valid
        "BLZ,,DAL1812|UAL*,N899DN,,,\n"  # both criteria match
    )
    out = apply_authorisations(events, flights, load_authorisations(f))
    status = _status(out)
    assert status["MEX"] == "unauthorized" and status["BLZ"] == "authorized"


def test_daily_window_across_midnight() -> None:
    day = 86_400 * 10**9
    rule = Rule("MEX", icao24=("ABC123",), daily_ns=(22 * HOUR_NS, 2 * HOUR_NS))
    assert rule.covers(10 * day + 23 * HOUR_NS, 10 * day + 25 * HOUR_NS)
    assert not rule.covers(10 * day + 23 * HOUR_NS, 10 * day + 27 * HOUR_NS)
    assert not rule.covers(10 * day + 12 * HOUR_NS, 10 * day + 13 * HOUR_NS)


@pytest.mark.parametrize(
    ("text", "suffix", "message", "where"),
    [
        (
            "authorisations:\n  - country: Mexico\n    icao24: [abc123]\n",
            ".yaml",
            "expected an ISO3",
            "rule 1",
        ),
        (
            "authorisations:\n  - country: MEX\n    note: no aircraft\n",
            ".yaml",
            "no aircraft criterion",
            "rule 1",
        ),
        ("- country: MEX\n  icao24: abc123\n  from: yesterday\n", ".yaml", "bad date", "rule 1"),
        (
            "country,icao24,daily\nMEX,abc123,08-20\nMEX,abc123,25:00-26:00\n",
            ".csv",
            "bad daily window",
            "line 3",
        ),
        ("authorisations: 3\n", ".yaml", "expected a list", None),
    ],
)
def test_bad_files_name_the_entry(
    tmp_path: Path, text: str, suffix: str, message: str, where: str | None
) -> None:
    f = tmp_path / f"auth{suffix}"
    f.write_text(text)
    with pytest.raises(FormatError, match=message) as err:
        load_authorisations(f)
    assert err.value.path == str(f) and err.value.record == where
