"""The self-contained HTML report: one file, every script and style inlined.

The page is filled from ``templates/report.html`` with :class:`string.Template`.
Text goes in escaped; the map's data goes in as JSON inside
``<script type="application/json">`` with ``<``, ``>`` and ``&`` written as
``\\u003c``-style escapes, so no value can close the element or inject markup.
A Content-Security-Policy forbids every network request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

import pyarrow as pa

import overflight
from overflight.report._frame import valid_positions
from overflight.report.assets import inline_script, leaflet_assets
from overflight.report.mapdata import map_data
from overflight.report.sections import (
    facts_html,
    flights_table,
    provenance_html,
    timelines_html,
)
from overflight.report.summary import summarize

EXPORTS = ("flights.geojson", "flights.kml", "flights.csv", "events.csv", "points.geoparquet")


def _resource(name: str) -> str:
    return (files("overflight.report") / "templates" / name).read_text(encoding="utf-8")


def script_json(value: Any) -> str:
    """JSON safe to embed in an HTML ``<script>`` element.

    Examples
    --------
    >>> script_json({"a": "</script><b>&"})
    '{"a":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026"}'
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def boundary_dataset(params: Mapping[str, Any]) -> dict[str, Any]:
    """``{"name", "version"}`` of the boundary data from ``params["boundary_dataset"]``.

    Accepts a dict, a plain name, or the separate keys ``boundary_name`` and
    ``boundary_version``.

    Examples
    --------
    >>> boundary_dataset({"boundary_dataset": "osm 1.1.0"})
    {'name': 'osm 1.1.0', 'version': None}
    """
    raw = params.get("boundary_dataset")
    if isinstance(raw, Mapping):
        return {"name": raw.get("name"), "version": raw.get("version")}
    return {
        "name": raw if raw is not None else params.get("boundary_name"),
        "version": params.get("boundary_version"),
    }


def render_html(
    points: pa.Table,
    flights: pa.Table,
    events: pa.Table | None,
    reach: pa.Table | None = None,
    *,
    boundary_features: Sequence[dict[str, Any]] | None = None,
    params: Mapping[str, Any] | None = None,
    created: str = "",
    max_points_per_flight: int = 2000,
    max_timelines: int = 40,
    exports: Sequence[str] = EXPORTS,
    positions: pa.Table | None = None,
) -> str:
    """The report page as a string (see :func:`overflight.report.write_report`);
    ``exports`` are the files the provenance section links to; ``positions``
    is ``valid_positions(points)`` when the caller has it already."""
    params = dict(params or {})
    focus_raw = params.get("focus")
    focus = str(focus_raw).upper() if focus_raw else None
    pts = valid_positions(points if positions is None else positions)
    summary = summarize(points, flights, events, focus)
    data = map_data(pts, flights, events, reach, boundary_features, focus, max_points_per_flight)
    leaflet_js, leaflet_css = leaflet_assets()
    dataset = boundary_dataset(params)
    drawn = sum(len(s["p"]) for f in data["flights"] for s in f["segments"])
    name = " ".join(str(dataset.get(k) or "") for k in ("name", "version")).strip()
    map_note = (
        f"No base map is loaded: land and territorial sea are drawn from "
        f"{name or 'the boundary data given'}"
        + ("" if data["boundaries"] else " (none were given for this report)")
        + f". Tracks are thinned to at most {max_points_per_flight:,} positions per flight for "
        f"display ({drawn:,} of {pts.num_rows:,} valid positions drawn); the exports hold them all."
    )
    version = overflight.__version__
    title = f"overflight report{' · ' + focus if focus else ''}"
    flights_text = f"{flights.num_rows:,} flight{'' if flights.num_rows == 1 else 's'}"
    meta = f"Analysed {created or 'now'} · {flights_text} · overflight {version}"
    fields = {
        "title": escape(title),
        "version": escape(version),
        "kicker": escape(f" · focus {focus}") if focus else "",
        "headline": escape(summary.headline),
        "meta": escape(meta),
        "facts": facts_html(summary),
        "map_note": escape(map_note),
        "flights_table": flights_table(flights, events),
        "timelines": timelines_html(pts, flights, events, focus, max_timelines),
        "provenance": provenance_html(params, created, version, dataset, exports),
        "data": script_json(data),
        "leaflet_css": leaflet_css,
        "leaflet_js": leaflet_js,
        "style": _resource("report.css").replace("</", "<\\/"),
        "script": inline_script(_resource("report.js")),
    }
    return Template(_resource("report.html")).substitute(fields)


def write_html(
    path: str | Path,
    points: pa.Table,
    flights: pa.Table,
    events: pa.Table | None,
    reach: pa.Table | None = None,
    **kwargs: Any,
) -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8)."""
    out = Path(path)
    out.write_text(render_html(points, flights, events, reach, **kwargs), encoding="utf-8")
    return out
