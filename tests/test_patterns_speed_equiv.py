"""The batched pattern stage equals the one-flight-at-a-time definitions, bit for bit.

References, all independent of the batch code: ``turns.points_frame`` +
``turns.resample`` + ``turns.windowed_rate`` (unchanged per-flight primitives),
brute-force sliding windows written out here for the loiter screen (the
definition in the loiter module docstring), and each flight detected on its
own (a batch of one) for cross-flight leaks.  Real data: traffic's sample
trajectories (ambulances, calibration, gliders: orbits, racetracks, grids,
loiters) and the BuzzFeed RNC helicopters (one fix a minute).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from overflight.classify.samples import load_rnc, read_traffic_json
from overflight.patterns import detect_batch, detect_flight, detect_patterns, resample_flights
from overflight.patterns import loiter as loiter_mod
from overflight.patterns.batch import (
    from_resampled,
    median,
    resample_batch,
    short_window_s,
    windowed_rate_batch,
)
from overflight.patterns.fixes import _fixes_slow, usable_fixes
from overflight.patterns.turns import Resampled, points_frame, resample, windowed_rate

DIRS = ("ambulances", "calibration", "gliders")


@pytest.fixture(scope="module")
def sample_points(traffic_samples: Path) -> pa.Table:
    """A points table (arrow, canonical types) from a few traffic sample folders."""
    frames = []
    for d in DIRS:
        for path in sorted((traffic_samples / d).glob("*.json.gz"))[:6]:
            raw = read_traffic_json(path)
            ts = raw["timestamp"]
            unit = "ms" if pd.api.types.is_numeric_dtype(ts) else None
            df = pd.DataFrame(
                {
                    "timestamp": pd.to_datetime(ts, unit=unit, utc=True),
                    "icao24": raw["icao24"].astype(str),
                    "latitude": pd.to_numeric(raw["latitude"], errors="coerce"),
                    "longitude": pd.to_numeric(raw["longitude"], errors="coerce"),
                    "altitude": pd.to_numeric(raw.get("altitude"), errors="coerce"),
                }
            )
            df["flight_id"] = f"{d}/{path.name}:" + df["icao24"]
            frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    return pa.table(
        {
            "timestamp": pa.array(df["timestamp"].astype("datetime64[ns, UTC]")),
            "icao24": pa.array(df["icao24"].tolist(), pa.string()),
            "latitude": pa.array(df["latitude"], pa.float64()),
            "longitude": pa.array(df["longitude"], pa.float64()),
            "altitude": pa.array(df["altitude"], pa.float64()),
            "flight_id": pa.array(df["flight_id"].tolist(), pa.string()),
            "valid": pa.array(np.ones(len(df), bool)),
            "onground": pa.array(np.zeros(len(df), bool)),
        }
    )


@pytest.fixture(scope="module")
def rnc(shared_data: Path) -> pd.DataFrame:
    return load_rnc(shared_data / "trajectories" / "buzzfeed_2016_conventions_rnc.csv")


def _same(a: Resampled, b: Resampled) -> None:
    for name in a._fields:
        u, v = getattr(a, name), getattr(b, name)
        if isinstance(u, float):
            assert u == v or (np.isnan(u) and np.isnan(v)), name
        else:
            assert u.dtype == v.dtype, name
            assert np.array_equal(u, v, equal_nan=True), name


def _per_flight_reference(points: pa.Table | pd.DataFrame) -> dict[str, Resampled]:
    df = points_frame(points)
    out = {}
    for fid, g in df.groupby("flight_id", sort=True):
        if len(g) >= 3:
            alt = pd.to_numeric(g["altitude"], errors="coerce").to_numpy(np.float64)
            out[str(fid)] = resample(
                g["t_s"].to_numpy(), g["latitude"].to_numpy(), g["longitude"].to_numpy(), alt
            )
    return out


def test_resample_flights_equals_per_flight_resample(
    sample_points: pa.Table, rnc: pd.DataFrame
) -> None:
    for points in (sample_points, rnc):
        ref = _per_flight_reference(points)
        got = resample_flights(points)
        assert list(got) == list(ref)
        for fid, r in ref.items():
            _same(got[fid][1], r)


def _messy(t: pa.Table) -> pa.Table:
    """Shuffled, chunked, with duplicate rows, nulls, off-globe and ground fixes."""
    rng = np.random.default_rng(7)
    n = t.num_rows
    idx = np.concatenate([rng.permutation(n), rng.integers(0, n, n // 50)])
    m = t.take(pa.array(idx)).to_pandas()
    pick = rng.random(len(m))
    m.loc[pick < 0.01, "latitude"] = np.nan
    m.loc[(pick >= 0.01) & (pick < 0.02), "longitude"] = 200.0
    m.loc[(pick >= 0.02) & (pick < 0.03), "altitude"] = np.inf
    m["valid"] = pd.array(pick >= 0.04, dtype="boolean")
    m.loc[(pick >= 0.04) & (pick < 0.05), "valid"] = pd.NA
    m["onground"] = pd.array((pick >= 0.05) & (pick < 0.06), dtype="boolean")
    m.loc[(pick >= 0.06) & (pick < 0.07), "onground"] = pd.NA
    out = pa.Table.from_pandas(m, preserve_index=False)
    out = out.set_column(
        out.schema.get_field_index("flight_id"),
        "flight_id",
        out.column("flight_id").cast(pa.string()),
    )
    half = out.num_rows // 2
    return pa.concat_tables([out.slice(0, half), out.slice(half)])


def test_fixes_fast_path_equals_points_frame(sample_points: pa.Table) -> None:
    messy = _messy(sample_points)
    large = messy.set_column(
        messy.schema.get_field_index("flight_id"),
        "flight_id",
        messy.column("flight_id").cast(pa.large_string()),
    )
    for table in (sample_points, messy, large):
        assert table.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
        fast, slow = usable_fixes(table), _fixes_slow(table)
        assert fast.flight_id == slow.flight_id
        assert fast.icao24 == slow.icao24
        for name in ("start", "t_s", "latitude", "longitude", "altitude"):
            assert np.array_equal(getattr(fast, name), getattr(slow, name), equal_nan=True), name


def test_windowed_rate_batch_equals_per_flight(sample_points: pa.Table) -> None:
    rs = resample_flights(sample_points)
    b = from_resampled([r for _, r in rs.values()])
    got = windowed_rate_batch(b, short_window_s(b))
    for k, (_, r) in enumerate(rs.values()):
        a, z = b.offsets[k], b.offsets[k + 1]
        want = windowed_rate(r, max(30.0, 2.0 * r.cadence_s))
        assert np.array_equal(got[a:z], want)


def test_loiter_screen_equals_brute_force_windows(sample_points: pa.Table) -> None:
    """The counted median and bracketed radius decide every window as the definition does."""
    fx = usable_fixes(sample_points)
    _, b = resample_batch(fx)
    k = round(900.0 / b.r.step_s) + 1
    for f in range(b.offsets.size - 1):
        a, z = int(b.offsets[f]), int(b.offsets[f + 1])
        if z - a < k:
            continue
        x, y, speed = b.x[a:z], b.y[a:z], b.r.speed_kt[a:z]
        wx, wy = sliding_window_view(x, k), sliding_window_view(y, k)
        cx, cy = wx.mean(axis=1), wy.mean(axis=1)
        for radius in (0.5, 2.0, 6.0):
            far = np.hypot(wx - cx[:, None], wy - cy[:, None]).max(axis=1)
            everywhere = np.ones(far.size, dtype=bool)
            got = loiter_mod._within(x, y, k, everywhere, radius)
            assert np.array_equal(got, far <= radius)
        for v in (20.0, 60.0, 150.0):
            want = np.median(sliding_window_view(speed, k), axis=1) >= v
            assert np.array_equal(loiter_mod._slow_enough(speed, k, v), want)


def test_batch_equals_one_flight_at_a_time(sample_points: pa.Table, rnc: pd.DataFrame) -> None:
    for points in (sample_points, rnc):
        rs = resample_flights(points)
        rows = [
            e | {"flight_id": fid, "icao24": ic}
            for fid, (ic, r) in rs.items()
            for e in detect_flight(r)
        ]
        whole = detect_patterns(points).to_pandas()
        given_rs = detect_patterns(points, resampled=rs).to_pandas()
        assert len(whole) == len(rows) > 0
        pd.testing.assert_frame_equal(whole, given_rs)
        assert whole["flight_id"].tolist() == [r["flight_id"] for r in rows]
        assert whole["kind"].tolist() == [r["kind"] for r in rows]
        assert whole["latitude"].tolist() == [r["latitude"] for r in rows]
        assert [json.loads(d) for d in whole["details"]] == [
            json.loads(json.dumps(r["details"], sort_keys=True)) for r in rows
        ]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-50.0, 50.0, allow_nan=False), min_size=1, max_size=9))
def test_median_is_numpy_median(values: list[float]) -> None:
    v = np.array(values)
    assert median(v) == float(np.median(v))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0.2, 3.0),  # turn rate deg/s (sign from index)
            st.floats(0.01, 0.2),  # radius, degrees
            st.integers(60, 600),  # fixes
            st.sampled_from([1.0, 5.0, 10.0, 60.0]),  # cadence s
        ),
        min_size=2,
        max_size=4,
    )
)
def test_synthetic_flights_batch_equals_each(
    spec: list[tuple[float, float, int, float]],
) -> None:
    flights: list[Resampled] = []
    for i, (rate, rad, n, cad) in enumerate(spec):
        t = np.arange(n, dtype=np.float64) * cad
        ang = np.radians(t * rate * (1 if i % 2 else -1))
        lat = np.asarray(40.0 + rad * np.sin(ang) + 1e-4 * t / cad, dtype=np.float64)
        lon = np.asarray(170.0 + i * 5.0 + rad * np.cos(ang), dtype=np.float64)
        flights.append(resample(t + 1.7e9, lat, lon, np.full(n, 1000.0 * i)))
    got = detect_batch(from_resampled(flights))
    for f, r in enumerate(flights):
        assert got.get(f, []) == detect_flight(r)
