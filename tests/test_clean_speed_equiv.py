"""The compiled clean stage gives exactly what the numpy one gave.

The reference is the numpy implementation from before the rewrite, kept in
``support/clean_reference.py``; the small compiled loops are also checked
against plain-Python statements of their definition.  Real data: the
traffic samples (complete records, and the same records cut into raw-style
position / velocity / identification messages) and the BuzzFeed RNC
positions; random data: tracks with duplicate timestamps, gaps, jumps and
nulls (hypothesis).
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight import clean
from overflight.clean import _loops, segments
from overflight.clean._distance import M_PER_DEG, screen
from overflight.clean.detours import _maybe_detours, detours
from overflight.clean.flights import flights_table, split_numbered
from overflight.clean.pairs import altitude_feasible, position_feasible
from overflight.clean.spoof import slow_at_altitude
from overflight.clean.summary import flights_of
from overflight.geodesy import KT_MS, haversine_m
from overflight.jit import sorted_by_group
from overflight.schema import MESSAGE_SCHEMA, conform
from support import clean_reference as ref
from support.samples import as_table, read_rnc, read_sample

MS = pd.Timedelta(milliseconds=1)
SAMPLES = (
    "collections/quickstart",
    "noisy/noisy_landing",
    "noisy/noisy_spoofing",
    "noisy/noisy_takeoff",
    "noisy/noisy_ground",
    "ambulances/rega_sg",
)


def same_column(a: pa.ChunkedArray, b: pa.ChunkedArray) -> bool:
    """Equal values and nulls (NaN equal to NaN, which Arrow's ``equals`` denies)."""
    if not pa.types.is_floating(a.type):
        return bool(a.equals(b))
    nulls = a.is_null().equals(b.is_null())
    x, y = (pc.fill_null(c, 0.0).to_numpy() for c in (a, b))
    return bool(nulls and np.array_equal(x, y, equal_nan=True))


def assert_same(new: tuple[pa.Table, pa.Table], old: tuple[pa.Table, pa.Table]) -> None:
    for a, b in zip(new, old, strict=True):
        assert a.schema == b.schema
        assert a.schema.metadata == b.schema.metadata
        for name in a.column_names:
            assert same_column(a[name], b[name]), name


def raw_style(df: pd.DataFrame) -> pd.DataFrame:
    """Each record as three messages (identification, velocity, position), shuffled."""
    ident = df[["timestamp", "icao24", "callsign", "squawk"]].assign(
        timestamp=df["timestamp"] - 5 * MS
    )
    vel = df[["timestamp", "icao24", "groundspeed", "track", "vertical_rate"]].assign(
        timestamp=df["timestamp"] - 300 * MS
    )
    pos = df[["timestamp", "icao24", "latitude", "longitude", "altitude", "onground"]]
    return pd.concat([ident, vel, pos], ignore_index=True).sample(frac=1.0, random_state=3)


@pytest.fixture(scope="module")
def samples(traffic_samples: Path) -> pd.DataFrame:
    tables = [as_table(read_sample(traffic_samples, n)) for n in SAMPLES]
    return pa.concat_tables(tables).to_pandas()


def test_run_matches_reference_on_samples(samples: pd.DataFrame) -> None:
    table = as_table(samples.sample(frac=1.0, random_state=5))
    assert_same(clean.run(table), ref.run(table))


def test_run_matches_reference_on_raw_style_messages(samples: pd.DataFrame) -> None:
    table = as_table(raw_style(samples.iloc[::3]))
    assert_same(clean.run(table), ref.run(table))


def test_each_function_matches_reference(samples: pd.DataFrame) -> None:
    table = as_table(pd.concat([samples.iloc[::-2], samples.iloc[::7]]))  # duplicates too
    pos = clean.to_positions(table)
    assert_same((pos,), (ref.to_positions(table),))
    points = clean.clean(pos)
    assert_same((points,), (ref.clean(pos),))
    flights = clean.split_flights(points)
    assert_same((flights,), (ref.split_flights(points),))


def test_run_matches_reference_on_rnc(shared_data: Path) -> None:
    table = as_table(read_rnc(shared_data))
    assert_same(clean.run(table), ref.run(table))


def test_fast_flights_table_matches_group_by(samples: pd.DataFrame) -> None:
    points = clean.clean(clean.to_positions(as_table(samples)))
    codes = ref.group_codes(points["icao24"])
    numbered, flight = split_numbered(points, presorted=(codes, ref.time_ns(points)))
    fast = flights_of(numbered, flight, ref.time_ns(numbered))
    assert fast is not None
    assert fast.equals(flights_table(numbered))


def _messages(t_ns: list[int | None], **cols: list[object]) -> pa.Table:
    ts = pa.array(t_ns, pa.int64()).cast(MESSAGE_SCHEMA.field("timestamp").type)
    return conform(pa.table({"timestamp": ts, **cols}))


ONE = {"icao24": ["a"] * 3, "longitude": [2.0] * 3}
EDGE_CASES = {
    "empty": _messages([]),
    "no positions": _messages([0, 10**9], icao24=["abc", "abc"], callsign=["X", None]),
    "one row": _messages([5], icao24=["abc"], latitude=[1.0], longitude=[2.0]),
    "null time": _messages([None, 10**9, 3], latitude=[1.0, 1.0, 1.1], **ONE),
    "null icao24": _messages([0, 1, 2], latitude=[1.0] * 3, **ONE | {"icao24": [None, None, "a"]}),
    "NaN latitude": _messages([0, 1, 2], latitude=[np.nan, 1.0, 1.0], **ONE),
    "copies": _messages([0] * 3, latitude=[1.0] * 3, callsign=[None, "A", None], **ONE),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_cases_match_reference(name: str) -> None:
    assert_same(clean.run(EDGE_CASES[name]), ref.run(EDGE_CASES[name]))


# --- random tracks ----------------------------------------------------------------

STEPS_S = np.array([0.0, 0.0, 0.3, 1.0, 1.0, 1.0, 5.0, 12.0, 700.0, 2500.0])


@st.composite
def tracks(draw: st.DrawFn) -> pa.Table:
    """Messages of 1 to 4 aircraft: random steps, jumps, glitches, repeats and nulls."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(0, 160))
    p_jump, p_null, p_slow = (draw(st.sampled_from([0.0, 0.03, 0.2])) for _ in range(3))
    ac = np.sort(rng.integers(0, draw(st.integers(1, 4)), n))
    t = 1.7e9 + np.cumsum(rng.choice(STEPS_S, n))
    lat = 45 + np.cumsum(rng.normal(0, 0.002, n)) + np.where(rng.random(n) < p_jump, 1.0, 0.0)
    lon = 5 + np.cumsum(rng.normal(0, 0.002, n))
    lon = np.where(rng.random(n) < p_jump, lon + rng.normal(0, 0.05, n), lon)
    lat = np.where(rng.random(n) < 0.1, np.roll(lat, 1), lat)  # repeated positions
    lat = np.where(rng.random(n) < p_null / 4, np.nan, lat)
    alt = np.where(rng.random(n) < 0.5, 35000.0, 2000.0) + rng.normal(0, 50, n)
    alt = np.where(rng.random(n) < p_jump, alt + 20000, alt)
    gs = np.where(rng.random(n) < p_slow, 60.0, 450.0) + rng.normal(0, 5, n)

    def holes(x: np.ndarray, p: float) -> list[object]:
        return [None if m else v for v, m in zip(x.tolist(), rng.random(n) < p, strict=True)]

    table = pa.table(
        {
            "timestamp": pa.array((t * 1e9).astype(np.int64)).cast(
                MESSAGE_SCHEMA.field("timestamp").type
            ),
            "icao24": holes(np.array(["3c6444", "4baac6", "abc123", ""])[ac], p_null / 4),
            "callsign": holes(rng.choice(["AFR12", "BAW3", "DLH9"], n), 0.5),
            "latitude": holes(lat, p_null),
            "longitude": holes(lon, p_null / 2),
            "altitude": holes(alt, p_null),
            "geoaltitude": holes(alt + 100, 0.7),
            "groundspeed": holes(gs, 0.3),
            "onground": holes(rng.random(n) < 0.1, 0.5),
            "squawk": holes(rng.choice(["7000", "1000"], n), 0.8),
        }
    )
    table = conform(table)
    if n and draw(st.booleans()):  # exact copies, some with fewer fields
        copy = table.slice(0, n // 2)
        copy = copy.set_column(2, "callsign", pa.nulls(copy.num_rows, pa.string()))
        table = pa.concat_tables([table, copy])
    return table.take(pa.array(rng.permutation(table.num_rows)))


@settings(max_examples=60, deadline=None)
@given(tracks())
def test_random_tracks_match_reference(table: pa.Table) -> None:
    assert_same(clean.run(table), ref.run(table))
    pos = clean.to_positions(table)
    assert_same((pos,), (ref.to_positions(table),))
    assert_same((clean.clean(pos),), (ref.clean(pos),))


@st.composite
def candidate_tracks(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """Sorted candidate arrays as the rules see them, with a random candidate mask."""
    table = draw(tracks())
    pts = ref.clean(ref.to_positions(table))
    ok = np.asarray(pts["valid"].to_numpy(zero_copy_only=False)) | (
        np.random.default_rng(pts.num_rows).random(pts.num_rows) < 0.5
    )
    lat, lon = ref.float_col(pts, "latitude"), ref.float_col(pts, "longitude")
    ok &= np.isfinite(lat) & np.isfinite(lon) & np.isfinite(ref.float_col(pts, "altitude"))
    t = ref.time_ns(pts)
    return {
        "grp": ref.group_codes(pts["icao24"]),
        "t_s": (t - (t.min() if len(t) else 0)) / 1e9,
        "lat": lat,
        "lon": lon,
        "alt": ref.float_col(pts, "altitude"),
        "gs": ref.float_col(pts, "groundspeed"),
        "onground": ref.bool_col(pts, "onground")[0],
        "cand": ok,
    }


@settings(max_examples=60, deadline=None)
@given(
    candidate_tracks(),
    st.sampled_from([0.0, 0.5, 1.5]),
    st.integers(0, 4),
    st.sampled_from([0.0, 100.0, 500.0]),
)
def test_detours_and_slow_runs_match_reference(
    d: dict[str, np.ndarray], slack: float, max_run: int, tol_m: float
) -> None:
    c = np.flatnonzero(d["cand"])
    sub = {k: v[c] for k, v in d.items()}
    kw = {"max_run": max_run, "slack": slack, "time_tol_s": 1.0, "dist_tol_m": tol_m}
    got = detours(d["grp"], d["t_s"], d["lat"], d["lon"], d["gs"], cand=d["cand"], **kw)
    want = ref.detours(sub["grp"], sub["t_s"], sub["lat"], sub["lon"], sub["gs"], **kw)
    assert np.flatnonzero(got).tolist() == c[want].tolist()
    kw2 = {"min_altitude_ft": 30000.0, "max_groundspeed_kt": 100.0, "min_duration_s": 10.0}
    args = [d[k] for k in ("grp", "t_s", "lat", "lon", "alt", "gs", "onground")]
    slow, parked = slow_at_altitude(*args, cand=d["cand"], **kw2)
    want_slow, want_parked = ref.slow_at_altitude(*[a[c] for a in args], **kw2)
    assert np.flatnonzero(slow).tolist() == c[want_slow].tolist()
    assert np.flatnonzero(parked).tolist() == c[want_parked].tolist()


@settings(max_examples=60, deadline=None)
@given(candidate_tracks(), st.sampled_from([1.0, 5.0, 60.0]), st.integers(0, 3))
def test_segment_decision_matches_reference(
    d: dict[str, np.ndarray], penalty: float, lookahead: int
) -> None:
    c = np.flatnonzero(d["cand"])
    grp, t_s, lat, lon, alt = (d[k][c] for k in ("grp", "t_s", "lat", "lon", "alt"))
    breaks = ref._gaps(t_s, 10.0)
    pos_kw = {"max_speed_kt": 300.0, "time_tol_s": 1.0, "dist_tol_m": 100.0}
    alt_kw = {"max_vertical_rate_fpm": 6000.0, "sustained_vertical_rate_fpm": 3000.0}
    alt_kw |= {"reserve_ft": 1000.0, "time_tol_s": 1.0, "alt_tol_ft": 100.0}
    pos = (lat, lon, t_s, t_s)
    tests = [
        (position_feasible(*pos, **pos_kw), ref.position_feasible(*pos, **pos_kw)),
        (altitude_feasible(alt, t_s, **alt_kw), ref.altitude_feasible(alt, t_s, **alt_kw)),
    ]
    for new, old in tests:
        kw = {"penalty": penalty, "lookahead": lookahead, "breaks": breaks}
        got, want = segments.resolve(grp, new, **kw), ref.resolve(grp, old, **kw)
        assert [g.tolist() for g in got] == [w.tolist() for w in want]


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.integers(0, 9))
def test_chain_and_gate_match_reference(seed: int, m: int, lookahead: int) -> None:
    """The DP and the gate on random segments and a random (but fixed) compatibility."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, m)
    last = np.cumsum(sizes) - 1
    first = last - sizes + 1
    sgrp = np.sort(rng.integers(0, 3, m))
    n = int(last[-1]) + 1
    # positions along a meridian, one second apart, with random jumps (the gate's
    # reference moves) and steps right at the speed limit (only numpy can tell)
    step = rng.choice([0.0005, 0.001, 0.3, -0.4], n, p=[0.4, 0.3, 0.15, 0.15])
    lat = np.cumsum(step)
    at_limit_kt = float(haversine_m(0.0, 0.0, 0.001, 0.0)) / KT_MS
    t = np.arange(n) * 1.0
    test = position_feasible(
        lat, np.zeros(n), t, t, max_speed_kt=at_limit_kt, time_tol_s=0.0, dist_tol_m=0.0
    )
    penalty = float(rng.choice([0.5, 3.0, 60.0]))
    keep = segments._best_chain(first, last, sgrp, test, penalty, lookahead)
    assert (
        keep.tolist() == ref.best_chain(first, last, sgrp, test.exact, penalty, lookahead).tolist()
    )
    keep = rng.random(m) < 0.7
    got = segments._gate(first, last, sgrp, keep, test)
    assert sorted(got.tolist()) == sorted(ref.gate(first, last, sgrp, keep, test.exact).tolist())


def jumps(la: np.ndarray, lo: np.ndarray, t: np.ndarray, i: np.ndarray, j: np.ndarray,
          v: np.ndarray) -> np.ndarray:  # fmt: skip
    """The jump from position i to j is longer than ``v`` (slack x speed) allows (NaN: no)."""
    with np.errstate(invalid="ignore"):
        out: np.ndarray = haversine_m(la[i], lo[i], la[j], lo[j]) > v * (t[j] - t[i] + 2.0) + 50.0
    return out


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 40), st.sampled_from([0.0, 0.7, 1.5]))
def test_detour_prefilter_keeps_every_block_that_jumps(seed: int, m: int, slack: float) -> None:
    """``maybe`` covers every block whose jumps in and out exceed the reach (steps near it)."""
    rng = np.random.default_rng(seed)
    g = np.sort(rng.integers(0, 2, m))
    t = np.cumsum(rng.choice([0.0, 1.0, 3.0], m))
    v = np.where(rng.random(m) < 0.2, np.nan, rng.choice([100.0, 120.0], m))
    reach = slack * 120.0 * 3.0 + 50.0  # a typical reach, m
    step_deg = reach / M_PER_DEG * rng.uniform(0.9, 1.1, m)
    la = np.cumsum(step_deg * rng.choice([-1.0, 1.0], m))
    lo = np.cumsum(np.where(rng.random(m) < 0.3, step_deg, 0.0))
    maybe = np.zeros((3, m), dtype=bool)
    _maybe_detours(g, t, la, lo, v, slack, 2.0, 50.0, maybe)
    for size in range(1, 4):
        k = np.arange(1, max(m - size, 1))
        a, b, e = k - 1, k + size - 1, k + size
        speed = np.fmax(np.fmax(v[a], v[k]), np.fmax(v[b], v[e]))

        must = (g[a] == g[e]) & jumps(la, lo, t, a, k, slack * speed)
        must &= jumps(la, lo, t, b, e, slack * speed)
        assert not (must & ~maybe[size - 1, k]).any()


# --- the small compiled loops against their definitions ---------------------------


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5), st.booleans(), st.booleans())))
def test_loops_match_plain_python(rows: list[tuple[int, int, bool, bool]]) -> None:
    rows.sort(key=lambda r: (r[0], r[1]))
    grp = np.array([r[0] for r in rows], dtype=np.int64)
    t = np.array([r[1] for r in rows], dtype=np.int64)
    has = np.array([r[2] for r in rows], dtype=bool)
    cand = np.array([r[3] for r in rows], dtype=bool)
    n = len(rows)
    start = np.array([i == 0 or grp[i] != grp[i - 1] for i in range(n)], dtype=bool)

    def last_has(i: int) -> int:
        for j in range(i, -1, -1):
            if grp[j] != grp[i]:
                return -1
            if has[j]:
                return j
        return -1

    assert _loops.last_index(has, start).tolist() == [last_has(i) for i in range(n)]
    values = np.where(has, np.arange(n), -1)
    want_carry = []
    for i in range(n):
        same = [j for j in range(n) if grp[j] == grp[i] and values[j] >= 0]
        before, after = [j for j in same if j <= i], [j for j in same if j >= i]
        want_carry.append(values[before[-1]] if before else values[after[0]] if after else -1)
    assert _loops.carry(values, start).tolist() == want_carry
    near = [
        any(grp[j] == grp[i] and has[j] and abs(t[j] - t[i]) <= 2 for j in range(n))
        for i in range(n)
    ]
    assert _loops.near_ground(grp, t * 1.0, has, 2.0).tolist() == near
    c = np.flatnonzero(cand)
    pairs = [[a, b] for a, b in pairwise(c) if grp[a] == grp[b] and t[b] - t[a] <= 1]
    assert _loops.close_pairs(grp, t, cand, 1.0).tolist() == pairs
    lat = (t % 2).astype(float)
    seen, prev = (t * 1.0).tolist(), None
    for i in c:
        if prev is None or grp[i] != grp[prev] or lat[i] != lat[prev]:
            first = float(t[i])
        seen[i], prev = first, i
    assert _loops.first_seen(grp, t * 1.0, lat, np.zeros(n), cand).tolist() == seen
    order = _loops.group_order(grp[::-1].copy(), t[::-1].copy())
    if order is not None:
        assert order.tolist() == ref.sort_order(grp[::-1], t[::-1]).tolist()
    sorted_ = all((grp[i], t[i]) <= (grp[i + 1], t[i + 1]) for i in range(n - 1))
    assert sorted_by_group(grp, t) == sorted_


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 50), st.floats(0, 30))
def test_fill_sources_matches_definition(seed: int, n: int, limit_s: float) -> None:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 3, n)
    t = rng.integers(0, 40, n) * 10**9
    order = ref.sort_order(codes, t)
    cs, ts = codes[order], t[order]
    start = np.r_[True, cs[1:] != cs[:-1]] if n else np.zeros(0, bool)
    present = rng.random((n, 2)) < 0.4
    rows = np.flatnonzero(rng.random(n) < 0.6)
    src, own = _loops.fill_sources(order, start, ts, present.T, rows, np.array([limit_s * 1e9] * 2))
    for f in range(2):
        want = []
        for i in rows:
            js = [j for j in range(i + 1) if cs[j] == cs[i] and present[order[j], f]]
            ok = js and float(ts[i]) - float(ts[js[-1]]) <= limit_s * 1e9
            want.append(order[js[-1]] if ok else -1)
        assert src[f].tolist() == want
        assert own[f] == all(present[order[i], f] for i in rows)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-89, 89),
    st.floats(-180, 180),
    st.floats(-1, 1),
    st.floats(-1, 1),
    st.floats(0.5, 1.5),
)
def test_distance_bounds_agree_with_haversine(
    lat: float, lon: float, dlat: float, dlon: float, scale: float
) -> None:
    lat2, lon2 = min(max(lat + dlat, -90.0), 90.0), lon + dlon
    d = float(haversine_m(lat, lon, lat2, lon2))
    for limit in (d * scale, d, np.nextafter(d, 0.0), np.nextafter(d, np.inf)):
        s = screen(lat, lon, lat2, lon2, limit)
        assert s == -1 or s == int(d <= limit)
    la, lo = np.array([lat, lat2]), np.array([lon, lon2])
    kw = {"max_speed_kt": d * scale / KT_MS, "time_tol_s": 0.0, "dist_tol_m": 0.0}
    test = position_feasible(la, lo, np.array([0.0, 1.0]), np.zeros(2), **kw)
    a, b = np.array([0]), np.array([1])
    assert test(a, b).tolist() == test.exact(a, b).tolist()
