"""The mission model: a fitted scikit-learn estimator plus what it needs to run.

The shipped model lives in ``overflight/classify/data/mission_model.joblib``
and is rebuilt by :func:`overflight.classify.train.train` (``overflight
train``).  Loading uses joblib (pickle): only load files you built or got from
this package.

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

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from overflight.errors import InputError

MODEL_FILE = "mission_model.joblib"

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


@dataclass
class MissionModel:
    """A fitted classifier, the feature columns it expects, and provenance."""

    estimator: Any
    columns: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.estimator.classes_]

    def predict_proba(self, features: pd.DataFrame) -> pd.DataFrame:
        """Class probabilities, one row per feature row, one column per mission."""
        missing = [c for c in self.columns if c not in features.columns]
        if missing:
            raise InputError(f"feature columns missing: {missing}; expected {self.columns}")
        if len(features) == 0:
            return pd.DataFrame(columns=self.classes, dtype=float)
        p = self.estimator.predict_proba(features[self.columns].to_numpy(np.float64))
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


def load_model(path: str | Path | None = None) -> MissionModel:
    """Load a saved model (the shipped one by default)."""
    import joblib

    p = default_model_path() if path is None else Path(path)
    if not p.is_file():
        raise InputError("no mission model here; build one with `overflight train`", p)
    blob = joblib.load(p)
    if not isinstance(blob, dict) or not {"estimator", "columns"} <= set(blob):
        raise InputError("not a mission model file (expected estimator and columns)", p)
    return MissionModel(blob["estimator"], list(blob["columns"]), dict(blob.get("meta", {})))


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
