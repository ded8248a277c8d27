"""Schema drift: the canonical tables are declared once and every stage sticks to them."""

from __future__ import annotations

import pyarrow as pa

from overflight import schema


def test_conform_orders_adds_and_drops() -> None:
    t = pa.table({"icao24": ["abc123"], "extra": [1], "latitude": [1.5]})
    out = schema.conform(t)
    assert out.column_names == schema.MESSAGE_SCHEMA.names
    assert out.column("latitude").to_pylist() == [1.5]
    assert out.column("altitude").null_count == 1


def test_declared_names_are_unique() -> None:
    for fields in (
        schema.TRACK_FIELDS + schema.CLEAN_FIELDS + schema.POINT_EXTRA_FIELDS,
        schema.FLIGHT_FIELDS + schema.FLIGHT_EXTRA_FIELDS,
        schema.EVENT_FIELDS,
    ):
        names = [f.name for f in fields]
        assert len(names) == len(set(names))
