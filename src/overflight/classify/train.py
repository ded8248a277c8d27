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
    tracks; airfield circuits).  Added to every training fold, never scored.

Folds are grouped by icao24 (scikit-learn ``StratifiedGroupKFold``), so no
aircraft is both trained on and scored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedGroupKFold

from overflight.classify.features import FEATURES, features_table
from overflight.classify.model import MissionModel
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
    "circuits": 40,
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
) -> pd.DataFrame:
    """Features of real, thinned and simulated flights with label, group and kind.

    ``limit_per_label`` keeps at most that many real flights per label (for a
    quick reproducibility test).  ``extra`` maps a points frame to more
    feature columns indexed by flight_id (the benchmark's baseline uses it so
    that both models see exactly the same flights).
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
        frames.append(f.set_axis(f.index + suffix).assign(kind=kind))
    data = pd.concat(frames).rename(columns={"icao24": "group"})
    return data.sort_index()


def make_forest(seed: int) -> RandomForestClassifier:
    """The mission model's estimator."""
    return RandomForestClassifier(
        n_estimators=300,
        min_samples_leaf=2,
        max_features="sqrt",
        class_weight="balanced_subsample",
        random_state=seed,
        n_jobs=1,
    )


def cross_validate(
    data: pd.DataFrame,
    columns: list[str],
    make: Callable[[int], Any],
    seed: int = 0,
    n_splits: int = 5,
    score_kind: str = "real",
) -> pd.Series:
    """Out-of-fold predictions for the real rows, grouped by aircraft.

    Folds are drawn over the real rows; each fold trains on the real and
    thinned rows of the other aircraft plus every simulated row.  With
    ``score_kind="thinned"`` the held-out aircraft are scored on their
    one-fix-a-minute copies instead (same folds), indexed like the real rows.
    """
    real = data[data["kind"] == "real"]
    y = real["label"].to_numpy()
    # small data sets (tests) cannot fill five folds
    biggest = int(pd.Series(y).value_counts().max()) if y.size else 0
    k = max(2, min(n_splits, real["group"].nunique(), biggest))
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    pred = pd.Series(index=real.index, dtype=object)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # classes with one aircraft
        splits = list(folds.split(real, y, real["group"].to_numpy()))
    scored = real
    if score_kind != "real":
        alt = data[data["kind"] == score_kind]
        alt = alt.set_axis(alt.index.str.replace(r"#.*$", "", regex=True))
        scored = alt.reindex(real.index)
    for _tr, te in splits:
        test_groups = set(real["group"].iloc[te])
        train = data[~data["group"].isin(test_groups)]
        est = make(seed).fit(train[columns].to_numpy(), train["label"].to_numpy())
        rows = scored.iloc[te]
        ok = rows[columns].notna().all(axis=1).to_numpy()
        if ok.any():
            pred.iloc[te[ok]] = est.predict(rows[columns].to_numpy()[ok])
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
) -> dict[str, Any]:
    """Build the data set, cross-validate, fit and save the model.

    The saved model is fitted on every row except those of the ``holdout``
    aircraft.

    Returns
    -------
    dict
        ``n_real``, ``n_thinned``, ``n_simulated``, ``labels`` (real counts)
        and, when ``evaluate``, the grouped cross-validation scores on real
        flights (``macro_f1``, ``per_class``).
    """
    data = build_dataset(samples_dir, rnc_csv, seed, sim_counts, limit_per_label)
    cols = list(FEATURES)
    real = data[data["kind"] == "real"]
    metrics: dict[str, Any] = {
        "n_real": len(real),
        "n_thinned": int((data["kind"] == "thinned").sum()),
        "n_simulated": int((data["kind"] == "simulated").sum()),
        "labels": real["label"].value_counts().to_dict(),
    }
    if evaluate:
        pred = cross_validate(data, cols, make_forest, seed)
        metrics |= scores(real["label"], pred)
    fit = data[~data["group"].isin(holdout)]
    est = make_forest(seed).fit(fit[cols].to_numpy(), fit["label"].to_numpy())
    meta = {k: metrics[k] for k in ("n_real", "n_thinned", "n_simulated")}
    meta |= {"seed": seed, "holdout_icao24": sorted(holdout), "n_fit": len(fit)}
    model = MissionModel(est, cols, meta)
    model.save(out_path)
    return metrics
