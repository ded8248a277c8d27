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

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from overflight.patterns.batch import (
    Batch,
    from_resampled,
    resample_batch,
    short_window_s,
    to_resampled,
    windowed_rate_batch,
)
from overflight.patterns.events import Events, Merged, merge, to_dicts
from overflight.patterns.fixes import usable_fixes
from overflight.patterns.loiter import loiter_events
from overflight.patterns.orbit import orbit_events
from overflight.patterns.racetrack import shape_events
from overflight.patterns.turns import FloatArray, Resampled
from overflight.schema import EVENT_SCHEMA, conform

__all__ = [
    "Resampled",
    "ResampledFlights",
    "detect_batch",
    "detect_events",
    "detect_flight",
    "detect_patterns",
    "resample_flights",
]


def detect_flight(r: Resampled) -> list[dict[str, Any]]:
    """All pattern events of one resampled flight, in time order.

    An orbit that mostly overlaps a racetrack or grid is dropped: the legs
    explain it better.
    """
    return detect_batch(from_resampled([r])).get(0, [])


def detect_batch(b: Batch) -> dict[int, list[dict[str, Any]]]:
    """Events of every flight of a batch that has any: ``{flight index: events}``.

    Each list is what :func:`detect_flight` returns for that flight.
    """
    blocks = detect_events(b)
    dicts = [to_dicts(ev) for ev in blocks]
    m = merge(blocks)
    out: dict[int, list[dict[str, Any]]] = {}
    for f, k, i in zip(m.flight.tolist(), m.block.tolist(), m.position.tolist(), strict=True):
        out.setdefault(f, []).append(dicts[k][i])
    return out


def detect_events(b: Batch) -> list[Events]:
    """The racetracks, grids, orbits and loiters of a batch (see :func:`detect_flight`)."""
    short = windowed_rate_batch(b, short_window_s(b))
    race, grid = shape_events(b, short=short)
    orbits = orbit_events(b, short=short)
    return [race, grid, _without_shapes(orbits, (race, grid)), loiter_events(b)]


def _without_shapes(orbits: Events, shapes: tuple[Events, ...]) -> Events:
    """The orbits that overlap no racetrack or grid of their flight by more than
    half their own duration."""
    flight = np.concatenate([s.flight for s in shapes])
    if orbits.size == 0 or flight.size == 0:
        return orbits
    by = np.argsort(flight, kind="stable")
    flight = flight[by]
    start = np.concatenate([s.start_s for s in shapes])[by]
    stop = np.concatenate([s.stop_s for s in shapes])[by]
    lo = np.searchsorted(flight, orbits.flight, side="left")
    n = np.searchsorted(flight, orbits.flight, side="right") - lo
    o = np.repeat(np.arange(orbits.size), n)  # every (orbit, shape of its flight) pair
    x = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(o.size)
    a, z = orbits.start_s[o], orbits.stop_s[o]
    overlap = np.maximum(0.0, np.minimum(z, stop[x]) - np.maximum(a, start[x]))
    covered = np.bincount(o[overlap > 0.5 * (z - a)], minlength=orbits.size) > 0
    return orbits.take(np.flatnonzero(~covered))


def _resample_all(
    points: pa.Table | pd.DataFrame, step_s: float, max_gap_s: float
) -> tuple[list[str], list[str], Batch]:
    fx = usable_fixes(points)
    kept, b = resample_batch(fx, step_s, max_gap_s)
    return [fx.flight_id[f] for f in kept], [fx.icao24[f] for f in kept], b


class ResampledFlights(dict[str, tuple[str, Resampled]]):
    """What :func:`resample_flights` returns: ``{flight_id: (icao24, Resampled)}``,
    a plain dict that also keeps the batch its flights were cut from, so
    :func:`detect_patterns` does not put them end to end again.

    The batch is used only while the dict still holds exactly those
    :class:`Resampled` objects, in that order.
    """

    def __init__(self, items: Iterable[tuple[str, tuple[str, Resampled]]], batch: Batch) -> None:
        super().__init__(items)
        self.batch = batch
        self._flights = tuple(r for _, r in self.values())

    def batch_if_unchanged(self) -> Batch | None:
        """The batch, or None when the dict has been changed since."""
        same = len(self) == len(self._flights) and all(
            r is s for (_, r), s in zip(self.values(), self._flights, strict=True)
        )
        return self.batch if same else None


def _batch_of(resampled: dict[str, tuple[str, Resampled]]) -> Batch:
    """The batch of resampled flights (the one they came from when it is known)."""
    if isinstance(resampled, ResampledFlights):
        b = resampled.batch_if_unchanged()
        if b is not None:
            return b
    return from_resampled([r for _, r in resampled.values()])


def resample_flights(
    points: pa.Table | pd.DataFrame, step_s: float = 10.0, max_gap_s: float = 200.0
) -> ResampledFlights:
    """Each flight of a points table resampled: ``{flight_id: (icao24, Resampled)}``.

    Flights with fewer than three usable fixes are left out.  The dict is a
    :class:`ResampledFlights`.
    """
    ids, icaos, b = _resample_all(points, float(step_s), max_gap_s)
    pairs = enumerate(zip(ids, icaos, strict=True))
    return ResampledFlights(((fid, (ic, to_resampled(b, k))) for k, (fid, ic) in pairs), b)


def detect_patterns(
    points: pa.Table | pd.DataFrame,
    step_s: float = 10.0,
    max_gap_s: float = 200.0,
    resampled: dict[str, tuple[str, Resampled]] | None = None,
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
    resampled
        ``resample_flights(points, step_s, max_gap_s)`` when the caller
        already has it: used instead of resampling again.

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
    if resampled is None:
        ids, icaos, b = _resample_all(points, step_s, max_gap_s)
    else:
        ids = list(resampled)
        icaos = [ic for ic, _ in resampled.values()]
        b = _batch_of(resampled)
    return _table(merge(detect_events(b)), ids, icaos)


def _table(m: Merged, ids: list[str], icaos: list[str]) -> pa.Table:
    """The events table of merged events of flights ``ids``."""
    if m.flight.size == 0:
        return conform(EVENT_SCHEMA.empty_table(), EVENT_SCHEMA)
    flight = pa.array(m.flight, pa.int64())

    def stamps(v: FloatArray, name: str) -> pa.Array:
        ns = np.round(v * 1e9).astype("int64")
        return pa.array(ns, pa.timestamp("ns", tz="UTC")).cast(EVENT_SCHEMA.field(name).type)

    table = pa.table(
        {
            "flight_id": pa.array(ids, pa.string()).take(flight),
            "icao24": pa.array(icaos, pa.string()).take(flight),
            "kind": pa.array(m.kind, pa.string()),
            "start": stamps(m.start_s, "start"),
            "stop": stamps(m.stop_s, "stop"),
            "latitude": pa.array(m.latitude, pa.float64()),
            "longitude": pa.array(m.longitude, pa.float64()),
            "duration_s": pa.array(m.stop_s - m.start_s, pa.float64()),
            "details": m.details,
        }
    )
    return conform(table, EVENT_SCHEMA)
