"""Loiter: staying airborne and moving inside a small area, whatever the shape.

Orbits, racetracks and grids are loiters with a recognisable geometry; this
detector catches the rest (figure-eights, irregular wandering over a city, a
helicopter working a scene).  A grid point belongs to a loiter when some window
of ``window_s`` containing it stays within ``radius_nm`` of the window's own
centroid while the aircraft keeps moving (median ground speed at least
``min_speed_kt``).  Windows never span a gap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from overflight.patterns.turns import Resampled, local_xy_nm, runs


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
    n = r.t_s.size
    k = round(window_s / r.step_s) + 1
    if n < k:
        return []
    lat0, lon0 = float(np.median(r.latitude)), float(np.median(r.longitude))
    x, y = local_xy_nm(r.latitude, r.longitude, lat0, lon0)
    wx, wy = sliding_window_view(x, k), sliding_window_view(y, k)
    cx, cy = wx.mean(axis=1), wy.mean(axis=1)
    far = np.hypot(wx - cx[:, None], wy - cy[:, None]).max(axis=1)
    speed = np.median(sliding_window_view(r.speed_kt, k), axis=1)
    same_seg = r.seg[: n - k + 1] == r.seg[k - 1 :]
    ok = same_seg & (far <= radius_nm) & (speed >= min_speed_kt)
    cover = np.zeros(n + 1, dtype=np.int64)
    starts = np.flatnonzero(ok)
    np.add.at(cover, starts, 1)
    np.add.at(cover, starts + k, -1)
    inside = np.cumsum(cover[:-1]) > 0
    out: list[dict[str, Any]] = []
    for a, b in zip(*runs(inside, r.seg), strict=True):
        ex, ey = x[a:b].mean(), y[a:b].mean()
        spread = float(np.percentile(np.hypot(x[a:b] - ex, y[a:b] - ey), 95))
        alt = r.altitude[a:b]
        alt = alt[np.isfinite(alt)]
        dur = float(r.t_s[b - 1] - r.t_s[a])
        total_turn = float(np.abs(np.diff(r.heading_deg[a:b])).sum())
        out.append(
            {
                "kind": "loiter",
                "start_s": float(r.t_s[a]),
                "stop_s": float(r.t_s[b - 1]),
                "latitude": lat0 + ey / 60.0405,
                "longitude": lon0 + ex / (60.0405 * np.cos(np.radians(lat0))),
                "details": {
                    "radius_nm": round(spread, 2),
                    "n_turns": round(total_turn / 360.0, 2),
                    "time_on_station_s": round(dur, 1),
                    "altitude_min_ft": round(float(alt.min()), 0) if alt.size else None,
                    "altitude_max_ft": round(float(alt.max()), 0) if alt.size else None,
                    "speed_kt": round(float(np.median(r.speed_kt[a:b])), 1),
                },
            }
        )
    return out
