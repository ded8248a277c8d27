"""Squawk labels, with the law-enforcement range taken from the BuzzFeed README."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.identify.squawk import SQUAWK_RULES, squawk_code, squawk_label


def _readme_range(shared_data: Path) -> tuple[int, int]:
    text = (shared_data / "trajectories" / "buzzfeed_2016_conventions_README.md").read_text()
    m = re.search(r"Codes from (\d{4}) to (\d{4}) \[are reserved\].*?federal law enforcement", text)
    assert m, "README no longer states the reserved range"
    return int(m.group(1)), int(m.group(2))


def test_law_enforcement_range_from_readme(shared_data: Path) -> None:
    lo, hi = _readme_range(shared_data)
    got = squawk_label([str(lo - 1), str(lo), str(hi), str(hi + 1)]).to_pylist()
    assert got == [None, "us_law_enforcement", "us_law_enforcement", None]


def test_buzzfeed_squawks(shared_data: Path) -> None:
    lo, hi = _readme_range(shared_data)
    bz = pd.read_csv(shared_data / "trajectories" / "buzzfeed_2016_conventions_rnc.csv", dtype=str)
    codes = bz["squawk"]
    labels = pd.Series(squawk_label(codes).to_pylist())
    num = pd.to_numeric(codes, errors="coerce")
    in_range = ((num >= lo) & (num <= hi)).to_numpy()
    assert (labels[in_range] == "us_law_enforcement").all()
    assert not (labels[~in_range] == "us_law_enforcement").any()
    print(f"buzzfeed: {int(in_range.sum())}/{len(bz)} positions squawk {lo}-{hi}")
    # DHS helicopters flew under law-enforcement codes
    dhs = bz["name2"].str.contains("Homeland|Midwest", regex=True).to_numpy()
    assert in_range[dhs].mean() > 0.5


def test_sample_squawks(traffic_samples: Path) -> None:
    df = pd.read_json(
        traffic_samples / "surveillance" / "border_control.json.gz", dtype={"squawk": str}
    )
    labels = set(squawk_label(df["squawk"].dropna().tolist()).to_pylist())
    assert "vfr" in labels  # the UK drone squawks 7000


def test_rules_are_ordered_and_disjoint() -> None:
    first = np.array([r[0] for r in SQUAWK_RULES])
    last = np.array([r[1] for r in SQUAWK_RULES])
    assert (first <= last).all()
    assert (first[1:] > last[:-1]).all()
    for code in (7500, 7600, 7700, 7400):
        assert squawk_label([f"{code}"]).to_pylist()[0] is not None


@pytest.mark.parametrize(
    "values",
    [["7700", "4401"], pa.array(["7700", "4401"]), pd.Series([7700, 4401]), np.array([7700, 4401])],
)
def test_input_kinds(values: object) -> None:
    assert squawk_label(values).to_pylist() == ["emergency", "us_law_enforcement"]


def test_invalid_codes() -> None:
    assert squawk_code(["8000", "77777", "12a4", "", None, "-1"]).to_pylist() == [None] * 6
    assert squawk_code([7700.0, float("nan"), -3, 7778]).to_pylist() == ["7700", None, None, None]
    assert squawk_label([]).to_pylist() == []


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=6), st.none())))
def test_random_strings(values: list[str | None]) -> None:
    out = squawk_label(values)
    assert len(out) == len(values)
    assert set(out.drop_null().to_pylist()) <= {r[2] for r in SQUAWK_RULES}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2**40), 2**40)))
def test_random_ints(values: list[int]) -> None:
    assert len(squawk_label(values)) == len(values)
