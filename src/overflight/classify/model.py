"""The mission model: a fitted scikit-learn estimator plus what it needs to run.

The shipped model lives in ``overflight/classify/data/mission_model.joblib``
and is rebuilt by :func:`overflight.classify.train.train` (``overflight
train``).  Loading uses joblib (pickle): only load files you built or got from
this package.

Unpickling a forest imports scikit-learn (and through it ``scipy.stats``),
most of a second in every fresh process.  So the first load of a model file
also stores its trees as flat arrays (:class:`TreeArrays`) in the cache
(``$OVERFLIGHT_CACHE``, else ``$XDG_CACHE_HOME/overflight``, else
``~/.cache/overflight``, under ``model/``, keyed by the file's SHA-256 and the
scikit-learn version); later loads read those and predict with numpy, to the
bit what ``predict_proba`` gives (checked when they are made), and unpickle
the estimator only when it is asked for.

Identity facts from the identify stage (``military``, ``isr_type``,
``drone_envelope``) are not model features: among the labelled trajectories
they are set on a handful of flights (military: two non-airline flights;
isr_type: none; drone_envelope: mostly the TV-relay aircraft), far too few
for a model to learn their weight.  They enter afterwards as stated
likelihood ratios on the model's probabilities (:data:`IDENTITY_FACTORS`,
fixed from what the flags mean, not fitted), and every use is written into
the mission reason.  ``bench/missions.py`` scores the model with them, as
the pipeline runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from overflight.errors import InputError
from overflight.jit import njit

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
MODEL_FILE = "mission_model.joblib"
#: Names the cached tree arrays; change it when their layout changes.
TREES_FORMAT = "trees-v2"

#: flag → {mission: likelihood ratio}.  An ISR airframe makes surveillance far
#: likelier; a military airframe makes the military missions likelier and the
#: civil ones (gliding, air ambulance, TV relay) less likely; flying inside
#: the envelope of surveillance drones (slow, high, long) favours surveillance,
#: but only by 2: unlike the other two flags it is measured on the flight
#: itself, from the speed, altitude and duration the model already sees, so a
#: large factor counts that evidence twice (at 4 it turned TV-relay and survey
#: flights, which fly the same envelope, into surveillance in the grouped
#: cross-validation, with no surveillance flight gained over 2).
IDENTITY_FACTORS: dict[str, dict[str, float]] = {
    "isr_type": {"surveillance": 8.0},
    "military": {
        "surveillance": 2.0,
        "aerial_refueling": 3.0,
        "training": 2.0,
        "glider": 0.2,
        "medical": 0.5,
        "tv_relay": 0.2,
        "firefighting": 0.5,
    },
    "drone_envelope": {"surveillance": 2.0},
}


@njit
def _forest_sum(
    x: F32, root: I64, left: I64, right: I64, feat: I64, thr: F64, nan: Bools, val: F64, out: F64
) -> None:
    """Add to ``out[i]`` the leaf values of row ``x[i]`` in every tree, tree after
    tree (a node whose left child is itself is a leaf; children follow parents)."""
    for t in range(root.size):
        for i in range(x.shape[0]):
            node = root[t]
            while left[node] != node:
                v = x[i, feat[node]]
                if np.isnan(v):
                    node = left[node] if nan[node] else right[node]
                elif v <= thr[node]:
                    node = left[node]
                else:
                    node = right[node]
            for c in range(out.shape[1]):
                out[i, c] += val[node, c]


class TreeArrays:
    """The trees of a fitted scikit-learn forest classifier as flat arrays.

    :meth:`predict_proba` repeats the forest's: features cast to float32, each
    tree walked from its root (a NaN goes where the split sends missing values,
    any other value left when ``x <= threshold``), the leaves' class fractions
    added tree after tree and divided by the number of trees.  Node ``i`` of
    every tree is one row of the arrays, children after their parent (as
    scikit-learn numbers them); a leaf's children are itself.

    Examples
    --------
    >>> t = TreeArrays(["a", "b"], {"left": [1, 1, 2], "right": [2, 1, 2],
    ...     "feature": [0, 0, 0], "threshold": [0.5, 0, 0], "nan_left": [True, 0, 0],
    ...     "value": [[0.5, 0.5], [1, 0], [0, 1]], "roots": [0]}, n_features=1)
    >>> t.predict_proba(np.array([[0.0], [1.0], [np.nan]])).tolist()
    [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    """

    NAMES = ("left", "right", "feature", "threshold", "nan_left", "value", "roots")

    def __init__(
        self, classes: list[str], arrays: Mapping[str, Any], n_features: int, nan_ok: bool = True
    ) -> None:
        self.classes = [str(c) for c in classes]
        self.left = np.asarray(arrays["left"], np.int64)
        self.right = np.asarray(arrays["right"], np.int64)
        self.feature = np.asarray(arrays["feature"], np.int64)
        self.threshold = np.asarray(arrays["threshold"], np.float64)
        self.nan_left = np.asarray(arrays["nan_left"], bool)
        self.value = np.asarray(arrays["value"], np.float64)
        self.roots = np.asarray(arrays["roots"], np.int64)
        self.n_features = int(n_features)
        #: whether the forest takes NaN (a missing value) as input
        self.nan_ok = nan_ok
        n = self.threshold.size
        own = np.arange(n)
        links = np.concatenate([self.left, self.right, self.roots])
        if not (
            self.threshold.shape == self.left.shape == self.right.shape == (n,)
            and self.feature.shape == self.nan_left.shape == (n,)
            and self.value.shape == (n, len(self.classes))
            and self.roots.ndim == 1
            and self.roots.size > 0
            and bool(np.all((links >= 0) & (links < n)))
            and bool(np.all((self.left >= own) & (self.right >= own)))
            and bool(np.all((self.feature >= 0) & (self.feature < self.n_features)))
        ):
            raise ValueError("inconsistent tree arrays")

    @classmethod
    def from_estimator(cls, est: Any) -> TreeArrays | None:
        """The trees of a fitted forest classifier (None for any other estimator)."""
        trees = getattr(est, "estimators_", None)
        if getattr(est, "n_outputs_", 0) != 1 or not isinstance(trees, list) or not trees:
            return None
        classes = [str(c) for c in est.classes_]
        parts: dict[str, list[npt.NDArray[Any]]] = {k: [] for k in cls.NAMES}
        start = 0
        for tree in trees:
            t = getattr(tree, "tree_", None)
            if t is None or t.value.ndim != 3 or t.value.shape[2] < len(classes):
                return None
            own = np.arange(t.node_count)
            leaf = t.children_left < 0
            parts["left"].append(np.where(leaf, own, t.children_left) + start)
            parts["right"].append(np.where(leaf, own, t.children_right) + start)
            parts["feature"].append(np.where(leaf, 0, t.feature))
            parts["threshold"].append(t.threshold)
            missing = getattr(t, "missing_go_to_left", np.zeros(t.node_count, bool))
            parts["nan_left"].append(np.asarray(missing, bool))
            parts["value"].append(t.value[:, 0, : len(classes)])
            parts["roots"].append(np.array([start]))
            start += t.node_count
        arrays = {k: np.concatenate(v) for k, v in parts.items()}
        return cls(classes, arrays, int(est.n_features_in_))

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The arrays to store, by name (:data:`NAMES`), compact dtypes."""
        out = {k: getattr(self, k) for k in self.NAMES}
        return out | {k: out[k].astype(np.int32) for k in ("left", "right", "feature", "roots")}

    def predict_proba(self, x: npt.ArrayLike) -> npt.NDArray[np.float64] | None:
        """Class probabilities of rows ``x``; None when scikit-learn would refuse
        them (a wrong width, a value infinite as float32, NaN unless :attr:`nan_ok`)."""
        x32 = np.ascontiguousarray(x, dtype=np.float32)
        if x32.ndim != 2 or x32.shape[1] != self.n_features or np.isinf(x32).any():
            return None
        if not self.nan_ok and np.isnan(x32).any():
            return None
        out = np.zeros((x32.shape[0], len(self.classes)))
        walk = (self.left, self.right, self.feature, self.threshold, self.nan_left)
        _forest_sum(x32, self.roots, *walk, self.value, out)
        out /= self.roots.size
        return out


def _probe(trees: TreeArrays, seed: int = 0, n: int = 512) -> npt.NDArray[np.float64]:
    """Rows to compare two predictors on: split thresholds, the float32 values
    either side of them, and (one in twenty) NaN, drawn per feature."""
    rng = np.random.default_rng(seed)
    split = trees.left != np.arange(trees.left.size)
    out = np.zeros((n, trees.n_features))
    for j in range(trees.n_features):
        thr = trees.threshold[split & (trees.feature == j)].astype(np.float32)
        if thr.size == 0:
            continue
        pick = rng.choice(thr, n)
        near = np.stack([np.nextafter(pick, -np.inf), pick, np.nextafter(pick, np.inf)])
        col = near[rng.integers(0, 3, n), np.arange(n)].astype(np.float64)
        out[:, j] = np.where(rng.random(n) < 0.05, np.nan, col)
    return out


def _verified(est: Any) -> TreeArrays | None:
    """The estimator's :class:`TreeArrays` when they predict exactly as it does."""
    try:
        trees = TreeArrays.from_estimator(est)
        if trees is None:
            return None
        x = _probe(trees)
        try:
            want = est.predict_proba(x)
        except ValueError:  # a forest that refuses NaN: compare without, and refuse it too
            trees.nan_ok = False
            x = np.nan_to_num(x)
            want = est.predict_proba(x)
        mine = trees.predict_proba(x)
        same = mine is not None and np.array_equal(mine, want)
    except (AttributeError, TypeError, ValueError):
        return None
    return trees if same else None


class MissionModel:
    """A fitted classifier, the feature columns it expects, and provenance.

    A forest predicts through its :class:`TreeArrays` (``trees``) when it has
    them; a model read from the cache has only those, and unpickles
    ``estimator`` from ``source`` the first time it is asked for.
    """

    def __init__(
        self,
        estimator: Any,
        columns: list[str],
        meta: dict[str, Any] | None = None,
        *,
        trees: TreeArrays | None = None,
        source: Path | None = None,
    ) -> None:
        if estimator is None and source is None:
            raise ValueError("a mission model needs an estimator or a file to read it from")
        self._estimator = estimator
        self.columns = list(columns)
        self.meta: dict[str, Any] = {} if meta is None else meta
        self.trees = trees
        self.source = source

    def __repr__(self) -> str:
        return f"MissionModel({len(self.classes)} classes, {len(self.columns)} columns)"

    @property
    def estimator(self) -> Any:
        """The fitted scikit-learn estimator (unpickled on first use when cached)."""
        if self._estimator is None:
            assert self.source is not None
            self._estimator = _read(self.source)["estimator"]
        return self._estimator

    @property
    def classes(self) -> list[str]:
        if self.trees is not None:
            return list(self.trees.classes)
        return [str(c) for c in self.estimator.classes_]

    def predict_proba(self, features: pd.DataFrame) -> pd.DataFrame:
        """Class probabilities, one row per feature row, one column per mission."""
        missing = [c for c in self.columns if c not in features.columns]
        if missing:
            raise InputError(f"feature columns missing: {missing}; expected {self.columns}")
        if len(features) == 0:
            return pd.DataFrame(columns=self.classes, dtype=float)
        x = features[self.columns].to_numpy(np.float64)
        p = None if self.trees is None else self.trees.predict_proba(x)
        if p is None:
            p = self.estimator.predict_proba(x)
        return pd.DataFrame(p, index=features.index, columns=self.classes)

    def save(self, path: str | Path) -> None:
        import joblib

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(
            {"estimator": self.estimator, "columns": self.columns, "meta": self.meta},
            path,
            compress=3,
        )


def default_model_path() -> Path:
    """Where the shipped model is."""
    return Path(str(resources.files("overflight.classify") / "data" / MODEL_FILE))


def _read(p: Path) -> dict[str, Any]:
    import joblib

    blob = joblib.load(p)
    if not isinstance(blob, dict) or not {"estimator", "columns"} <= set(blob):
        raise InputError("not a mission model file (expected estimator and columns)", p)
    return blob


def trees_cache_file(path: Path) -> Path:
    """Where the :class:`TreeArrays` of model file ``path`` are cached."""
    env = os.environ.get("OVERFLIGHT_CACHE")
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(env) if env else (Path(xdg) if xdg else Path.home() / ".cache") / "overflight"
    try:
        sklearn = metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        sklearn = "none"
    h = hashlib.sha256(f"{TREES_FORMAT} {sklearn}\n".encode())
    h.update(path.read_bytes())
    return root / "model" / f"{TREES_FORMAT}-{h.hexdigest()[:24]}.npz"


def _load_cached(f: Path, p: Path) -> MissionModel | None:
    if not f.is_file():
        return None
    try:
        with np.load(f, allow_pickle=False) as npz:
            n_features, nan_ok = int(npz["n_features"]), bool(npz["nan_ok"])
            trees = TreeArrays(npz["classes"].tolist(), npz, n_features, nan_ok)
            columns = [str(c) for c in npz["columns"].tolist()]
            meta = json.loads(str(npz["meta"]))
        if len(columns) != trees.n_features or not isinstance(meta, dict):
            raise ValueError("columns or metadata do not match the trees")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        warnings.warn(f"model cache {f} unreadable, rebuilding: {exc}", stacklevel=3)
        return None
    return MissionModel(None, columns, meta, trees=trees, source=p)


def _save_cached(f: Path, model: MissionModel) -> None:
    trees = model.trees
    if trees is None or json.loads(json.dumps(model.meta)) != model.meta:
        return
    extra = {
        "classes": np.array(trees.classes, np.str_),
        "columns": np.array(model.columns, np.str_),
        "meta": np.array(json.dumps(model.meta)),
        "n_features": np.array(trees.n_features, np.int64),
        "nan_ok": np.array(trees.nan_ok),
    }
    try:
        f.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=f.parent)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, allow_pickle=False, **trees.arrays(), **extra)
        os.replace(tmp, f)
    except OSError as exc:
        warnings.warn(f"model cache not written to {f}: {exc}", stacklevel=3)


def load_model(path: str | Path | None = None) -> MissionModel:
    """Load a saved model (the shipped one by default), from the cache when it can."""
    p = default_model_path() if path is None else Path(path)
    if not p.is_file():
        raise InputError("no mission model here; build one with `overflight train`", p)
    cached = trees_cache_file(p)
    hit = _load_cached(cached, p)
    if hit is not None:
        return hit
    blob = _read(p)
    model = MissionModel(blob["estimator"], list(blob["columns"]), dict(blob.get("meta", {})))
    model.trees = _verified(model.estimator)
    if model.trees is not None and len(model.columns) == model.trees.n_features:
        _save_cached(cached, model)
    else:
        model.trees = None
    return model


def apply_identity(proba: pd.DataFrame, flags: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Reweight probabilities by identity flags; returns them and the notes used.

    ``flags`` is indexed like ``proba`` with boolean columns among
    ``military``, ``isr_type`` and ``drone_envelope`` (missing or null means
    unknown and changes nothing).

    Examples
    --------
    >>> p = pd.DataFrame({"surveillance": [0.3], "transport": [0.7]}, index=["f"])
    >>> q, notes = apply_identity(p, pd.DataFrame({"isr_type": [True]}, index=["f"]))
    >>> round(float(q.loc["f", "surveillance"]), 2), notes["f"]
    (0.77, 'ISR airframe type')
    """
    out = proba.copy()
    notes = pd.Series("", index=proba.index, dtype=object)
    words = {
        "isr_type": "ISR airframe type",
        "military": "military",
        "drone_envelope": "drone envelope",
    }
    for flag, factors in IDENTITY_FACTORS.items():
        if flag not in flags.columns:
            continue
        on = flags[flag].reindex(out.index).fillna(False).astype(bool).to_numpy()
        if not on.any():
            continue
        w = np.array([factors.get(c, 1.0) for c in out.columns])
        out.loc[on] = out.loc[on].to_numpy() * w
        notes[on] = [f"{n}, {words[flag]}" if n else words[flag] for n in notes[on]]
    total = out.sum(axis=1).replace(0.0, 1.0)
    return out.div(total, axis=0), notes
