"""to_positions: carry the latest fields onto position rows (real traffic samples)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.clean import to_positions
from overflight.clean.positions import IDENT_FIELDS, KINEMATIC_FIELDS
from overflight.schema import MESSAGE_SCHEMA, conform
from support.samples import as_table, read_sample

MS = pd.Timedelta(milliseconds=1)


def split_like_raw(df: pd.DataFrame, velocity_offset: pd.Timedelta) -> pd.DataFrame:
    """Each record as three raw-style messages: identification, velocity, position."""
    ident = df[["timestamp", "icao24", "callsign", "squawk"]].assign(
        timestamp=df["timestamp"] - 5 * MS
    )
    vel = df[["timestamp", "icao24", "groundspeed", "track", "vertical_rate"]].assign(
        timestamp=df["timestamp"] + velocity_offset
    )
    pos = df[["timestamp", "icao24", "latitude", "longitude", "altitude", "onground"]]
    out = pd.concat([ident, vel, pos], ignore_index=True)
    return out.sample(frac=1.0, random_state=7)  # arrival order is not time order


@pytest.fixture(scope="module")
def quick(traffic_samples: Path) -> pd.DataFrame:
    df = read_sample(traffic_samples, "collections/quickstart")
    keep = df["icao24"].isin(sorted(df["icao24"].unique())[:40])
    return df[keep].reset_index(drop=True)


def _expected_ffill(df: pd.DataFrame, col: str, max_age_s: float) -> pd.Series:
    """Independent reference: last non-null value at or before each row, if young enough."""
    d = df.sort_values(["icao24", "timestamp"], kind="stable")
    seen = d["timestamp"].where(d[col].notna())
    last_val = d.groupby("icao24")[col].ffill()
    last_t = seen.groupby(d["icao24"]).ffill()
    young = (d["timestamp"] - last_t).dt.total_seconds() <= max_age_s
    return last_val.where(young)


def test_complete_rows_come_back_sorted_and_unchanged(quick: pd.DataFrame) -> None:
    table = as_table(quick.sample(frac=1.0, random_state=1))
    out = to_positions(table)
    want = quick.sort_values(["icao24", "timestamp"], kind="stable").reset_index(drop=True)
    assert out.num_rows == len(want)
    got = out.to_pandas()
    for col in ("icao24", "latitude", "longitude", "callsign"):
        pd.testing.assert_series_equal(got[col], want[col], check_names=False, check_dtype=False)


def test_raw_style_messages_restore_each_record(quick: pd.DataFrame) -> None:
    raw = split_like_raw(quick, velocity_offset=-3 * MS)
    out = to_positions(as_table(raw)).to_pandas()
    # independent reference: the original records, with gaps filled as the docstring says
    want = quick.sort_values(["icao24", "timestamp"], kind="stable").reset_index(drop=True)
    assert len(out) == len(want)
    assert (out["timestamp"].to_numpy() == want["timestamp"].to_numpy()).all()
    for col, age in [("groundspeed", 10.0), ("track", 10.0), ("callsign", 1800.0)]:
        ref = _expected_ffill(quick, col, age).reset_index(drop=True)
        mask = want[col].notna().to_numpy()
        # where the record had the value, it comes back exactly
        assert (out[col].to_numpy()[mask] == want[col].to_numpy()[mask]).all(), col
        # where it had none, the carried value is the reference forward fill
        a = out[col].to_numpy()[~mask]
        b = ref.to_numpy()[~mask]
        same = (pd.isna(a) & pd.isna(b)) | (a == b)
        assert same.all(), col


def test_values_received_later_are_not_used(quick: pd.DataFrame) -> None:
    raw = split_like_raw(quick, velocity_offset=+3 * MS)
    out = to_positions(as_table(raw)).to_pandas()
    d = quick.sort_values(["icao24", "timestamp"], kind="stable").reset_index(drop=True)
    prev = d.groupby("icao24")["groundspeed"].shift(1)
    prev_t = d.groupby("icao24")["timestamp"].shift(1)
    recent = (d["timestamp"] - prev_t).dt.total_seconds() <= 10.0
    ok = prev.notna() & recent
    got = out["groundspeed"].to_numpy()
    assert (got[ok.to_numpy()] == prev[ok].to_numpy()).all()
    first = d.groupby("icao24").cumcount() == 0
    assert out["groundspeed"][first.to_numpy()].isna().all()


def test_max_age_drops_old_values(quick: pd.DataFrame) -> None:
    raw = split_like_raw(quick, velocity_offset=-3 * MS)
    strict = to_positions(as_table(raw), max_age_s=0.001).to_pandas()
    assert strict["groundspeed"].isna().all()  # 3 ms old: too old
    assert strict["callsign"].notna().sum() == quick["callsign"].notna().sum()


def test_input_is_not_modified(quick: pd.DataFrame) -> None:
    table = as_table(split_like_raw(quick.head(500), velocity_offset=-3 * MS))
    before = table.to_pandas()
    to_positions(table)
    pd.testing.assert_frame_equal(table.to_pandas(), before)


HEX = st.sampled_from(["abc123", "4baac6", "3c664e", "000001"])
FLOATS = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64))


@st.composite
def message_tables(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(0, 40))
    col = {
        "timestamp": draw(st.lists(st.integers(0, 10**11), min_size=n, max_size=n)),
        "icao24": draw(st.lists(HEX, min_size=n, max_size=n)),
        "latitude": draw(st.lists(FLOATS, min_size=n, max_size=n)),
        "longitude": draw(st.lists(FLOATS, min_size=n, max_size=n)),
        "groundspeed": draw(st.lists(FLOATS, min_size=n, max_size=n)),
        "callsign": draw(
            st.lists(st.one_of(st.none(), st.text(max_size=8)), min_size=n, max_size=n)
        ),
        "onground": draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)),
    }
    arrays = {
        "timestamp": pa.array(col["timestamp"], pa.int64()).cast(
            MESSAGE_SCHEMA.field("timestamp").type
        ),
        "icao24": pa.array(col["icao24"], pa.string()),
        "latitude": pa.array(col["latitude"], pa.float64()),
        "longitude": pa.array(col["longitude"], pa.float64()),
        "groundspeed": pa.array(col["groundspeed"], pa.float64()),
        "callsign": pa.array(col["callsign"], pa.string()),
        "onground": pa.array(col["onground"], pa.bool_()),
    }
    return conform(pa.table(arrays))


@settings(max_examples=150, deadline=None)
@given(message_tables())
def test_random_tables_never_crash_and_keep_every_position(table: pa.Table) -> None:
    out = to_positions(table)
    lat_ok = np.asarray(table["latitude"].is_valid())
    lon_ok = np.asarray(table["longitude"].is_valid())
    assert out.num_rows == int((lat_ok & lon_ok).sum())
    assert out.schema.names == MESSAGE_SCHEMA.names
    df = out.to_pandas()
    key = list(zip(df["icao24"], df["timestamp"], strict=True))
    assert key == sorted(key)
    assert set(IDENT_FIELDS) | set(KINEMATIC_FIELDS) <= set(out.column_names)
