"""What a fresh process reads instead of rebuilding: each cache gives exactly
what a fresh build gives, and a damaged cache file is rebuilt with a warning.

Covers the stored samples and k-d trees of the boundary-distance indices
(:mod:`overflight.airspace.nearest`), the boundary table in Arrow IPC
(:mod:`overflight.airspace.cache`) and the mission model's tree arrays
(:mod:`overflight.classify.model`), all on the real default boundaries and
the shipped model; the references are a fresh build (never cached) and
scikit-learn's own ``predict_proba``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree

from overflight.airspace import Boundaries, cache, load_boundaries, nearest
from overflight.airspace.arcs import unit_vectors
from overflight.airspace.distance import border_index, boundary_distance_m
from overflight.airspace.nearest import SampleIndex
from overflight.classify.features import features_table
from overflight.classify.model import default_model_path, load_model, trees_cache_file
from overflight.classify.simulate import simulate
from overflight.schema import EVENT_SCHEMA

CAP_M = 500_000.0


@pytest.fixture
def stored_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Store the samples of every index, however few arcs it has."""
    monkeypatch.setattr(nearest, "STORED_MIN_ARCS", 0)


def _index(
    b: Boundaries, code: str, path: Path | None, max_subarc_m: float = nearest.MAX_SUBARC_M
) -> SampleIndex:
    """A new index of ``code``'s border (samples from ``path`` when it has them)."""
    idx = border_index(b)
    rows = np.searchsorted(idx._union, idx.borders.of(code))
    return SampleIndex(idx.store, rows, max_subarc_m=max_subarc_m, samples_file=path)


def _points(seed: int, n: int = 3000) -> np.ndarray:
    """Random points over and around Switzerland, some far out (capped)."""
    rng = np.random.default_rng(seed)
    lon = np.concatenate([rng.uniform(5.5, 10.8, n), rng.uniform(-20.0, 40.0, n // 10)])
    lat = np.concatenate([rng.uniform(45.6, 48.0, n), rng.uniform(20.0, 70.0, n // 10)])
    return unit_vectors(lat, lon)


def _no_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("samples were worked out again instead of read")

    monkeypatch.setattr(nearest, "sample_arcs", refuse)


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    else:  # flip bytes in the middle, where the arrays are
        mid = len(data) // 2
        data[mid : mid + 64] = bytes(255 - v for v in data[mid : mid + 64])
        path.write_bytes(bytes(data))


def test_stored_samples_and_tree_equal_fresh_ones(
    boundaries: Boundaries, tmp_path: Path, stored_always: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = _points(1)
    f = tmp_path / "samples-CHE.npz"
    fresh = _index(boundaries, "CHE", None)
    first = _index(boundaries, "CHE", f)
    d_fresh, d_first = fresh.distance(p, CAP_M), first.distance(p, CAP_M)
    assert f.is_file()
    # other sub-arcs give other samples: the stored ones are not used for them
    finer = _index(boundaries, "CHE", f, max_subarc_m=400.0)
    finer_fresh = _index(boundaries, "CHE", None, max_subarc_m=400.0)
    assert finer.tree.n == finer_fresh.tree.n > fresh.tree.n
    np.testing.assert_array_equal(finer.xyz, finer_fresh.xyz)
    first = _index(boundaries, "CHE", f)
    first.distance(p[:10], CAP_M)  # the file holds the default sub-arcs' samples again
    _no_sampling(monkeypatch)
    again = _index(boundaries, "CHE", f)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d_again = again.distance(p, CAP_M)
    np.testing.assert_array_equal(d_first, d_fresh)
    np.testing.assert_array_equal(d_again, d_fresh)
    for name in ("xyz", "touch", "sample_h"):
        np.testing.assert_array_equal(getattr(again, name), getattr(fresh, name))
    assert again.touch.dtype == fresh.touch.dtype == np.int64
    # the restored tree answers every kind of query as the freshly built one
    for k in (1, 24):
        got, want = again.tree.query(p, k=k), fresh.tree.query(p, k=k)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    balls = again.tree.query_ball_point(p[:200], 0.002)
    want_balls = fresh.tree.query_ball_point(p[:200], 0.002)
    assert [sorted(x) for x in balls] == [sorted(x) for x in want_balls]


@pytest.mark.parametrize("how", ["truncate", "flip"])
def test_damaged_samples_file_is_rebuilt_with_a_warning(
    boundaries: Boundaries,
    tmp_path: Path,
    stored_always: None,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    p = _points(2, 1000)
    f = tmp_path / "samples-LIE.npz"
    want = _index(boundaries, "LIE", f).distance(p, CAP_M)
    _damage(f, how)
    with pytest.warns(UserWarning, match="unreadable"):
        got = _index(boundaries, "LIE", f).distance(p, CAP_M)
    np.testing.assert_array_equal(got, want)
    _no_sampling(monkeypatch)  # rewritten: read without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(_index(boundaries, "LIE", f).distance(p, CAP_M), want)


def test_tree_arrays_refuse_what_does_not_fit() -> None:
    pts = np.random.default_rng(5).random((500, 3))
    arrays = cache.tree_arrays(cKDTree(pts, leafsize=16, balanced_tree=False))
    assert cache.tree_from_arrays(arrays, pts[:400]) is None
    assert (
        cache.tree_from_arrays({k: v for k, v in arrays.items() if k != "tree_nodes"}, pts) is None
    )
    back = cache.tree_from_arrays(arrays, pts)
    assert back is not None
    q = np.random.default_rng(6).random((50, 3))
    want = cKDTree(pts, leafsize=16, balanced_tree=False).query(q, k=3)
    np.testing.assert_array_equal(back.query(q, k=3)[1], want[1])


def _alps(boundaries: Boundaries, path: Path) -> Path:
    """The real maritime polygons of Switzerland, Liechtenstein and Austria as GeoJSON."""
    feats = []
    for i, codes in enumerate(boundaries.item_codes):
        if boundaries.item_kind[i] == 0 and codes and codes[0] in ("CHE", "LIE", "AUT"):
            geom = json.loads(shapely.to_geojson(boundaries.item_geoms[i]))
            feats.append({"type": "Feature", "properties": {"A3": codes[0]}, "geometry": geom})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def _same_boundaries(a: Boundaries, b: Boundaries, lon: np.ndarray, lat: np.ndarray) -> None:
    assert a.item_codes == b.item_codes and a.item_names == b.item_names
    assert list(shapely.to_wkb(a.item_geoms)) == list(shapely.to_wkb(b.item_geoms))
    ia, ib = a.info(), b.info()
    ca, cb = a.classify(lon, lat), b.classify(lon, lat)
    assert [ia.countries[i] for i in ca] == [ib.countries[i] for i in cb]


def test_boundary_cache_loads_identically_and_damage_is_rebuilt(
    boundaries: Boundaries, tmp_path: Path, stored_always: None
) -> None:
    src = _alps(boundaries, tmp_path / "alps.geojson")
    root = tmp_path / "cache"
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(5.0, 18.0, 4000), rng.uniform(45.0, 49.5, 4000)
    fresh = load_boundaries(src, land=False, cache_dir=False)
    groups = fresh.classify(lon, lat)
    countries = fresh.info().countries
    want = boundary_distance_m(fresh, lon, lat, groups, countries)

    def load_and_check() -> Boundaries:
        b = load_boundaries(src, land=False, cache_dir=root)
        _same_boundaries(b, fresh, lon, lat)
        got = boundary_distance_m(b, lon, lat, groups, countries)
        np.testing.assert_array_equal(got, want)
        return b

    load_and_check()  # builds and writes the cache (and the samples, on first use)
    (folder,) = (root / "airspace").iterdir()
    assert (folder / "layers.arrow").is_file() and (folder / "layers.crc32").is_file()
    assert sorted(f.name for f in folder.glob("samples-v1-*.npz"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_and_check()  # from the cache, samples and trees included
    # damaged table: noticed, folder removed and written afresh
    for how in ("flip", "truncate"):
        _damage(folder / "layers.arrow", how)
        with pytest.warns(UserWarning, match="unreadable"):
            load_and_check()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            load_and_check()
    _damage(folder / "meta.json", "truncate")
    with pytest.warns(UserWarning, match="unreadable"):
        load_and_check()
    assert [p.name for p in (root / "airspace").iterdir()] == [folder.name]


def _features() -> pd.DataFrame:
    """Features of simulated flights (their track features; the patterns stage is
    not run, the threshold probes below reach every feature)."""
    pts, _ = simulate({"light_orbit": 2, "circuits": 2, "isr_racetrack": 1, "hems": 1}, seed=11)
    return features_table(pts, EVENT_SCHEMA.empty_table())


def test_model_trees_predict_as_the_forest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERFLIGHT_CACHE", str(tmp_path))
    first = load_model()  # unpickled, and its trees stored
    assert list((tmp_path / "model").glob("*.npz")) == [trees_cache_file(default_model_path())]
    again = load_model()
    assert again._estimator is None and again.trees is not None
    assert again.classes == first.classes and again.columns == first.columns
    assert again.meta == first.meta
    feats = _features()
    # rows on the split thresholds, either side of them and missing (NaN)
    rng = np.random.default_rng(3)
    probe = feats[first.columns].to_numpy(np.float64)[rng.integers(0, len(feats), 400)]
    t = again.trees
    split = t.left != np.arange(t.left.size)
    for j in range(probe.shape[1]):
        thr = t.threshold[split & (t.feature == j)].astype(np.float32)
        if thr.size:
            pick = rng.choice(thr, probe.shape[0])
            toward = np.array([-np.inf, np.nan, np.inf], np.float32)[rng.integers(0, 3, pick.size)]
            probe[:, j] = np.where(np.isnan(toward), pick, np.nextafter(pick, toward))
        probe[rng.random(probe.shape[0]) < 0.05, j] = np.nan
    estimator = first.estimator
    for x in (feats, pd.DataFrame(probe, columns=first.columns)):
        want = estimator.predict_proba(x[first.columns].to_numpy(np.float64))
        np.testing.assert_array_equal(again.predict_proba(x).to_numpy(), want)
        np.testing.assert_array_equal(first.predict_proba(x).to_numpy(), want)
    # the estimator itself is still there when asked for
    assert [str(c) for c in again.estimator.classes_] == first.classes


@pytest.mark.parametrize("how", ["truncate", "flip"])
def test_damaged_model_cache_is_rebuilt_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setenv("OVERFLIGHT_CACHE", str(tmp_path))
    want = load_model().predict_proba(_features())
    (f,) = (tmp_path / "model").glob("*.npz")
    _damage(f, how)
    with pytest.warns(UserWarning, match="unreadable"):
        got = load_model()
    pd.testing.assert_frame_equal(got.predict_proba(_features()), want)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_model()._estimator is None


def test_a_cached_model_runs_without_importing_scikit_learn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVERFLIGHT_CACHE", str(tmp_path))
    load_model()  # stores the trees
    code = (
        "import sys; from overflight.classify.model import load_model; m = load_model(); "
        "import numpy as np, pandas as pd; "
        "m.predict_proba(pd.DataFrame(np.zeros((3, len(m.columns))), columns=m.columns)); "
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ),
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "False"
