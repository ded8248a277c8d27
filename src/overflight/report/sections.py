"""HTML fragments of the report: key figures, flights table, timelines, provenance.

Every value from the data goes through :func:`html.escape`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np
import pyarrow as pa

from overflight.report._frame import column, epoch_s, format_duration, group_bounds, records
from overflight.report.palette import EVENT_COLORS, color_keys
from overflight.report.plots import ALT_COLOR, SPEED_COLOR, Span, timeline_svg
from overflight.report.summary import ENTRY, PATTERN_KINDS, Summary

KIND_LABELS = {
    ENTRY: "entry",
    "orbit": "orbit",
    "racetrack": "racetrack",
    "grid": "survey grid",
    "loiter": "loiter",
}


def facts_html(summary: Summary) -> str:
    """The key figures as a grid of cards, findings about the focus country first.

    Only findings about the focus country are marked as alerts: without a
    focus, the longest stay or deepest point in any airspace (an airliner at
    home, say) is a plain figure.
    """
    cards = []
    for label, value in summary.facts:
        about_focus = label.startswith(("Entries into ", "Longest stay in ", "Deepest into "))
        alert = about_focus and value != "none"
        cards.append(
            (
                not alert,
                f'<div class="{"fact alert" if alert else "fact"}">'
                f'<div class="label">{escape(label)}</div>'
                f'<div class="value">{escape(value)}</div></div>',
            )
        )
    return "".join(html for _, html in sorted(cards, key=lambda c: c[0]))


def _event_counts(events: pa.Table | None) -> dict[str, Counter[str]]:
    fid, kind = column(events, "flight_id"), column(events, "kind")
    out: dict[str, Counter[str]] = defaultdict(Counter)
    if fid is not None and kind is not None:
        for f, k in zip(fid.tolist(), kind.tolist(), strict=True):
            out[str(f)][str(k)] += 1
    return out


def _priority(row: Mapping[str, Any], counts: Counter[str]) -> tuple[int, int, str]:
    patterns = sum(v for k, v in counts.items() if k in PATTERN_KINDS)
    return (-counts.get(ENTRY, 0), -patterns, str(row.get("start") or ""))


def ordered_flights(flights: pa.Table, events: pa.Table | None) -> list[dict[str, Any]]:
    """Flight rows, most notable first: entries, then patterns, then by start time."""
    counts = _event_counts(events)
    rows = records(flights)
    return sorted(rows, key=lambda r: _priority(r, counts[str(r["flight_id"])]))


def _cell(text: Any, sort: Any = None, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    if sort is not None:
        attr += f' data-sort="{escape(str(sort))}"'
    return f"<td{attr}>{escape('–' if text is None or text == '' else str(text))}</td>"


def _events_cell(counts: Counter[str]) -> str:
    badges = []
    for kind, n in sorted(counts.items(), key=lambda kv: (kv[0] != ENTRY, kv[0])):
        label = KIND_LABELS.get(kind, kind)
        cls = "entry" if kind == ENTRY else "pattern"
        plural = "entries" if kind == ENTRY else label + "s"
        text = f"{n} {label if n == 1 else plural}"
        badges.append(f'<span class="badge {cls}">{escape(text)}</span>')
    total = sum(counts.values())
    return f'<td data-sort="{total}">{" ".join(badges) or "–"}</td>'


def flights_table(flights: pa.Table, events: pa.Table | None) -> str:
    """The sortable flights table; columns whose stage did not run are left out."""
    cols = set(flights.column_names)
    counts = _event_counts(events)
    optional = [
        ("registry_country", "Registry", "text"),
        ("military", "Military", "text"),
        ("typecode", "Type", "text"),
        ("operator", "Operator", "text"),
        ("mission", "Mission", "text"),
        ("mission_confidence", "Confidence", "num"),
        ("mission_reason", "Reason", "text"),
    ]
    shown = [c for c in optional if c[0] in cols]
    heads = [("Flight", "text"), ("ICAO 24-bit", "text")]
    heads += [(label, kind) for _, label, kind in shown]
    heads += [
        ("First seen (UTC)", "text"),
        ("Duration", "num"),
        ("Positions", "num"),
        ("Events", "num"),
    ]
    th = "".join(f'<th scope="col" data-type="{k}">{escape(h)}</th>' for h, k in heads)
    body = []
    for row in ordered_flights(flights, events):
        fid = str(row["flight_id"])
        name = row.get("callsign") or row.get("icao24") or fid
        cells = [
            f'<td data-sort="{escape(str(name))}"><button type="button" class="flight-link">'
            f"{escape(str(name))}</button></td>",
            _cell(row.get("icao24"), cls="mono"),
        ]
        for key, _, _ in shown:
            value = row.get(key)
            if key == "military":
                badge = (
                    '<span class="badge mil">yes</span>'
                    if value is True
                    else escape("no" if value is False else "–")
                )
                cells.append(f"<td>{badge}</td>")
            elif key == "mission_confidence":
                text = None if value is None else f"{float(value):.0%}"
                cells.append(_cell(text, sort=value if value is not None else "", cls="num"))
            else:
                cells.append(_cell(value, cls="reason" if key == "mission_reason" else ""))
        start, stop = row.get("start"), row.get("stop")
        dur = None
        if start and stop:
            t = epoch_s(np.array([start.rstrip("Z"), stop.rstrip("Z")], dtype="datetime64[ns]"))
            dur = float(t[1] - t[0])
        cells.append(_cell((start or "").replace("T", " ").rstrip("Z"), sort=start or ""))
        cells.append(_cell(format_duration(dur), sort=dur if dur is not None else "", cls="num"))
        n = row.get("n_points")
        cells.append(_cell(None if n is None else f"{int(n):,}", sort=n, cls="num"))
        cells.append(_events_cell(counts[fid]))
        body.append(f'<tr data-flight="{escape(fid)}">{"".join(cells)}</tr>')
    return (
        '<div class="table-scroll"><table class="flights sortable"><thead><tr>'
        f"{th}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _spans(events: pa.Table | None) -> dict[str, list[Span]]:
    out: dict[str, list[Span]] = defaultdict(list)
    for row in records(events):
        start, stop = row.get("start"), row.get("stop")
        if not start or not stop:
            continue
        t = epoch_s(np.array([start.rstrip("Z"), stop.rstrip("Z")], dtype="datetime64[ns]"))
        kind = str(row.get("kind"))
        label = f"{KIND_LABELS.get(kind, kind)} {start[11:16]}–{stop[11:16]} UTC"
        if row.get("country"):
            label += f" ({row['country']})"
        color = EVENT_COLORS.get(kind, "#888888")
        lane = 0 if kind == ENTRY else 1
        out[str(row["flight_id"])].append(Span(float(t[0]), float(t[1]), label, color, lane))
    return out


def timelines_html(
    pts: pa.Table,
    flights: pa.Table,
    events: pa.Table | None,
    focus: str | None,
    max_timelines: int = 40,
) -> str:
    """A legend and one inline-SVG timeline per flight (the most notable first)."""
    fid = column(pts, "flight_id")
    t = column(pts, "timestamp")
    assert fid is not None and t is not None
    alt, gs = column(pts, "altitude"), column(pts, "groundspeed")
    keys, colors, labels = color_keys(column(pts, "zone"), column(pts, "country"), alt, focus)
    ts = epoch_s(t)
    starts, stops = group_bounds(fid)
    where = {fid[s]: (s, e) for s, e in zip(starts.tolist(), stops.tolist(), strict=True)}
    spans = _spans(events)
    lines = (
        f'<span><span class="sw" style="border-color:{ALT_COLOR}"></span>altitude (ft)</span>'
        f'<span><span class="sw" style="border-color:{SPEED_COLOR};border-top-style:dashed">'
        "</span>ground speed (kt)</span>"
    )
    strip = "".join(
        f'<span><span class="blk" style="background:{escape(c)}"></span>{escape(labels[k])}</span>'
        for k, c in colors.items()
    )
    kind_col = column(events, "kind")
    kinds = set() if kind_col is None else set(kind_col.tolist())
    bands = "".join(
        f'<span><span class="ev" style="background:{c}"></span>'
        f"{escape(KIND_LABELS.get(k, k))}</span>"
        for k, c in EVENT_COLORS.items()
        if k in kinds
    )
    legend = [
        f'<div class="tl-legend"><b>Lines</b>{lines}</div>',
        f'<div class="tl-legend"><b>Strip under the plot</b>{strip}</div>',
    ]
    if bands:
        legend.append(f'<div class="tl-legend"><b>Bands along the top</b>{bands}</div>')
    cards = []
    rows = [r for r in ordered_flights(flights, events) if r["flight_id"] in where]
    for row in rows[:max_timelines]:
        s, e = where[row["flight_id"]]
        if e - s < 2:
            continue
        svg = timeline_svg(
            ts[s:e],
            None if alt is None else alt[s:e],
            None if gs is None else gs[s:e],
            keys[s:e],
            colors,
            spans.get(str(row["flight_id"]), []),
        )
        name = row.get("callsign") or row.get("icao24")
        start = str(row.get("start") or "")[:16].replace("T", " ")
        sub = f"{row.get('icao24')} · {start} UTC · {format_duration(ts[e - 1] - ts[s])}"
        cards.append(
            f'<div class="timeline-card"><h3>{escape(str(name))}'
            f'<span class="sub">{escape(sub)}</span></h3>{svg}</div>'
        )
    more = len(rows) - max_timelines
    note = (
        f'<p class="note">{more:,} more flights not shown here; see the exports.</p>'
        if more > 0
        else ""
    )
    return f'<div class="tl-legends">{"".join(legend)}</div>{"".join(cards)}{note}'


def provenance_html(
    params: Mapping[str, Any],
    created: str,
    version: str,
    boundary_dataset: Mapping[str, Any],
    outputs: Sequence[str],
) -> str:
    """Parameters, versions, time of analysis and the exported files."""
    dataset = " ".join(str(boundary_dataset.get(k) or "") for k in ("name", "version")).strip()
    items = [
        ("Time of analysis (UTC)", escape(created)),
        ("overflight version", escape(version)),
        ("Boundary dataset", escape(dataset or "not given")),
    ]
    for key, value in params.items():
        if key in ("boundary_dataset", "boundary_name", "boundary_version"):
            continue  # shown above
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        items.append((f"Parameter: {key}", escape(text)))
    links = " ".join(f'<a href="{escape(o)}">{escape(o)}</a>' for o in outputs)
    items.append(("Exports", f'<span class="exports">{links}</span>'))
    items.append(
        (
            "Integrity",
            "manifest.json lists the SHA-256 of every input and output file; "
            "manifest.sig, when present, is an Ed25519 signature over manifest.json.",
        )
    )
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in items)
    return f'<dl class="prov">{rows}</dl>'
