"""Trends: surveillance activity near a country's airspace, day by day (issue 5).

:func:`daily_activity` counts, per UTC day, the flights seen within ``near_km``
of the *focus* country's national airspace, the hours they spent there and the
entries into that airspace; :func:`weekly_activity` sums the days per ISO week;
:func:`change_points` finds sharp changes in a daily series with PELT
(``ruptures``); :func:`trend_plot_svg` draws the series and :func:`write_trends`
writes ``trends_daily.csv``, ``trends_weekly.csv``, ``trends.svg`` and
``trends.json``.  :func:`trends` runs them all.

The distance from each point to the focus airspace comes from the caller (the
CLI asks the airspace stage), so this module depends on no boundary file.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pyarrow as pa

from overflight.trends._common import CHANGE_SERIES, ChangePoint, DistanceInput
from overflight.trends.activity import (
    daily_activity,
    daily_series,
    focus_distance_m,
    weekly_activity,
)
from overflight.trends.changes import change_points
from overflight.trends.plot import trend_plot_svg, write_trends


@dataclass(frozen=True)
class Trends:
    """What :func:`trends` returns: the two tables and the changes per series."""

    daily: pa.Table
    weekly: pa.Table
    changes: dict[str, list[ChangePoint]]


def trends(
    points: pa.Table,
    flights: pa.Table,
    events: pa.Table,
    focus: str,
    near_km: float,
    distance_to_focus_m: DistanceInput = None,
    *,
    max_gap_s: float = 600.0,
    surveillance_missions: Collection[str] = ("surveillance",),
    method: str = "l2",
) -> Trends:
    """Daily and weekly tables and the change points of :data:`CHANGE_SERIES`.

    See :func:`daily_activity` for the parameters and :func:`change_points`
    for ``method``.
    """
    daily = daily_activity(
        points,
        flights,
        events,
        focus,
        near_km,
        distance_to_focus_m,
        max_gap_s=max_gap_s,
        surveillance_missions=surveillance_missions,
    )
    return from_daily(daily, method)


def from_daily(daily: pa.Table, method: str = "l2") -> Trends:
    """Weekly table and change points of a daily table (one run's, or partitions summed)."""
    changes = {c: change_points(daily_series(daily, c), method) for c in CHANGE_SERIES}
    return Trends(daily, weekly_activity(daily), changes)


__all__ = [
    "CHANGE_SERIES",
    "ChangePoint",
    "Trends",
    "change_points",
    "daily_activity",
    "daily_series",
    "focus_distance_m",
    "from_daily",
    "trend_plot_svg",
    "trends",
    "weekly_activity",
    "write_trends",
]
