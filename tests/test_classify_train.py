"""Training: nested grouped cross-validation never leaks, `train` is reproducible.

Real flights: a few of traffic's glider, survey and ambulance samples.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from overflight.classify.features import FEATURES, features_table
from overflight.classify.model import IDENTITY_COLUMNS, load_model
from overflight.classify.samples import EXCLUDED, load_labelled_samples, load_rnc, read_traffic_json
from overflight.classify.simulate import simulate
from overflight.classify.train import (
    Candidate,
    build_dataset,
    cross_validate,
    decide,
    select_candidate,
    train,
)

FILES = {
    "gliders": ["sisteron", "franconia", "luberon"],
    "surveys": ["indiana", "liguria", "texas"],
    "ambulances": ["rega_sg", "samu31"],
}
SIMS = {"heli_orbit": 3, "tanker": 2, "hems": 2}
ONE = (Candidate(0.5, 2),)


@pytest.fixture(scope="module")
def small_samples(traffic_samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("samples")
    for cat, names in FILES.items():
        (root / cat).mkdir()
        for n in names:
            os.symlink(traffic_samples / cat / f"{n}.json.gz", root / cat / f"{n}.json.gz")
    return root


@pytest.fixture(scope="module")
def small_data(small_samples: Path) -> pd.DataFrame:
    return build_dataset(small_samples, None, seed=3, sim_counts=SIMS)


def test_folds_never_train_on_scored_aircraft(small_data: pd.DataFrame) -> None:
    seen: list[tuple[set[str], set[str]]] = []
    real = small_data[small_data["kind"] == "real"]

    def fit(train: pd.DataFrame, columns: list[str], seed: int) -> Any:
        seen.append((set(train["group"]), set(train.index)))
        return ONE[0].fit(train, columns, seed, n_trees=5)

    out = cross_validate(small_data, list(FEATURES), fit, 3, score_kinds=("real", "thinned"))
    assert len(seen) >= 2
    scored_groups: set[str] = set()
    for groups, rows in seen:
        held = set(real["group"]) - groups
        assert held  # each fold holds some aircraft out, with their thinned copies
        assert not any(i.split("#")[0] in set(real.index[real["group"].isin(held)]) for i in rows)
        scored_groups |= held
    assert scored_groups == set(real["group"])  # every real aircraft is scored once
    assert out["real"].notna().all(axis=None)
    assert set(decide(out["real"])) <= set(small_data["label"])
    # simulated rows are never scored, only real ones (thinned: their copies)
    assert list(out["thinned"].index) == list(real.index)


def test_selection_picks_its_best_candidate(small_data: pd.DataFrame) -> None:
    cands = (Candidate(1.0, 1), Candidate(0.25, 3))
    best, got = select_candidate(small_data, list(FEATURES), seed=3, candidates=cands)
    assert set(got) == set(cands)
    assert got[best] == max(got.values())
    assert all(0.0 <= v <= 1.0 for v in got.values())
    again = select_candidate(small_data, list(FEATURES), seed=3, candidates=cands)
    assert again == (best, got)


def test_selection_decides_as_the_pipeline(small_data: pd.DataFrame) -> None:
    """Candidates are scored after the identity reweighting, as flights are decided."""
    cols = list(FEATURES)
    absent = select_candidate(
        small_data.drop(columns=list(IDENTITY_COLUMNS)), cols, 3, candidates=ONE
    )
    off = small_data.assign(**{f: False for f in IDENTITY_COLUMNS})
    assert select_candidate(off, cols, 3, candidates=ONE) == absent  # unknown = not set
    # an ISR airframe on every flight pulls them towards surveillance, a
    # mission none of these real flights flew: the score can only fall
    isr = select_candidate(off.assign(isr_type=True), cols, 3, candidates=ONE)[1]
    assert isr[ONE[0]] <= absent[1][ONE[0]]


def test_excluded_aircraft_are_not_examples(traffic_samples: Path, tmp_path: Path) -> None:
    (src, icao), _ = next(iter(EXCLUDED.items()))
    cat, stem = src.split("/")
    (tmp_path / cat).mkdir()
    os.symlink(traffic_samples / cat / f"{stem}.json.gz", tmp_path / cat / f"{stem}.json.gz")
    pts, labels = load_labelled_samples(tmp_path)
    assert icao not in set(labels["icao24"])
    assert icao not in set(pts["icao24"].to_pylist())
    assert len(labels) > 0  # the file's other aircraft stay


def test_train_is_reproducible(small_samples: Path, tmp_path: Path) -> None:
    kw: dict[str, Any] = {"seed": 7, "sim_counts": SIMS, "candidates": ONE}
    m1 = train(small_samples, None, tmp_path / "a.joblib", **kw)
    m2 = train(small_samples, None, tmp_path / "b.joblib", **kw)
    assert m1 == m2
    assert m1["n_real"] >= 8 and m1["n_simulated"] == sum(SIMS.values())
    assert 0.0 <= m1["macro_f1"] <= 1.0
    a, b = load_model(tmp_path / "a.joblib"), load_model(tmp_path / "b.joblib")
    pts, _ = simulate({"light_orbit": 1, "circuits": 1}, seed=3)
    x = features_table(pts)
    np.testing.assert_array_equal(a.predict_proba(x).to_numpy(), b.predict_proba(x).to_numpy())
    assert a.meta == b.meta
    assert a.meta["sim_weight"] == ONE[0].sim_weight


def test_civil_air_patrol_is_not_labelled(shared_data: Path) -> None:
    """The RNC extract's Civil Air Patrol aircraft (by the file's operator name) give no example."""
    csv = shared_data / "trajectories" / "buzzfeed_2016_conventions_rnc.csv"
    raw = pd.read_csv(csv, dtype=str)
    cap = set(
        raw.loc[raw["name"].str.upper().str.contains("CIVIL AIR PATROL"), "adshex"].str.lower()
    )
    others = set(raw["adshex"].str.lower()) - cap
    assert cap and others
    df = load_rnc(csv)
    assert set(df["icao24"]) == others
    assert (df["label"] == "surveillance").all()


def test_labelled_fixes_are_marked_as_analyze_marks_them(
    traffic_samples: Path, tmp_path: Path
) -> None:
    """Training sees the fixes the pipeline keeps: the carrier sortie (one
    aircraft, one flight) gets the same valid flags and reasons from the
    labelled-sample loader as from the clean stage run on its messages."""
    from overflight import clean
    from overflight.schema import MESSAGE_SCHEMA, conform

    src = traffic_samples / "military" / "aircraft_carrier.json.gz"
    (tmp_path / "military").mkdir()
    os.symlink(src, tmp_path / "military" / "aircraft_carrier.json.gz")
    pts, labels = load_labelled_samples(tmp_path)
    assert labels["label"].tolist() == ["training"]
    raw = read_traffic_json(src)
    ts = raw["timestamp"]
    unit = "ms" if pd.api.types.is_numeric_dtype(ts) else None
    raw = raw.assign(timestamp=pd.to_datetime(ts, unit=unit, utc=True))
    keep = [c for c in MESSAGE_SCHEMA.names if c in raw.columns]
    msgs = conform(pa.Table.from_pandas(raw[keep], preserve_index=False), MESSAGE_SCHEMA)
    ref, _ = clean.run(msgs)
    got = pts.to_pandas()["reject_reason"].value_counts(dropna=False).to_dict()
    want = ref.to_pandas()["reject_reason"].value_counts(dropna=False).to_dict()
    assert got == want
    assert got.get("stale", 0) > 1000  # the feed held positions near the deck
