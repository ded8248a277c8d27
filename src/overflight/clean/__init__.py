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

:func:`run` gives exactly what that chain gives, without its repeated work:
the positions are taken from the messages once, already in the order
:func:`clean` sorts by (its tie-break keys come from the plan of
:func:`~overflight.clean.positions.plan_positions`, not from a second copy
of the tying rows); the aircraft codes and times are passed on
(``presorted=``) instead of worked out again by each step; the flights table
comes from each row's flight number (:mod:`overflight.clean.summary`) rather
than from grouping a million ``flight_id`` strings.

The sequential parts (forward fills, the segment decision, short detours,
per-flight summaries) are compiled loops (:mod:`overflight.jit`); each module
says which and why.  On a 1,000,000-point dataset the stage went from about
2.4 to about 0.4 CPU-s; ``tests/test_clean_speed_equiv.py`` checks it against
the numpy implementation it replaced.  A second pass (issue #7) took a
warm 1,000,000-message engine partition from about 0.36 to about 0.28 CPU-s:
a sort that merges each aircraft's time-ordered runs instead of sorting the
whole table (:func:`overflight.clean._loops.group_order`), float columns and
fixed-width strings gathered in numpy rather than with Arrow's ``take``
(:func:`~overflight.clean.positions.take_positions`,
:func:`~overflight.clean._arrays.take_strings`), one compiled pass for the
tests between consecutive fixes (:meth:`overflight.clean.pairs.PairTest.jumps`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from overflight.clean._arrays import IntArray
from overflight.clean.flights import flights_table, split_flights, split_numbered
from overflight.clean.positions import plan_positions, take_positions, tie_keys, to_positions
from overflight.clean.reject import REASONS, clean, clean_order, reason_counts
from overflight.clean.summary import flights_of

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
    if messages.num_rows == 0:
        points = split_flights(clean(to_positions(messages, **pos_kw), **params), **fl_kw)
        return points, flights_table(points)
    # the same chain, with the positions taken once, in the order clean sorts
    # them by, and the aircraft codes and times passed on instead of redone
    positions, key = _sorted_positions(messages, **pos_kw)
    points, flight = split_numbered(
        clean(positions, presorted=key, **params), presorted=key, **fl_kw
    )
    flights = flights_of(points, flight, key[1])
    return points, flights_table(points) if flights is None else flights


def _sorted_positions(
    messages: pa.Table, **pos_kw: float
) -> tuple[pa.Table, tuple[IntArray, IntArray]]:
    """``to_positions(messages)`` in :func:`clean`'s order, and its group codes and times."""
    plan = plan_positions(messages, **pos_kw)
    order = clean_order(plan.codes, plan.t_ns, lambda rows: tie_keys(plan, rows))
    identity = bool(np.all(order[1:] > order[:-1]))
    positions = take_positions(plan, None if identity else order)
    return positions, (plan.codes[order], plan.t_ns[order])
