"""Mission classifier benchmark: grouped cross-validation on real flights.

Usage::

    .venv/bin/python bench/missions.py [--seed 0]

Builds the training set of :mod:`overflight.classify.train` (labelled real
flights from traffic's samples and the BuzzFeed RNC 2016 extract, their
one-fix-a-minute thinned copies, simulated flights), then scores two models on
the same folds (grouped by icao24: no aircraft in both training and test):

* overflight's mission model;
* a baseline built the way BuzzFeed News built its 2017 spy-plane finder: a
  random forest on the shares of a flight's fixes in bins of turn ("steer"
  between consecutive fixes), speed and altitude, plus duration and
  bounding-box area (:mod:`overflight.classify.fixes`, written from the
  published description; track and speed come from positions where the feed
  has none).  overflight's model uses these too, next to its resampled-track
  and pattern features.

Only real flights are scored; thinned and simulated flights only train.  The
last line is ``macro_f1: X baseline_macro_f1: Y``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sklearn.ensemble import RandomForestClassifier

from overflight.classify.features import FEATURES
from overflight.classify.fixes import FIX_FEATURES
from overflight.classify.train import build_dataset, cross_validate, make_forest, scores

ROOT = Path(__file__).resolve().parents[1]
RNC = ROOT.parent / "shared" / "data" / "trajectories" / "buzzfeed_2016_conventions_rnc.csv"


def samples_dir() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("traffic")
    if spec is None or spec.origin is None:
        return None
    p = Path(spec.origin).parent / "data" / "samples"
    return p if p.is_dir() else None


def make_baseline(seed: int) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=500, random_state=seed, n_jobs=1)


def table(name: str, s: dict[str, object]) -> list[str]:
    per = s["per_class"]
    assert isinstance(per, dict)
    lines = [f"{name}: per-class figures on real flights (out-of-fold)"]
    lines.append(f"  {'mission':18s} {'precision':>9s} {'recall':>7s} {'f1':>6s} {'n':>5s}")
    for m, v in per.items():
        lines.append(
            f"  {m:18s} {v['precision']:9.3f} {v['recall']:7.3f} {v['f1']:6.3f} {v['n']:5d}"
        )
    lines.append(f"  macro-F1 {s['macro_f1']:.3f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    sd = samples_dir()
    if sd is None or not RNC.is_file():
        print("needs traffic's samples and ../shared/data (BuzzFeed RNC)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    data = build_dataset(sd, RNC, args.seed)
    t_build = time.perf_counter() - t0
    real = data[data["kind"] == "real"]
    bl_cols = list(FIX_FEATURES)
    pred = cross_validate(data, list(FEATURES), make_forest, args.seed)
    base = cross_validate(data, bl_cols, make_baseline, args.seed)
    ours, theirs = scores(real["label"], pred), scores(real["label"], base)
    kinds = data["kind"].value_counts()
    print(
        f"data: {len(real)} real flights from {real['group'].nunique()} aircraft, "
        f"{kinds.get('thinned', 0)} thinned copies, {kinds.get('simulated', 0)} simulated "
        f"(train only); 5 folds grouped by icao24; built in {t_build:.0f} s"
    )
    for line in table("overflight", ours) + table("baseline (BuzzFeed 2017 style)", theirs):
        print(line)
    print("  per-class F1, overflight vs baseline:")
    for m, v in ours["per_class"].items():  # type: ignore[union-attr]
        b = theirs["per_class"][m]["f1"]  # type: ignore[index]
        mark = ">" if v["f1"] > b else ("=" if v["f1"] == b else "<")
        print(f"    {m:18s} {v['f1']:.3f} {mark} {b:.3f}")
    # robustness: the same folds, held-out aircraft scored on their copies
    # thinned to one fix a minute (the cadence of ADS-B Exchange extracts)
    thin_o = cross_validate(data, list(FEATURES), make_forest, args.seed, score_kind="thinned")
    thin_b = cross_validate(data, bl_cols, make_baseline, args.seed, score_kind="thinned")
    ok = thin_o.notna() & thin_b.notna()
    so, sb = scores(real["label"][ok], thin_o[ok]), scores(real["label"][ok], thin_b[ok])
    rec = so["per_class"]["surveillance"]["recall"]  # type: ignore[index]
    rec_b = sb["per_class"]["surveillance"]["recall"]  # type: ignore[index]
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
    wrong = real.assign(pred=pred)[pred != real["label"]]
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
