"""Clean stage: message table -> points table (every position, flagged) + flights table.

>>> from overflight import clean
>>> points, flights = clean.run(messages)            # doctest: +SKIP

which chains

:func:`to_positions`
    one row per position with the latest recent callsign, squawk, altitude,
    speed, track... carried onto it (:mod:`overflight.clean.positions`);
:func:`clean`
    sorted by ``(icao24, timestamp)``, each row ``valid`` or given a
    ``reject_reason`` from :data:`REASONS` (:mod:`overflight.clean.reject`);
:func:`split_flights`
    ``flight_id`` on every row (:mod:`overflight.clean.flights`);
:func:`flights_table`
    one row per flight (:data:`overflight.schema.FLIGHT_SCHEMA`).

All functions return new tables and never modify their input.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from overflight.clean.flights import flights_table, split_flights
from overflight.clean.positions import to_positions
from overflight.clean.reject import REASONS, clean, reason_counts

__all__ = [
    "REASONS",
    "clean",
    "flights_table",
    "reason_counts",
    "run",
    "split_flights",
    "to_positions",
]

_POSITION_PARAMS = ("max_age_s", "ident_max_age_s")
_FLIGHT_PARAMS = ("gap_s", "ground_s", "min_airborne_s")


def run(messages: pa.Table, **params: Any) -> tuple[pa.Table, pa.Table]:
    """Messages to ``(points, flights)``: the whole clean stage.

    Parameters
    ----------
    messages
        A message table (:data:`overflight.schema.MESSAGE_SCHEMA`).
    **params
        Keyword arguments of :func:`to_positions` (``max_age_s``,
        ``ident_max_age_s``), :func:`split_flights` (``gap_s``, ``ground_s``,
        ``min_airborne_s``) and :func:`clean` (every other name).

    Returns
    -------
    points, flights
        The points table (:data:`overflight.schema.POINT_SCHEMA`) with
        ``flight_id`` set, and the flights table.
    """
    pos_kw = {k: params.pop(k) for k in _POSITION_PARAMS if k in params}
    fl_kw = {k: params.pop(k) for k in _FLIGHT_PARAMS if k in params}
    points = split_flights(clean(to_positions(messages, **pos_kw), **params), **fl_kw)
    return points, flights_table(points)
