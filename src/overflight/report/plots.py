"""Per-flight timelines drawn as inline SVG: altitude, ground speed and zone over time.

No plotting library: the SVG is a few paths and rects, written with every
label escaped, so the report stays one small self-contained file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

import numpy as np
import numpy.typing as npt

ALT_COLOR = "#1f3b63"
SPEED_COLOR = "#d35400"
TIME_STEPS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


@dataclass(frozen=True)
class Span:
    """A shaded interval on a timeline (an event)."""

    start_s: float
    stop_s: float
    label: str
    color: str
    lane: int = 0  # which marker strip along the top edge


def nice_ceiling(value: float) -> tuple[float, float]:
    """A round axis maximum at or above ``value`` and its tick step.

    Examples
    --------
    >>> nice_ceiling(23_400.0)
    (25000.0, 5000.0)
    """
    if not math.isfinite(value) or value <= 0:
        return 1.0, 0.25
    raw = value / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return float(step * math.ceil(value / step - 1e-9)), float(step)


def time_ticks(t0: float, t1: float, max_ticks: int = 7) -> list[float]:
    """Tick times (epoch seconds) on round UTC minutes or hours.

    Examples
    --------
    >>> time_ticks(0.0, 3600.0)
    [0.0, 600.0, 1200.0, 1800.0, 2400.0, 3000.0, 3600.0]
    """
    span = max(t1 - t0, 1.0)
    step = next((s for s in TIME_STEPS_S if span / s <= max_ticks - 1), TIME_STEPS_S[-1])
    first = math.ceil(t0 / step) * step
    return [float(t) for t in np.arange(first, t1 + 1e-6, step)]


def _path(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], brk: npt.NDArray[np.bool_]
) -> str:
    ok = np.isfinite(y)
    out = []
    pen = False
    for xi, yi, good, b in zip(x.tolist(), y.tolist(), ok.tolist(), brk.tolist(), strict=True):
        if not good:
            pen = False
            continue
        out.append(f"{'L' if pen and not b else 'M'}{xi:.1f} {yi:.1f}")
        pen = True
    return "".join(out)


def _area(path: str, base: float) -> str:
    """Close each subpath of a line down to the baseline to shade under it."""
    parts = [p for p in path.split("M") if p]
    closed = []
    for part in parts:
        pts = part.split("L")
        x_first = pts[0].split(" ")[0]
        x_last = pts[-1].split(" ")[0]
        closed.append(f"M{x_first} {base:.1f}L{part}L{x_last} {base:.1f}Z")
    return "".join(closed)


def timeline_svg(
    t_s: npt.NDArray[np.float64],
    altitude_ft: npt.NDArray[np.float64] | None,
    speed_kt: npt.NDArray[np.float64] | None,
    keys: npt.NDArray[Any],
    colors: dict[str, str],
    spans: Sequence[Span] = (),
    width: int = 1120,
    height: int = 180,
    max_points: int = 800,
) -> str:
    """One flight's timeline as an ``<svg>`` element string.

    Parameters
    ----------
    t_s
        Times, epoch seconds, ascending.
    altitude_ft, speed_kt
        Series drawn against the left (ft) and right (kt) axes; None to omit.
    keys, colors
        Colour key of each position (zone or altitude band) and its colour,
        drawn as a strip under the plot.
    spans
        Event intervals shaded behind the lines.

    Examples
    --------
    >>> svg = timeline_svg(np.array([0.0, 60.0]), np.array([0.0, 1e3]), None,
    ...                    np.array(["land", "land"], dtype=object), {"land": "#c00"})
    >>> svg.startswith("<svg") and "#c00" in svg
    True
    """
    n = len(t_s)
    if n > max_points:
        keep = np.unique(np.r_[np.arange(0, n, math.ceil(n / max_points)), n - 1])
        t_s, keys = t_s[keep], keys[keep]
        altitude_ft = None if altitude_ft is None else altitude_ft[keep]
        speed_kt = None if speed_kt is None else speed_kt[keep]
        n = len(t_s)
    left, right, top, bottom = 58, 52, 10, 38
    pw, ph = width - left - right, height - top - bottom - 12
    t0, t1 = float(t_s[0]), float(t_s[-1])
    span_s = max(t1 - t0, 1.0)

    def x_of(t: Any) -> Any:
        return left + (np.asarray(t) - t0) / span_s * pw

    x = x_of(t_s)
    dt = np.diff(t_s, prepend=t_s[0])
    gap = max(300.0, 10.0 * float(np.median(dt[1:])) if n > 2 else 300.0)
    brk = dt > gap
    base = top + ph
    el = [
        f'<svg class="timeline" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fbfbfc" stroke="#d9dde3"/>',
    ]
    for sp in spans:
        xa, xb = float(x_of(max(sp.start_s, t0))), float(x_of(min(sp.stop_s, t1)))
        w = max(xb - xa, 1.5)
        color, label = escape(sp.color), escape(sp.label)
        el.append(
            f'<g><title>{label}</title><rect x="{xa:.1f}" y="{top}" width="{w:.1f}" height="{ph}" '
            f'fill="{color}" fill-opacity="0.08"/><rect x="{xa:.1f}" y="{top + 1 + 6 * sp.lane}" '
            f'width="{w:.1f}" height="5" fill="{color}" fill-opacity="0.85"/></g>'
        )
    for tick in time_ticks(t0, t1):
        xt = float(x_of(tick))
        label = datetime.fromtimestamp(tick, UTC).strftime("%H:%M")
        el.append(f'<line x1="{xt:.1f}" x2="{xt:.1f}" y1="{top}" y2="{base}" class="grid"/>')
        el.append(f'<text x="{xt:.1f}" y="{height - 8}" text-anchor="middle">{label}</text>')
    axes = (
        (altitude_ft, ALT_COLOR, "ft", left - 6, "end"),
        (speed_kt, SPEED_COLOR, "kt", None, "start"),
    )
    for series, color, unit, x_lab, anchor in axes:
        if series is None or not np.isfinite(series).any():
            continue
        top_v, step = nice_ceiling(float(np.nanmax(series)))
        y = base - np.clip(series, 0, None) / top_v * ph
        xl = x_lab if x_lab is not None else left + pw + 6
        for v in np.arange(0.0, top_v + step / 2, step).tolist():
            yv = base - v / top_v * ph
            el.append(
                f'<text x="{xl}" y="{yv + 3.5:.1f}" text-anchor="{anchor}" fill="{color}">'
                f"{v:,.0f}</text>"
            )
            if unit == "ft":
                el.append(
                    f'<line x1="{left}" x2="{left + pw}" y1="{yv:.1f}" y2="{yv:.1f}" class="grid"/>'
                )
        d = _path(x, y, brk)
        if unit == "ft" and d:
            el.append(
                f'<path d="{_area(d, base)}" fill="{color}" fill-opacity="0.08" stroke="none"/>'
            )
        dash = ' stroke-dasharray="4 2"' if unit == "kt" else ""
        el.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="1.6"{dash}/>')
        unit_x = 12 if unit == "ft" else width - 12
        el.append(
            f'<text x="{unit_x}" y="{top + ph / 2:.0f}" fill="{color}" text-anchor="middle" '
            f'transform="rotate(-90 {unit_x} {top + ph / 2:.0f})">'
            f"{'altitude (ft)' if unit == 'ft' else 'ground speed (kt)'}</text>"
        )
    strip_y = base + 4
    runs = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    for i, s in enumerate(runs.tolist()):
        e = int(runs[i + 1]) if i + 1 < len(runs) else n - 1
        xa, xb = float(x[s]), float(x[e])
        key = str(keys[s])
        el.append(
            f'<rect x="{xa:.1f}" y="{strip_y}" width="{max(xb - xa, 1.0):.1f}" height="8" '
            f'fill="{escape(colors.get(key, "#999"))}"><title>{escape(key)}</title></rect>'
        )
    el.append("</svg>")
    return "".join(el)
