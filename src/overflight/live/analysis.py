"""The pipeline stages the watcher runs, behind two small adapters.

The live path runs the same stage functions as ``overflight analyze``
(:func:`overflight.pipeline.process`), on a different table each time:

:func:`analyse_tail`
    every tick, on the new messages plus the context rows of the aircraft
    they belong to: clean (positions, rejections, flights), identify and,
    when boundaries are loaded, airspace (country, zone, entries).
:func:`detect_window_patterns`
    every ``patterns_every_s``, on the stored points of the last
    ``window_s`` of the aircraft that moved: orbits, racetracks, grids,
    loiters.

Pattern detection, mission classification and the observation reach cost
far more than a tick allows, so the tick adapter runs clean, identify (with a
per-aircraft cache) and, with boundaries, :func:`overflight.pipeline.place`:
the airspace stage of ``process`` itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from overflight import clean, identify, patterns, pipeline
from overflight.schema import EVENT_SCHEMA

#: A function from a message table to the analysis of those messages.
Analyser = Callable[[pa.Table], pipeline.Analysis]


class TailAnalyser:
    """The tick stages on one message table, with identity computed once per aircraft.

    :func:`overflight.identify.identify_flights` gives the same answer for
    the same ``icao24`` and callsign (its only other input, the points,
    feeds ``drone_envelope``, which is therefore that of the first tick an
    aircraft was seen with that callsign), so its columns are kept per
    (icao24, callsign) and computed only for new ones.  At most
    ``max_cached`` keys are kept (the oldest are dropped).
    """

    def __init__(
        self,
        context: pipeline.Context | None = None,
        max_cached: int = 200_000,
        distance: bool = True,
    ) -> None:
        self.context = context
        self.distance = distance
        self.max_cached = max_cached
        self._cache: pa.Table | None = None

    def __call__(self, messages: pa.Table) -> pipeline.Analysis:
        """Clean, identify and (with boundaries) place ``messages``."""
        ctx = self.context
        points, flights = clean.run(messages)
        flights = self._identify(flights, points)
        events = EVENT_SCHEMA.empty_table()
        if ctx is not None and ctx.boundaries is not None:
            points, events = pipeline.place(points, flights, ctx, distance=self.distance)
        return pipeline.Analysis(points, flights, events)

    def _identify(self, flights: pa.Table, points: pa.Table) -> pa.Table:
        if flights.num_rows == 0:
            db = self.context.aircraft_db if self.context is not None else None
            empty: pa.Table = identify.identify_flights(flights, points, db)
            return empty
        key = pc.binary_join_element_wise(
            flights["icao24"], pc.fill_null(flights["callsign"], ""), "|"
        )
        keyed = flights.append_column("_key", key)
        cache = self._cache
        hit = (
            pc.is_in(key, value_set=cache["_key"])
            if cache is not None
            else pa.array([False] * flights.num_rows, pa.bool_())
        )
        todo = keyed.filter(pc.invert(hit))
        parts = []
        if todo.num_rows:
            pts = points.filter(pc.is_in(points["flight_id"], value_set=todo["flight_id"]))
            db = self.context.aircraft_db if self.context is not None else None
            done = identify.identify_flights(todo.drop_columns(["_key"]), pts, db)
            done = done.append_column("_key", todo["_key"])
            parts.append(done)
            extra = done.select(["_key", *_identity_columns(done)])
            cache = extra if cache is None else pa.concat_tables([cache, extra])
            if cache.num_rows > self.max_cached:
                cache = cache.slice(cache.num_rows - self.max_cached)
            self._cache = cache
        if cache is not None and pc.any(hit).as_py():
            known = keyed.filter(hit)
            cols = [c for c in cache.column_names if c != "_key"]
            known = known.drop_columns([c for c in cols if c in known.column_names])
            parts.append(known.join(cache, keys="_key", join_type="left outer"))
        out = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
        return out.drop_columns(["_key"])


def _identity_columns(flights: pa.Table) -> list[str]:
    base = {"flight_id", "icao24", "callsign", "start", "stop", "n_points", "_key"}
    return [c for c in flights.column_names if c not in base]


def analyse_tail(messages: pa.Table, context: pipeline.Context | None = None) -> pipeline.Analysis:
    """Clean, identify and (with boundaries) place ``messages``: the per-tick stages."""
    return TailAnalyser(context)(messages)


def tail_analyser(context: pipeline.Context | None = None) -> Analyser:
    """A :class:`TailAnalyser` for ``context`` (its identity cache lives as long as it)."""
    return TailAnalyser(context)


def detect_window_patterns(points: pa.Table) -> pa.Table:
    """Pattern events (orbit, racetrack, grid, loiter) of the flights in ``points``."""
    if points.num_rows == 0:
        return EVENT_SCHEMA.empty_table()
    events: pa.Table = patterns.detect_patterns(points)
    return events


#: Flights shorter than this in the window cannot hold a pattern (a full turn
#: at the standard rate of 3 deg/s takes 120 s); they are not sent to detection.
MIN_PATTERN_SPAN_S = 120.0

#: The point columns pattern detection reads (sent to its worker process).
PATTERN_COLUMNS = (
    "flight_id",
    "icao24",
    "timestamp",
    "latitude",
    "longitude",
    "altitude",
    "valid",
    "onground",
)


def lower_priority() -> None:
    """Run the calling (worker) process at a lower priority."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)


def ready() -> bool:
    """A no-op run in a fresh worker process, so that it imports the stages early."""
    return True


def pattern_input(points: pa.Table) -> pa.Table:
    """The columns and flights of ``points`` that pattern detection can use.

    Flights spanning less than :data:`MIN_PATTERN_SPAN_S` are left out.
    """
    if points.num_rows == 0:
        return points
    pts = points.select([c for c in PATTERN_COLUMNS if c in points.column_names])
    span = pts.group_by("flight_id").aggregate([("timestamp", "min"), ("timestamp", "max")])
    t0 = span["timestamp_min"].cast(pa.int64())
    t1 = span["timestamp_max"].cast(pa.int64())
    long = pc.greater_equal(pc.subtract(t1, t0), int(MIN_PATTERN_SPAN_S * 1e9))
    return pts.filter(pc.is_in(pts["flight_id"], value_set=span["flight_id"].filter(long)))
