"""readsb / tar1090 / dump1090 JSON: ``aircraft.json`` snapshots and traces.

``aircraft.json`` (readsb README-json)::

    {"now": 1700000000.1, "aircraft": [{"hex": "3c6444", "flight": "DLH9U  ",
      "alt_baro": 37000 | "ground", "alt_geom": 37500, "gs": 450.2, "track": 92.1,
      "baro_rate": -64, "geom_rate": -32, "squawk": "1000", "lat": 50.1,
      "lon": 8.6, "seen_pos": 1.2, "seen": 0.4, ...}, ...]}

One row per aircraft. The time is ``now - seen_pos`` for an aircraft with a
position and ``now - seen`` (else ``now``) for one without. ``now`` in
milliseconds (the ADS-B Exchange v2 API) is recognised by its magnitude.
The older dump1090 names ``altitude``, ``speed`` and ``vert_rate`` are read when
the readsb names are absent. ``alt_baro: "ground"`` sets ``onground`` and leaves
the altitude null. ``baro_rate`` is preferred to ``geom_rate``.

Traces (``trace_full_<hex>.json``, ``trace_recent_<hex>.json``)::

    {"icao": "ac671b", "timestamp": 1738703622.619, "trace": [[dt, lat, lon,
      alt ("ground" | ft | null), gs, track, flags, vrate, details | null,
      type, alt_geom, geom_rate, ias, roll], ...]}

One row per point at ``timestamp + dt``. Flags: 8 means the altitude is
geometric (it goes to ``geoaltitude``), 4 means ``vrate`` is geometric (kept as
``vertical_rate``). Callsign and squawk come from the details object, which
readsb includes only now and then: they are null elsewhere (the clean stage
carries them forward within a flight). Files from before 2022 have 9 fields.

Non-ICAO addresses keep their ``~`` prefix (option ``non_icao``) so that a
TIS-B target never merges with the aircraft whose real address has the same
digits. Rejection reasons: ``record`` (an entry that is not an object/array),
``timestamp``, ``number``, ``icao24``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from overflight.errors import FormatError
from overflight.ingest._columns import (
    BoolArray,
    FloatArray,
    Rejections,
    callsign,
    epoch_to_ns,
    finish,
    json_field,
    json_first,
    json_numbers,
    json_strings,
    load_json,
    squawk,
)

_AIRCRAFT = re.compile(rb'^\s*\{.*"(aircraft|now)"\s*:', re.S)
_AIRCRAFT_LIST = re.compile(rb'"aircraft"\s*:\s*\[')
_TRACE = re.compile(rb'^\s*\{.*"icao"\s*:\s*"[~0-9a-fA-F]{6,7}"', re.S)
_TRACE_LIST = re.compile(rb'"trace"\s*:\s*\[')


def sniff(head: bytes, path: Path) -> bool:
    """True for a JSON object with an ``aircraft`` list or an ``icao`` + ``trace``.

    Examples
    --------
    >>> sniff(b'{"now": 1.0, "messages": 5, "aircraft": [{"hex": "abcdef"}]}', Path("a"))
    True
    >>> sniff(b'[{"timestamp": 1, "icao24": "abcdef"}]', Path("a"))
    False
    """
    if not head.lstrip().startswith(b"{"):
        return False
    if _AIRCRAFT_LIST.search(head) and _AIRCRAFT.match(head):
        return True
    return bool(_TRACE_LIST.search(head) and _TRACE.match(head))


def _now_s(now: Any, path: Path) -> float:
    if not isinstance(now, int | float) or isinstance(now, bool):
        raise FormatError(f"'now' is {now!r}, expected epoch seconds", path, "key now")
    return float(now) / 1000.0 if now > 1e11 else float(now)


def _altitudes(raw: list[Any]) -> tuple[FloatArray, BoolArray, BoolArray]:
    """Altitude, the ``"ground"`` mask and the bad-number mask of JSON altitudes."""
    values, bad = json_numbers(raw)
    ground = np.array([v == "ground" for v in raw], bool)
    return values, ground, bad & ~ground


def _onground(ground: BoolArray, altitude: FloatArray) -> pa.Array:
    """True on "ground", False with a barometric altitude, else null."""
    return pa.array(ground, mask=~ground & ~np.isfinite(altitude))


def _aircraft(doc: dict[str, Any], path: Path, non_icao: str) -> pa.Table:
    now_s = _now_s(doc.get("now"), path)
    records = doc["aircraft"]
    n = len(records)
    rej = Rejections(np.arange(1, n + 1), "aircraft")
    rej.reject(np.array([not isinstance(r, dict) for r in records], bool), "record")
    lat, bad_lat = json_numbers(json_field(records, "lat"))
    lon, bad_lon = json_numbers(json_field(records, "lon"))
    seen_pos, bad_seen_pos = json_numbers(json_field(records, "seen_pos"))
    seen, bad_seen = json_numbers(json_field(records, "seen"))
    has_pos = np.isfinite(lat) & np.isfinite(lon)
    age = np.where(has_pos & np.isfinite(seen_pos), seen_pos, np.where(np.isfinite(seen), seen, 0))
    ts, bad_ts = epoch_to_ns(now_s - age, "s")
    alt, ground, bad_alt = _altitudes(json_first(records, "alt_baro", "altitude"))
    geo, bad_geo = json_numbers(json_field(records, "alt_geom"))
    gs, bad_gs = json_numbers(json_first(records, "gs", "speed"))
    track, bad_track = json_numbers(json_field(records, "track"))
    rate, bad_rate = json_numbers(json_first(records, "baro_rate", "geom_rate", "vert_rate"))
    rej.reject(bad_ts | bad_seen_pos | bad_seen, "timestamp")
    rej.reject(bad_lat | bad_lon | bad_alt | bad_geo | bad_gs | bad_track | bad_rate, "number")
    cols = {
        "timestamp": ts,
        "icao24": json_strings(json_field(records, "hex")),
        "callsign": callsign(json_strings(json_field(records, "flight"))),
        "latitude": lat,
        "longitude": lon,
        "altitude": alt,
        "geoaltitude": geo,
        "groundspeed": gs,
        "track": track,
        "vertical_rate": rate,
        "squawk": squawk(json_strings(json_field(records, "squawk"))),
        "onground": _onground(ground, alt),
    }
    return finish(cols, rej, path, "readsb", non_icao=non_icao, extra={"now": now_s})


def _trace(doc: dict[str, Any], path: Path, non_icao: str) -> pa.Table:
    base = doc.get("timestamp")
    if not isinstance(base, int | float) or isinstance(base, bool):
        raise FormatError(f"'timestamp' is {base!r}, expected epoch seconds", path, "key timestamp")
    points = doc["trace"]
    n = len(points)
    rej = Rejections(np.arange(1, n + 1), "trace point")
    rej.reject(np.array([not isinstance(p, list) for p in points], bool), "record")
    dt, bad_dt = json_numbers(json_field(points, 0))
    ts, bad_ts = epoch_to_ns(float(base) + dt, "s")
    lat, bad_lat = json_numbers(json_field(points, 1))
    lon, bad_lon = json_numbers(json_field(points, 2))
    alt, ground, bad_alt = _altitudes(json_field(points, 3))
    gs, bad_gs = json_numbers(json_field(points, 4))
    track, bad_track = json_numbers(json_field(points, 5))
    flags, bad_flags = json_numbers(json_field(points, 6))
    rate, bad_rate = json_numbers(json_field(points, 7))
    geo, bad_geo = json_numbers(json_field(points, 10))
    geometric = (np.nan_to_num(flags).astype(np.int64) & 8) > 0
    geo = np.where(geometric & np.isnan(geo), alt, geo)
    alt = np.where(geometric, np.nan, alt)
    details = json_field(points, 8)
    rej.reject(bad_dt | bad_ts, "timestamp")
    bad = bad_lat | bad_lon | bad_alt | bad_gs | bad_track | bad_flags | bad_rate | bad_geo
    rej.reject(bad, "number")
    icao = doc.get("icao")
    cols = {
        "timestamp": ts,
        "icao24": pa.array([icao if isinstance(icao, str) else None] * n, pa.string()),
        "callsign": callsign(json_strings(json_field(details, "flight"))),
        "latitude": lat,
        "longitude": lon,
        "altitude": alt,
        "geoaltitude": geo,
        "groundspeed": gs,
        "track": track,
        "vertical_rate": rate,
        "squawk": squawk(json_strings(json_field(details, "squawk"))),
        "onground": _onground(ground, alt),
    }
    return finish(cols, rej, path, "readsb", non_icao=non_icao)


def read(path: Path, non_icao: str = "keep", **_: Any) -> pa.Table:
    """Read a readsb ``aircraft.json`` or ``trace_*.json`` (gzip, xz or bzip2 allowed).

    Parameters
    ----------
    path
        The file.
    non_icao
        ``keep`` (default), ``strip`` or ``drop`` the ``~`` non-ICAO addresses.

    Raises
    ------
    FormatError
        When the JSON is invalid or is neither an aircraft list nor a trace.
    """
    doc = load_json(path)
    if isinstance(doc, dict) and isinstance(doc.get("aircraft"), list):
        return _aircraft(doc, path, non_icao)
    if isinstance(doc, dict) and isinstance(doc.get("trace"), list) and "icao" in doc:
        return _trace(doc, path, non_icao)
    raise FormatError(
        "not readsb JSON: expected an object with an 'aircraft' list (aircraft.json) "
        "or 'icao', 'timestamp' and a 'trace' list (trace_full/trace_recent)",
        path,
        "line 1",
    )
