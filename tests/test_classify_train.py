"""`train` is reproducible with a fixed seed (small subset for speed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from overflight.classify.model import load_model
from overflight.classify.simulate import simulate
from overflight.classify.train import train

FILES = {
    "gliders": ["sisteron", "franconia", "luberon"],
    "surveys": ["indiana", "liguria", "texas"],
    "ambulances": ["rega_sg", "samu31"],
}


@pytest.fixture(scope="module")
def small_samples(traffic_samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("samples")
    for cat, names in FILES.items():
        (root / cat).mkdir()
        for n in names:
            os.symlink(traffic_samples / cat / f"{n}.json.gz", root / cat / f"{n}.json.gz")
    return root


def test_train_is_reproducible(small_samples: Path, tmp_path: Path) -> None:
    sims = {"heli_orbit": 3, "tanker": 2}
    m1 = train(small_samples, None, tmp_path / "a.joblib", seed=7, sim_counts=sims)
    m2 = train(small_samples, None, tmp_path / "b.joblib", seed=7, sim_counts=sims)
    assert m1 == m2
    assert m1["n_real"] >= 8 and m1["n_simulated"] == 5
    assert 0.0 <= m1["macro_f1"] <= 1.0
    a, b = load_model(tmp_path / "a.joblib"), load_model(tmp_path / "b.joblib")
    pts, _ = simulate({"light_orbit": 1, "circuits": 1}, seed=3)
    from overflight.classify.features import features_table

    x = features_table(pts)
    np.testing.assert_array_equal(a.predict_proba(x).to_numpy(), b.predict_proba(x).to_numpy())
    assert a.meta == b.meta
