"""patterns stage: orbits, racetracks, survey grids and loiters as interval events.

:func:`detect_patterns` takes the points table (:data:`overflight.schema.POINT_SCHEMA`;
only valid, airborne rows are used) and returns an events table
(:data:`overflight.schema.EVENT_SCHEMA`) with one row per pattern:

==========  ==============================================================
kind        meaning and the keys of its JSON ``details``
==========  ==============================================================
orbit       sustained turning one way: radius_nm, n_turns, direction,
            drift_kt (centre drift ≈ wind), climb_ft_min (gliders climb)
racetrack   same two lines flown back and forth: leg_length_nm,
            leg_duration_s, width_nm, n_turns (circuits), holding
grid        reversing lines stepping sideways: leg_length_nm, n_lines,
            line_spacing_nm, n_turns
loiter      staying within a few NM for a long time: radius_nm, n_turns
            (total heading change / 360)
==========  ==============================================================

Every ``details`` also carries time_on_station_s, altitude_min_ft,
altitude_max_ft and speed_kt.  ``latitude``/``longitude`` is the centre of the
pattern; ``country`` is left null for the airspace stage.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from overflight.patterns.loiter import find_loiters
from overflight.patterns.orbit import find_orbits
from overflight.patterns.racetrack import find_racetracks_and_grids
from overflight.patterns.turns import Resampled, flight_slices, points_frame, resample
from overflight.schema import EVENT_SCHEMA, conform

__all__ = ["detect_flight", "detect_patterns", "events_to_table", "resample_flights"]


def detect_flight(r: Resampled) -> list[dict[str, Any]]:
    """All pattern events of one resampled flight, in time order.

    An orbit that mostly overlaps a racetrack or grid is dropped: the legs
    explain it better.
    """
    shaped = find_racetracks_and_grids(r)
    orbits = [
        o
        for o in find_orbits(r)
        if not any(_overlap(o, s) > 0.5 * (o["stop_s"] - o["start_s"]) for s in shaped)
    ]
    events = shaped + orbits + find_loiters(r)
    events.sort(key=lambda e: (e["start_s"], e["kind"]))
    return events


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> float:
    return max(0.0, float(min(a["stop_s"], b["stop_s"]) - max(a["start_s"], b["start_s"])))


def resample_flights(
    points: pa.Table | pd.DataFrame, step_s: float = 10.0, max_gap_s: float = 200.0
) -> dict[str, tuple[str, Resampled]]:
    """Each flight of a points table resampled: ``{flight_id: (icao24, Resampled)}``."""
    df = points_frame(points)
    fid = df["flight_id"].to_numpy()
    ic = df["icao24"].astype(str).to_numpy()
    t = df["t_s"].to_numpy(np.float64)
    la = df["latitude"].to_numpy(np.float64)
    lo = df["longitude"].to_numpy(np.float64)
    al = pd.to_numeric(df["altitude"], errors="coerce").to_numpy(np.float64)
    out: dict[str, tuple[str, Resampled]] = {}
    for a, b in flight_slices(fid):
        if b - a < 3:
            continue
        out[str(fid[a])] = (
            str(ic[a]),
            resample(t[a:b], la[a:b], lo[a:b], al[a:b], step_s, max_gap_s),
        )
    return out


def events_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Event dicts (with ``flight_id``, ``icao24``, ``start_s``...) as an events table."""
    if not rows:
        return conform(EVENT_SCHEMA.empty_table(), EVENT_SCHEMA)
    df = pd.DataFrame(rows)
    start = pd.to_datetime(np.round(df["start_s"].to_numpy() * 1e9).astype("int64"), utc=True)
    stop = pd.to_datetime(np.round(df["stop_s"].to_numpy() * 1e9).astype("int64"), utc=True)
    table = pa.table(
        {
            "flight_id": pa.array(df["flight_id"].astype(str).tolist(), pa.string()),
            "icao24": pa.array(df["icao24"].astype(str).tolist(), pa.string()),
            "kind": pa.array(df["kind"].tolist(), pa.string()),
            "start": pa.array(start, EVENT_SCHEMA.field("start").type),
            "stop": pa.array(stop, EVENT_SCHEMA.field("stop").type),
            "latitude": pa.array(df["latitude"].astype(float), pa.float64()),
            "longitude": pa.array(df["longitude"].astype(float), pa.float64()),
            "duration_s": pa.array((df["stop_s"] - df["start_s"]).astype(float), pa.float64()),
            "details": pa.array([json.dumps(d, sort_keys=True) for d in df["details"]]),
        }
    )
    return conform(table, EVENT_SCHEMA)


def detect_patterns(
    points: pa.Table | pd.DataFrame, step_s: float = 10.0, max_gap_s: float = 200.0
) -> pa.Table:
    """Orbit, racetrack, grid and loiter events of every flight in ``points``.

    Parameters
    ----------
    points
        A points table (needs flight_id, icao24, timestamp, latitude,
        longitude; uses altitude, valid and onground when present).
    step_s
        Resampling step.
    max_gap_s
        Gaps longer than this split a flight into segments that no pattern
        spans.

    Returns
    -------
    pyarrow.Table
        Conforming to :data:`overflight.schema.EVENT_SCHEMA`.

    Examples
    --------
    >>> t = np.arange(0.0, 1800.0, 10.0)
    >>> ang = np.radians(t * 1.5)
    >>> pts = pd.DataFrame({"flight_id": "f1", "icao24": "abc123",
    ...     "timestamp": pd.to_datetime(t, unit="s", utc=True),
    ...     "latitude": 45 + 0.02 * np.sin(ang), "longitude": 5 + 0.03 * np.cos(ang),
    ...     "altitude": 3000.0})
    >>> ev = detect_patterns(pts).to_pandas()
    >>> sorted(ev["kind"])
    ['loiter', 'orbit']
    """
    rows: list[dict[str, Any]] = []
    for fid, (icao, r) in resample_flights(points, step_s, max_gap_s).items():
        for e in detect_flight(r):
            rows.append(e | {"flight_id": fid, "icao24": icao})
    return events_to_table(rows)
