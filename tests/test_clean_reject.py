"""clean: obviously wrong fixes are rejected, the rest kept (real noisy traffic samples).

Every expectation is derived here from the data with plain pandas, independently
of the implementation: altitude spikes from the neighbouring altitudes, parked
aircraft reading cruise altitude from the displacement of their positions, the
spoofed episode from the two jumps of more than 100 km that open and close it.
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

from overflight.clean import REASONS, clean
from overflight.geodesy import destination, haversine_m
from overflight.schema import MESSAGE_SCHEMA, POINT_SCHEMA, conform
from support.samples import as_table, read_rnc, read_sample

NOISY = ["noisy_spoofing", "noisy_time_issue", "noisy_landing", "noisy_takeoff", "noisy_ground"]


def cleaned(df: pd.DataFrame) -> pd.DataFrame:
    """clean() on a sorted frame; rows come back in the same order."""
    out = clean(as_table(df)).to_pandas()
    assert (out["timestamp"].to_numpy() == df["timestamp"].to_numpy()).all()
    return out


def altitude_spikes(
    df: pd.DataFrame, jump_ft: float = 1500.0, agree_ft: float = 500.0
) -> np.ndarray:
    """Rows whose altitude is > jump_ft from both neighbouring altitudes while those agree."""
    out = np.zeros(len(df), dtype=bool)
    for _, g in df[df["altitude"].notna()].groupby("icao24"):
        a = g["altitude"].to_numpy()
        t = g["timestamp"].astype("int64").to_numpy() / 1e9
        if len(a) < 3:
            continue
        prev, nxt, mid = a[:-2], a[2:], a[1:-1]
        close = (t[2:] - t[:-2]) <= 10.0
        spike = (np.abs(mid - prev) > jump_ft) & (np.abs(mid - nxt) > jump_ft)
        spike &= (np.abs(prev - nxt) < agree_ft) & close
        out[g.index[1:-1][spike]] = True
    return out


def parked_at_altitude(df: pd.DataFrame, window_s: int = 60) -> np.ndarray:
    """Rows above 20,000 ft standing still: the position moves less than 60 kt across the
    next minute and the reported ground speed, if any, is below 60 kt too (a position
    frozen by the feed while the aircraft reports 480 kt is not standing still)."""
    out = np.zeros(len(df), dtype=bool)
    for _, g in df.groupby("icao24"):
        t = g["timestamp"].astype("int64").to_numpy()
        j = np.searchsorted(t, t + window_s * 10**9, side="right") - 1
        lat, lon = g["latitude"].to_numpy(), g["longitude"].to_numpy()
        moved = haversine_m(lat, lon, lat[j], lon[j])
        span = (t[j] - t) / 1e9
        slow = (span >= window_s / 2) & (moved < 60 * 0.5144 * span)
        gs = g["groundspeed"].to_numpy() if "groundspeed" in g else np.full(len(g), np.nan)
        slow &= ~(gs >= 60)
        out[g.index[(g["altitude"].to_numpy() > 20_000) & slow]] = True
    return out


def displaced(df: pd.DataFrame, jump_m: float = 100_000, within_s: float = 5) -> np.ndarray:
    """Rows between a position jump of more than 100 km in a few seconds and the next one."""
    out = np.zeros(len(df), dtype=bool)
    for _, g in df.dropna(subset=["latitude"]).groupby("icao24"):
        lat, lon = g["latitude"].to_numpy(), g["longitude"].to_numpy()
        jump = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
        dt = np.diff(g["timestamp"].astype("int64").to_numpy()) / 1e9
        big = np.flatnonzero((jump > jump_m) & (dt < within_s)) + 1
        for a, b in zip(big[::2], big[1::2], strict=False):
            out[g.index[a:b]] = True
    return out


def off_median_track(df: pd.DataFrame, far_m: float = 1000.0, w: int = 5) -> np.ndarray:
    """Positions more than 1 km from the running median of 5 fixes spanning <= 10 s."""
    out = np.zeros(len(df), dtype=bool)
    for _, g in df.dropna(subset=["latitude"]).groupby("icao24"):
        mlat = g["latitude"].rolling(w, center=True).median()
        mlon = g["longitude"].rolling(w, center=True).median()
        t = g["timestamp"].astype("int64") / 1e9
        span = t.shift(-(w // 2)) - t.shift(w // 2)
        dev = haversine_m(g["latitude"], g["longitude"], mlat, mlon)
        out[g.index[(dev > far_m) & (span <= 10)]] = True
    return out


def fresh(df: pd.DataFrame) -> np.ndarray:
    """Rows reporting a new position (state-vector feeds repeat the last one)."""
    same = (df["latitude"] == df["latitude"].shift()) & (df["longitude"] == df["longitude"].shift())
    repeat = (same & (df["icao24"] == df["icao24"].shift())).to_numpy(dtype=bool)
    return np.asarray(~repeat, dtype=bool)


@pytest.mark.parametrize("name", NOISY)
def test_noisy_samples(traffic_samples: Path, name: str) -> None:
    df = read_sample(traffic_samples, f"noisy/{name}", sort=True)
    out = cleaned(df)
    bad_pos = df["latitude"].isna().to_numpy()
    spikes = altitude_spikes(df)
    parked = parked_at_altitude(df)
    wrong = bad_pos | spikes | parked | displaced(df) | off_median_track(df)
    valid = out["valid"].to_numpy()
    assert not (valid & wrong).any(), out[valid & wrong]
    rest = ~wrong & fresh(df)
    assert valid[rest].mean() >= 0.99
    # every rejected row carries a known reason; valid rows none
    assert set(out["reject_reason"].dropna()) <= set(REASONS)
    assert out["reject_reason"].isna().to_numpy().tolist() == valid.tolist()


def test_quickstart_obvious_errors(traffic_samples: Path) -> None:
    df = read_sample(traffic_samples, "collections/quickstart", sort=True)
    out = cleaned(df)
    track = off_median_track(df)
    wrong = track | altitude_spikes(df) | parked_at_altitude(df)
    assert track.sum() >= 1  # a 1.5 km position glitch of 3991e0 at 14:54:53
    valid = out["valid"].to_numpy()
    assert not (valid & wrong).any(), out[valid & wrong]
    assert valid[~wrong & fresh(df)].mean() >= 0.99


def test_spoofed_episode_is_rejected(traffic_samples: Path) -> None:
    df = read_sample(traffic_samples, "noisy/noisy_spoofing", sort=True).dropna(subset=["latitude"])
    df = df.reset_index(drop=True)
    episode = displaced(df)  # between the two >100 km jumps that open and close it
    assert 1000 < episode.sum() < len(df) / 2
    big = np.flatnonzero(np.diff(episode.astype(int)))  # last row before, last row inside
    out = cleaned(df)
    valid = out["valid"].to_numpy()
    assert not valid[episode].any()
    assert valid[~episode & fresh(df)].mean() >= 0.99
    assert (out["reject_reason"][episode] == "spoofed").mean() > 0.5
    # the track after the episode is kept: it is where the aircraft really is
    assert valid[big[1] + 1 : big[1] + 61].all()


def test_exact_duplicates_flagged_and_nothing_else_changes(traffic_samples: Path) -> None:
    df = read_sample(traffic_samples, "noisy/noisy_landing", sort=True)
    base = cleaned(df)
    extra = df.sample(frac=0.2, random_state=3)
    both = pd.concat([df, extra]).sample(frac=1.0, random_state=4)
    out = clean(as_table(both)).to_pandas()
    assert len(out) == len(both)
    assert (out["reject_reason"] == "duplicate").sum() == len(extra)
    kept = out[out["reject_reason"] != "duplicate"].reset_index(drop=True)
    assert (kept["timestamp"].to_numpy() == base["timestamp"].to_numpy()).all()
    assert kept["valid"].tolist() == base["valid"].tolist()


def test_near_duplicates(traffic_samples: Path) -> None:
    df = read_sample(traffic_samples, "noisy/noisy_landing", sort=True)
    echo = df.sample(n=50, random_state=5).copy()
    lat, lon = destination(echo["latitude"].to_numpy(), echo["longitude"].to_numpy(), 45.0, 3.0)
    echo["latitude"], echo["longitude"] = lat, lon
    echo["timestamp"] = echo["timestamp"] + pd.Timedelta(milliseconds=200)
    out = clean(as_table(pd.concat([df, echo]))).to_pandas()
    assert (out["reject_reason"] == "near_duplicate").sum() == len(echo)


def test_buzzfeed_duplicates(shared_data: Path) -> None:
    df = read_rnc(shared_data)
    n_dup = int(df.duplicated(["icao24", "timestamp", "latitude", "longitude"]).sum())
    out = clean(as_table(df))
    stats = json.loads(out.schema.metadata[b"overflight:stats"])
    assert stats["records"] == len(df)
    assert stats["reasons"].get("duplicate") == n_dup > 0
    # one fix a minute from helicopters orbiting for hours: nearly all plausible
    assert stats["records"] - stats["rejected"] >= 0.98 * (len(df) - n_dup)


def test_input_is_not_modified(traffic_samples: Path) -> None:
    table = as_table(read_sample(traffic_samples, "noisy/noisy_ground", sort=True).iloc[::-1])
    before = table.to_pandas()
    clean(table)
    pd.testing.assert_frame_equal(table.to_pandas(), before)


def test_order_of_input_does_not_matter(traffic_samples: Path) -> None:
    df = read_sample(traffic_samples, "noisy/noisy_takeoff", sort=True)
    a = clean(as_table(df)).to_pandas()
    b = clean(as_table(df.sample(frac=1.0, random_state=9))).to_pandas()
    pd.testing.assert_frame_equal(a, b)


COORD = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(-0.01, 0.01),
    st.just(0.0),
)


@st.composite
def position_tables(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(0, 60))
    t = draw(st.lists(st.integers(0, 3 * 10**12), min_size=n, max_size=n))
    icao = draw(st.lists(st.sampled_from(["abc123", "4baac6", ""]), min_size=n, max_size=n))
    lat = draw(st.lists(COORD, min_size=n, max_size=n))
    lon = draw(st.lists(COORD, min_size=n, max_size=n))
    alt = draw(st.lists(st.one_of(st.none(), st.floats(-2000, 80_000)), min_size=n, max_size=n))
    gs = draw(st.lists(st.one_of(st.none(), st.floats(0, 700)), min_size=n, max_size=n))
    og = draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n))
    table = pa.table(
        {
            "timestamp": pa.array(t, pa.int64()).cast(MESSAGE_SCHEMA.field("timestamp").type),
            "icao24": pa.array(icao, pa.string()),
            "latitude": pa.array(lat, pa.float64()),
            "longitude": pa.array(lon, pa.float64()),
            "altitude": pa.array(alt, pa.float64()),
            "groundspeed": pa.array(gs, pa.float64()),
            "onground": pa.array(og, pa.bool_()),
        }
    )
    if n and draw(st.booleans()):  # exact duplicates
        table = pa.concat_tables([conform(table), conform(table.slice(0, max(1, n // 3)))])
    return conform(table)


@settings(max_examples=100, deadline=None)
@given(position_tables())
def test_random_tables_never_crash_and_keep_every_row(table: pa.Table) -> None:
    out = clean(table)
    assert out.num_rows == table.num_rows
    assert out.schema.names == POINT_SCHEMA.names
    valid = out["valid"].to_pylist()
    reasons = out["reject_reason"].to_pylist()
    assert all((r is None) == v for r, v in zip(reasons, valid, strict=True))
    assert {r for r in reasons if r is not None} <= set(REASONS)
    df = out.to_pandas()
    key = list(zip(df["icao24"], df["timestamp"], strict=True))
    assert key == sorted(key)
    lat, lon = df["latitude"].to_numpy(), df["longitude"].to_numpy()
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    assert not (np.asarray(valid, dtype=bool) & ~inside).any()
