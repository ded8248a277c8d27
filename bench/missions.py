"""Mission classifier benchmark: grouped cross-validation on real flights.

Usage::

    .venv/bin/python bench/missions.py [--seed 0] [--no-aircraft-db]

Builds the training set of :mod:`overflight.classify.train` (labelled real
flights from traffic's samples and the BuzzFeed RNC 2016 extract, their
one-fix-a-minute thinned copies, simulated flights), then scores two models on
the same folds (grouped by icao24: no aircraft in both training and test):

* overflight's mission classifier as the pipeline runs it: the extra-trees
  ensemble over :data:`overflight.classify.features.FEATURES`, its settings
  (weight of simulated flights, leaf size) chosen inside each training fold
  by a second, inner grouped cross-validation scored after the identity
  reweighting (nested: the test aircraft never influence the choice), then
  the identity facts of the identify stage applied as the fixed likelihood
  ratios of :data:`overflight.classify.model.IDENTITY_FACTORS` and
  :data:`~overflight.classify.model.DB_MISSION_FACTOR`.  Those facts come
  from the address, the callsign and the flight (``military``, ``isr_type``,
  ``drone_envelope``, ``glider_registration``) and, as with ``analyze --aircraft-db``, from
  plane-alert-db (``db_mission``: the mission its curators filed the
  aircraft under; ``../shared/data/aircraft_db``).  ``--no-aircraft-db``
  scores the pipeline without a database instead (every identity fact
  recomputed without it); the other variant's figures are printed too
  when plane-alert-db is there;
* a baseline built the way BuzzFeed News built its 2017 spy-plane finder: a
  random forest on the shares of a flight's fixes in bins of turn ("steer"
  between consecutive fixes), speed and altitude, plus duration and
  bounding-box area (:mod:`overflight.classify.fixes`, written from the
  published description; track and speed come from positions where the feed
  has none).  overflight's model uses these too, next to its resampled-track
  and pattern features.  It uses no identity facts.

Only real flights are scored; thinned and simulated flights only train.
Aerial refuelling and training have one real flight each, so their figures
hang on a single flight; the macro-F1 over the classes with at least three
real flights is printed as well, labelled as such.  The last line is
``macro_f1: X baseline_macro_f1: Y`` (over every class present).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.ensemble import RandomForestClassifier

from overflight.classify.features import FEATURES
from overflight.classify.fixes import FIX_FEATURES
from overflight.classify.model import IDENTITY_COLUMNS, apply_identity
from overflight.classify.train import (
    build_dataset,
    cross_validate,
    decide,
    fit_mission_model,
    scores,
)
from overflight.identify import load_aircraft_db

ROOT = Path(__file__).resolve().parents[1]
RNC = ROOT.parent / "shared" / "data" / "trajectories" / "buzzfeed_2016_conventions_rnc.csv"
PLANE_ALERT = ROOT.parent / "shared" / "data" / "aircraft_db" / "plane_alert_db"
PLANE_ALERT = PLANE_ALERT / "plane-alert-db.csv"


def samples_dir() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("traffic")
    if spec is None or spec.origin is None:
        return None
    p = Path(spec.origin).parent / "data" / "samples"
    return p if p.is_dir() else None


def fit_baseline(train: pd.DataFrame, columns: list[str], seed: int) -> RandomForestClassifier:
    est = RandomForestClassifier(n_estimators=500, random_state=seed, n_jobs=1)
    return est.fit(train[columns].to_numpy(), train["label"].to_numpy())


def table(name: str, s: dict[str, Any]) -> list[str]:
    per = s["per_class"]
    lines = [f"{name}: per-class figures on real flights (out-of-fold)"]
    lines.append(f"  {'mission':18s} {'precision':>9s} {'recall':>7s} {'f1':>6s} {'n':>5s}")
    for m, v in per.items():
        lines.append(
            f"  {m:18s} {v['precision']:9.3f} {v['recall']:7.3f} {v['f1']:6.3f} {v['n']:5d}"
        )
    lines.append(f"  macro-F1 {s['macro_f1']:.3f}")
    return lines


def macro_over(s: dict[str, Any], classes: list[str]) -> float:
    return float(sum(s["per_class"][m]["f1"] for m in classes)) / max(len(classes), 1)


def with_identity(proba: pd.DataFrame, data: pd.DataFrame) -> pd.Series:
    """Decisions after the identity reweighting (rows without probabilities stay NaN)."""
    ok = proba.notna().all(axis=1)
    flags = data.reindex(proba.index)[list(IDENTITY_COLUMNS)]
    out = pd.Series(float("nan"), index=proba.index, dtype=object)
    if ok.any():
        out[ok] = decide(apply_identity(proba[ok], flags[ok])[0])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--no-aircraft-db",
        action="store_true",
        help="score the pipeline without plane-alert-db (its figures are printed too)",
    )
    args = ap.parse_args(argv)
    sd = samples_dir()
    if sd is None or not RNC.is_file():
        print("needs traffic's samples and ../shared/data (the RNC extract)", file=sys.stderr)
        return 2
    if not PLANE_ALERT.is_file() and not args.no_aircraft_db:
        print(f"needs {PLANE_ALERT} (or pass --no-aircraft-db)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    # built twice: every identity fact (military, isr_type too, not only
    # db_mission) is what the identify stage finds with or without a database
    variants = {"without an aircraft database": build_dataset(sd, RNC, args.seed)}
    if PLANE_ALERT.is_file():
        db = load_aircraft_db([PLANE_ALERT])
        variants["with plane-alert-db"] = build_dataset(sd, RNC, args.seed, aircraft_db=db)
    t_build = time.perf_counter() - t0
    head = "without an aircraft database" if args.no_aircraft_db else "with plane-alert-db"
    data = variants[head]
    real = data[data["kind"] == "real"]
    y = real["label"]
    kinds = ("real", "thinned")
    cv = {
        name: cross_validate(d, list(FEATURES), fit_mission_model, args.seed, score_kinds=kinds)
        for name, d in variants.items()
    }
    ours_p = cv[head]
    base_p = cross_validate(data, list(FIX_FEATURES), fit_baseline, args.seed, score_kinds=kinds)
    thinned = data[data["kind"] == "thinned"]
    thinned = thinned.set_axis(thinned.index.str.replace(r"#.*$", "", regex=True))
    pred = with_identity(ours_p["real"], data)
    model_only = decide(ours_p["real"])
    base = decide(base_p["real"])
    ours, theirs = scores(y, pred), scores(y, base)
    n_by = y.value_counts()
    kinds_n = data["kind"].value_counts()
    print(
        f"data: {len(real)} real flights from {real['group'].nunique()} aircraft, "
        f"{kinds_n.get('thinned', 0)} thinned copies, {kinds_n.get('simulated', 0)} simulated "
        f"(train only); 5 folds grouped by icao24; built in {t_build:.0f} s"
    )
    for line in table(f"overflight {head}", ours) + table("baseline (BuzzFeed 2017 style)", theirs):
        print(line)
    print("  per-class F1, overflight vs baseline:")
    verdict: dict[str, list[str]] = {
        k: [] for k in ("better", "tied, both perfect", "tied", "worse")
    }
    for m, v in ours["per_class"].items():
        b = theirs["per_class"][m]["f1"]
        mark = ">" if v["f1"] > b else ("=" if v["f1"] == b else "<")
        perfect = v["f1"] == b == 1.0
        key = {">": "better", "<": "worse"}.get(mark, "tied, both perfect" if perfect else "tied")
        verdict[key].append(m)
        note = ", both perfect" if perfect else ""
        print(f"    {m:18s} {v['f1']:.3f} {mark} {b:.3f}  ({n_by[m]} real flights{note})")
    print(
        f"  better than the baseline on {len(verdict['better'])} of {len(ours['per_class'])} "
        "classes; "
        + "; ".join(f"{k}: {', '.join(v)}" for k, v in verdict.items() if k != "better" and v)
    )
    big = [m for m in ours["per_class"] if n_by[m] >= 3]
    print(
        f"macro-F1 over the {len(big)} classes with >= 3 real flights (all but "
        f"{', '.join(m for m in ours['per_class'] if m not in big)}): "
        f"{macro_over(ours, big):.3f} (baseline {macro_over(theirs, big):.3f})"
    )
    for name, d in variants.items():
        if name != head:
            other = scores(y, with_identity(cv[name]["real"], d))
            print(
                f"overflight {name}: macro-F1 {other['macro_f1']:.3f}; per-class F1 "
                + ", ".join(f"{m} {v['f1']:.3f}" for m, v in other["per_class"].items())
            )
    alone = scores(y, model_only)
    print(
        f"model alone, without identity facts: macro-F1 {alone['macro_f1']:.3f}, "
        f"surveillance recall {alone['per_class']['surveillance']['recall']:.3f}"
    )
    # robustness: the same folds, held-out aircraft scored on their copies
    # thinned to one fix a minute (the cadence of ADS-B Exchange extracts)
    thin_o = with_identity(ours_p["thinned"], thinned)
    thin_b = decide(base_p["thinned"])
    ok = thin_o.notna() & thin_b.notna()
    so, sb = scores(y[ok], thin_o[ok]), scores(y[ok], thin_b[ok])
    rec = so["per_class"]["surveillance"]["recall"]
    rec_b = sb["per_class"]["surveillance"]["recall"]
    print(
        f"thinned to 1 fix/min ({int(ok.sum())} flights): macro-F1 {so['macro_f1']:.3f} "
        f"(baseline {sb['macro_f1']:.3f}); surveillance recall {rec:.3f} (baseline {rec_b:.3f})"
    )
    airline = real["source"].isin(["collections/quickstart", "collections/switzerland"])
    fp = int((pred[airline] == "surveillance").sum())
    fp_b = int((base[airline] == "surveillance").sum())
    print(
        f"ordinary flights (quickstart + switzerland) labelled surveillance: "
        f"{fp} of {int(airline.sum())} (baseline {fp_b})"
    )
    wrong = real.assign(pred=pred)[pred != y]
    conf = wrong.groupby(["label", "pred"]).size().sort_values(ascending=False)
    print(
        "most frequent confusions (true -> predicted: n): "
        + ", ".join(f"{a}->{b}: {n}" for (a, b), n in conf.head(8).items())
    )
    print(f"runtime: {time.perf_counter() - t0:.0f} s")
    print(f"macro_f1: {ours['macro_f1']:.3f} baseline_macro_f1: {theirs['macro_f1']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
