"""The trend plot (hand-written SVG) and the files ``trends`` writes."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from overflight.trends._common import STATS_KEY, ChangePoint


def _nice_max(vmax: float) -> tuple[float, float]:
    """Axis top and tick step (1, 2 or 5 times a power of ten) for values up to ``vmax``.

    A panel with nothing above zero gets the axis 0 to 4 (step 1), not a
    degenerate one whose every tick reads 0.

    Examples
    --------
    >>> _nice_max(1254.0), _nice_max(0.0), _nice_max(0.3)
    ((1500.0, 500.0), (4.0, 1.0), (0.3, 0.1))
    """
    if not vmax > 0:
        return 4.0, 1.0
    raw = vmax / 4
    mag = 10 ** math.floor(math.log10(raw))
    step = float(next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw))
    return round(step * max(math.ceil(vmax / step), 1), 12), step


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def trend_plot_svg(
    daily: pa.Table,
    changes: Mapping[str, Sequence[ChangePoint]] | Sequence[ChangePoint] = (),
    *,
    title: str | None = None,
) -> str:
    """SVG of daily surveillance flights (top) and hours (bottom), changes marked.

    Bars are the surveillance series; the grey line in the top panel is all
    flights near.  Each change point is one ``<g class="change-point">``: a
    dashed line at the start of its first day, in the panel of its series
    (``*hours*`` series in the bottom panel), labelled with the date and the
    means before and after.  A bare list of changes is taken as changes of
    ``surveillance_flights_near``.
    """
    from xml.sax.saxutils import escape

    if not isinstance(changes, Mapping):
        changes = {"surveillance_flights_near": list(changes)}
    width, left, right, top, panel_h, gap = 960, 70, 30, 50, 190, 80
    plot_w = width - left - right
    height = top + 2 * panel_h + gap + 60
    days = daily.column("day").cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False)
    n = len(days)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="24" font-size="16" font-weight="bold">'
        f"{escape(title or 'Surveillance activity per day (UTC)')}</text>",
    ]
    if n == 0:
        out.append(f'<text x="{left}" y="{top + 40}">no data</text></svg>')
        return "\n".join(out)
    d0, bar_w = int(days[0]), plot_w / n

    def x_of(day: int) -> float:
        return left + (day - d0) * bar_w

    panels = [
        ("surveillance_flights_near", "Surveillance flights near", "flights", "#1f5fa8"),
        ("surveillance_hours_near", "Surveillance flight hours near", "hours", "#b5651d"),
    ]
    for k, (col, label, unit, color) in enumerate(panels):
        y0 = top + k * (panel_h + gap)
        vals = daily.column(col).to_numpy(zero_copy_only=False).astype(float)
        line = (
            daily.column("flights_near").to_numpy(zero_copy_only=False).astype(float)
            if k == 0
            else None
        )
        vmax, step = _nice_max(float(max(vals.max(), 0 if line is None else line.max())))

        def y_of(v: float, y0: int = y0, vmax: float = vmax) -> float:
            return y0 + panel_h * (1 - v / vmax)

        out.append(f'<g class="panel" data-series="{col}">')
        out.append(f'<text x="{left}" y="{y0 - 8}" font-weight="bold">{label} ({unit}/day)</text>')
        for i in range(round(vmax / step) + 1):
            y = y_of(i * step)
            out.append(
                f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(i * step)}</text>'
            )
        for j in np.flatnonzero(vals > 0):
            y = y_of(float(vals[j]))
            out.append(
                f'<rect x="{x_of(int(days[j])):.1f}" y="{y:.1f}" width="{max(bar_w - 1, 0.5):.1f}" '
                f'height="{y0 + panel_h - y:.1f}" fill="{color}"/>'
            )
        if line is not None:
            pts = " ".join(
                f"{x_of(int(d)) + bar_w / 2:.1f},{y_of(float(v)):.1f}"
                for d, v in zip(days, line, strict=True)
            )
            out.append(f'<polyline points="{pts}" fill="none" stroke="#888" stroke-width="1"/>')
            out.append(
                f'<text x="{left + plot_w}" y="{y0 - 8}" text-anchor="end" fill="#666">'
                "bars: surveillance flights; grey line: all flights near</text>"
            )
        out.append(
            f'<line x1="{left}" x2="{left}" y1="{y0}" y2="{y0 + panel_h}" stroke="black"/>'
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y0 + panel_h}" y2="{y0 + panel_h}" '
            'stroke="black"/>'
        )
        weeks = max(1, math.ceil(n / 7 / 10))  # at most ~10 date labels
        for d in range(d0 + (4 - d0) % 7, d0 + n, 7 * weeks):  # Mondays: (day + 3) % 7 == 0
            x = x_of(d)
            iso = str(np.datetime64(d, "D"))
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0 + panel_h}" y2="{y0 + panel_h + 5}" '
                f'stroke="black"/><text x="{x:.1f}" y="{y0 + panel_h + 18}" '
                f'text-anchor="middle">{iso}</text>'
            )
        for name, cps in changes.items():
            if ("hours" in name) != (k == 1):
                continue
            for cp in cps:
                x = x_of(int(np.datetime64(cp.day, "D").astype(np.int64)))
                anchor = "end" if x > left + plot_w / 2 else "start"
                dx = -4 if anchor == "end" else 4
                out.append(
                    f'<g class="change-point" data-series="{escape(name)}" '
                    f'data-day="{cp.day.isoformat()}"><line x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" '
                    f'y2="{y0 + panel_h}" stroke="#c00" stroke-width="2" stroke-dasharray="6,3"/>'
                    f'<text x="{x + dx:.1f}" y="{y0 + 14}" text-anchor="{anchor}" fill="#c00">'
                    f"change {cp.day.isoformat()}: {_fmt(cp.before_mean)} \u2192 "
                    f"{_fmt(cp.after_mean)} /day</text></g>"
                )
        out.append("</g>")
    out.append(
        f'<text x="{left + plot_w / 2}" y="{height - 12}" text-anchor="middle">'
        "day (UTC); dashed red lines: change points (PELT)</text></svg>"
    )
    return "\n".join(out)


def _csv(table: pa.Table, path: Path) -> None:
    """``table`` as CSV with a plain header; hours rounded to 4 decimals (0.36 s)."""
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    for i, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            table = table.set_column(i, field, pc.round(table.column(i), 4))
    with path.open("wb") as f:
        f.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=False))


def write_trends(
    out_dir: str | Path,
    daily: pa.Table,
    weekly: pa.Table,
    changes: Mapping[str, Sequence[ChangePoint]] | Sequence[ChangePoint],
    *,
    title: str | None = None,
) -> dict[str, Path]:
    """Write ``trends_daily.csv``, ``trends_weekly.csv``, ``trends.svg`` and ``trends.json``.

    Dates are ISO 8601 (``2024-03-04``), hours have 4 decimals.  ``trends.json`` holds the stats of
    ``daily`` (focus, band width, skipped rows) and the changes per series:
    ``{"changes": {"surveillance_flights_near": [{"day", "before_mean",
    "after_mean"}]}}``.  Returns the paths by file name.
    """
    if not isinstance(changes, Mapping):
        changes = {"surveillance_flights_near": list(changes)}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("trends_daily.csv", "trends_weekly.csv")}
    _csv(daily, paths["trends_daily.csv"])
    _csv(weekly, paths["trends_weekly.csv"])
    meta = daily.schema.metadata or {}
    doc = {
        "stats": json.loads(meta.get(STATS_KEY, b"{}")),
        "method": "PELT (ruptures), see overflight.trends.change_points",
        "changes": {
            name: [{**cp._asdict(), "day": cp.day.isoformat()} for cp in cps]
            for name, cps in changes.items()
        },
    }
    paths["trends.json"] = out / "trends.json"
    paths["trends.json"].write_text(json.dumps(doc, indent=2) + "\n")
    paths["trends.svg"] = out / "trends.svg"
    paths["trends.svg"].write_text(trend_plot_svg(daily, changes, title=title))
    return paths
