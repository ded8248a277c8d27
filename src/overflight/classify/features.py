"""Per-flight features for the mission classifier.

Every feature is computed on the flight resampled on a regular grid (see
:mod:`overflight.patterns.turns`) so that it means the same at one fix a
second and at one fix a minute; none of them counts fixes or measures the
feed's cadence, which would let a model learn *who recorded* a flight instead
of *what it did*.  Missing quantities are ``-1``.

Groups: duration; speed and altitude profile; vertical activity and repeated
descents (approaches, touch-and-goes); turn-rate histograms over a short and a
sustained window; geometry (bounding box, radius of gyration, straightness,
return to start, parallel-line structure); straight legs, their length and
how they reverse onto the same or a new line (:mod:`overflight.classify.legs`:
survey lines, racetracks, radials); and pattern statistics from the
events table (time share and size of orbits, racetracks, grids, loiters).
To these :func:`features_table` adds the raw-fix histograms of
:mod:`overflight.classify.fixes` (BuzzFeed's features); trained alongside
one-fix-a-minute copies of every flight they proved robust to thinning.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from overflight.classify.fixes import FIX_FEATURES, fix_histograms, flight_numbers
from overflight.classify.legs import LEG_FEATURES
from overflight.classify.track import track_features
from overflight.patterns import detect_flight, resample_flights
from overflight.patterns.fixes_jit import epoch_seconds
from overflight.patterns.turns import Resampled, local_xy_nm

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
    *LEG_FEATURES,
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
    vals = [float(v) for e in events if (v := e["details"].get(key)) is not None]
    if not vals:
        return -1.0
    if any(v != v for v in vals):  # NaN
        return math.nan
    vals.sort()
    half = len(vals) // 2  # np.median: the middle value or the mean of the two
    return vals[half] if len(vals) % 2 else (vals[half - 1] + vals[half]) / 2.0


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


def _patterns(span_s: float, events: list[dict[str, Any]]) -> dict[str, float]:
    f: dict[str, float] = {}
    total = max(span_s, 1.0)
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
        f["orbit_centre_span_nm"] = float(np.hypot(x.max() - x.min(), y.max() - y.min()))
    else:
        f["orbit_centre_span_nm"] = -1.0
    rt = by["racetrack"]
    f["racetrack_leg_nm"] = _med(rt, "leg_length_nm")
    # the mean of booleans: a count over a count, as exact as np.mean's
    holding = sum(bool(e["details"].get("holding")) for e in rt)
    f["racetrack_holding"] = holding / len(rt) if rt else -1.0
    gr = by["grid"]
    f["grid_lines"] = max((float(e["details"]["n_lines"]) for e in gr), default=0.0)
    f["grid_leg_nm"] = _med(gr, "leg_length_nm")
    f["loiter_radius_nm"] = _med(by["loiter"], "radius_nm")
    station = [e["stop_s"] - e["start_s"] for e in events if e["kind"] != "grid"]
    f["max_station_h"] = max(station, default=0.0) / 3600.0
    return f


def flight_features(r: Resampled, events: list[dict[str, Any]]) -> dict[str, float]:
    """The feature vector of one resampled flight and its pattern events."""
    f = {k: float(v[0]) for k, v in track_features([r]).items()}
    f |= _patterns(float(r.t_s[-1] - r.t_s[0]), events)
    return {k: f[k] if np.isfinite(f[k]) else -1.0 for k in TRACK_FEATURES}


_EVENT_COLUMNS = ("flight_id", "kind", "start", "stop", "latitude", "longitude", "details")


def _event_seconds(events: pa.Table | pd.DataFrame, name: str) -> np.ndarray:
    """An events time column as seconds since the epoch, as pandas computes them
    (a nanosecond Arrow column by the same formula in one compiled pass)."""
    if isinstance(events, pa.Table):
        col = events.column(name)
        if pa.types.is_timestamp(col.type) and col.type.unit == "ns" and not col.null_count:
            return epoch_seconds(col.cast(pa.int64()).to_numpy())
        col = col.to_pandas()
    else:
        col = events[name]
    ns = pd.Timestamp(0, tz="UTC")
    return np.asarray((pd.to_datetime(col, utc=True) - ns).dt.total_seconds().to_numpy())


def _event_column(events: pa.Table | pd.DataFrame, name: str) -> Any:
    if not isinstance(events, pa.Table):
        return events[name]
    col = events.column(name)
    if pa.types.is_floating(col.type):
        return col.to_numpy().tolist()  # Python floats as pandas yields them, NaN where null
    if pa.types.is_string(col.type) and not (name == "flight_id" and col.null_count):
        return col.to_pylist()
    return col.to_pandas()


def _events_by_flight(events: pa.Table | pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    if len(events) == 0:
        return out
    if isinstance(events, pa.Table):
        events = events.select(list(_EVENT_COLUMNS))
    fids = _event_column(events, "flight_id")
    if not isinstance(fids, list):
        fids = pd.Series(fids).astype(str)
    start, stop = _event_seconds(events, "start"), _event_seconds(events, "stop")
    kinds, lat, lon, details = (
        _event_column(events, c) for c in ("kind", "latitude", "longitude", "details")
    )
    for fid, kind, a, b, la, lo, det in zip(
        fids, kinds, start, stop, lat, lon, details, strict=True
    ):
        if kind not in KINDS:
            continue  # airspace events share the table
        d = json.loads(det) if isinstance(det, str) and det else {}
        ev = {"kind": kind, "start_s": a, "stop_s": b, "latitude": la, "longitude": lo}
        out.setdefault(fid, []).append(ev | {"details": d})
    return out


def _flight_ids(points: pa.Table | pd.DataFrame) -> set[str]:
    col = points.column("flight_id") if isinstance(points, pa.Table) else points["flight_id"]
    if isinstance(col, pa.ChunkedArray):
        return {str(v) for v in pc.unique(col.drop_null()).to_pylist()}
    return {str(v) for v in pd.unique(col.dropna())}


def _only(points: pa.Table | pd.DataFrame, keep: set[str]) -> pa.Table | pd.DataFrame:
    """The rows of the flights in ``keep`` (the table itself when that is all of them)."""
    if _flight_ids(points) <= keep:
        return points
    if isinstance(points, pa.Table):
        fid = pc.cast(points.column("flight_id"), pa.string())
        return points.filter(pc.is_in(fid, value_set=pa.array(sorted(keep), pa.string())))
    return points[points["flight_id"].astype(str).isin(keep)]


def features_table(
    points: pa.Table | pd.DataFrame,
    events: pa.Table | pd.DataFrame | None = None,
    min_minutes: float = 5.0,
    resampled: dict[str, tuple[str, Resampled]] | None = None,
    flight_ids: Collection[str] | None = None,
) -> pd.DataFrame:
    """Feature matrix indexed by flight_id, for flights with ``min_minutes`` of data.

    Parameters
    ----------
    points
        The points table.
    events
        The patterns events table; when None the patterns are detected here.
    min_minutes
        Flights with less airborne time are left out.
    resampled
        ``patterns.resample_flights(points)`` (default step) when the caller
        has it already; only its flights present in ``points`` are used.
    flight_ids
        Only these flights (all of ``points`` when None).

    Returns
    -------
    pandas.DataFrame
        One row per flight, sorted by flight_id, columns :data:`FEATURES`.
    """
    codes = None
    if resampled is None:
        src = points if flight_ids is None else _only(points, {str(f) for f in flight_ids})
        resampled = resample_flights(src)
    else:
        if isinstance(points, pa.Table) and pa.types.is_string(
            points.schema.field("flight_id").type
        ):
            codes = flight_numbers(points)  # shared with the fix histograms below
            present = set(codes[1])
        else:
            present = _flight_ids(points)
        if flight_ids is not None:
            present &= {str(f) for f in flight_ids}
        resampled = {k: v for k, v in resampled.items() if k in present}
    fids: list[str] = []
    rs: list[Resampled] = []
    for fid in sorted(resampled):
        r = resampled[fid][1]
        if r.t_s.size >= 2 and r.t_s[-1] - r.t_s[0] >= 60.0 * min_minutes:
            fids.append(fid)
            rs.append(r)
    given = None if events is None else _events_by_flight(events)
    mat = np.empty((len(fids), len(TRACK_FEATURES)))
    cols = {k: i for i, k in enumerate(TRACK_FEATURES)}
    for k, arr in track_features(rs).items():
        mat[:, cols[k]] = arr
    quiet = _patterns(3600.0, [])  # a flight without events: independent of its length
    for k in quiet:
        mat[:, cols[k]] = quiet[k]
    for i, (fid, r) in enumerate(zip(fids, rs, strict=True)):
        ev = detect_flight(r) if given is None else given.get(fid, [])
        if ev:
            for k, v in _patterns(float(r.t_s[-1] - r.t_s[0]), ev).items():
                mat[i, cols[k]] = v
    mat[~np.isfinite(mat)] = -1.0
    track = pd.DataFrame(mat, index=pd.Index(fids), columns=list(TRACK_FEATURES))
    fixes = fix_histograms(points, flight_ids=fids, codes=codes).reindex(track.index).fillna(0.0)
    return track.join(fixes)[list(FEATURES)]
