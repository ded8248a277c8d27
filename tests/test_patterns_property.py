"""Random tracks never crash the detectors; output always fits EVENT_SCHEMA."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.patterns import detect_patterns
from overflight.schema import EVENT_SCHEMA

anyfloat = st.one_of(st.floats(-1e4, 1e4), st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def tracks(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dt = rng.choice([0.0, 1.0, 5.0, 60.0, 3000.0], size=n, p=[0.05, 0.4, 0.3, 0.2, 0.05])
    t = np.cumsum(dt)
    lat = np.clip(
        rng.uniform(-89, 89) + rng.normal(0, draw(st.floats(0, 0.5)), n).cumsum(), -90, 90
    )
    lon = rng.uniform(-180, 180) + rng.normal(0, 0.05, n).cumsum()
    lon = (lon + 180.0) % 360.0 - 180.0
    alt = rng.normal(5000, 3000, n)
    holes = rng.random(n) < draw(st.floats(0, 0.3))
    lat[holes] = np.nan
    alt[rng.random(n) < 0.2] = np.nan
    return pd.DataFrame(
        {
            "flight_id": rng.choice(["a", "b", "c"], size=n),
            "icao24": "abcdef",
            "timestamp": pd.to_datetime(np.round(t * 1e3).astype("int64"), unit="ms", utc=True),
            "latitude": lat,
            "longitude": lon,
            "altitude": alt,
            "valid": rng.random(n) > 0.1,
            "onground": rng.random(n) < 0.05,
        }
    )


@settings(max_examples=40, deadline=None)
@given(tracks())
def test_random_tracks_never_crash(df: pd.DataFrame) -> None:
    ev = detect_patterns(df)
    assert ev.schema.names == EVENT_SCHEMA.names
    if ev.num_rows:
        assert set(ev.column("kind").to_pylist()) <= {"orbit", "racetrack", "grid", "loiter"}
        dur = np.array(ev.column("duration_s").to_pylist())
        assert (dur >= 0).all()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(anyfloat, anyfloat, anyfloat), min_size=0, max_size=60))
def test_arbitrary_coordinates(rows: list[tuple[float, float, float]]) -> None:
    df = pd.DataFrame(rows, columns=["latitude", "longitude", "altitude"])
    df["flight_id"] = "x"
    df["icao24"] = "abcdef"
    df["timestamp"] = pd.to_datetime(np.arange(len(df)) * 10, unit="s", utc=True)
    detect_patterns(df)
