"""The compiled helpers of the pattern stage give numpy's and pandas' numbers, bit for bit.

Every reference is the library call the helper replaces (``np.sum``,
``np.median``, ``np.percentile``, ``np.arange``, ``np.interp``, ``%``,
:mod:`overflight.geodesy`, pandas' ``total_seconds``) or a brute-force
definition written out here.  Inputs: hypothesis-drawn arrays and the real
trajectories shipped with traffic (including one moved across the
antimeridian).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from overflight.classify.samples import read_traffic_json
from overflight.geodesy import bearing_deg, haversine_m
from overflight.patterns import loiter as loiter_mod
from overflight.patterns import resample_flights
from overflight.patterns.batch import median, resample_batch
from overflight.patterns.batch_jit import mod360_array, wrap180_array
from overflight.patterns.fixes import usable_fixes
from overflight.patterns.fixes_jit import epoch_seconds
from overflight.patterns.loiter_jit import screen, sliding_extremes
from overflight.patterns.motion import course_distance
from overflight.patterns.reduce_jit import middle, np_mean, np_median, np_percentile, np_sum
from overflight.patterns.resample_jit import _fill_arange, _interp, arange_size
from overflight.patterns.turns import points_frame, resample

FILES = ("ambulances/rega_sg", "gliders/sisteron", "surveys/texas", "featured/dreamliner_boeing")


def _points(traffic_samples: Path, shift_deg: float = 0.0) -> pa.Table:
    frames = []
    for name in FILES:
        raw = read_traffic_json(traffic_samples / f"{name}.json.gz")
        ts = raw["timestamp"]
        unit = "ms" if pd.api.types.is_numeric_dtype(ts) else None
        lon = pd.to_numeric(raw["longitude"], errors="coerce") + shift_deg
        frames.append(
            pd.DataFrame(
                {
                    "flight_id": name,
                    "icao24": raw["icao24"].astype(str),
                    "timestamp": pd.to_datetime(ts, unit=unit, utc=True).astype(
                        "datetime64[ns, UTC]"
                    ),
                    "latitude": pd.to_numeric(raw["latitude"], errors="coerce"),
                    "longitude": (lon + 180.0) % 360.0 - 180.0,
                    "altitude": pd.to_numeric(raw.get("altitude"), errors="coerce"),
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    t = pa.Table.from_pandas(df, preserve_index=False)
    return t.cast(t.schema.set(0, pa.field("flight_id", pa.string())))


@pytest.fixture(scope="module")
def points(traffic_samples: Path) -> pa.Table:
    return _points(traffic_samples)


floats = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)


@settings(max_examples=80, deadline=None)
@given(st.lists(floats, min_size=1, max_size=400), st.sampled_from([95.0, 50.0, 5.0, 100.0]))
def test_reductions_equal_numpy(values: list[float], q: float) -> None:
    v = np.array(values)
    assert np_sum(v) == float(np.sum(v))
    assert np_mean(v) == float(np.mean(v))
    assert np_median(v) == float(np.median(v))
    assert middle(v) == median(v)
    assert np_percentile(v, q) == float(np.percentile(v, q))


def test_reductions_on_long_real_arrays(points: pa.Table) -> None:
    """Past the 128-value block and numpy's 8192-value buffer: still numpy's sum."""
    lat = usable_fixes(points).latitude
    for n in (127, 129, 1000, 8191, 8193, 20_000, lat.size):
        v = lat[:n]
        assert np_sum(v) == float(np.sum(v)), n
        assert np_mean(v) == float(np.mean(v)), n
        assert np_median(v) == float(np.median(v)), n


def test_epoch_seconds_equal_pandas(points: pa.Table) -> None:
    ns = points.column("timestamp").cast(pa.int64()).to_numpy()
    edge = np.array([0, 1, -1, 999_999_999, -(10**9) - 1, 2**53 + 1, 2**62, -(2**62)])
    near = (ns // 10**9) * 10**9 + np.arange(ns.size) % 240  # sub-microsecond remainders
    for v in (ns, edge, near, np.r_[ns[:5], edge[:4]]):
        want = pd.TimedeltaIndex(v.view("m8[ns]")).total_seconds().to_numpy()
        assert np.array_equal(epoch_seconds(v), want)


def test_wraps_equal_numpy_modulo(points: pa.Table) -> None:
    lon = usable_fixes(points).longitude
    edge = np.array([-540.0, -360.0, -180.0, -0.0, 0.0, 180.0, 360.0, 1e-300, -1e-300, np.nan])
    for v in (np.diff(lon) * 1000.0, lon - 180.0, edge):
        for got, want in ((mod360_array(v), v % 360.0), (wrap180_array(v), (v + 180) % 360 - 180)):
            assert np.array_equal(got, want, equal_nan=True)
            assert np.array_equal(np.signbit(got), np.signbit(want))


def test_course_distance_equals_geodesy(points: pa.Table) -> None:
    fx = usable_fixes(points)
    for lat, lon in ((fx.latitude, fx.longitude), (fx.latitude[:1], fx.longitude[:1])):
        nxt = np.minimum(np.arange(lat.size) + 1, lat.size - 1)
        course, dist = course_distance(lat, lon)
        assert np.array_equal(course, bearing_deg(lat, lon, lat[nxt], lon[nxt]))
        assert np.array_equal(dist, haversine_m(lat, lon, lat[nxt], lon[nxt]))


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-1e4, 2e9, allow_nan=False),
    st.floats(0.0, 5000.0, allow_nan=False),
    st.sampled_from([10.0, 1.0, 0.1, 3.3, 60.0]),
)
def test_grid_equals_arange(start: float, span: float, step: float) -> None:
    want = np.arange(start, start + span + 1e-9, step)
    assert arange_size(start, start + span + 1e-9, step) == want.size
    got = np.empty(want.size)
    _fill_arange(got, start, step)
    assert np.array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.0, 1e4, allow_nan=False), min_size=1, max_size=40, unique=True),
    st.lists(st.floats(-10.0, 1.1e4, allow_nan=False), min_size=1, max_size=80),
)
def test_interp_equals_numpy(xp_list: list[float], x_list: list[float]) -> None:
    xp = np.sort(np.array(xp_list))
    fp = np.sin(xp) * 1e3
    x = np.sort(np.array(x_list))
    got = np.empty(x.size)
    _interp(x, xp, fp, got)
    assert np.array_equal(got, np.interp(x, xp, fp))


def test_resample_across_the_antimeridian(traffic_samples: Path) -> None:
    """Flights moved to cross 180°: the batch unwraps them as ``turns.resample`` does."""
    pts = _points(traffic_samples, shift_deg=180.0 - 8.7)
    got = resample_flights(pts)
    df = points_frame(pts)
    crossed = 0
    for fid, g in df.groupby("flight_id", sort=True):
        lon = g["longitude"].to_numpy()
        crossed += bool((np.abs(np.diff(lon)) > 180).any())
        want = resample(g["t_s"].to_numpy(), g["latitude"].to_numpy(), lon, g["altitude"])
        r = got[str(fid)][1]
        for name in want._fields:
            u, v = getattr(r, name), getattr(want, name)
            assert np.array_equal(u, v, equal_nan=True) if isinstance(u, np.ndarray) else u == v
    assert crossed >= 1


def test_sliding_extremes_equal_numpy(points: pa.Table) -> None:
    _, b = resample_batch(usable_fixes(points))
    for k in (1, 2, 91, b.x.size):
        hi, lo = sliding_extremes(b.x, k)
        assert np.array_equal(hi, sliding_window_view(b.x, k).max(axis=1))
        assert np.array_equal(lo, sliding_window_view(b.x, k).min(axis=1))


def test_loiter_screen_by_segment_equals_brute_force(points: pa.Table) -> None:
    """With the batch's segments (running sums restart there) every decided window is right."""
    _, b = resample_batch(usable_fixes(points), max_gap_s=60.0)
    k = 91
    n = b.x.size
    cand = b.r.seg[: n - k + 1] == b.r.seg[k - 1 :]
    wx, wy = sliding_window_view(b.x, k), sliding_window_view(b.y, k)
    far = np.hypot(wx - wx.mean(axis=1)[:, None], wy - wy.mean(axis=1)[:, None]).max(axis=1)
    for radius in (0.5, 3.0, 6.0, 25.0):
        verdict = screen(b.x, b.y, b.seg_start, k, cand, radius)
        decided = cand & (verdict >= 0)
        assert np.array_equal(verdict[decided] == 1, far[decided] <= radius)
        assert not verdict[~cand].any()
        got = loiter_mod._within(b.x, b.y, k, cand, radius, b.seg_start)
        assert np.array_equal(got, cand & (far <= radius))
