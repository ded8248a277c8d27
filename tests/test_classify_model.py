"""The shipped mission model on real flights it was not trained on."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.classify import classify_flights, load_model
from overflight.classify.model import apply_identity
from overflight.classify.samples import load_all
from overflight.classify.train import HOLDOUT_ICAO24

HOLDOUT_FILES = {
    "gliders": ["sisteron"],
    "calibration": ["cardiff", "london_gatwick"],
}


@pytest.fixture(scope="module")
def holdout(
    traffic_samples: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[pa.Table, pd.DataFrame]:
    root = tmp_path_factory.mktemp("samples")
    for cat, names in HOLDOUT_FILES.items():
        (root / cat).mkdir()
        for n in names:
            os.symlink(traffic_samples / cat / f"{n}.json.gz", root / cat / f"{n}.json.gz")
    rnc = shared_data / "trajectories" / "buzzfeed_2016_conventions_rnc.csv"
    pts, labels = load_all(root, rnc)
    keep = labels[labels["icao24"].isin(HOLDOUT_ICAO24)]
    pts = pts.filter(pa.compute.is_in(pts["flight_id"], pa.array(keep["flight_id"])))
    return pts, keep


def test_shipped_model_loads_and_is_small() -> None:
    model = load_model()
    from overflight.classify.model import default_model_path

    assert default_model_path().stat().st_size < 5 * 2**20
    assert set(model.classes) >= {"surveillance", "glider", "calibration", "transport"}
    # the test aircraft really were held out of the shipped model
    assert set(model.meta["holdout_icao24"]) == set(HOLDOUT_ICAO24)


def test_holdout_flights_classified_sensibly(holdout: tuple[pa.Table, pd.DataFrame]) -> None:
    pts, labels = holdout
    out = classify_flights(labels[["flight_id", "icao24", "callsign"]], pts).to_pandas()
    got = out.set_index("flight_id")["mission"]
    truth = labels.set_index("flight_id")["label"]
    assert set(truth) == {"glider", "calibration", "surveillance"}
    assert (got[truth == "glider"] == "glider").all()
    # calibration circuits are never taken for surveillance
    assert not (got[truth == "calibration"] == "surveillance").any()
    # the held-out RNC helicopter: most of its flights are surveillance
    surv = got[truth == "surveillance"]
    assert (surv == "surveillance").mean() >= 0.6
    assert out["mission_confidence"].between(0, 1).all()
    assert out["mission_reason"].str.len().gt(10).all()
    row = out[out["mission"] == "surveillance"].iloc[0]
    assert "orbits" in row["mission_reason"] or "loiter" in row["mission_reason"]


def test_identity_flags_and_short_flights(holdout: tuple[pa.Table, pd.DataFrame]) -> None:
    pts, labels = holdout
    fl = labels[labels["label"] == "calibration"][["flight_id", "icao24"]].copy()
    plain = classify_flights(fl, pts).to_pandas()
    fl["isr_type"] = True
    flagged = classify_flights(fl, pts).to_pandas()
    assert flagged["mission_reason"].str.contains("ISR airframe type").all()
    # a flag can only raise the surveillance share; unknown flags change nothing
    assert ((flagged["mission"] == "surveillance") >= (plain["mission"] == "surveillance")).all()
    # a glider's registration names the glider mission, and says so
    fl["isr_type"] = False
    fl["glider_registration"] = True
    glider = classify_flights(fl, pts).to_pandas()
    assert glider["mission_reason"].str.contains("glider registration").all()
    assert ((glider["mission"] == "glider") >= (plain["mission"] == "glider")).all()
    p = pd.DataFrame({"glider": [0.1], "medical": [0.6], "other": [0.3]}, index=["f"])
    q, notes = apply_identity(p, pd.DataFrame({"glider_registration": [True]}, index=["f"]))
    assert q.loc["f"].idxmax() == "glider" and notes["f"] == "glider registration"
    short = pd.DataFrame({"flight_id": ["nothing"], "icao24": ["000000"]})
    out = classify_flights(short, pts).to_pandas()
    assert out["mission"].iloc[0] == "other"
    assert out["mission_confidence"].iloc[0] == 0.0


@given(
    rows=st.integers(2, 300),
    seed=st.integers(0, 2**32 - 1),
    pick=st.integers(0, 1),
)
@settings(max_examples=60, deadline=None)
def test_a_flights_probabilities_do_not_depend_on_its_batch(
    rows: int, seed: int, pick: int
) -> None:
    """The same flight gets the same bits alone and among others (memory and
    engine runs batch flights differently; pandas' row sums did not)."""
    rng = np.random.default_rng(seed)
    p = pd.DataFrame(rng.dirichlet(np.ones(11), size=rows), columns=[f"m{i}" for i in range(11)])
    flags = pd.DataFrame(
        {
            "military": rng.random(rows) < 0.5,
            "db_mission": rng.choice(np.array(["m3", None], dtype=object), rows),
        },
        index=p.index,
    )
    i = pick * (rows - 1)
    together = apply_identity(p, flags)[0].to_numpy()[i]
    alone = apply_identity(p.iloc[[i]], flags.iloc[[i]])[0].to_numpy()[0]
    assert together.tobytes() == alone.tobytes()
