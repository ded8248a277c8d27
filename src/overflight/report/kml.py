"""KML 2.2 export that opens in Google Earth.

The document holds three folders: *Tracks* (one Placemark per flight, a
``LineString`` with ``altitudeMode`` ``absolute`` and altitudes in metres when
every position has one, else clamped to the ground), *Events* (exactly one
Placemark per event row; rows without a position get no geometry) and
*Observation reach* (polygons).  Text goes through ElementTree, which escapes it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from overflight.geodesy import FT_M
from overflight.report._frame import column, group_bounds, records, valid_positions

KML_NS = "http://www.opengis.net/kml/2.2"

#: KML colours are aabbggrr.
STYLES = {
    "track-military": ("ff2b39c0", 2.5),
    "track-other": ("ffa37124", 2.0),
    "event": ("ff8e44ad", 1.0),
    "reach": ("ff8c8c1a", 2.0),
}


#: Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    r"""``str(value)`` with characters XML 1.0 forbids replaced by U+FFFD.

    Examples
    --------
    >>> xml_text("A\x00B<") == "A\ufffdB<"
    True
    """
    return _NOT_XML.sub("\ufffd", str(value))


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{KML_NS}}}{tag}")
    if text is not None:
        el.text = xml_text(text)
    return el


def _describe(row: dict[str, Any]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in row.items() if v is not None)


def _timespan(parent: ET.Element, start: str | None, stop: str | None) -> None:
    if start is None and stop is None:
        return
    span = _sub(parent, "TimeSpan")
    if start is not None:
        _sub(span, "begin", start)
    if stop is not None:
        _sub(span, "end", stop)


def _styles(doc: ET.Element) -> None:
    for name, (color, width) in STYLES.items():
        style = _sub(doc, "Style")
        style.set("id", name)
        if name == "event":  # KML 2.2 orders IconStyle, LineStyle, PolyStyle
            icon = _sub(style, "IconStyle")
            _sub(icon, "color", color)
        line = _sub(style, "LineStyle")
        _sub(line, "color", color)
        _sub(line, "width", f"{width:g}")
        if name == "reach":
            poly = _sub(style, "PolyStyle")
            _sub(poly, "color", "338c8c1a")


def _coords(lon: Any, lat: Any, alt: Any | None) -> str:
    if alt is None:
        return " ".join(f"{x!r},{y!r}" for x, y in zip(lon.tolist(), lat.tolist(), strict=True))
    return " ".join(
        f"{x!r},{y!r},{z:.1f}" for x, y, z in zip(lon.tolist(), lat.tolist(), alt, strict=True)
    )


def _tracks(folder: ET.Element, points: pa.Table, flights: pa.Table) -> None:
    pts = valid_positions(points)
    fid, lon, lat = column(pts, "flight_id"), column(pts, "longitude"), column(pts, "latitude")
    assert fid is not None and lon is not None and lat is not None
    alt = column(pts, "altitude")
    starts, stops = group_bounds(fid)
    where = {fid[s]: (s, e) for s, e in zip(starts.tolist(), stops.tolist(), strict=True)}
    for row in records(flights):
        s, e = where.get(row["flight_id"], (0, 0))
        pm = _sub(folder, "Placemark")
        _sub(pm, "name", row.get("callsign") or row.get("icao24") or row["flight_id"])
        _sub(pm, "description", _describe(row))
        _timespan(pm, row.get("start"), row.get("stop"))
        military = row.get("military") is True
        _sub(pm, "styleUrl", "#track-military" if military else "#track-other")
        if e - s < 2:
            continue
        a = None if alt is None else alt[s:e]
        has_alt = a is not None and bool(np.all(np.isfinite(a)))
        line = _sub(pm, "LineString")
        _sub(line, "altitudeMode", "absolute" if has_alt else "clampToGround")
        metres = (a * FT_M).tolist() if has_alt and a is not None else None
        _sub(line, "coordinates", _coords(lon[s:e], lat[s:e], metres))


def _events(folder: ET.Element, events: pa.Table | None) -> None:
    for row in records(events):
        pm = _sub(folder, "Placemark")
        label = row.get("kind") or "event"
        _sub(pm, "name", f"{label} · {row.get('flight_id', '')}")
        _sub(pm, "description", _describe(row))
        _timespan(pm, row.get("start"), row.get("stop"))
        _sub(pm, "styleUrl", "#event")
        lat, lon = row.get("latitude"), row.get("longitude")
        if lat is not None and lon is not None:
            _sub(_sub(pm, "Point"), "coordinates", f"{lon!r},{lat!r}")


def _ring(parent: ET.Element, tag: str, ring: Any) -> None:
    xy = np.asarray(ring.coords)
    lr = _sub(_sub(parent, tag), "LinearRing")
    _sub(lr, "coordinates", _coords(xy[:, 0], xy[:, 1], None))


def _reach(folder: ET.Element, reach: pa.Table | None) -> None:
    for row in records(reach):
        text = row.pop("geometry", None)
        pm = _sub(folder, "Placemark")
        _sub(pm, "name", f"reach · {row.get('flight_id', '')}")
        _sub(pm, "description", _describe(row))
        _sub(pm, "styleUrl", "#reach")
        if not isinstance(text, str):
            continue
        try:
            geom = shapely.orient_polygons(shapely.from_geojson(text))
        except shapely.errors.GEOSException:
            continue
        polys = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon"]
        host = _sub(pm, "MultiGeometry") if len(polys) > 1 else pm
        for poly in polys:
            el = _sub(host, "Polygon")
            _ring(el, "outerBoundaryIs", poly.exterior)
            for hole in poly.interiors:
                _ring(el, "innerBoundaryIs", hole)


def kml_document(
    points: pa.Table,
    flights: pa.Table,
    events: pa.Table | None,
    reach: pa.Table | None = None,
    title: str = "overflight",
) -> ET.ElementTree:
    """Build the KML document tree."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _sub(root, "Document")
    _sub(doc, "name", title)
    _styles(doc)
    folders = {}
    for name in ("Tracks", "Events", "Observation reach"):
        folders[name] = _sub(doc, "Folder")
        _sub(folders[name], "name", name)
    _tracks(folders["Tracks"], points, flights)
    _events(folders["Events"], events)
    _reach(folders["Observation reach"], reach)
    return ET.ElementTree(root)


def write_kml(
    path: str | Path,
    points: pa.Table,
    flights: pa.Table,
    events: pa.Table | None,
    reach: pa.Table | None = None,
    title: str = "overflight",
) -> Path:
    """Write :func:`kml_document` to ``path`` as UTF-8 XML."""
    out = Path(path)
    tree = kml_document(points, flights, events, reach, title)
    tree.write(out, encoding="utf-8", xml_declaration=True)
    return out
