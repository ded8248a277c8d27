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
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from overflight.classify.samples import load_rnc, read_traffic_json
from overflight.patterns import (
    ResampledFlights,
    detect_batch,
    detect_flight,
    detect_patterns,
    resample_flights,
)
from overflight.patterns import loiter as loiter_mod
from overflight.patterns.batch import (
    Batch,
    from_resampled,
    median,
    resample_batch,
    short_window_s,
    windowed_rate_batch,
)
from overflight.patterns.events import Detail, Events, details_json, py_round, to_dicts
from overflight.patterns.fixes import _fixes_slow, usable_fixes
from overflight.patterns.grid import grid_details
from overflight.patterns.legs import leg_offsets, legs_batch, reversal_chains
from overflight.patterns.racetrack import shapes_batch
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


# --- columnar events: rounding, JSON, the kept batch, the compiled chain numbers ---


def _same_floats(got: np.ndarray, want: list[float]) -> bool:
    w = np.array(want, np.float64)
    return bool(
        np.array_equal(got, w, equal_nan=True) and np.array_equal(np.signbit(got), np.signbit(w))
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(), min_size=1, max_size=40), st.integers(0, 3))
def test_py_round_is_python_round(values: list[float], ndigits: int) -> None:
    assert _same_floats(
        py_round(np.array(values, np.float64), ndigits), [round(v, ndigits) for v in values]
    )


def test_py_round_on_ties_and_near_ties() -> None:
    """Halves and their neighbours, where ``rint(v * 10**n) / 10**n`` alone goes wrong."""
    rng = np.random.default_rng(11)
    for nd in (0, 1, 2, 3):
        k = rng.integers(-(10**7), 10**7, 20_000)
        half = (k + 0.5) / 10.0**nd
        v = np.concatenate(
            [
                half,
                np.nextafter(half, np.inf),
                np.nextafter(half, -np.inf),
                k / 10.0**nd,
                rng.normal(0, 1e4, 20_000),
                [0.0, -0.0, 2.675, 1e300, -1e-300, np.nan, np.inf],
            ]
        )
        assert _same_floats(py_round(v, nd), [round(x, nd) for x in v.tolist()])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(),
            st.booleans(),
            st.integers(-(2**63), 2**63 - 1),
            st.booleans(),
            st.text(),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_details_json_is_json_dumps(rows: list[tuple[float, bool, int, bool, str]]) -> None:
    f, null, i, b, s = (list(v) for v in zip(*rows, strict=True))
    n = len(rows)
    ev = Events(
        "orbit",
        np.zeros(n, np.int64),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
        {
            "speed_kt": Detail(np.array(f, np.float64)),
            "altitude_min_ft": Detail(np.array(f, np.float64), np.array(null)),
            "n_legs": Detail(np.array(i, np.int64)),
            "holding": Detail(np.array(b, np.bool_)),
            "direction": Detail(np.array(s, dtype=object)),
        },
    )
    dicts = to_dicts(ev)
    want = [
        {
            "speed_kt": x,
            "altitude_min_ft": None if u else x,
            "n_legs": k,
            "holding": c,
            "direction": t,
        }
        for x, u, k, c, t in zip(f, null, i, b, s, strict=True)
    ]
    assert [json.dumps(d["details"], sort_keys=True) for d in dicts] == [
        json.dumps(d, sort_keys=True) for d in want
    ]
    assert details_json(ev).to_pylist() == [json.dumps(d, sort_keys=True) for d in want]


def test_kept_batch_equals_the_concatenated_flights(
    sample_points: pa.Table, rnc: pd.DataFrame
) -> None:
    """resample_flights keeps its batch; detect_patterns uses it while the dict is untouched."""
    for points in (sample_points, rnc):
        rs = resample_flights(points)
        assert isinstance(rs, ResampledFlights) and rs.batch_if_unchanged() is rs.batch
        kept, joined = rs.batch, from_resampled([r for _, r in rs.values()])
        for name in Batch._fields:
            u, v = getattr(kept, name), getattr(joined, name)
            if name == "r":
                _same(u, v)
            else:
                assert u.dtype == v.dtype and np.array_equal(u, v, equal_nan=True), name
        want = detect_patterns(points, resampled=dict(rs))
        assert detect_patterns(points, resampled=rs).equals(want)
        fid = next(iter(rs))
        rs[fid] = (rs[fid][0], rs[fid][1]._replace(altitude=rs[fid][1].altitude + 1.0))
        assert rs.batch_if_unchanged() is None
        assert detect_patterns(points, resampled=rs).equals(
            detect_patterns(points, resampled=dict(rs))
        )


@pytest.fixture(scope="module")
def chain_points(traffic_samples: Path) -> pa.Table:
    """Calibration and survey flights: racetracks and grids."""
    frames = []
    for d in ("calibration", "surveys"):
        for path in sorted((traffic_samples / d).glob("*.json.gz")):
            raw = read_traffic_json(path)
            ts = raw["timestamp"]
            unit = "ms" if pd.api.types.is_numeric_dtype(ts) else None
            frames.append(
                pd.DataFrame(
                    {
                        "timestamp": pd.to_datetime(ts, unit=unit, utc=True),
                        "icao24": raw["icao24"].astype(str),
                        "latitude": pd.to_numeric(raw["latitude"], errors="coerce"),
                        "longitude": pd.to_numeric(raw["longitude"], errors="coerce"),
                        "altitude": pd.to_numeric(raw.get("altitude"), errors="coerce"),
                        "flight_id": f"{d}/{path.name}",
                    }
                )
            )
    return pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False)


def _chain_reference(b: Batch, line_tol_nm: float = 1.5) -> list[tuple[int, dict[str, Any]]]:
    """Each reversal chain decided and described with numpy, one chain at a time."""
    r = b.r
    legs = legs_batch(b)
    out = []
    for idx in reversal_chains(legs):
        cross, _, axis = leg_offsets(r, legs, idx)
        a, z = int(legs.start[idx[0]]), int(legs.stop[idx[-1]])
        alt = r.altitude[a:z][np.isfinite(r.altitude[a:z])]
        lo = round(float(alt.min()), 0) if alt.size else None
        hi = round(float(alt.max()), 0) if alt.size else None
        leg_nm, leg_s = (
            float(np.median(legs.length_nm[idx])),
            float(np.median(legs.duration_s[idx])),
        )
        dur = float(r.t_s[z - 1] - r.t_s[a])
        base = {
            "leg_length_nm": round(leg_nm, 2),
            "leg_duration_s": round(leg_s, 1),
            "n_legs": int(idx.size),
            "orientation_deg": round(axis, 1),
            "time_on_station_s": round(dur, 1),
            "altitude_min_ft": lo,
            "altitude_max_ft": hi,
            "speed_kt": round(float(np.median(r.speed_kt[a:z])), 1),
        }
        turns = legs.turn_after_deg[idx[:-1]]
        same_way = max(np.count_nonzero(turns > 0), np.count_nonzero(turns < 0)) / turns.size
        tol = max(line_tol_nm, 0.2 * leg_nm)
        even, odd = cross[0::2], cross[1::2]
        tight = np.ptp(even) <= tol and (odd.size < 2 or np.ptp(odd) <= tol)
        event = {
            "start_s": float(r.t_s[a]),
            "stop_s": float(r.t_s[z - 1]),
            "latitude": float(np.mean(r.latitude[a:z])),
            "longitude": float(np.mean(r.longitude[a:z])),
        }
        if same_way >= 0.75 and tight:
            details = base | {
                "n_turns": round((idx.size - 1) / 2.0, 1),
                "width_nm": round(abs(float(np.median(even)) - float(np.median(odd))), 2),
                "holding": bool(40.0 <= leg_s <= 120.0 and leg_nm <= 8.0),
            }
            out.append((int(b.flight[a]), {"kind": "racetrack", **event, "details": details}))
            continue
        grid = grid_details(cross, int(idx.size))
        if grid is not None:
            out.append((int(b.flight[a]), {"kind": "grid", **event, "details": base | grid}))
    return out


def test_compiled_chains_equal_numpy_per_chain(chain_points: pa.Table, rnc: pd.DataFrame) -> None:
    kinds = set()
    for points in (chain_points, rnc):
        b = resample_flights(points).batch
        want = _chain_reference(b)
        got = shapes_batch(b)
        assert [f for f, _ in got] == [f for f, _ in want]
        assert [json.dumps(e, sort_keys=True) for _, e in got] == [
            json.dumps(e, sort_keys=True) for _, e in want
        ]
        kinds |= {e["kind"] for _, e in got}
    assert kinds == {"racetrack", "grid"}
