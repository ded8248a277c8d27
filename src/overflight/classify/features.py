"""Per-flight features for the mission classifier.

Every feature is computed on the flight resampled on a regular grid (see
:mod:`overflight.patterns.turns`) so that it means the same at one fix a
second and at one fix a minute; none of them counts fixes or measures the
feed's cadence, which would let a model learn *who recorded* a flight instead
of *what it did*.  Missing quantities are ``-1``.

Groups: duration; speed and altitude profile; vertical activity and repeated
descents (approaches, touch-and-goes); turn-rate histograms over a short and a
sustained window; geometry (bounding box, radius of gyration, straightness,
return to start, parallel-line structure); and pattern statistics from the
events table (time share and size of orbits, racetracks, grids, loiters).
To these :func:`features_table` adds the raw-fix histograms of
:mod:`overflight.classify.fixes` (BuzzFeed's features); trained alongside
one-fix-a-minute copies of every flight they proved robust to thinning.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from overflight.classify.fixes import FIX_FEATURES, fix_histograms
from overflight.patterns import detect_flight, resample_flights
from overflight.patterns.turns import Resampled, local_xy_nm, runs, windowed_rate

KINDS = ("orbit", "racetrack", "grid", "loiter")

TRACK_FEATURES: tuple[str, ...] = (
    "duration_h",
    "speed_q10",
    "speed_q50",
    "speed_q90",
    "speed_cv",
    "alt_q10",
    "alt_q50",
    "alt_q90",
    "alt_std",
    "vert_ft_per_h",
    "low_dips_per_h",
    "rate_lt_0p5",
    "rate_0p5_1p5",
    "rate_1p5_4",
    "rate_4_10",
    "rate_ge_10",
    "sustained_ge_0p5",
    "sustained_ge_1p5",
    "sustained_ge_5",
    "turns_per_h",
    "net_turns_per_h",
    "turn_consistency",
    "bbox_diag_nm",
    "log_bbox_area_nm2",
    "gyration_nm",
    "straightness",
    "gyration_per_path",
    "return_ratio",
    "axis_share",
    "course_entropy",
    "revisit_share",
    *(f"{k}_share" for k in KINDS),
    *(f"{k}_per_h" for k in KINDS),
    "orbit_log_radius_nm",
    "orbit_turns_per_h",
    "orbit_climb_ft_min",
    "orbit_speed_kt",
    "orbit_drift_kt",
    "orbit_centre_span_nm",
    "racetrack_leg_nm",
    "racetrack_holding",
    "grid_lines",
    "grid_leg_nm",
    "loiter_radius_nm",
    "max_station_h",
)

#: Every column the mission model uses: the resampled-track features above
#: and BuzzFeed-style histograms over the raw fixes.
FEATURES: tuple[str, ...] = TRACK_FEATURES + FIX_FEATURES


def _hist_share(values: np.ndarray, edges: list[float]) -> list[float]:
    if values.size == 0:
        return [-1.0] * (len(edges) - 1)
    h, _ = np.histogram(values, bins=edges)
    return list(h / values.size)


def _union_share(events: list[dict[str, Any]], total_s: float) -> float:
    if not events or total_s <= 0:
        return 0.0
    iv = sorted((e["start_s"], e["stop_s"]) for e in events)
    covered, cur0, cur1 = 0.0, iv[0][0], iv[0][1]
    for a, b in iv[1:]:
        if a > cur1:
            covered += cur1 - cur0
            cur0, cur1 = a, b
        else:
            cur1 = max(cur1, b)
    covered += cur1 - cur0
    return float(min(1.0, covered / total_s))


def _med(events: list[dict[str, Any]], key: str) -> float:
    vals = [float(e["details"][key]) for e in events if e["details"].get(key) is not None]
    return float(np.median(vals)) if vals else -1.0


def _profile(r: Resampled) -> dict[str, float]:
    f: dict[str, float] = {}
    hours = max((r.t_s[-1] - r.t_s[0]) / 3600.0, 1e-3)
    f["duration_h"] = float(hours)
    spd = r.speed_kt
    q = np.percentile(spd, [10, 50, 90])
    f["speed_q10"], f["speed_q50"], f["speed_q90"] = (float(v) for v in q)
    f["speed_cv"] = float(spd.std() / max(spd.mean(), 1.0))

    alt = r.altitude
    if np.isfinite(alt).any():
        a = alt[np.isfinite(alt)]
        qa = np.percentile(a, [10, 50, 90])
        f["alt_q10"], f["alt_q50"], f["alt_q90"] = (float(v) for v in qa)
        f["alt_std"] = float(a.std())
        k = max(1, round(60.0 / r.step_s))
        a60 = alt[::k]
        f["vert_ft_per_h"] = float(np.nansum(np.abs(np.diff(a60))) / hours)
        low = a60 < min(0.5 * qa[1], qa[1] - 1000.0)
        s0, s1 = runs(low)
        inner = (s0 > 0) & (s1 < a60.size)  # not departure or arrival
        f["low_dips_per_h"] = float(inner.sum() / hours)
    else:
        for key in ("alt_q10", "alt_q50", "alt_q90", "alt_std", "vert_ft_per_h", "low_dips_per_h"):
            f[key] = -1.0
    return f


def _turning(r: Resampled) -> dict[str, float]:
    f: dict[str, float] = {}
    hours = max((r.t_s[-1] - r.t_s[0]) / 3600.0, 1e-3)
    moving = r.speed_kt >= 25.0
    short = np.abs(windowed_rate(r, max(30.0, 2.0 * r.cadence_s)))[moving]
    names = ("rate_lt_0p5", "rate_0p5_1p5", "rate_1p5_4", "rate_4_10", "rate_ge_10")
    f.update(zip(names, _hist_share(short, [0, 0.5, 1.5, 4, 10, np.inf]), strict=True))
    sus = np.abs(windowed_rate(r, max(180.0, 3.0 * r.cadence_s)))[moving]
    for name, thr in (("sustained_ge_0p5", 0.5), ("sustained_ge_1p5", 1.5), ("sustained_ge_5", 5)):
        f[name] = float(np.mean(sus >= thr)) if sus.size else -1.0
    dh = np.diff(r.heading_deg)
    total = float(np.abs(dh).sum())
    net = float(abs(r.heading_deg[-1] - r.heading_deg[0]))
    f["turns_per_h"] = total / 360.0 / hours
    f["net_turns_per_h"] = net / 360.0 / hours
    f["turn_consistency"] = net / total if total > 0 else 0.0
    return f


def revisit_share(
    x_nm: np.ndarray,
    y_nm: np.ndarray,
    t_s: np.ndarray,
    cell_nm: float = 1.0,
    after_s: float = 600.0,
) -> float:
    """Share of the time spent over ground already flown at least ``after_s`` earlier.

    Station-keeping (orbits, racetracks, patrol lines, approaches flown again
    and again) scores high; a transit, a VOR-to-VOR circuit or a sky drawing
    scores low.

    Examples
    --------
    >>> t = np.arange(0.0, 3600.0, 10.0)
    >>> round(revisit_share(np.cos(t / 48), np.sin(t / 48), t), 2)  # 5-min laps
    0.83
    >>> revisit_share(t * 0.05, t * 0.0, t)
    0.0
    """
    if t_s.size == 0:
        return 0.0
    ix = np.floor(x_nm / cell_nm).astype(np.int64)
    iy = np.floor(y_nm / cell_nm).astype(np.int64)
    _, cell = np.unique(np.stack([ix, iy]), axis=1, return_inverse=True)
    cell = cell.ravel()
    first = np.full(int(cell.max()) + 1, np.inf)
    np.minimum.at(first, cell, t_s)
    return float(np.mean(t_s - first[cell] >= after_s))


def _geometry(r: Resampled) -> dict[str, float]:
    f: dict[str, float] = {}
    lat0, lon0 = float(np.median(r.latitude)), float(np.median(r.longitude))
    x, y = local_xy_nm(r.latitude, r.longitude, lat0, lon0)
    w, h = float(np.ptp(x)), float(np.ptp(y))
    f["bbox_diag_nm"] = float(np.hypot(w, h))
    f["log_bbox_area_nm2"] = float(np.log10(w * h + 1e-3))
    rg = float(np.sqrt(np.mean((x - x.mean()) ** 2 + (y - y.mean()) ** 2)))
    f["gyration_nm"] = rg
    step = r.speed_kt * r.step_s / 3600.0
    path = float(step.sum())
    disp = float(np.hypot(x[-1] - x[0], y[-1] - y[0]))
    f["straightness"] = disp / path if path > 0 else 0.0
    f["gyration_per_path"] = rg / path if path > 0 else 0.0
    f["return_ratio"] = 1.0 - f["straightness"]
    f["revisit_share"] = revisit_share(x, y, r.t_s)
    moving = r.speed_kt >= 25.0
    c = r.course_deg[moving]
    wgt = step[moving]
    if c.size and wgt.sum() > 0:
        h180, _ = np.histogram(c % 180.0, bins=18, range=(0, 180), weights=wgt)
        h180 = h180 / h180.sum()
        pair = h180 + np.roll(h180, -1)
        f["axis_share"] = float(pair.max())
        h360, _ = np.histogram(c, bins=36, range=(0, 360), weights=wgt)
        p = h360[h360 > 0] / h360.sum()
        f["course_entropy"] = float(-(p * np.log(p)).sum() / np.log(36))
    else:
        f["axis_share"] = f["course_entropy"] = -1.0
    return f


def _patterns(r: Resampled, events: list[dict[str, Any]]) -> dict[str, float]:
    f: dict[str, float] = {}
    total = max(float(r.t_s[-1] - r.t_s[0]), 1.0)
    hours = total / 3600.0
    by = {k: [e for e in events if e["kind"] == k] for k in KINDS}
    for k in KINDS:
        f[f"{k}_share"] = _union_share(by[k], total)
        f[f"{k}_per_h"] = len(by[k]) / hours
    orb = by["orbit"]
    rad = _med(orb, "radius_nm")
    f["orbit_log_radius_nm"] = float(np.log10(rad)) if rad > 0 else -1.0
    f["orbit_turns_per_h"] = sum(float(e["details"]["n_turns"]) for e in orb) / hours
    f["orbit_climb_ft_min"] = _med(orb, "climb_ft_min") if orb else 0.0
    f["orbit_speed_kt"] = _med(orb, "speed_kt")
    f["orbit_drift_kt"] = _med(orb, "drift_kt")
    c = np.array([[e["latitude"], e["longitude"]] for e in orb if "latitude" in e])
    if c.size:
        x, y = local_xy_nm(c[:, 0], c[:, 1], float(c[0, 0]), float(c[0, 1]))
        f["orbit_centre_span_nm"] = float(np.hypot(np.ptp(x), np.ptp(y)))
    else:
        f["orbit_centre_span_nm"] = -1.0
    rt = by["racetrack"]
    f["racetrack_leg_nm"] = _med(rt, "leg_length_nm")
    f["racetrack_holding"] = (
        float(np.mean([bool(e["details"].get("holding")) for e in rt])) if rt else -1.0
    )
    gr = by["grid"]
    f["grid_lines"] = max((float(e["details"]["n_lines"]) for e in gr), default=0.0)
    f["grid_leg_nm"] = _med(gr, "leg_length_nm")
    f["loiter_radius_nm"] = _med(by["loiter"], "radius_nm")
    station = [e["stop_s"] - e["start_s"] for e in events if e["kind"] != "grid"]
    f["max_station_h"] = max(station, default=0.0) / 3600.0
    return f


def flight_features(r: Resampled, events: list[dict[str, Any]]) -> dict[str, float]:
    """The feature vector of one resampled flight and its pattern events."""
    f = _profile(r) | _turning(r) | _geometry(r) | _patterns(r, events)
    return {k: float(f[k]) if np.isfinite(f[k]) else -1.0 for k in TRACK_FEATURES}


def _events_by_flight(events: pa.Table | pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    df = events.to_pandas() if isinstance(events, pa.Table) else events
    out: dict[str, list[dict[str, Any]]] = {}
    if len(df) == 0:
        return out
    ns = pd.Timestamp(0, tz="UTC")
    start = (pd.to_datetime(df["start"], utc=True) - ns).dt.total_seconds().to_numpy()
    stop = (pd.to_datetime(df["stop"], utc=True) - ns).dt.total_seconds().to_numpy()
    cols = (df["flight_id"].astype(str), df["kind"], start, stop, df["latitude"], df["longitude"])
    for fid, kind, a, b, la, lo, det in zip(*cols, df["details"], strict=True):
        if kind not in KINDS:
            continue  # airspace events share the table
        d = json.loads(det) if isinstance(det, str) and det else {}
        ev = {"kind": kind, "start_s": a, "stop_s": b, "latitude": la, "longitude": lo}
        out.setdefault(fid, []).append(ev | {"details": d})
    return out


def features_table(
    points: pa.Table | pd.DataFrame,
    events: pa.Table | pd.DataFrame | None = None,
    min_minutes: float = 5.0,
) -> pd.DataFrame:
    """Feature matrix indexed by flight_id, for flights with ``min_minutes`` of data.

    When ``events`` is None the patterns are detected here.
    """
    given = None if events is None else _events_by_flight(events)
    rows: dict[str, dict[str, float]] = {}
    for fid, (_icao, r) in resample_flights(points).items():
        if r.t_s.size < 2 or r.t_s[-1] - r.t_s[0] < 60.0 * min_minutes:
            continue
        ev = detect_flight(r) if given is None else given.get(fid, [])
        rows[fid] = flight_features(r, ev)
    track = pd.DataFrame.from_dict(rows, orient="index", columns=list(TRACK_FEATURES))
    fixes = fix_histograms(points).reindex(track.index).fillna(0.0)
    return track.join(fixes)[list(FEATURES)]
