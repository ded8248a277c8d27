"""Daily trends summed over partitions equal the daily trends of one in-memory run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from overflight import clean, ingest, pipeline
from overflight.engine.partition import partition_ids
from overflight.engine.trends import DailyCollector, combine_daily
from overflight.schema import EVENT_SCHEMA, conform
from overflight.trends import daily_activity


def test_partition_sums_match_one_run(traffic_samples: Path) -> None:
    messages = conform(
        ingest.read(
            traffic_samples / "collections" / "switzerland.json.gz"
        ).replace_schema_metadata(None)
    )
    points, flights = clean.run(messages)
    # an independent stand-in for the airspace stage: inside a box around Switzerland
    lat = pc.fill_null(points.column("latitude"), np.nan).to_numpy(zero_copy_only=False)
    lon = pc.fill_null(points.column("longitude"), np.nan).to_numpy(zero_copy_only=False)
    inside = (lat > 45.8) & (lat < 47.8) & (lon > 5.9) & (lon < 10.5)
    country = pa.array(["CHE" if i else None for i in inside.tolist()], pa.string())
    points = points.append_column("country", country)
    events = EVENT_SCHEMA.empty_table()
    whole = daily_activity(points, flights, events, "CHE", 0.0).replace_schema_metadata(None)
    collect = DailyCollector("CHE", 0.0)
    pid = partition_ids(points.column("icao24"), 4)
    parts = []
    for p in range(4):
        keep = pa.array(pid == p)
        pts = points.filter(keep)
        fl = flights.filter(pc.is_in(flights.column("flight_id"), pts.column("flight_id")))
        parts.append(collect(pipeline.Analysis(pts, fl, events), pipeline.Context()))
    combined = combine_daily(pa.concat_tables(parts))
    assert combined.column_names == whole.column_names
    assert whole.column("flights_near").to_pylist()[0] > 0
    for name in whole.column_names:
        a, b = combined.column(name), whole.column(name)
        if pa.types.is_floating(b.type):
            assert np.allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12, atol=1e-9), name
        else:
            assert a.equals(b), name


def test_empty_parts_stay_empty() -> None:
    t = pa.table({"day": pa.array([], pa.date32()), "entries": pa.array([], pa.int64())})
    assert combine_daily(t).num_rows == 0


@pytest.mark.parametrize("n", [1, 3])
def test_combine_fills_the_calendar(n: int) -> None:
    import datetime as dt

    days = [dt.date(2024, 2, 28) + dt.timedelta(days=2 * i) for i in range(n)]
    t = pa.table({"day": pa.array(days), "x": pa.array(np.ones(n, np.int64))})
    out = combine_daily(t)
    assert out.num_rows == 2 * n - 1 and sum(out.column("x").to_pylist()) == n
