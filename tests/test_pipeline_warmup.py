"""The warm-up a new process runs before its first rows: it goes through every
stage and leaves no trace in later results."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow.compute as pc
import pytest

from overflight import ingest, pipeline
from overflight.schema import MESSAGE_SCHEMA, conform


@pytest.fixture(scope="module")
def context(boundaries: object) -> pipeline.Context:
    return pipeline.Context.load()


def test_made_up_flights_reach_every_stage(context: pipeline.Context) -> None:
    messages = pipeline.warm_up_messages()
    assert messages.schema.names == MESSAGE_SCHEMA.names
    assert messages.schema.equals(conform(messages).schema)
    a = pipeline.process(messages, context)
    assert a.flights.num_rows == 2
    zones = set(pc.unique(a.points.column("zone")).to_pylist())
    assert {"land", "territorial_sea", "international"} <= zones
    kinds = set(pc.unique(a.events.column("kind")).to_pylist())
    assert "airspace_entry" in kinds and kinds & {"orbit", "racetrack", "loiter"}


def test_results_after_a_warm_up_equal_those_before(
    context: pipeline.Context, traffic_samples: Path
) -> None:
    """A fresh context's first run (cold) and a run after warm_up give the same tables."""
    fresh = pipeline.Context.load()
    messages = ingest.read(traffic_samples / "surveillance" / "border_control.json.gz")
    cold = pipeline.process(messages, fresh)
    pipeline.warm_up(fresh)
    warm = pipeline.process(messages, fresh)
    for name in ("points", "flights", "events"):
        assert getattr(warm, name).equals(getattr(cold, name)), name
    assert cold.flights.num_rows > 0


def test_warm_up_without_airspace() -> None:
    pipeline.warm_up(pipeline.Context.load(airspace_enabled=False))


def test_a_failing_warm_up_only_warns(context: pipeline.Context) -> None:
    broken = dataclasses.replace(context, model=object())  # no model at all
    with pytest.warns(UserWarning, match="warm-up skipped"):
        pipeline.warm_up(broken)
