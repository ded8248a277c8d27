"""Resampled-track features of many flights at once.

The speed and altitude profile, turn-rate histograms and geometry of
:mod:`overflight.classify.features`, computed over all flights laid end to
end (one array per quantity, ``counts`` points per flight) with grouped
reductions from :mod:`overflight.classify.grouped` and, where numpy needed
sorts or many temporaries (windowed turn rates, revisited cells, course
histograms, extents, medians), compiled loops from
:mod:`overflight.classify.track_jit` (the local coordinates are those of
:func:`overflight.patterns.batch_jit.local_xy`).  Every value equals, bit for bit, the
one computed on that flight alone; the definitions are in the comments next
to each feature.

Examples
--------
>>> from overflight.patterns.turns import resample
>>> t = np.arange(0.0, 1800.0, 10.0)
>>> r = resample(t, np.zeros(t.size), np.linspace(0.0, 1.0, t.size))
>>> f = track_features([r])
>>> round(float(f["straightness"][0]), 2), float(f["revisit_share"][0])
(0.99, 0.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from overflight.classify import track_jit as jit
from overflight.classify.grouped import (
    FloatArray,
    IntArray,
    group_ids,
    group_mean_std,
    group_median,
    group_percentiles,
    group_sum,
    starts_of,
)
from overflight.classify.legs import leg_features
from overflight.patterns.batch_jit import local_xy
from overflight.patterns.turns import Resampled

BoolArray = npt.NDArray[np.bool_]
_QS = (10 / 100, 50 / 100, 90 / 100)  # as np.percentile derives [10, 50, 90]


class Joined(NamedTuple):
    """Resampled flights laid end to end."""

    t_s: FloatArray
    latitude: FloatArray
    longitude: FloatArray
    altitude: FloatArray
    seg: IntArray
    speed_kt: FloatArray
    course_deg: FloatArray
    heading_deg: FloatArray
    step_s: FloatArray
    """Per flight."""
    cadence_s: FloatArray
    """Per flight."""
    counts: IntArray
    """Grid points per flight (each at least 2)."""
    ids: IntArray
    """Flight number of every grid point."""
    first: IntArray
    last: IntArray


def join(rs: Sequence[Resampled]) -> Joined:
    """Concatenate resampled flights (each with at least two grid points)."""
    counts = np.array([r.t_s.size for r in rs], dtype=np.int64)
    first = starts_of(counts)
    cols = list(zip(*rs, strict=True)) if rs else [()] * len(Resampled._fields)

    def cat(i: int, dtype: type[np.generic] = np.float64) -> npt.NDArray[Any]:
        if not cols[i]:
            return np.empty(0, dtype)
        return np.concatenate(cols[i], dtype=dtype, casting="unsafe")

    return Joined(
        cat(0),
        cat(1),
        cat(2),
        cat(3),
        cat(4, np.int64),
        cat(5),
        cat(6),
        cat(7),
        np.array(cols[8], dtype=np.float64),
        np.array(cols[9], dtype=np.float64),
        counts,
        group_ids(counts),
        first,
        first + counts - 1,
    )


def _median(values: FloatArray, counts: IntArray) -> FloatArray:
    """``group_median(values, counts)`` by selection (no sort), bit for bit."""
    if np.isnan(values).any():
        return group_median(values, counts)
    half = counts // 2
    v = jit.order_stats(values, counts, np.column_stack([np.maximum(half - 1, 0), half]))
    below, mid = v[:, 0], v[:, 1]
    return np.asarray(np.where(counts % 2 == 1, mid, (below + mid) / 2.0), dtype=np.float64)


def _hours(j: Joined) -> FloatArray:
    return np.maximum((j.t_s[j.last] - j.t_s[j.first]) / 3600.0, 1e-3)


def _masked(j: Joined, mask: BoolArray) -> IntArray:
    """Points per flight where ``mask`` holds."""
    return np.bincount(j.ids[mask], minlength=j.counts.size).astype(np.int64)


def _profile(j: Joined, f: dict[str, FloatArray]) -> None:
    hours = _hours(j)
    f["duration_h"] = hours
    f["speed_q10"], f["speed_q50"], f["speed_q90"] = group_percentiles(j.speed_kt, j.counts, _QS)
    mean, std = group_mean_std(j.speed_kt, j.counts)
    f["speed_cv"] = std / np.maximum(mean, 1.0)

    fin = np.isfinite(j.altitude)
    n_alt = _masked(j, fin)
    has = n_alt > 0
    q10, q50, q90 = group_percentiles(j.altitude[fin], n_alt, _QS)
    alt_std = group_mean_std(j.altitude[fin], n_alt)[1]
    # every k-th grid point (one a minute): climb and descent, low dips
    k = np.maximum(1, np.round(60.0 / j.step_s)).astype(np.int64)
    pick = jit.every_kth(j.first, j.counts, k)
    a60, g60 = j.altitude[pick], j.ids[pick]
    n60 = np.bincount(g60, minlength=j.counts.size).astype(np.int64)
    inside = g60[1:] == g60[:-1]
    d = np.abs(np.diff(a60))[inside]
    vert = group_sum(np.where(np.isnan(d), 0.0, d), n60 - 1) / hours
    low = a60 < np.minimum(0.5 * q50, q50 - 1000.0)[g60]
    # runs of low points that neither start nor end the flight
    rises = np.bincount(g60[1:][inside & low[1:] & ~low[:-1]], minlength=n60.size)
    end60 = starts_of(n60) + n60 - 1
    low_last = low[np.minimum(end60, max(low.size - 1, 0))] & (n60 > 0)
    all_low = np.bincount(g60[low], minlength=n60.size) == n60
    dips = rises - low_last + (all_low & (n60 > 0))
    for key, v in (
        ("alt_q10", q10),
        ("alt_q50", q50),
        ("alt_q90", q90),
        ("alt_std", alt_std),
        ("vert_ft_per_h", vert),
        ("low_dips_per_h", dips / hours),
    ):
        f[key] = np.where(has, v, -1.0)


def _half_window(j: Joined, window_s: FloatArray) -> IntArray:
    """Grid points either side of a point in each flight's window."""
    return np.maximum(1, np.round(window_s / j.step_s / 2)).astype(np.int64)


def windowed_rates(j: Joined, window_s: FloatArray) -> FloatArray:
    """:func:`overflight.patterns.turns.windowed_rate` of every flight, per-flight windows."""
    return jit.windowed_rates(j.ids, j.seg, j.heading_deg, _half_window(j, window_s), j.step_s)


def _turning(j: Joined, f: dict[str, FloatArray]) -> None:
    hours = _hours(j)
    moving = j.speed_kt >= 25.0
    n_mov = _masked(j, moving)
    # |turn rate| over a short window in bins, and over a sustained one above
    # thresholds, moving points only (track_jit.turn_counts)
    hist, hits = jit.turn_counts(
        j.ids,
        j.seg,
        j.heading_deg,
        moving,
        _half_window(j, np.fmax(30.0, 2.0 * j.cadence_s)),
        _half_window(j, np.fmax(180.0, 3.0 * j.cadence_s)),
        j.step_s,
        np.array([0, 0.5, 1.5, 4, 10, np.inf]),
        np.array([0.5, 1.5, 5.0]),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        share = hist / n_mov[:, None]
        sustained = hits / n_mov[:, None]
    names = ("rate_lt_0p5", "rate_0p5_1p5", "rate_1p5_4", "rate_4_10", "rate_ge_10")
    for i, name in enumerate(names):
        f[name] = np.where(n_mov > 0, share[:, i], -1.0)
    for i, name in enumerate(("sustained_ge_0p5", "sustained_ge_1p5", "sustained_ge_5")):
        f[name] = np.where(n_mov > 0, sustained[:, i], -1.0)
    inside = j.ids[1:] == j.ids[:-1]
    total = group_sum(np.abs(np.diff(j.heading_deg))[inside], j.counts - 1)
    net = np.abs(j.heading_deg[j.last] - j.heading_deg[j.first])
    f["turns_per_h"] = total / 360.0 / hours
    f["net_turns_per_h"] = net / 360.0 / hours
    with np.errstate(invalid="ignore", divide="ignore"):
        f["turn_consistency"] = np.where(total > 0, net / total, 0.0)


def revisit_shares(
    j: Joined, x: FloatArray, y: FloatArray, cell_nm: float = 1.0, after_s: float = 600.0
) -> FloatArray:
    """:func:`overflight.classify.features.revisit_share` of every flight."""
    ix = np.floor(x / cell_nm).astype(np.int64)
    iy = np.floor(y / cell_nm).astype(np.int64)
    if ix.size == 0:
        return np.zeros(j.counts.size)
    late = jit.revisit_late(j.first, j.counts, ix, iy, j.t_s, after_s)
    return np.asarray(late / j.counts, dtype=np.float64)


def _geometry(j: Joined, f: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
    g = j.counts.size
    lat0 = _median(j.latitude, j.counts)
    lon0 = _median(j.longitude, j.counts)
    # wrap180(lon - lon0) * NM_PER_DEG * cos(lat0), (lat - lat0) * NM_PER_DEG
    offsets = np.append(j.first, j.latitude.size)
    coslat = np.cos(np.radians(lat0))
    x, y = local_xy(j.latitude, j.longitude, offsets, lat0, lon0, coslat)
    w, h = jit.extents(j.first, j.counts, x, y)
    f["bbox_diag_nm"] = np.hypot(w, h)
    f["log_bbox_area_nm2"] = np.log10(w * h + 1e-3)
    xm = group_sum(x, j.counts) / j.counts
    ym = group_sum(y, j.counts) / j.counts
    rg = np.sqrt(group_sum((x - xm[j.ids]) ** 2 + (y - ym[j.ids]) ** 2, j.counts) / j.counts)
    f["gyration_nm"] = rg
    step = j.speed_kt * j.step_s[j.ids] / 3600.0
    path = group_sum(step, j.counts)
    disp = np.hypot(x[j.last] - x[j.first], y[j.last] - y[j.first])
    with np.errstate(invalid="ignore", divide="ignore"):
        f["straightness"] = np.where(path > 0, disp / path, 0.0)
        f["gyration_per_path"] = np.where(path > 0, rg / path, 0.0)
    f["return_ratio"] = 1.0 - f["straightness"]
    f["revisit_share"] = revisit_shares(j, x, y)

    # course histograms weighted by distance flown, moving points only
    moving = j.speed_kt >= 25.0
    n_mov = _masked(j, moving)
    usable = (n_mov > 0) & (group_sum(step[moving], n_mov) > 0)
    e180, e360 = np.linspace(0.0, 180.0, 19), np.linspace(0.0, 360.0, 37)
    h180, h360 = jit.course_hists(j.ids, moving, j.course_deg, step, g, e180, e360)
    with np.errstate(invalid="ignore", divide="ignore"):
        h180 = h180 / h180.sum(axis=1)[:, None]
        pair = (h180 + np.roll(h180, -1, axis=1)).max(axis=1)
        pos = h360 > 0
        p = (h360 / h360.sum(axis=1)[:, None])[pos]
        ent = -group_sum(p * np.log(p), pos.sum(axis=1).astype(np.int64)) / np.log(36)
    f["axis_share"] = np.where(usable, pair, -1.0)
    f["course_entropy"] = np.where(usable, ent, -1.0)
    return x, y


def track_features(rs: Sequence[Resampled]) -> dict[str, FloatArray]:
    """Profile, turning and geometry features of each flight (at least two grid points)."""
    j = join(rs)
    f: dict[str, FloatArray] = {}
    if j.counts.size:
        _profile(j, f)
        _turning(j, f)
        x, y = _geometry(j, f)
        rate = windowed_rates(j, np.fmax(60.0, 2.0 * j.cadence_s))
        f |= leg_features(j.ids, j.seg, j.t_s, x, y, j.speed_kt, rate, j.step_s, _hours(j))
    return f
