"""Loiter: staying airborne and moving inside a small area, whatever the shape.

Orbits, racetracks and grids are loiters with a recognisable geometry; this
detector catches the rest (figure-eights, irregular wandering over a city, a
helicopter working a scene).  A grid point belongs to a loiter when some window
of ``window_s`` containing it stays within ``radius_nm`` of the window's own
centroid while the aircraft keeps moving (median ground speed at least
``min_speed_kt``).  Windows never span a gap.

All flights of a :class:`~overflight.patterns.batch.Batch` are screened at
once: the speed test counts slow points per window (the median of an odd
window is at least the threshold exactly when at most half the window is
below it), and the radius test brackets the farthest point between the
half-sides and the half-diagonal of the window's bounding box around its
centroid, computing it exactly only for the windows the bracket cannot decide.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from overflight.patterns.batch import Batch, from_resampled, median
from overflight.patterns.turns import BoolArray, FloatArray, IntArray, Resampled, runs


def _sliding_extreme(v: FloatArray, k: int, fn: np.ufunc) -> FloatArray:
    """``fn``-reduce (maximum or minimum) of every window ``v[i:i+k]`` in O(n)."""
    n = v.size
    m = -(-n // k) * k
    pad = np.full(m, v[-1])
    pad[:n] = v
    blocks = pad.reshape(-1, k)
    pre = fn.accumulate(blocks, axis=1).ravel()
    suf = fn.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.asarray(fn(suf[: n - k + 1], pre[k - 1 : n]), dtype=np.float64)


def _window_mean(v: FloatArray, k: int, idx: IntArray) -> FloatArray:
    """Approximate mean of ``v[i:i+k]`` for each i in ``idx`` (extended precision)."""
    s = np.zeros(v.size + 1, dtype=np.longdouble)
    np.cumsum(v, dtype=np.longdouble, out=s[1:])
    return np.asarray((s[idx + k] - s[idx]) / k, dtype=np.float64)


def _exact_far(x: FloatArray, y: FloatArray, k: int, idx: IntArray) -> FloatArray:
    """Farthest distance from the window centroid, as the per-flight code computes it."""
    out = np.empty(idx.size)
    step = max(1, 2_000_000 // k)
    cols = np.arange(k)
    for c in range(0, idx.size, step):
        rows = idx[c : c + step, None] + cols
        wx, wy = x[rows], y[rows]
        cx, cy = wx.mean(axis=1), wy.mean(axis=1)
        out[c : c + step] = np.hypot(wx - cx[:, None], wy - cy[:, None]).max(axis=1)
    return out


def _within(x: FloatArray, y: FloatArray, k: int, cand: BoolArray, radius_nm: float) -> BoolArray:
    """Windows (by start) among ``cand`` whose farthest point is within the radius."""
    ok = np.zeros(cand.size, dtype=bool)
    idx = np.flatnonzero(cand)
    if idx.size == 0:
        return ok
    cx, cy = _window_mean(x, k, idx), _window_mean(y, k, idx)
    x_hi, x_lo = _sliding_extreme(x, k, np.maximum)[idx], _sliding_extreme(x, k, np.minimum)[idx]
    y_hi, y_lo = _sliding_extreme(y, k, np.maximum)[idx], _sliding_extreme(y, k, np.minimum)[idx]
    dx = np.maximum(x_hi - cx, cx - x_lo)
    dy = np.maximum(y_hi - cy, cy - y_lo)
    lower, upper = np.maximum(dx, dy), np.hypot(dx, dy)
    # error of the approximate centroid (extended-precision prefix sums) plus
    # the float64 rounding of the mean, subtractions and hypot: generous bound
    big = float(max(np.abs(x).max(), np.abs(y).max()))
    total = float(np.abs(x).sum() + np.abs(y).sum())
    eps_ld = float(np.finfo(np.longdouble).eps)
    eps = float(np.finfo(np.float64).eps)
    band = 4.0 * (2.0 * x.size * eps_ld * total / k + 4.0 * k * eps * big) + 1e-9
    sure = upper < radius_nm - band
    unsure = ~sure & (lower <= radius_nm + band)
    res = sure.copy()
    if unsure.any():
        res[unsure] = _exact_far(x, y, k, idx[unsure]) <= radius_nm
    ok[idx] = res
    return ok


def _slow_enough(speed: FloatArray, k: int, min_speed_kt: float) -> BoolArray:
    """Median of each window ``speed[i:i+k]`` at least ``min_speed_kt``."""
    if k % 2 == 0:
        return np.asarray(np.median(sliding_window_view(speed, k), axis=1) >= min_speed_kt)
    m = speed.size - k + 1
    low = np.zeros(speed.size + 1, dtype=np.int64)
    np.cumsum(~(speed >= min_speed_kt), out=low[1:])
    nan = np.zeros(speed.size + 1, dtype=np.int64)
    np.cumsum(np.isnan(speed), out=nan[1:])
    return np.asarray(((low[k:] - low[:m]) <= k // 2) & ((nan[k:] - nan[:m]) == 0))


def loiters_batch(
    b: Batch,
    window_s: float = 900.0,
    radius_nm: float = 6.0,
    min_speed_kt: float = 20.0,
) -> list[tuple[int, dict[str, Any]]]:
    """``(flight index, event)`` of every loiter in a batch, by flight then time."""
    r = b.r
    n = r.t_s.size
    k = round(window_s / r.step_s) + 1
    if n < k:
        return []
    x, y = b.x, b.y
    same_seg = r.seg[: n - k + 1] == r.seg[k - 1 :]
    cand = same_seg & _slow_enough(r.speed_kt, k, min_speed_kt)
    ok = _within(x, y, k, cand, radius_nm)
    starts = np.flatnonzero(ok)
    cover = np.bincount(starts, minlength=n + 1) - np.bincount(starts + k, minlength=n + 1)
    inside = np.cumsum(cover[:-1]) > 0
    out: list[tuple[int, dict[str, Any]]] = []
    for a, z in zip(*runs(inside, r.seg), strict=True):
        f = int(b.flight[a])
        out.append((f, _event(b, f, int(a), int(z))))
    return out


def _event(b: Batch, f: int, a: int, z: int) -> dict[str, Any]:
    r, x, y = b.r, b.x, b.y
    lat0, lon0 = float(b.lat0[f]), float(b.lon0[f])
    ex, ey = x[a:z].mean(), y[a:z].mean()
    spread = float(np.percentile(np.hypot(x[a:z] - ex, y[a:z] - ey), 95))
    alt = r.altitude[a:z]
    alt = alt[np.isfinite(alt)]
    dur = float(r.t_s[z - 1] - r.t_s[a])
    total_turn = float(np.abs(np.diff(r.heading_deg[a:z])).sum())
    return {
        "kind": "loiter",
        "start_s": float(r.t_s[a]),
        "stop_s": float(r.t_s[z - 1]),
        "latitude": lat0 + ey / 60.0405,
        "longitude": lon0 + ex / (60.0405 * np.cos(np.radians(lat0))),
        "details": {
            "radius_nm": round(spread, 2),
            "n_turns": round(total_turn / 360.0, 2),
            "time_on_station_s": round(dur, 1),
            "altitude_min_ft": round(float(alt.min()), 0) if alt.size else None,
            "altitude_max_ft": round(float(alt.max()), 0) if alt.size else None,
            "speed_kt": round(median(r.speed_kt[a:z]), 1),
        },
    }


def find_loiters(
    r: Resampled,
    window_s: float = 900.0,
    radius_nm: float = 6.0,
    min_speed_kt: float = 20.0,
) -> list[dict[str, Any]]:
    """Loiter events of one resampled flight.

    Examples
    --------
    >>> from overflight.patterns.turns import resample
    >>> t = np.arange(0.0, 3600.0, 10.0)
    >>> ang = np.radians(t)
    >>> r = resample(t, 50 + 0.03 * np.sin(ang), 4 + 0.05 * np.cos(ang))
    >>> [round(e["stop_s"] - e["start_s"]) for e in find_loiters(r)]
    [3590]
    """
    b = from_resampled([r])
    return [e for _, e in loiters_batch(b, window_s, radius_nm, min_speed_kt)]
