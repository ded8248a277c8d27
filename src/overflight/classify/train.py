"""Training data, grouped cross-validation and the shipped model.

The data set has three parts, each row tagged with its ``kind``:

``real``
    Labelled real flights (:mod:`overflight.classify.samples`).  The only rows
    that are ever scored.
``thinned``
    Each real flight again, thinned to one fix a minute (the cadence of
    ADS-B Exchange extracts such as the RNC data).  Same aircraft group as
    its original, so it never leaks across folds; it teaches the model that a
    sparse feed is not a mission.
``simulated``
    Flights from :mod:`overflight.classify.simulate` for missions with few or
    no real examples (surveillance orbits, racetracks and patrols; tanker
    tracks; airfield and carrier circuits; air-ambulance hops; en-route
    navaid inspection tours).  Added to every training fold, never scored.

Real rows also carry the identity facts the identify stage derives
(:func:`identity_flags`: from the address, callsign and flight, and from an
aircraft database when one is given); they are not features but reweight
the model's probabilities as in the pipeline.

Folds are grouped by icao24 (scikit-learn ``StratifiedGroupKFold``), so no
aircraft is both trained on and scored.  The estimator is an extra-trees
ensemble (scikit-learn ``ExtraTreesClassifier``); its settings (weight of the
simulated rows, leaf size: :data:`CANDIDATES`) are chosen by an inner grouped
cross-validation on each training part (:func:`select_candidate`), scored
after the identity reweighting as the pipeline decides, so an evaluation
never tunes on its test aircraft; the shipped model is chosen the same way on
all of its training data.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedGroupKFold

from overflight.classify.features import FEATURES, features_table
from overflight.classify.model import (
    IDENTITY_COLUMNS,
    IDENTITY_FACTORS,
    MissionModel,
    apply_identity,
)
from overflight.classify.samples import MISSIONS, load_all
from overflight.classify.simulate import simulate

#: Simulated flights per profile in the training set.
SIM_COUNTS: dict[str, int] = {
    "heli_orbit": 40,
    "light_orbit": 40,
    "isr_orbit": 25,
    "isr_racetrack": 25,
    "patrol": 25,
    "tv_relay": 30,
    "tanker": 40,
    "navaid_tour": 30,
    "circuits": 40,
    "carrier": 30,
    "hems": 40,
}


#: Aircraft left out of the shipped model (not of the cross-validation), so
#: that tests can check it on flights it has never seen: a glider
#: (sisteron), a calibration aircraft (G-TACN: cardiff, london_gatwick), one
#: of the RNC helicopters (N6968A) and three airliners from quickstart.
HOLDOUT_ICAO24: frozenset[str] = frozenset(
    {"dd0891", "4076f1", "a94471", "0101de", "02a195", "06a133"}
)


def thin(points: pa.Table | pd.DataFrame, every_s: float = 60.0, seed: int = 0) -> pd.DataFrame:
    """Keep the first fix of each ``every_s`` window per flight (random phase).

    Examples
    --------
    >>> df = pd.DataFrame({"flight_id": "a", "timestamp":
    ...     pd.to_datetime(np.arange(0, 600, 5), unit="s", utc=True)})
    >>> len(thin(df)) in (10, 11)  # ten minutes, window edges at a random phase
    True
    """
    df = points.to_pandas() if isinstance(points, pa.Table) else points
    rng = np.random.default_rng(seed)
    ids, inv = np.unique(df["flight_id"].astype(str).to_numpy(), return_inverse=True)
    phase = rng.uniform(0, every_s, size=ids.size)[inv]
    t = (pd.to_datetime(df["timestamp"], utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    key = pd.DataFrame({"f": inv, "b": np.floor((t.to_numpy() - phase) / every_s)})
    return df.loc[~key.duplicated().to_numpy()]


def build_dataset(
    samples_dir: str | Path,
    rnc_csv: str | Path | None,
    seed: int = 0,
    sim_counts: dict[str, int] | None = None,
    limit_per_label: int | None = None,
    extra: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    aircraft_db: pa.Table | None = None,
) -> pd.DataFrame:
    """Features of real, thinned and simulated flights with label, group and kind.

    ``limit_per_label`` keeps at most that many real flights per label (for a
    quick reproducibility test).  ``extra`` maps a points frame to more
    feature columns indexed by flight_id (the benchmark's baseline uses it so
    that both models see exactly the same flights).  ``aircraft_db`` (from
    :func:`overflight.identify.load_aircraft_db`) gives the real flights'
    identity facts what a database knows (``db_mission`` among them).
    """
    pts, labels = load_all(samples_dir, rnc_csv)
    if limit_per_label is not None:
        labels = labels.groupby("label", group_keys=False).head(limit_per_label)
        pts = pts.filter(pa.compute.is_in(pts["flight_id"], pa.array(labels["flight_id"])))
    real_pts = pts.to_pandas()
    counts = SIM_COUNTS if sim_counts is None else sim_counts
    parts: list[tuple[str, pd.DataFrame, pd.DataFrame, str]] = [
        ("real", real_pts, labels, ""),
        ("thinned", thin(real_pts, 60.0, seed), labels, "#thin60"),
    ]
    if sum(counts.values()):
        spts, slab = simulate(counts, seed)
        parts.append(("simulated", spts, slab, ""))
    frames = []
    for kind, p, lab, suffix in parts:
        f = features_table(p)
        if extra is not None:
            f = f.join(extra(p), how="inner")
        f = f.join(lab.set_index("flight_id")[["label", "icao24", "source"]], how="inner")
        if kind != "simulated":
            f = f.join(identity_flags(p, lab, aircraft_db))
        frames.append(f.set_axis(f.index + suffix).assign(kind=kind))
    data = pd.concat(frames).rename(columns={"icao24": "group"})
    for flag in IDENTITY_FACTORS:
        data[flag] = data[flag].fillna(False).astype(bool)
    return data.sort_index()


def identity_flags(
    points: pd.DataFrame, labels: pd.DataFrame, aircraft_db: pa.Table | None = None
) -> pd.DataFrame:
    """The identify stage's facts of each labelled flight, indexed by flight_id.

    Computed as the pipeline computes them from the address, the callsign,
    the flight itself and, when given, the aircraft database: they are not
    model features but reweight its probabilities
    (:func:`~overflight.classify.model.apply_identity`).
    """
    from overflight.identify import identify_flights

    cs = labels["callsign"].astype(object).where(labels["callsign"].notna(), None)
    flights = pa.table(
        {
            "flight_id": labels["flight_id"].astype(str).to_numpy(),
            "icao24": labels["icao24"].astype(str).to_numpy(),
            "callsign": pa.array(cs.to_list(), pa.string()),
        }
    )
    cols = ["flight_id", "icao24", "timestamp", "altitude", "groundspeed", "vertical_rate"]
    cols += ["squawk", "valid", "latitude", "longitude", "onground", "callsign"]
    present = [c for c in cols if c in points.columns]
    table = pa.Table.from_pandas(points[present], preserve_index=False)
    out = identify_flights(flights, table, aircraft_db).select(["flight_id", *IDENTITY_COLUMNS])
    df = out.to_pandas().set_index("flight_id")
    bools = list(IDENTITY_FACTORS)
    df[bools] = df[bools].fillna(False).astype(bool)
    return df


@dataclass(frozen=True)
class Candidate:
    """One setting of the mission model's estimator, chosen among by nested CV.

    ``sim_weight`` is the sample weight of a simulated flight against a real
    (or thinned) one; ``min_leaf`` the ensemble's ``min_samples_leaf``.
    """

    sim_weight: float
    min_leaf: int

    def make(self, seed: int, n_trees: int = 300) -> ExtraTreesClassifier:
        """The unfitted extra-trees ensemble (random split points, no bootstrap)."""
        return ExtraTreesClassifier(
            n_estimators=n_trees,
            min_samples_leaf=self.min_leaf,
            max_features="sqrt",
            class_weight="balanced_subsample",
            random_state=seed,
            n_jobs=1,
        )

    def fit(
        self, train: pd.DataFrame, columns: list[str], seed: int, n_trees: int = 300
    ) -> ExtraTreesClassifier:
        """The ensemble fitted on ``train`` (simulated rows weighted by ``sim_weight``)."""
        weight = np.where(train["kind"].to_numpy() == "simulated", self.sim_weight, 1.0)
        est = self.make(seed, n_trees)
        return est.fit(train[columns].to_numpy(), train["label"].to_numpy(), sample_weight=weight)


#: The settings nested cross-validation chooses among: simulated flights at a
#: quarter or half the weight of a real one (they teach patterns the real set
#: lacks, but are many and cleaner than real flights; without them the
#: classes that only they teach vanish, at full weight they drown the real
#: tv_relay and survey flights), leaves of at least three or five flights
#: (fully grown trees were never preferred and scored lower).
CANDIDATES: tuple[Candidate, ...] = tuple(
    Candidate(w, leaf) for w in (0.25, 0.5) for leaf in (3, 5)
)

#: Trees per ensemble while choosing (a ranking needs fewer than the final model).
SELECT_TREES = 100

Fit = Callable[[pd.DataFrame, list[str], int], Any]


def _splits(real: pd.DataFrame, n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped, stratified folds over the real rows (fewer when the data is small)."""
    y = real["label"].to_numpy()
    biggest = int(pd.Series(y).value_counts().max()) if y.size else 0
    k = max(2, min(n_splits, real["group"].nunique(), biggest))
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # classes with fewer aircraft than folds
        return list(folds.split(real, y, real["group"].to_numpy()))


def select_candidate(
    data: pd.DataFrame,
    columns: list[str],
    seed: int = 0,
    n_splits: int = 3,
    candidates: tuple[Candidate, ...] = CANDIDATES,
) -> tuple[Candidate, dict[Candidate, float]]:
    """The candidate with the best grouped-CV macro-F1 on ``data``'s real rows.

    Called on the training part of each outer fold (nested cross-validation),
    so the outer test aircraft never influence the choice.  Flights are
    decided as the pipeline decides them: the identity flags of ``data``
    (when present) reweight the probabilities first.  Ties go to the earlier
    candidate.
    """
    real = data[data["kind"] == "real"]
    flags = real[[f for f in IDENTITY_COLUMNS if f in real.columns]]
    splits = _splits(real, n_splits, seed)
    got: dict[Candidate, float] = {}
    for cand in candidates:
        proba = pd.DataFrame(0.0, index=real.index, columns=list(MISSIONS))
        for _tr, te in splits:
            test_groups = set(real["group"].iloc[te])
            est = cand.fit(data[~data["group"].isin(test_groups)], columns, seed, SELECT_TREES)
            where = proba.columns.get_indexer([str(c) for c in est.classes_])
            proba.iloc[te, where] = est.predict_proba(real[columns].iloc[te].to_numpy())
        pred = decide(apply_identity(proba, flags)[0])
        got[cand] = float(scores(real["label"], pred)["macro_f1"])
    best = max(candidates, key=lambda c: (got[c], -candidates.index(c)))
    return best, got


def choose_and_fit(
    data: pd.DataFrame,
    columns: list[str],
    seed: int = 0,
    candidates: tuple[Candidate, ...] = CANDIDATES,
) -> tuple[Candidate, ExtraTreesClassifier]:
    """Choose a candidate by grouped CV on ``data`` (when there is a choice), then
    fit it on all of ``data``."""
    best = candidates[0]
    if len(candidates) > 1:
        best, _ = select_candidate(data, columns, seed, candidates=candidates)
    return best, best.fit(data, columns, seed)


def fit_mission_model(
    data: pd.DataFrame,
    columns: list[str],
    seed: int = 0,
    candidates: tuple[Candidate, ...] = CANDIDATES,
) -> Any:
    """The mission model's estimator fitted on ``data`` (a :data:`Fit`)."""
    return choose_and_fit(data, columns, seed, candidates)[1]


def cross_validate(
    data: pd.DataFrame,
    columns: list[str],
    fit: Fit,
    seed: int = 0,
    n_splits: int = 5,
    score_kinds: tuple[str, ...] = ("real",),
) -> dict[str, pd.DataFrame]:
    """Out-of-fold class probabilities for the real rows, grouped by aircraft.

    Folds are drawn over the real rows; ``fit(train, columns, seed)`` gets the
    real and thinned rows of the other aircraft plus every simulated row.  For
    each kind in ``score_kinds`` the held-out aircraft are scored on their
    rows of that kind (``"thinned"``: their one-fix-a-minute copies), indexed
    like the real rows; rows without a copy stay NaN.  Columns are
    :data:`MISSIONS`.
    """
    real = data[data["kind"] == "real"]
    scored: dict[str, pd.DataFrame] = {}
    for kind in score_kinds:
        alt = data[data["kind"] == kind]
        scored[kind] = alt.set_axis(alt.index.str.replace(r"#.*$", "", regex=True)).reindex(
            real.index
        )
    out = {k: pd.DataFrame(np.nan, index=real.index, columns=list(MISSIONS)) for k in score_kinds}
    for _tr, te in _splits(real, n_splits, seed):
        test_groups = set(real["group"].iloc[te])
        est = fit(data[~data["group"].isin(test_groups)], columns, seed)
        classes = [str(c) for c in est.classes_]
        for kind, rows in scored.items():
            part = rows.iloc[te]
            ok = part[columns].notna().all(axis=1).to_numpy()
            if ok.any():
                p = est.predict_proba(part[columns].to_numpy()[ok])
                idx = part.index[ok]
                out[kind].loc[idx] = 0.0
                out[kind].loc[idx, classes] = p
    return out


def decide(proba: pd.DataFrame) -> pd.Series:
    """The most probable mission of each row (NaN rows stay NaN)."""
    ok = proba.notna().all(axis=1)
    pred = pd.Series(np.nan, index=proba.index, dtype=object)
    if ok.any():
        p = proba[ok]
        pred[ok] = np.asarray(p.columns)[p.to_numpy().argmax(axis=1)]
    return pred


def scores(y_true: pd.Series, y_pred: pd.Series) -> dict[str, Any]:
    """Per-class precision, recall, support and macro-F1 over present labels."""
    present = [m for m in MISSIONS if m in set(y_true)]
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=present, zero_division=0)
    per = {
        m: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "n": int(s[i])}
        for i, m in enumerate(present)
    }
    macro = float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))
    return {"per_class": per, "macro_f1": macro}


def train(
    samples_dir: str | Path,
    rnc_csv: str | Path | None,
    out_path: str | Path,
    seed: int = 0,
    evaluate: bool = True,
    sim_counts: dict[str, int] | None = None,
    limit_per_label: int | None = None,
    holdout: frozenset[str] = HOLDOUT_ICAO24,
    candidates: tuple[Candidate, ...] = CANDIDATES,
    aircraft_db: pa.Table | None = None,
) -> dict[str, Any]:
    """Build the data set, cross-validate, fit and save the model.

    The saved model is fitted on every row except those of the ``holdout``
    aircraft, with the candidate that an inner grouped cross-validation on
    those rows prefers (the first of ``candidates`` when it is alone).

    Returns
    -------
    dict
        ``n_real``, ``n_thinned``, ``n_simulated``, ``labels`` (real counts)
        and, when ``evaluate``, the nested grouped cross-validation scores on
        real flights after the identity reweighting, as ``bench/missions.py``
        reports them (``macro_f1``, ``per_class``), and ``model_alone_macro_f1``.
    """
    data = build_dataset(
        samples_dir, rnc_csv, seed, sim_counts, limit_per_label, aircraft_db=aircraft_db
    )
    cols = list(FEATURES)
    real = data[data["kind"] == "real"]
    metrics: dict[str, Any] = {
        "n_real": len(real),
        "n_thinned": int((data["kind"] == "thinned").sum()),
        "n_simulated": int((data["kind"] == "simulated").sum()),
        "labels": real["label"].value_counts().to_dict(),
    }
    if evaluate:
        fit_fold = functools.partial(fit_mission_model, candidates=candidates)
        proba = cross_validate(data, cols, fit_fold, seed)["real"]
        flags = real[list(IDENTITY_COLUMNS)]
        metrics |= scores(real["label"], decide(apply_identity(proba, flags)[0]))
        metrics["model_alone_macro_f1"] = scores(real["label"], decide(proba))["macro_f1"]
    fit = data[~data["group"].isin(holdout)]
    chosen, est = choose_and_fit(fit, cols, seed, candidates)
    meta = {k: metrics[k] for k in ("n_real", "n_thinned", "n_simulated")}
    meta |= {"seed": seed, "holdout_icao24": sorted(holdout), "n_fit": len(fit)}
    meta |= {"sim_weight": chosen.sim_weight, "min_samples_leaf": chosen.min_leaf}
    meta["fixes"] = "marked by the clean stage (to_positions, clean), per labelled flight"
    if aircraft_db is not None:
        raw = (aircraft_db.schema.metadata or {}).get(b"overflight:stats")
        stats = json.loads(raw) if raw else {}
        meta["aircraft_db"] = {Path(k).name: v for k, v in stats.items()}
    model = MissionModel(est, cols, meta)
    model.save(out_path)
    return metrics
