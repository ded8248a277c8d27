"""The benchmark generator: seeded, exact row counts, real trajectories moved rigidly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from overflight import ingest
from overflight.engine.generate import (
    GENERATOR_FILE,
    GeneratorParams,
    default_sources,
    generate,
    load_base,
)
from overflight.schema import MESSAGE_SCHEMA
from overflight.store.dataset import dataset_files, read_dataset

NS = 10**9


@pytest.fixture(scope="module")
def base(traffic_samples: Path) -> pa.Table:
    files = [
        traffic_samples / "surveys" / "texas.json.gz",
        traffic_samples / "noisy" / "noisy_landing.json.gz",
    ]
    table, info = load_base(files)
    assert sorted(info["used"]) == sorted(str(f) for f in files)
    return table


def _read(root: Path) -> pa.Table:
    t = read_dataset(root, columns=MESSAGE_SCHEMA.names)
    return t.sort_by(
        [("timestamp", "ascending"), ("icao24", "ascending"), ("latitude", "ascending")]
    )


def test_base_starts_on_the_start_day_keeping_time_of_day(
    traffic_samples: Path, base: pa.Table
) -> None:
    raw = ingest.read(traffic_samples / "surveys" / "texas.json.gz")
    t0 = raw.column("timestamp").cast(pa.int64()).to_numpy().min()
    b0 = base.column("timestamp").cast(pa.int64()).to_numpy().min()
    assert b0 % (86_400 * NS) == t0 % (86_400 * NS)
    assert str(np.datetime64(int(b0), "ns").astype("datetime64[D]")) == "2024-01-01"


def test_seeded_exact_and_rigid(base: pa.Table, tmp_path: Path) -> None:
    n = 2 * base.num_rows + 17
    p = GeneratorParams(points=n, seed=3, days=2)
    info = generate(tmp_path / "a", p, base)
    generate(tmp_path / "b", p, base)
    generate(tmp_path / "c", GeneratorParams(points=n, seed=4, days=2), base)
    a, b, c = _read(tmp_path / "a"), _read(tmp_path / "b"), _read(tmp_path / "c")
    assert a.num_rows == n and info["rows"] == n and info["copies"] == 3
    assert a.equals(b) and not a.equals(c)
    assert json.loads((tmp_path / "a" / GENERATOR_FILE).read_text())["params"]["seed"] == 3
    assert len({f.parent.name for f in dataset_files(tmp_path / "a")}) >= 2
    # copy 1: one new address per base address, same fix count, same time steps,
    # one translation for all positions
    for addr in pc.unique(base.column("icao24")).to_pylist():
        orig = base.filter(pc.equal(base.column("icao24"), addr))
        ts = orig.column("timestamp").cast(pa.int64()).to_numpy()
        # the copy of this aircraft: another address with as many fixes, the same
        # time steps and one latitude offset for every fix
        lats = orig.column("latitude").to_numpy(zero_copy_only=False)
        found = False
        for cand in pc.unique(a.column("icao24")).to_pylist():
            if cand == addr:
                continue
            g = a.filter(pc.equal(a.column("icao24"), cand))
            if g.num_rows != orig.num_rows:
                continue
            gt = g.column("timestamp").cast(pa.int64()).to_numpy()
            if np.all(np.diff(np.sort(gt)) == np.diff(np.sort(ts))):
                dl = g.column("latitude").to_numpy(zero_copy_only=False) - lats
                ok = np.isfinite(dl)
                if ok.any() and np.allclose(dl[ok], dl[ok][0]) and abs(dl[ok][0]) <= 0.5:
                    found = True
                    break
        assert found, f"no rigid copy of {addr} found"


def test_default_sources_list_real_files(traffic_samples: Path) -> None:
    files = default_sources(traffic_samples, None)
    assert len(files) > 50 and all(f.name.endswith(".json.gz") for f in files)
