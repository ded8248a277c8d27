"""The report tests' real-data sample (tests/support/report_sample.py) is what it claims.

The tables are built once a session by the ``report_sample`` fixture
(tests/conftest.py); these checks hold them to their description.
"""

from __future__ import annotations

import numpy as np
import pytest

from support.report_sample import SAMPLES, Sample


@pytest.fixture(scope="module")
def sample(report_sample: Sample) -> Sample:
    return report_sample


def test_every_event_sits_on_or_near_its_track(sample: Sample) -> None:
    df = sample.frame
    for row in sample.events.to_pylist():
        g = df[df["flight_id"] == row["flight_id"]]
        d = np.hypot(g["latitude"] - row["latitude"], g["longitude"] - row["longitude"])
        tolerance = (
            0.0 if row["kind"] == "airspace_entry" else 0.5
        )  # orbit centres lie inside the loop
        assert float(d.min()) <= tolerance


def test_sample_has_the_cases_the_report_draws(sample: Sample) -> None:
    kinds = set(sample.events.column("kind").to_pylist())
    assert "airspace_entry" in kinds
    assert kinds & {"orbit", "racetrack"}
    assert sample.flights.num_rows == len(SAMPLES)
    assert set(sample.frame["zone"].dropna()) >= {"land", "territorial_sea", "international"}
    assert sample.reach.num_rows >= 1
