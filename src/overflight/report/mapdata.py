"""The data the report's map draws, as one JSON-ready dict.

Tracks are decimated by a time stride (at most ``max_points_per_flight`` per
flight and ``max_points_total`` overall, always keeping the first and last
position and every change of colour), split into runs of one colour, and
their longitudes unwrapped so a track across the antimeridian draws as one
line.  Boundaries are clipped to the area of interest and simplified.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import shapely

from overflight.geodesy import NM_M
from overflight.report._frame import (
    column,
    epoch_s,
    format_duration,
    group_bounds,
    parse_details,
    records,
    stride_mask,
)
from overflight.report.background import area_of_interest, boundaries
from overflight.report.geojson import oriented
from overflight.report.palette import ZONE_COLORS, color_keys
from overflight.report.summary import ENTRY

INFO_KEYS = (
    ("callsign", "Callsign"),
    ("icao24", "ICAO 24-bit"),
    ("registry_country", "Registry"),
    ("military", "Military"),
    ("typecode", "Type"),
    ("operator", "Operator"),
    ("mission", "Mission"),
    ("mission_reason", "Why"),
    ("start", "First seen (UTC)"),
    ("stop", "Last seen (UTC)"),
)


def _round(values: Any, digits: int = 5) -> list[Any]:
    out: list[Any] = np.round(np.asarray(values, dtype=np.float64), digits).tolist()
    return out


def flight_info(row: dict[str, Any]) -> list[list[str]]:
    """``[label, text]`` pairs describing a flight in a popup (absent fields skipped)."""
    info = []
    for key, label in INFO_KEYS:
        value = row.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        info.append(
            [
                label,
                str(value).replace("T", " ").rstrip("Z")
                if key in ("start", "stop")
                else str(value),
            ]
        )
    return info


def near_lon(lon: Any, centre_deg: float) -> Any:
    """``lon`` moved by whole turns to within 180 degrees of ``centre_deg``.

    Tracks are drawn with unwrapped longitudes (a flight across the
    antimeridian runs past 180), so whatever is drawn on a track must be
    moved the same way.

    Examples
    --------
    >>> float(near_lon(-179.5, 179.0)), near_lon(np.array([10.0, 350.0]), 0.0).tolist()
    (180.5, [10.0, -10.0])
    """
    return lon + 360.0 * np.round((centre_deg - np.asarray(lon, dtype=np.float64)) / 360.0)


def _circular_mean_deg(values: Any) -> float:
    rad = np.radians(np.asarray(values, dtype=np.float64))
    return float(np.degrees(np.arctan2(np.sin(rad).mean(), np.cos(rad).mean())))


def _tracks(
    pos: _Positions, flights: pa.Table, focus: str | None, per_flight: int, total: int
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, str], dict[str, float]]:
    """Drawn tracks, colours and labels, and the centre longitude of each flight as drawn."""
    pts, fid, lat, lon = pos.pts, pos.fid, pos.lat, pos.lon
    keys, colors, labels = color_keys(
        column(pts, "zone"), column(pts, "country"), column(pts, "altitude"), focus
    )
    starts, stops = pos.starts, pos.stops
    mask = np.zeros(len(fid), dtype=bool)
    if len(starts):
        cap = per_flight
        if int(np.minimum(stops - starts, cap).sum()) > total:
            cap = max(100, total // len(starts))
        mask = stride_mask(starts, stops, cap)
        change = np.r_[False, keys[1:] != keys[:-1]]
        mask |= change | np.r_[change[1:], False]
    rows = {r["flight_id"]: r for r in records(flights)}
    picks = [
        np.flatnonzero(mask[s:e]) + s for s, e in zip(starts.tolist(), stops.tolist(), strict=True)
    ]
    unwrapped = [np.unwrap(lon[sel], period=360.0) for sel in picks]
    unwrapped = [lo + (near_lon(lo.mean(), 0.0) - lo.mean()) for lo in unwrapped]
    if len(unwrapped) > 1:  # frame flights on both sides of the antimeridian together
        means = np.array([lo.mean() for lo in unwrapped])
        aligned = near_lon(means, _circular_mean_deg(means))
        if np.ptp(aligned) < np.ptp(means):
            unwrapped = [lo + (a - m) for lo, a, m in zip(unwrapped, aligned, means, strict=True)]
    out, centres = [], {}
    for s, sel, lo in zip(starts.tolist(), picks, unwrapped, strict=True):
        la = lat[sel]
        centres[fid[s]] = float(lo.mean())
        k = keys[sel]
        cuts = np.r_[np.flatnonzero(k[1:] != k[:-1]) + 1, len(sel)]
        segs, begin = [], 0
        for cut in cuts.tolist():
            stop = min(cut + 1, len(sel))  # overlap one point so runs join
            segs.append(
                {
                    "k": str(k[begin]),
                    "p": np.column_stack([_round(la[begin:stop]), _round(lo[begin:stop])]).tolist(),
                }
            )
            begin = cut
        row = rows.get(fid[s], {"flight_id": fid[s]})
        label = row.get("callsign") or row.get("icao24") or fid[s]
        box = [[float(la.min()), float(lo.min())], [float(la.max()), float(lo.max())]]
        out.append(
            {
                "id": fid[s],
                "label": str(label),
                "info": flight_info(row),
                "segments": segs,
                "b": box,
            }
        )
    return out, colors, labels, centres


def _event_info(row: dict[str, Any], details: dict[str, Any]) -> list[list[str]]:
    info = [["Flight", str(row.get("flight_id"))]]
    if row.get("country"):
        info.append(["Country", str(row["country"])])
    for key, label in (("start", "From (UTC)"), ("stop", "To (UTC)")):
        if row.get(key):
            info.append([label, str(row[key]).replace("T", " ").rstrip("Z")])
    if row.get("duration_s") is not None:
        info.append(["Duration", format_duration(row["duration_s"])])
    for key, value in details.items():
        if key in ("exit_latitude", "exit_longitude") or isinstance(value, (dict, list)):
            continue
        if key == "max_depth_m" and isinstance(value, (int, float)):
            info.append(["Max depth", f"{value / 1000:,.1f} km"])
        else:
            info.append([key.replace("_", " ").capitalize(), str(value)])
    return info


class _Positions:
    """The flight ids, positions and (on first need) times of ``pts``, read once.

    ``pts`` are sorted by flight, so each flight is one run of rows
    (:attr:`starts`, :attr:`stops`).  The tracks and every pattern outline
    read their rows here: reading the columns per pattern made a report
    quadratic (183 patterns over a million positions took 15 s).
    """

    def __init__(self, pts: pa.Table) -> None:
        fid, lat, lon = column(pts, "flight_id"), column(pts, "latitude"), column(pts, "longitude")
        assert fid is not None and lat is not None and lon is not None
        self.pts, self.fid, self.lat, self.lon = pts, fid, lat, lon
        self.starts, self.stops = group_bounds(fid)
        self._run = {
            f: (lo, hi)
            for f, lo, hi in zip(
                fid[self.starts].tolist(), self.starts.tolist(), self.stops.tolist(), strict=True
            )
        }

    @cached_property
    def ts(self) -> npt.NDArray[np.float64]:
        """Times, seconds since the epoch."""
        t = column(self.pts, "timestamp")
        assert t is not None
        return epoch_s(t)

    def rows(self, flight_id: str) -> npt.NDArray[np.int64]:
        """Row numbers of ``flight_id``, in table order."""
        lo, hi = self._run.get(flight_id, (0, 0))
        return np.arange(lo, hi, dtype=np.int64)


def _hull(
    pos: _Positions, flight_id: str, start: str | None, stop: str | None, centre: float | None
) -> list[list[float]] | None:
    rows = pos.rows(flight_id)
    if start and stop:
        t0, t1 = epoch_s(np.array([start.rstrip("Z"), stop.rstrip("Z")], dtype="datetime64[ns]"))
        ts = pos.ts[rows]
        rows = rows[(ts >= t0) & (ts <= t1)]
    if rows.size < 3:
        return None
    lat, lon = pos.lat[rows], pos.lon[rows]
    x = lon if centre is None else near_lon(lon, centre)
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([x, lat])))
    if hull.geom_type != "Polygon":
        return None
    xy = np.asarray(hull.exterior.coords)
    ring: list[list[float]] = np.column_stack([_round(xy[:, 1]), _round(xy[:, 0])]).tolist()
    return ring


def _events(
    pos: _Positions, events: pa.Table | None, centres: dict[str, float]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Entries and patterns, placed next to their flight's track as drawn."""
    entries, patterns = [], []
    for row in records(events):
        details = parse_details(row.get("details"))
        lat, lon = row.get("latitude"), row.get("longitude")
        centre = centres.get(str(row.get("flight_id")))
        if lon is not None and centre is not None:
            lon = float(near_lon(lon, centre))
        item: dict[str, Any] = {
            "flight": row.get("flight_id"),
            "kind": row.get("kind"),
            "country": str(row.get("country") or ""),
            "at": None if lat is None or lon is None else _round([lat, lon]),
            "info": _event_info(row, details),
        }
        if row.get("kind") == ENTRY:
            ex, ey = details.get("exit_longitude"), details.get("exit_latitude")
            ok = isinstance(ex, (int, float)) and isinstance(ey, (int, float))
            if ok and centre is not None:
                ex = float(near_lon(ex, centre))
            item["exit"] = _round([ey, ex]) if ok else None
            item["entered"], item["left"] = row.get("start"), row.get("stop")
            entries.append(item)
            continue
        radius_nm = details.get("radius_nm")
        item["radius_m"] = float(radius_nm) * NM_M if isinstance(radius_nm, (int, float)) else None
        item["polygon"] = None
        if item["radius_m"] is None or item["at"] is None:
            item["polygon"] = _hull(
                pos, str(row.get("flight_id")), row.get("start"), row.get("stop"), centre
            )
        patterns.append(item)
    return entries, patterns


def _reach(reach: pa.Table | None, centres: dict[str, float]) -> list[dict[str, Any]]:
    out = []
    for row in records(reach):
        geom = oriented(row.pop("geometry", None))
        if geom is None:
            continue
        centre = centres.get(str(row.get("flight_id")))
        if centre is not None:
            shape = shapely.from_geojson(json.dumps(geom))
            x = shapely.get_coordinates(shapely.centroid(shape))[0, 0]
            offset = float(near_lon(x, centre) - x)
            if offset:
                moved = shapely.transform(shape, lambda c, o=offset: c + np.array([o, 0.0]))
                geom = json.loads(shapely.to_geojson(moved))
        info = [[k.replace("_", " ").capitalize(), str(v)] for k, v in row.items() if v is not None]
        out.append({"type": "Feature", "properties": {"info": info}, "geometry": geom})
    return out


def _focus_bounds(
    tracks: list[dict[str, Any]], entries: list[dict[str, Any]], focus: str | None
) -> list[list[float]] | None:
    """Bounds of the flights that entered the focus country (None when none did)."""
    if not focus:
        return None
    ids = {e["flight"] for e in entries if e.get("country", "").upper() == focus.upper()}
    boxes = [t["b"] for t in tracks if t["id"] in ids]
    if not boxes:
        return None
    arr = np.array(boxes)
    return [arr[:, 0, :].min(axis=0).tolist(), arr[:, 1, :].max(axis=0).tolist()]


def map_data(
    pts: pa.Table,
    flights: pa.Table,
    events: pa.Table | None,
    reach: pa.Table | None,
    boundary_features: Sequence[dict[str, Any]] | None,
    focus: str | None,
    max_points_per_flight: int = 2000,
    max_points_total: int = 250_000,
) -> dict[str, Any]:
    """Everything the map draws; ``pts`` are the valid positions, sorted by flight and time."""
    pos = _Positions(pts)
    tracks, colors, labels, centres = _tracks(
        pos, flights, focus, max_points_per_flight, max_points_total
    )
    entries, patterns = _events(pos, events, centres)
    boxes = [t["b"] for t in tracks]
    if boxes:
        arr = np.array(boxes)
        bounds = [arr[:, 0, :].min(axis=0).tolist(), arr[:, 1, :].max(axis=0).tolist()]
    else:
        bounds = [[-60.0, -180.0], [75.0, 180.0]]
    area, tolerance = area_of_interest(boxes or [bounds])
    background, country_labels = boundaries(boundary_features, focus, area, tolerance)
    return {
        "focusBounds": _focus_bounds(tracks, entries, focus),
        "focus": focus,
        "colors": colors,
        "labels": labels,
        "colorBy": "zone" if any(k in ZONE_COLORS for k in colors) else "altitude",
        "bounds": bounds,
        "boundaries": background,
        "countryLabels": country_labels,
        "flights": tracks,
        "entries": entries,
        "patterns": patterns,
        "reach": _reach(reach, centres),
    }
