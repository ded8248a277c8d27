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
from overflight.patterns.events import Detail, Events, no_events, py_round, to_dicts
from overflight.patterns.loiter_jit import fast_windows, loiter_numbers, run_percentiles, screen
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
    return fast_windows(speed, k, float(min_speed_kt))


def loiter_events(
    b: Batch,
    window_s: float = 900.0,
    radius_nm: float = 6.0,
    min_speed_kt: float = 20.0,
) -> Events:
    """Every loiter in a batch, by flight then time."""
    r = b.r
    n = r.t_s.size
    k = round(window_s / r.step_s) + 1
    if n < k:
        return no_events("loiter")
    x, y = b.x, b.y
    same_seg = r.seg[: n - k + 1] == r.seg[k - 1 :]
    cand = same_seg & _slow_enough(r.speed_kt, k, min_speed_kt)
    ok = _within(x, y, k, cand, radius_nm, b.seg_start)
    starts = np.flatnonzero(ok)
    cover = np.bincount(starts, minlength=n + 1) - np.bincount(starts + k, minlength=n + 1)
    inside = np.cumsum(cover[:-1]) > 0
    return _events(b, *runs(inside, r.seg))


def _events(b: Batch, starts: IntArray, stops: IntArray) -> Events:
    """The events of the loiter runs."""
    r = b.r
    num, dx, dy = loiter_numbers(b.x, b.y, r.heading_deg, r.altitude, r.speed_kt, starts, stops)
    spread = run_percentiles(np.asarray(np.hypot(dx, dy), np.float64), stops - starts, 95.0)
    ex, ey, lo, hi, n_alt, turn, speed = num
    f = b.flight[starts]
    start, stop = r.t_s[starts], r.t_s[stops - 1]
    lat0, lon0 = b.lat0[f], b.lon0[f]
    no_alt = n_alt == 0.0
    details = {
        "radius_nm": Detail(py_round(spread, 2)),
        "n_turns": Detail(py_round(turn / 360.0, 2)),
        "time_on_station_s": Detail(py_round(stop - start, 1)),
        "altitude_min_ft": Detail(py_round(lo, 0), no_alt),
        "altitude_max_ft": Detail(py_round(hi, 0), no_alt),
        "speed_kt": Detail(py_round(speed, 1)),
    }
    return Events(
        "loiter",
        f,
        start,
        stop,
        lat0 + ey / 60.0405,
        lon0 + ex / (60.0405 * np.cos(np.radians(lat0))),
        details,
    )


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
    return to_dicts(loiter_events(from_resampled([r]), window_s, radius_nm, min_speed_kt))
