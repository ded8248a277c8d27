"""The ten-second summary: one headline sentence and a few key figures.

Everything is counted from the tables; a figure whose column is absent (the
stage did not run) is left out rather than guessed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from overflight.report._frame import column, format_duration, iso_utc, parse_details, records

ENTRY = "airspace_entry"
PATTERN_KINDS = ("orbit", "racetrack", "grid", "loiter")


@dataclass(frozen=True)
class Summary:
    """The headline sentence and ``(label, value)`` key figures."""

    headline: str
    facts: tuple[tuple[str, str], ...]


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (plural or word + 's')}"


def _counts(values: list[Any]) -> str:
    c = Counter(str(v) for v in values if v is not None)
    return " · ".join(f"{k} {v}" for k, v in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def _entry_rows(events: pa.Table | None) -> list[dict[str, Any]]:
    rows = [r for r in records(events) if r.get("kind") == ENTRY]
    for r in rows:
        r["_details"] = parse_details(r.get("details"))
    return rows


def _depth_km(row: dict[str, Any]) -> float | None:
    depth = row["_details"].get("max_depth_m")
    return float(depth) / 1000.0 if isinstance(depth, (int, float)) else None


def _extremes(
    entries: list[dict[str, Any]], names: dict[str, str]
) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """``(duration, who)`` of the longest stay and ``(depth, who)`` of the deepest entry."""
    longest = deepest = None
    stays = [r for r in entries if isinstance(r.get("duration_s"), (int, float))]
    if stays:
        row = max(stays, key=lambda r: float(r["duration_s"]))
        longest = (format_duration(row["duration_s"]), names.get(row["flight_id"], row["icao24"]))
    depths = [(d, r) for r in entries if (d := _depth_km(r)) is not None]
    if depths:
        km, row = max(depths, key=lambda dr: dr[0])
        deepest = (f"{km:,.0f} km", names.get(row["flight_id"], row["icao24"]))
    return longest, deepest


def _extreme_phrases(entries: list[dict[str, Any]], names: dict[str, str]) -> list[str]:
    longest, deepest = _extremes(entries, names)
    parts = []
    if longest:
        parts.append(f"longest stay {longest[0]} ({longest[1]})")
    if deepest:
        parts.append(f"up to {deepest[0]} inside ({deepest[1]})")
    return parts


def _entrants(entries: list[dict[str, Any]], flights: dict[str, dict[str, Any]], focus: str) -> str:
    ids = sorted({r["flight_id"] for r in entries})
    aircraft = {r.get("icao24") for r in entries}
    rows = [flights.get(i, {}) for i in ids]
    adjectives = []
    registries = [r.get("registry_country") for r in rows]
    if registries and all(isinstance(c, str) and c.upper() != focus for c in registries):
        adjectives.append("foreign")
    military = [r.get("military") for r in rows]
    n_mil = len({r.get("icao24") for r in rows if r.get("military") is True})
    if military and all(m is True for m in military):
        adjectives.append("military")
    noun = " ".join([f"{len(aircraft):,}", *adjectives, "aircraft"])
    if "military" not in adjectives and n_mil:
        noun += f" ({n_mil:,} military)"
    times = "" if len(entries) == len(aircraft) else f" {_n(len(entries), 'time')}"
    return f"{noun} entered {focus} national airspace{times}"


def summarize(
    points: pa.Table,
    flights: pa.Table,
    events: pa.Table | None,
    focus: str | None = None,
) -> Summary:
    """Compute the headline and key figures.

    Parameters
    ----------
    points
        The points table (all rows; ``valid`` is honoured when present).
    flights, events
        The flights and events tables; any stage column may be absent.
    focus
        ISO3 of the country the report is about, or None.
    """
    focus = focus.upper() if focus else None
    flight_rows = {r["flight_id"]: r for r in records(flights)}
    names = {k: str(r.get("callsign") or r.get("icao24") or k) for k, r in flight_rows.items()}
    n_flights = len(flight_rows)
    icao = column(flights, "icao24")
    n_aircraft = len(set(icao.tolist())) if icao is not None else 0
    kinds = column(events, "kind")
    kinds_list = [] if kinds is None else kinds.tolist()
    event_fid = column(events, "flight_id")
    fids = [] if event_fid is None else event_fid.tolist()
    pattern_flights = {f for f, k in zip(fids, kinds_list, strict=True) if k in PATTERN_KINDS}
    entries = _entry_rows(events)

    facts: list[tuple[str, str]] = [("Flights", f"{n_flights:,}"), ("Aircraft", f"{n_aircraft:,}")]
    valid = column(points, "valid")
    n_valid = int(np.sum(valid == True)) if valid is not None else points.num_rows  # noqa: E712
    total = points.num_rows
    facts.append(
        ("Positions", f"{total:,}" if n_valid == total else f"{n_valid:,} valid of {total:,}")
    )
    ts = column(flights, "start"), column(flights, "stop")
    if ts[0] is not None and ts[1] is not None and n_flights:
        first, last = iso_utc(np.array([ts[0].min(), ts[1].max()]))
        span = f"{first[:16]} – {last[:16]}" if first and last else "–"
        facts.append(("Period (UTC)", span.replace("T", " ")))
    mil = column(flights, "military")
    if mil is not None and icao is not None:
        n_mil = len({a for a, m in zip(icao.tolist(), mil.tolist(), strict=True) if m is True})
        facts.append(("Military aircraft", f"{n_mil:,}"))
    pattern_kinds = [k for k in kinds_list if k in PATTERN_KINDS]
    facts.append(
        (
            "Surveillance patterns",
            _counts(pattern_kinds) + f" ({_n(len(pattern_flights), 'flight')})",
        )
        if pattern_kinds
        else ("Surveillance patterns", "none detected")
    )
    mission = column(flights, "mission")
    if mission is not None and any(m is not None for m in mission.tolist()):
        facts.append(("Missions", _counts(mission.tolist())))
    mine = [r for r in entries if focus and str(r.get("country") or "").upper() == focus]
    scope = mine if focus else entries
    where = f" into {focus}" if focus else ""
    if focus:
        n_ac = len({r.get("icao24") for r in mine})
        text = f"{len(mine):,} by {_n(n_ac, 'aircraft', 'aircraft')}" if mine else "none"
        facts.append((f"Entries into {focus}", text))
    longest, deepest = _extremes(scope, names)
    if longest:
        facts.append(
            (f"Longest stay{' in ' + focus if focus else ''}", f"{longest[0]} ({longest[1]})")
        )
    if deepest:
        facts.append((f"Deepest{where}", f"{deepest[0]} ({deepest[1]})"))
    if entries:
        facts.append(("Entries, all countries", _counts([r.get("country") for r in entries])))

    surveil = f"{_n(len(pattern_flights), 'flight')} flew surveillance patterns"
    if focus:
        if mine:
            parts = [_entrants(mine, flight_rows, focus), *_extreme_phrases(mine, names)]
            refused = sum(1 for r in mine if r["_details"].get("authorized") is False)
            if refused:
                parts.append(f"{_n(refused, 'entry', 'entries')} without recorded authorisation")
            headline = "; ".join(parts) + "."
        else:
            headline = (
                f"No aircraft in this data entered {focus} national airspace; "
                f"{_n(n_flights, 'flight')} analysed, {surveil}."
            )
    else:
        headline = f"{_n(n_flights, 'flight')} by {n_aircraft:,} aircraft; {surveil}"
        # an aircraft in its own country's airspace is no news: foreign (or unknown) only
        abroad = [r for r in entries if r["_details"].get("foreign") is not False]
        if abroad:
            headline += (
                "; entries by foreign aircraft, by country: "
                f"{_counts([r.get('country') for r in abroad])}"
            )
        headline += "."
    return Summary(headline=headline, facts=tuple(facts))
