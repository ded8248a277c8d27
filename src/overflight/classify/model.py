"""The mission model: a fitted scikit-learn estimator plus what it needs to run.

The shipped model lives in ``overflight/classify/data/mission_model.joblib``
and is rebuilt by :func:`overflight.classify.train.train` (``overflight
train``).  Loading uses joblib (pickle): only load files you built or got from
this package.

The first load of a model file also stores its trees as flat arrays
(:class:`~overflight.classify.trees.TreeArrays`; :mod:`overflight.classify.trees`
says why) in the cache folder (:func:`overflight.cachedir.cache_root`), under
``model/``, keyed by the file's SHA-256 and the scikit-learn version; later
loads read those and predict with them, to the bit what ``predict_proba``
gives (checked when they are made), and unpickle the estimator only when it
is asked for.

Identity facts from the identify stage (``military``, ``isr_type``,
``drone_envelope``, ``glider_registration``, ``db_mission``) are not model
features: among the labelled trajectories they are set on few flights
(military: eight, six of them airliners; isr_type: none without a database,
one with plane-alert-db; drone_envelope: mostly the TV-relay aircraft;
glider_registration: seven of the nine glider flights and no other;
db_mission, which exists only with a database: 102 flights, most of them
firefighters and the Tour de France relay aircraft), far too few or
too lopsided for a model to learn their weight.  They enter afterwards as
stated likelihood ratios on the model's probabilities
(:data:`IDENTITY_FACTORS`, :data:`DB_MISSION_FACTOR`; fixed from what the
facts mean, not fitted), and every use is written into
the mission reason.  ``bench/missions.py`` scores the model with them, as
the pipeline runs it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from overflight.cachedir import cache_root, load_arrays, save_arrays
from overflight.classify.trees import TreeArrays, _verified
from overflight.errors import InputError

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
#: cross-validation, with no surveillance flight gained over 2).  A glider's
#: registration (a mark its national register keeps for gliders and powered
#: sailplanes) makes the glider mission far likelier: the aircraft can hardly
#: do anything else, though a powered sailplane also tours and trains like a
#: light aeroplane, so the factor (20) is large but not decisive.
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
    "glider_registration": {"glider": 20.0},
}

#: Likelihood ratio for the mission an aircraft database names
#: (``db_mission``, :mod:`overflight.identify.roles`): strong, because the
#: curators filed the aircraft under that job, but not decisive, because the
#: same aircraft also ferries, trains and flies tests; a flight the model
#: finds 8 times likelier to be transport than firefighting stays transport.
DB_MISSION_FACTOR = 6.0

#: Identity columns of the flights table that :func:`apply_identity` reads.
IDENTITY_COLUMNS: tuple[str, ...] = (*IDENTITY_FACTORS, "db_mission")


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
    root = cache_root()
    assert root is not None  # None only when asked for no cache (cache_dir=False)
    try:
        sklearn = metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        sklearn = "none"
    h = hashlib.sha256(f"{TREES_FORMAT} {sklearn}\n".encode())
    h.update(path.read_bytes())
    return root / "model" / f"{TREES_FORMAT}-{h.hexdigest()[:24]}.npz"


def _load_cached(f: Path, p: Path) -> MissionModel | None:
    got = load_arrays(f.parent, f.stem)
    if got is None:
        return None
    try:
        n_features, nan_ok = int(got["n_features"]), bool(got["nan_ok"])
        trees = TreeArrays(got["classes"].tolist(), got, n_features, nan_ok)
        columns = [str(c) for c in got["columns"].tolist()]
        meta = json.loads(str(got["meta"]))
        if len(columns) != trees.n_features or not isinstance(meta, dict):
            raise ValueError("columns or metadata do not match the trees")
    except (ValueError, KeyError, TypeError) as exc:
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
    save_arrays(f.parent, f.stem, trees.arrays() | extra, create=True)


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
    ``military``, ``isr_type``, ``drone_envelope`` and
    ``glider_registration`` (missing or null means unknown and changes
    nothing), and optionally ``db_mission``: a mission
    name (or null) whose probability is multiplied by
    :data:`DB_MISSION_FACTOR`.

    Examples
    --------
    >>> p = pd.DataFrame({"surveillance": [0.3], "transport": [0.7]}, index=["f"])
    >>> q, notes = apply_identity(p, pd.DataFrame({"isr_type": [True]}, index=["f"]))
    >>> round(float(q.loc["f", "surveillance"]), 2), notes["f"]
    (0.77, 'ISR airframe type')
    >>> q, notes = apply_identity(p, pd.DataFrame({"db_mission": ["surveillance"]}, index=["f"]))
    >>> round(float(q.loc["f", "surveillance"]), 2), notes["f"]
    (0.72, 'database: surveillance')
    """
    out = proba.copy()
    notes = pd.Series("", index=proba.index, dtype=object)
    words = {
        "isr_type": "ISR airframe type",
        "military": "military",
        "drone_envelope": "drone envelope",
        "glider_registration": "glider registration",
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
    if "db_mission" in flags.columns:
        named_s = flags["db_mission"].reindex(out.index).astype(object)
        named = named_s.where(named_s.notna(), None).to_numpy()  # pd.NA, NaN -> None
        cols = np.asarray(out.columns, dtype=object)
        hit = named[:, None] == cols[None, :]
        on = hit.any(axis=1)
        if on.any():
            out.loc[on] = np.where(hit[on], out.loc[on].to_numpy() * DB_MISSION_FACTOR, out.loc[on])
            notes[on] = [
                f"{n}, database: {m}" if n else f"database: {m}"
                for n, m in zip(notes[on], named[on], strict=True)
            ]
    # row sums over a C-ordered copy: each row is then summed the same way
    # whatever the number of rows (pandas' row sum of a column-ordered frame
    # is not), so a flight's confidence does not depend on its batch
    arr = np.ascontiguousarray(out.to_numpy(np.float64))
    total = arr.sum(axis=1)
    total[total == 0.0] = 1.0
    return pd.DataFrame(arr / total[:, None], index=out.index, columns=out.columns), notes
