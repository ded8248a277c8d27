"""Constants and types shared by the trends modules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa

NS_PER_DAY = 86_400 * 10**9
STATS_KEY = b"overflight:stats"
COUNT_COLUMNS = (
    "flights_near",
    "surveillance_flights_near",
    "entries",
    "foreign_entries",
)
HOUR_COLUMNS = ("flight_hours_near", "surveillance_hours_near")
#: Daily series in which :func:`trends` looks for change points.
CHANGE_SERIES = ("surveillance_flights_near", "surveillance_hours_near")

FloatArray = npt.NDArray[np.float64]
#: Metres outside the focus airspace per point, or a function of (lat, lon) giving them.
DistanceInput: TypeAlias = (
    npt.ArrayLike | pa.Array | pa.ChunkedArray | Callable[[Any, Any], Any] | None
)


class ChangePoint(NamedTuple):
    """A sharp change: first day of the new regime and the means either side."""

    day: date
    before_mean: float
    after_mean: float
