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
below it), and the radius test decides windows from bounds on the farthest
point (:mod:`overflight.patterns.loiter_jit`), computing it exactly only for
the windows the bounds cannot decide.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from overflight.patterns.batch import Batch, from_resampled
from overflight.patterns.loiter_jit import loiter_numbers, screen
from overflight.patterns.reduce_jit import np_percentile
from overflight.patterns.turns import BoolArray, FloatArray, IntArray, Resampled, runs


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


def _within(
    x: FloatArray,
    y: FloatArray,
    k: int,
    cand: BoolArray,
    radius_nm: float,
    seg_start: IntArray | None = None,
) -> BoolArray:
    """Windows (by start) among ``cand`` whose farthest point is within the radius.

    ``seg_start`` (each point's segment start) lets the screen restart its
    running sums at segments; candidate windows must not cross one.  Without
    it the whole array is one segment.
    """
    starts = np.zeros(x.size, np.int64) if seg_start is None else seg_start
    verdict = screen(x, y, starts, k, np.ascontiguousarray(cand), float(radius_nm))
    ok = verdict > 0
    undecided = np.flatnonzero(verdict < 0)
    if undecided.size:
        ok[undecided] = _exact_far(x, y, k, undecided) <= radius_nm
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
    ok = _within(x, y, k, cand, radius_nm, b.seg_start)
    starts = np.flatnonzero(ok)
    cover = np.bincount(starts, minlength=n + 1) - np.bincount(starts + k, minlength=n + 1)
    inside = np.cumsum(cover[:-1]) > 0
    return _events(b, *runs(inside, r.seg))


def _events(b: Batch, starts: IntArray, stops: IntArray) -> list[tuple[int, dict[str, Any]]]:
    """``(flight, event)`` of each loiter run."""
    r = b.r
    num, dx, dy = loiter_numbers(b.x, b.y, r.heading_deg, r.altitude, r.speed_kt, starts, stops)
    dist = np.hypot(dx, dy)
    ends = np.cumsum(stops - starts)
    out: list[tuple[int, dict[str, Any]]] = []
    for i, (a, z) in enumerate(zip(starts.tolist(), stops.tolist(), strict=True)):
        f = int(b.flight[a])
        lat0, lon0 = float(b.lat0[f]), float(b.lon0[f])
        ex, ey, lo, hi, n_alt, turn, speed = (float(v) for v in num[:, i])
        spread = np_percentile(dist[ends[i] - (z - a) : ends[i]], 95.0)
        dur = float(r.t_s[z - 1] - r.t_s[a])
        e = {
            "kind": "loiter",
            "start_s": float(r.t_s[a]),
            "stop_s": float(r.t_s[z - 1]),
            "latitude": lat0 + ey / 60.0405,
            "longitude": lon0 + ex / (60.0405 * np.cos(np.radians(lat0))),
            "details": {
                "radius_nm": round(spread, 2),
                "n_turns": round(turn / 360.0, 2),
                "time_on_station_s": round(dur, 1),
                "altitude_min_ft": round(lo, 0) if n_alt else None,
                "altitude_max_ft": round(hi, 0) if n_alt else None,
                "speed_kt": round(speed, 1),
            },
        }
        out.append((f, e))
    return out


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
