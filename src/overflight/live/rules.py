"""Alert rules from a YAML file, evaluated on each tick's points, one alert per episode.

Rules file
----------
::

    rules:
      - name: mil-over-gulf            # unique name
        kind: military                 # region | military | isr | pattern | entry |
                                       # unauthorized_entry | watchlist
        region: {bbox: [lon_min, lat_min, lon_max, lat_max]}
        episode_gap_s: 600             # optional (default 600 s)
      - name: forte
        kind: watchlist
        icao24: [ae01ce, ae07e3]
      - name: orbits-near-x
        kind: pattern
        patterns: [orbit, racetrack, grid]
        region: {circle: {lat: 44.5, lon: 33.5, radius_nm: 60}}
      - name: into-estonia
        kind: entry
        countries: [EST]
      - name: unauthorised
        kind: unauthorized_entry
        countries: [EST]

A region is ``bbox``, ``polygon`` (``[[lon, lat], ...]``), ``circle`` or
``geojson`` (a file of Polygon / MultiPolygon features).  Parameters may
also sit under a ``params:`` key.

======================  =====================================================
kind                    the condition, per valid point (or event)
======================  =====================================================
region                  the point lies in ``region``
military / isr          the flight is identified military / an ISR type, and
                        the point lies in ``region`` when one is given
watchlist               ``icao24`` is listed (and in ``region`` if given)
entry                   the point's ``country`` is in ``countries`` and the
                        aircraft's previous valid point's was not
unauthorized_entry      an ``airspace_entry`` event into ``countries`` (any
                        when empty), observed crossing the boundary, that
                        the authorisations file does not cover (details
                        ``authorization: unauthorized``)
pattern                 a pattern event of one of ``patterns`` (all when
                        empty), centred in ``region`` if given
======================  =====================================================

Episodes: for each rule and aircraft an episode starts when the condition
holds and ends once it has not held for ``episode_gap_s`` of data time; the
first point of each episode raises one alert.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import shapely
import yaml

from overflight.errors import InputError
from overflight.geodesy import NM_M, haversine_m

B = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]

RULE_KINDS = ("region", "military", "isr", "pattern", "entry", "unauthorized_entry", "watchlist")
PATTERN_KINDS = ("orbit", "racetrack", "grid", "loiter")
EPISODE_GAP_S = 600.0


@dataclass(frozen=True)
class Region:
    """An area: a bounding box, a circle or polygons (lon/lat degrees)."""

    bbox: tuple[float, float, float, float] | None = None
    circle: tuple[float, float, float] | None = None  # lat, lon, radius_nm
    polygon: Any = None  # shapely geometry

    def contains(self, lat: F64, lon: F64) -> B:
        """Which points lie inside (NaN never does)."""
        if self.bbox is not None:
            x0, y0, x1, y1 = self.bbox
            return np.asarray((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1), bool)
        if self.circle is not None:
            clat, clon, r_nm = self.circle
            return np.asarray(haversine_m(lat, lon, clat, clon) <= r_nm * NM_M, bool)
        ok = ~(np.isnan(lat) | np.isnan(lon))
        out = np.zeros(lat.size, bool)
        out[ok] = shapely.contains_xy(self.polygon, lon[ok], lat[ok])
        return out


@dataclass(frozen=True)
class Rule:
    """One alert rule (see the module docstring)."""

    name: str
    kind: str
    region: Region | None = None
    countries: frozenset[str] = frozenset()
    icao24: frozenset[str] = frozenset()
    patterns: frozenset[str] = frozenset()
    episode_gap_s: float = EPISODE_GAP_S


@dataclass(frozen=True)
class Alert:
    """One alert: the first point of an episode of a rule for an aircraft."""

    alert_id: str
    rule: str
    kind: str
    icao24: str
    flight_id: str | None
    callsign: str | None
    time: datetime
    latitude: float | None
    longitude: float | None
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (time as ISO 8601 UTC)."""
        return {
            "alert_id": self.alert_id,
            "rule": self.rule,
            "kind": self.kind,
            "icao24": self.icao24,
            "flight_id": self.flight_id,
            "callsign": self.callsign,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "latitude": self.latitude,
            "longitude": self.longitude,
            "message": self.message,
            "details": self.details,
        }


def _region(spec: Any, where: str, base: Path | None) -> Region:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise InputError(f"{where}: region must be one of bbox, polygon, circle, geojson")
    ((key, val),) = spec.items()
    try:
        if key == "bbox":
            x0, y0, x1, y1 = (float(v) for v in val)
            return Region(bbox=(x0, y0, x1, y1))
        if key == "circle":
            return Region(circle=(float(val["lat"]), float(val["lon"]), float(val["radius_nm"])))
        if key == "polygon":
            poly = shapely.Polygon([(float(x), float(y)) for x, y in val])
        elif key == "geojson":
            path = Path(val) if base is None or Path(val).is_absolute() else base / val
            doc = json.loads(path.read_text())
            feats = doc.get("features", [doc]) if isinstance(doc, dict) else []
            geoms = [shapely.geometry.shape(f.get("geometry", f)) for f in feats]
            poly = shapely.union_all(geoms)
        else:
            raise InputError(
                f"{where}: unknown region {key!r}, expected bbox, polygon, circle, geojson"
            )
    except (TypeError, ValueError, KeyError, OSError, shapely.errors.GEOSException) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{where}: bad {key} region ({exc})") from exc
    if poly.is_empty or not poly.is_valid:
        raise InputError(f"{where}: {key} region is empty or not a valid polygon")
    shapely.prepare(poly)
    return Region(polygon=poly)


def _strings(value: Any, where: str, lower: bool = False) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Sequence):
        raise InputError(f"{where}: expected a list of strings, got {value!r}")
    return frozenset(str(v).strip().lower() if lower else str(v).strip().upper() for v in items)


def parse_rules(doc: Any, path: str | Path | None = None) -> list[Rule]:
    """Rules from a parsed YAML document (``{"rules": [...]}`` or a bare list)."""
    items = doc.get("rules") if isinstance(doc, Mapping) else doc
    if not isinstance(items, list):
        raise InputError("expected a list of rules under 'rules:'", path)
    base = Path(path).parent if path is not None else None
    rules: list[Rule] = []
    for k, item in enumerate(items, 1):
        where = f"rule {k}"
        if not isinstance(item, Mapping):
            raise InputError(f"{where}: expected a mapping with name and kind", path)
        spec = {
            **dict(item.get("params") or {}),
            **{a: b for a, b in item.items() if a != "params"},
        }
        kind = str(spec.get("kind", ""))
        if kind not in RULE_KINDS:
            raise InputError(f"{where}: kind {kind!r}, expected one of {RULE_KINDS}", path)
        name = str(spec.get("name") or f"{kind}-{k}")
        if any(r.name == name for r in rules):
            raise InputError(f"{where}: duplicate rule name {name!r}", path)
        try:
            region = _region(spec["region"], where, base) if spec.get("region") else None
        except InputError as exc:
            raise InputError(exc.reason, path, where) from exc
        pats = _strings(spec.get("patterns"), where, lower=True)
        if pats - set(PATTERN_KINDS):
            raise InputError(f"{where}: unknown patterns {sorted(pats - set(PATTERN_KINDS))}", path)
        rule = Rule(
            name=name,
            kind=kind,
            region=region,
            countries=_strings(spec.get("countries"), where),
            icao24=_strings(spec.get("icao24"), where, lower=True),
            patterns=pats,
            episode_gap_s=float(spec.get("episode_gap_s", spec.get("cooldown_s", EPISODE_GAP_S))),
        )
        if kind == "region" and region is None:
            raise InputError(f"{where}: a region rule needs a region", path)
        if kind == "watchlist" and not rule.icao24:
            raise InputError(f"{where}: a watchlist rule needs icao24 addresses", path)
        if kind == "entry" and not rule.countries:
            raise InputError(f"{where}: an entry rule needs countries", path)
        rules.append(rule)
    return rules


def load_rules(path: str | Path) -> list[Rule]:
    """Read a rules YAML file (see the module docstring)."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc})", p) from exc
    return parse_rules(doc, p)


def alert_id(rule: str, icao24: str, start_ns: int) -> str:
    """Stable id of an episode's alert: the same after a restart.

    Examples
    --------
    >>> alert_id("r", "abc123", 0) == alert_id("r", "abc123", 0)
    True
    """
    return hashlib.sha1(f"{rule}|{icao24}|{start_ns}".encode()).hexdigest()[:16]


def utc(ns: int) -> datetime:
    """A UTC datetime from epoch nanoseconds (microsecond precision)."""
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def _column(table: pa.Table, name: str, default: Any) -> pa.Array:
    if name in table.column_names:
        return table[name].combine_chunks()
    return pa.array([default] * table.num_rows)


def _region_mask(rule: Rule, lat: F64, lon: F64) -> B:
    return np.ones(lat.size, bool) if rule.region is None else rule.region.contains(lat, lon)


def point_condition(rule: Rule, points: pa.Table, prev_country: pa.Array | None = None) -> B:
    """Where ``rule``'s condition holds on each point (rules on points only).

    ``points`` carries the identity columns ``military`` and ``isr_type``;
    ``prev_country`` is the country of each point's previous valid point of
    the same aircraft (for ``entry``).
    """
    n = points.num_rows
    if n == 0 or rule.kind in ("pattern", "unauthorized_entry"):
        return np.zeros(n, bool)
    lat = points["latitude"].to_numpy().astype(np.float64)
    lon = points["longitude"].to_numpy().astype(np.float64)
    valid = np.asarray(
        pc.fill_null(_column(points, "valid", False), False).to_numpy(zero_copy_only=False), bool
    )

    def flag(name: str) -> B:
        arr = pc.fill_null(_column(points, name, False).cast(pa.bool_()), False)
        return np.asarray(arr.to_numpy(zero_copy_only=False), bool)

    if rule.kind == "watchlist":
        hit = np.asarray(
            pc.is_in(points["icao24"], value_set=pa.array(sorted(rule.icao24))).to_numpy(
                zero_copy_only=False
            ),
            bool,
        )
    elif rule.kind == "military":
        hit = flag("military")
    elif rule.kind == "isr":
        hit = flag("isr_type")
    elif rule.kind == "entry":
        countries = pa.array(sorted(rule.countries))
        inside = pc.fill_null(
            pc.is_in(_column(points, "country", None).cast(pa.string()), value_set=countries), False
        )
        before = prev_country if prev_country is not None else pa.nulls(n, pa.string())
        was_in = pc.fill_null(pc.is_in(before, value_set=countries), False)
        was_known = pc.is_valid(before)
        hit = np.asarray(
            pc.and_(pc.and_(inside, pc.invert(was_in)), was_known).to_numpy(zero_copy_only=False),
            bool,
        )
    else:  # region
        hit = np.ones(n, bool)
    out: B = hit & valid & _region_mask(rule, lat, lon)
    return out


def event_condition(rule: Rule, events: pa.Table) -> B:
    """Where ``rule``'s condition holds on each event (pattern and unauthorised entry)."""
    n = events.num_rows
    if n == 0 or rule.kind not in ("pattern", "unauthorized_entry"):
        return np.zeros(n, bool)
    kinds = events["kind"].to_pylist()
    if rule.kind == "pattern":
        wanted = rule.patterns or frozenset(PATTERN_KINDS)
        hit = np.array([k in wanted for k in kinds], bool)
    else:
        details = events["details"].to_pylist()
        country = events["country"].to_pylist()
        hit = np.array(
            [
                k == "airspace_entry"
                and _unauthorised(d)
                and (not rule.countries or str(c or "").upper() in rule.countries)
                for k, d, c in zip(kinds, details, country, strict=True)
            ],
            bool,
        )
    lat = np.asarray(events["latitude"].to_numpy(zero_copy_only=False), np.float64)
    lon = np.asarray(events["longitude"].to_numpy(zero_copy_only=False), np.float64)
    return hit & _region_mask(rule, lat, lon)


def _unauthorised(details: str | None) -> bool:
    try:
        doc = json.loads(details or "{}")
    except ValueError:
        return False
    if not isinstance(doc, dict) or doc.get("entry_interpolated") is False:
        return False  # the stay began at the first fix seen: no crossing was observed
    return doc.get("authorization") == "unauthorized" or doc.get("authorized") is False
