"""Trends over inputs of any size: daily activity per partition, summed per day.

Every column of :func:`overflight.trends.daily_activity` adds up across
partitions that hold different aircraft: distinct flights per day (a flight
lives in one partition), hours near the focus and entries.  So each partition
computes its own daily table (:class:`DailyCollector`, passed as
``collect=`` to :func:`overflight.engine.run`) and :func:`combine_daily`
sums them per day over the whole calendar; weekly tables and change points
then come from the combined table as for an in-memory run.

Examples
--------
>>> import datetime as dt
>>> a = pa.table({"day": pa.array([dt.date(2024, 1, 1)]), "entries": pa.array([2])})
>>> b = pa.table({"day": pa.array([dt.date(2024, 1, 3)]), "entries": pa.array([1])})
>>> combine_daily(pa.concat_tables([a, b])).column("entries").to_pylist()
[2, 0, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from overflight.airspace import distance_to_country_m
from overflight.pipeline import Analysis, Context
from overflight.trends import daily_activity


@dataclass(frozen=True)
class DailyCollector:
    """Per-partition :func:`~overflight.trends.daily_activity`; picklable for any engine.

    Each partition measures its points' distance to the focus airspace
    (:func:`overflight.airspace.distance_to_country_m`, as ``overflight
    trends`` does in memory) when the context has boundaries; without them
    only points inside the focus (``country``) count as near.
    """

    focus: str
    near_km: float = 50.0
    max_gap_s: float = 600.0
    surveillance_missions: tuple[str, ...] = ("surveillance",)

    def __call__(self, analysis: Analysis, context: Context) -> pa.Table:
        dist = None
        if context.boundaries is not None and analysis.points.num_rows:
            dist = distance_to_country_m(
                analysis.points,
                context.boundaries,
                self.focus,
                max_distance_m=self.near_km * 1000.0 * 1.5,
            )
        table = daily_activity(
            analysis.points,
            analysis.flights,
            analysis.events,
            self.focus,
            self.near_km,
            dist,
            max_gap_s=self.max_gap_s,
            surveillance_missions=self.surveillance_missions,
        )
        return table.replace_schema_metadata(None)


def combine_daily(parts: pa.Table) -> pa.Table:
    """Sum daily tables (concatenated) per day, every day from the first to the last.

    Integer columns stay integers; hour columns are summed in partition
    order, so they match an in-memory run to rounding (about 1e-12 h).
    """
    if parts.num_rows == 0:
        return parts
    days = parts.column("day").cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
    first, last = int(days.min()), int(days.max())
    slot = days - first
    arrays: list[pa.Array] = [
        pa.array(np.arange(first, last + 1).astype("datetime64[D]"), pa.date32())
    ]
    names = ["day"]
    for name in parts.column_names:
        if name == "day":
            continue
        values = parts.column(name).to_numpy(zero_copy_only=False)
        acc = np.zeros(last - first + 1, dtype=values.dtype)
        np.add.at(acc, slot, values)
        arrays.append(pa.array(acc))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)
