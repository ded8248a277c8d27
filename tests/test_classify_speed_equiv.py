"""The vectorised classify features equal a flight-by-flight numpy reference.

The reference below computes every feature on one flight at a time with the
plain numpy calls that define it (np.percentile, np.histogram, np.unique, ...)
and the raw-fix histograms with pandas crosstab and groupby; the package
computes them over all flights at once, partly in compiled loops
(``classify/fixes_jit.py``, ``classify/track_jit.py``), and must equal the
reference bit for bit.  Real flights: traffic's labelled samples and the
BuzzFeed RNC extract (one fix a minute).  The compiled helpers are also
compared with the numpy and pandas calls they replace on edge values.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.classify import classify_flights, load_model
from overflight.classify.features import features_table
from overflight.classify.fixes import ALT_BINS, SPEED_BINS, STEER_BINS, fix_histograms
from overflight.classify.fixes_jit import seconds_at, valid
from overflight.classify.grouped import group_mean_std, group_median, group_percentiles, group_sum
from overflight.classify.track import _median, track_features
from overflight.geodesy import NM_M, bearing_deg, haversine_m
from overflight.patterns import detect_patterns, resample_flights
from overflight.patterns.batch_jit import wrap180
from overflight.patterns.turns import Resampled, local_xy_nm, runs, windowed_rate

# ---------------------------------------------------------------- reference


def _ref_track(r: Resampled) -> dict[str, float]:
    f: dict[str, Any] = {}
    hours = max((r.t_s[-1] - r.t_s[0]) / 3600.0, 1e-3)
    f["duration_h"] = hours
    f["speed_q10"], f["speed_q50"], f["speed_q90"] = np.percentile(r.speed_kt, [10, 50, 90])
    f["speed_cv"] = r.speed_kt.std() / max(r.speed_kt.mean(), 1.0)
    alt = r.altitude
    keys = ("alt_q10", "alt_q50", "alt_q90", "alt_std", "vert_ft_per_h", "low_dips_per_h")
    if np.isfinite(alt).any():
        a = alt[np.isfinite(alt)]
        qa = np.percentile(a, [10, 50, 90])
        a60 = alt[:: max(1, round(60.0 / r.step_s))]
        s0, s1 = runs(a60 < min(0.5 * qa[1], qa[1] - 1000.0))
        dips = ((s0 > 0) & (s1 < a60.size)).sum()
        vert = np.nansum(np.abs(np.diff(a60)))
        f.update(zip(keys, [*qa, a.std(), vert / hours, dips / hours], strict=True))
    else:
        f.update(dict.fromkeys(keys, -1.0))
    moving = r.speed_kt >= 25.0
    short = np.abs(windowed_rate(r, max(30.0, 2.0 * r.cadence_s)))[moving]
    names = ("rate_lt_0p5", "rate_0p5_1p5", "rate_1p5_4", "rate_4_10", "rate_ge_10")
    h, _ = np.histogram(short, bins=[0, 0.5, 1.5, 4, 10, np.inf])
    f.update(zip(names, h / short.size if short.size else [-1.0] * 5, strict=True))
    sus = np.abs(windowed_rate(r, max(180.0, 3.0 * r.cadence_s)))[moving]
    for name, thr in (("sustained_ge_0p5", 0.5), ("sustained_ge_1p5", 1.5), ("sustained_ge_5", 5)):
        f[name] = np.mean(sus >= thr) if sus.size else -1.0
    total = np.abs(np.diff(r.heading_deg)).sum()
    net = abs(r.heading_deg[-1] - r.heading_deg[0])
    f["turns_per_h"], f["net_turns_per_h"] = total / 360.0 / hours, net / 360.0 / hours
    f["turn_consistency"] = net / total if total > 0 else 0.0

    x, y = local_xy_nm(r.latitude, r.longitude, np.median(r.latitude), np.median(r.longitude))
    w, hh = np.ptp(x), np.ptp(y)
    f["bbox_diag_nm"], f["log_bbox_area_nm2"] = np.hypot(w, hh), np.log10(w * hh + 1e-3)
    rg = np.sqrt(np.mean((x - x.mean()) ** 2 + (y - y.mean()) ** 2))
    step = r.speed_kt * r.step_s / 3600.0
    path = step.sum()
    disp = np.hypot(x[-1] - x[0], y[-1] - y[0])
    f["gyration_nm"] = rg
    f["straightness"] = disp / path if path > 0 else 0.0
    f["gyration_per_path"] = rg / path if path > 0 else 0.0
    f["return_ratio"] = 1.0 - f["straightness"]
    _, cell = np.unique(np.stack([np.floor(x), np.floor(y)]), axis=1, return_inverse=True)
    first = np.full(int(cell.max()) + 1, np.inf)
    np.minimum.at(first, cell.ravel(), r.t_s)
    f["revisit_share"] = np.mean(r.t_s - first[cell.ravel()] >= 600.0)
    c, wgt = r.course_deg[moving], step[moving]
    if c.size and wgt.sum() > 0:
        h180, _ = np.histogram(c % 180.0, bins=18, range=(0, 180), weights=wgt)
        h180 = h180 / h180.sum()
        f["axis_share"] = (h180 + np.roll(h180, -1)).max()
        h360, _ = np.histogram(c, bins=36, range=(0, 360), weights=wgt)
        p = h360[h360 > 0] / h360.sum()
        f["course_entropy"] = -(p * np.log(p)).sum() / np.log(36)
    else:
        f["axis_share"] = f["course_entropy"] = -1.0
    f.update(_ref_legs(r, x, y, hours))
    return {k: float(v) for k, v in f.items()}


def _ref_legs(r: Resampled, x: np.ndarray, y: np.ndarray, hours: float) -> dict[str, float]:
    """Straight legs found and compared one by one, in plain Python."""
    rate = np.abs(windowed_rate(r, max(60.0, 2.0 * r.cadence_s)))
    moving = r.speed_kt >= 25.0
    straight = moving & (rate < 0.5)
    legs = []  # (duration, length, course, cross-track offset of its line)
    i, n = 0, r.t_s.size
    while i < n:
        if not straight[i]:
            i += 1
            continue
        k = i
        while k + 1 < n and straight[k + 1] and r.seg[k + 1] == r.seg[i]:
            k += 1
        if r.t_s[k] - r.t_s[i] >= 120.0:
            dx, dy = x[k] - x[i], y[k] - y[i]
            course = np.degrees(np.arctan2(dx, dy)) % 360.0
            th = np.radians(course)
            mx, my = (x[i] + x[k]) / 2.0, (y[i] + y[k]) / 2.0
            cross = my * np.sin(th) - mx * np.cos(th)
            legs.append((r.t_s[k] - r.t_s[i], np.hypot(dx, dy), course, cross))
        i = k + 1
    moving_s = moving.sum() * r.step_s
    f = {
        "leg_share": sum(leg[0] for leg in legs) / moving_s if moving_s > 0 else -1.0,
        "legs_per_h": len(legs) / hours,
        "leg_log_nm": np.log10(max(np.median([leg[1] for leg in legs]), 0.1)) if legs else -1.0,
    }
    rev = new = 0
    for a, b in itertools.pairwise(legs):
        if abs((b[2] - a[2] + 180.0) % 360.0 - 180.0) > 155.0:
            rev += 1
            offset = abs(b[3] + a[3])
            new += 0.15 < offset < 0.5 * b[1]
    pairs = len(legs) - 1
    f["reversal_share"] = rev / pairs if pairs > 0 else -1.0
    f["grid_pair_share"] = new / pairs if pairs > 0 else -1.0
    return f


def _ref_fixes(df: pd.DataFrame) -> pd.DataFrame:
    keep = df["valid"].fillna(False).astype(bool) & ~df["onground"].fillna(False).astype(bool)
    df = df.loc[keep & df["latitude"].notna()].sort_values(
        ["flight_id", "timestamp"], kind="stable"
    )
    key = df["flight_id"].to_numpy()
    lat, lon = df["latitude"].to_numpy(float), df["longitude"].to_numpy(float)
    same = np.r_[False, key[1:] == key[:-1]]
    t = (df["timestamp"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    dt = np.r_[np.nan, np.diff(t)]
    course = np.where(
        same, np.r_[np.nan, bearing_deg(lat[:-1], lon[:-1], lat[1:], lon[1:])], np.nan
    )
    dist = np.r_[np.nan, haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])]
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.where(same & (dt > 0), dist / NM_M / dt * 3600.0, np.nan)
    gs, trk = df["groundspeed"].to_numpy(float), df["track"].to_numpy(float)
    gs, trk = np.where(np.isfinite(gs), gs, speed), np.where(np.isfinite(trk), trk, course)
    steer = np.r_[np.nan, (trk[1:] - trk[:-1] + 180.0) % 360.0 - 180.0]
    steer[~same] = np.nan
    parts = []
    for name, v, bins in (
        ("steer", steer, STEER_BINS),
        ("speed", gs, SPEED_BINS),
        ("alt", df["altitude"].to_numpy(float), ALT_BINS),
    ):
        ok = np.isfinite(v)
        b = np.clip(np.digitize(v[ok], bins) - 1, 0, len(bins) - 2)
        tab = pd.crosstab(key[ok], b, normalize="index")
        tab = tab.reindex(columns=range(len(bins) - 1), fill_value=0.0)
        tab.columns = [f"fix_{name}_{i}" for i in range(len(bins) - 1)]
        parts.append(tab)
    g = pd.DataFrame({"k": key, "t": t, "lat": lat, "lon": lon}).groupby("k")
    extent = pd.DataFrame(
        {
            "fix_duration_h": (g["t"].max() - g["t"].min()) / 3600.0,
            "fix_bbox_area_deg2": (g["lat"].max() - g["lat"].min())
            * (g["lon"].max() - g["lon"].min()),
        }
    )
    return pd.concat([*parts, extent], axis=1).fillna(0.0)


# ---------------------------------------------------------------- data


@pytest.fixture(scope="module")
def real(traffic_samples: Path, shared_data: Path) -> tuple[pa.Table, dict[str, Any]]:
    from overflight.classify.samples import load_all

    rnc = shared_data / "trajectories" / "buzzfeed_2016_conventions_rnc.csv"
    pts, _ = load_all(traffic_samples, rnc)
    return pts, resample_flights(pts)


def test_track_features_equal_flight_by_flight(real: tuple[pa.Table, dict[str, Any]]) -> None:
    _, rs = real
    flights = [r for _, r in rs.values() if r.t_s.size >= 2]
    assert len(flights) > 1000
    got = track_features(flights)
    want = pd.DataFrame([_ref_track(r) for r in flights])
    for name in want.columns:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def test_fix_histograms_equal_crosstab(real: tuple[pa.Table, dict[str, Any]]) -> None:
    pts, _ = real
    want = _ref_fixes(pts.to_pandas())
    got = fix_histograms(pts)
    assert list(got.index) == sorted(want.index)
    pd.testing.assert_frame_equal(got, want.reindex(index=got.index, columns=got.columns))
    shuffled = pts.to_pandas().sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(fix_histograms(shuffled), got)
    some = list(got.index[::5])
    pd.testing.assert_frame_equal(fix_histograms(pts, flight_ids=some), got.loc[some])
    # Arrow layouts the fast path reads differently: several chunks, a slice
    # (buffers and validity bitmaps at an offset), rows out of order,
    # microsecond timestamps (converted through pandas)
    k = pts.num_rows // 3
    chunked = pa.concat_tables([pts.slice(0, k), pts.slice(k)])
    pd.testing.assert_frame_equal(fix_histograms(chunked), got, check_exact=True)
    one = pts.combine_chunks()
    pd.testing.assert_frame_equal(fix_histograms(one), got, check_exact=True)
    part = one.slice(7, 2 * k)
    assert part["groundspeed"].num_chunks == 1 and part["groundspeed"].null_count > 0
    pd.testing.assert_frame_equal(
        fix_histograms(part), fix_histograms(part.to_pandas()), check_exact=True
    )
    mixed = pa.Table.from_pandas(shuffled, preserve_index=False)
    pd.testing.assert_frame_equal(fix_histograms(mixed), got, check_exact=True)
    us = pts.set_column(
        pts.schema.get_field_index("timestamp"),
        "timestamp",
        pts["timestamp"].cast(pa.timestamp("us", tz="UTC")),
    )
    pd.testing.assert_frame_equal(fix_histograms(us), fix_histograms(us.to_pandas()))


def test_resampled_argument_changes_nothing(real: tuple[pa.Table, dict[str, Any]]) -> None:
    pts, rs = real
    ids = sorted(rs)[::10]
    sub = pts.filter(pc.is_in(pts["flight_id"], pa.array(ids)))
    events = detect_patterns(sub)
    a = features_table(sub, events)
    b = features_table(pts, events, resampled=rs, flight_ids=ids)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    flights = pa.table({"flight_id": ids})
    model = load_model()
    x = classify_flights(flights, pts, events, model=model)
    y = classify_flights(flights, sub, events, model=model, resampled=rs)
    assert x.equals(y)
    # events as a pandas frame, and flights listed twice or without any points
    c = features_table(pts, events.to_pandas(), resampled=rs, flight_ids=ids)
    pd.testing.assert_frame_equal(b, c, check_exact=True)
    more = pa.table({"flight_id": [ids[1], "no-such-flight", *ids, ids[0]]})
    z = classify_flights(more, sub, events, model=model, resampled=rs).to_pandas()
    by_id = x.to_pandas().set_index("flight_id")
    for _, row in z.iterrows():
        if row["flight_id"] == "no-such-flight":
            assert (row["mission"], row["mission_confidence"]) == ("other", 0.0)
            assert row["mission_reason"].startswith("too little data")
        else:
            want_row = by_id.loc[row["flight_id"]]
            assert (
                row[["mission", "mission_confidence", "mission_reason"]].tolist()
                == want_row[["mission", "mission_confidence", "mission_reason"]].tolist()
            )


# ---------------------------------------------------------------- compiled helpers


def test_wrap180_equals_numpy_remainder() -> None:
    edges = [-720.0, -540.0, -360.0, -180.0, 0.0, 180.0, 360.0, 540.0, 720.0]
    near = [np.nextafter(e, d) for e in edges for d in (-np.inf, np.inf)]
    rng = np.random.default_rng(0)
    d = np.concatenate(
        [
            edges,
            near,
            [-0.0, 1e-300, -1e-300, 1e-17, -1e-17, 1e300, -1e300, np.inf, -np.inf, np.nan],
            rng.uniform(-1000.0, 1000.0, 20_000),
            rng.uniform(-1.0, 1.0, 2_000) * 1e-14 - 180.0,
        ]
    )
    with np.errstate(invalid="ignore"):
        want = (d + 180.0) % 360.0 - 180.0
    got = np.array([wrap180(float(v)) for v in d])
    np.testing.assert_array_equal(
        got.view(np.int64)[~np.isnan(want)], want.view(np.int64)[~np.isnan(want)]
    )
    assert np.isnan(got[np.isnan(want)]).all()


def test_seconds_at_equals_pandas() -> None:
    rng = np.random.default_rng(1)
    ns = np.concatenate(
        [
            rng.integers(-(2**62), 2**62, 5_000),
            rng.integers(1_400_000_000, 1_800_000_000, 5_000) * 10**9 + rng.integers(0, 3, 5_000),
            [0, 1, -1, 2**53, 2**53 + 1, -(2**53) - 1, 999_999_999, -999_999_999],
        ]
    )
    for rows in (np.arange(ns.size), np.arange(5_000, ns.size), np.arange(10_000, ns.size)):
        want = pd.TimedeltaIndex(ns[rows].view("m8[ns]")).total_seconds().to_numpy()
        np.testing.assert_array_equal(seconds_at(ns, rows), want)


def test_validity_bitmap_read_as_arrow() -> None:
    col = pa.array([1.0, None, 3.0, None, None, 6.0, 7.0, None, 9.0, 10.0, None])
    for arr in (col, col.slice(3), col.slice(5, 4)):
        bits = np.frombuffer(arr.buffers()[0], dtype=np.uint8)
        got = [valid(bits, arr.offset, r) for r in range(len(arr))]
        assert got == arr.is_valid().to_pylist()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 400), min_size=1, max_size=10), st.integers(0, 2**32 - 1))
def test_selection_median_equals_numpy(sizes: list[int], seed: int) -> None:
    counts = np.array([max(s, 1) for s in sizes], dtype=np.int64)
    rng = np.random.default_rng(seed)
    v = np.round(rng.normal(size=counts.sum()) * 10.0, int(rng.integers(0, 3)))  # with ties
    want = [np.median(p) for p in np.split(v, np.cumsum(counts)[:-1])]
    np.testing.assert_array_equal(_median(v, counts), want)


# ---------------------------------------------------------------- grouped reductions


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 300), min_size=1, max_size=12),
    st.integers(0, 2**32 - 1),
)
def test_grouped_reductions_equal_numpy(sizes: list[int], seed: int) -> None:
    counts = np.array(sizes, dtype=np.int64)
    v = np.random.default_rng(seed).normal(size=counts.sum()) * 1e3
    parts = np.split(v, np.cumsum(counts)[:-1])
    np.testing.assert_array_equal(group_sum(v, counts), [p.sum() for p in parts])
    full = [p for p in parts if p.size]
    nz = counts[counts > 0]
    w = np.concatenate(full) if full else np.empty(0)
    mean, std = group_mean_std(w, nz)
    np.testing.assert_array_equal(mean, [p.mean() for p in full])
    np.testing.assert_array_equal(std, [p.std() for p in full])
    np.testing.assert_array_equal(group_median(w, nz), [np.median(p) for p in full])
    q = group_percentiles(w, nz, (10 / 100, 50 / 100, 90 / 100))
    want = np.array([np.percentile(p, [10, 50, 90]) for p in full]).reshape(-1, 3)
    np.testing.assert_array_equal(np.array(q).T, want)
