"""split_flights / flights_table / run on real traffic (quickstart, shifted copies, BuzzFeed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.clean import clean, flights_table, run, split_flights, to_positions
from overflight.schema import FLIGHT_SCHEMA, MESSAGE_SCHEMA, POINT_SCHEMA, conform
from support.samples import as_table, read_rnc, read_sample

H = pd.Timedelta(hours=1)


def stamp(t: pd.Timestamp) -> str:
    return str(t.strftime("%Y%m%dT%H%M%SZ"))


@pytest.fixture(scope="module")
def quickstart(traffic_samples: Path) -> pd.DataFrame:
    return read_sample(traffic_samples, "collections/quickstart")


@pytest.fixture(scope="module")
def quick_run(quickstart: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    points, flights = run(as_table(quickstart))
    return points.to_pandas(), flights.to_pandas()


def test_quickstart_flights_match_callsigns(quick_run: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    points, flights = quick_run
    # independent reference: one flight per (icao24, callsign), as flown by airlines
    ref = points["icao24"] + "/" + points["callsign"].fillna("")
    pairs = pd.crosstab(points["flight_id"], ref) > 0
    one_to_one = (pairs.sum(axis=0) == 1) & (
        pairs.sum(axis=1)[pairs.idxmax(axis=0)].to_numpy() == 1
    )
    assert one_to_one.mean() >= 0.9
    assert len(flights) == points["flight_id"].nunique()
    assert flights["flight_id"].is_unique


def test_flight_ids_are_icao_and_first_valid_fix(
    quick_run: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    points, flights = quick_run
    assert points["flight_id"].notna().all()
    first = points[points["valid"]].groupby("flight_id")["timestamp"].min()
    icao = points.groupby("flight_id")["icao24"].first()
    want = icao + "_" + first.map(stamp)
    assert (want.index == want.to_numpy()).all()
    f = flights.set_index("flight_id")
    assert (f.loc[first.index, "start"] == first).all()
    assert (f["n_points"] == points[points["valid"]].groupby("flight_id").size()).all()
    assert pa.Table.from_pandas(flights, preserve_index=False).schema.names == FLIGHT_SCHEMA.names


def test_flight_ids_do_not_depend_on_order_or_chunks(quickstart: pd.DataFrame) -> None:
    some = quickstart[quickstart["icao24"].isin(sorted(quickstart["icao24"].unique())[:30])]
    a, _ = run(as_table(some))
    b, _ = run(as_table(some.sample(frac=1.0, random_state=2)))
    ids = sorted(set(a["flight_id"].to_pylist()))
    assert ids == sorted(set(b["flight_id"].to_pylist()))
    halves = sorted(some["icao24"].unique())
    c1, _ = run(as_table(some[some["icao24"].isin(halves[:15])]))
    c2, _ = run(as_table(some[some["icao24"].isin(halves[15:])]))
    chunked = set(c1["flight_id"].to_pylist()) | set(c2["flight_id"].to_pylist())
    assert sorted(chunked) == ids


def test_same_aircraft_hours_apart_makes_separate_flights(traffic_samples: Path) -> None:
    one = read_sample(traffic_samples, "noisy/noisy_landing")
    shifts = [pd.Timedelta(0), 6 * H, 30 * H]  # same day, next day
    days = pd.concat([one.assign(timestamp=one["timestamp"] + s) for s in shifts])
    points, flights = run(as_table(days))
    assert len(flights) == 3
    first = one["timestamp"].min()
    want = [f"{one['icao24'].iloc[0]}_{stamp(first + s)}" for s in shifts]
    assert flights["flight_id"].to_pylist() == want
    counts = points.to_pandas().groupby("flight_id").size()
    assert (counts == len(one)).all()


def test_turnaround_on_the_ground_splits_even_without_a_long_gap(quickstart: pd.DataFrame) -> None:
    # a real turnaround (EasyJet at Orly): the callsign changes while on the ground;
    # bring the second leg forward so the reception gap is below gap_s
    q = quickstart[quickstart["icao24"] == "4400ec"].sort_values("timestamp")
    legs = q["callsign"].unique()
    assert len(legs) == 2
    second = q["callsign"] == legs[1]
    gap = q["timestamp"][second].min() - q["timestamp"][~second].max()
    assert gap > pd.Timedelta(minutes=30)
    q = q.assign(
        timestamp=q["timestamp"].where(~second, q["timestamp"] - gap + pd.Timedelta(minutes=16))
    )
    points, flights = run(as_table(q))
    assert len(flights) == 2
    pts = points.to_pandas()
    by_leg = pts.groupby("callsign")["flight_id"].nunique()
    assert (by_leg == 1).all()
    assert pts.groupby("flight_id")["callsign"].nunique().max() == 1
    # without on-ground information only the gap rule applies: one flight
    _, merged = run(as_table(q.drop(columns=["onground"])))
    assert len(merged) == 1


def test_buzzfeed_orbits_are_not_cut_by_minute_sampling(shared_data: Path) -> None:
    df = read_rnc(shared_data)
    points, fl = run(as_table(df))
    pts, flights = points.to_pandas(), fl.to_pandas()
    gap = pts.groupby("icao24")["timestamp"].diff()
    changed = pts["flight_id"] != pts.groupby("icao24")["flight_id"].shift()
    inner = gap.notna()
    # fixes at most 10 minutes apart are never cut apart
    assert not (changed & inner & (gap <= pd.Timedelta(minutes=10))).any()
    # at most a few sorties a day per aircraft, and flights last long
    days = pts.groupby(["icao24", pts["timestamp"].dt.date]).ngroups
    assert len(flights) <= 3 * days
    duration = (flights["stop"] - flights["start"]).dt.total_seconds()
    assert duration.median() > 1800


@st.composite
def point_tables(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(0, 50))
    t = draw(st.lists(st.integers(0, 10**13), min_size=n, max_size=n))
    table = pa.table(
        {
            "timestamp": pa.array(t, pa.int64()).cast(MESSAGE_SCHEMA.field("timestamp").type),
            "icao24": pa.array(
                draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
            ),
            "latitude": pa.array(draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n))),
            "longitude": pa.array(draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n))),
            "onground": pa.array(
                draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)),
                pa.bool_(),
            ),
            "valid": pa.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), pa.bool_()),
        }
    )
    return conform(table, POINT_SCHEMA)


@settings(max_examples=100, deadline=None)
@given(point_tables())
def test_random_points_get_a_flight_each(table: pa.Table) -> None:
    out = split_flights(table)
    assert out.num_rows == table.num_rows
    assert out["flight_id"].null_count == 0
    fl = flights_table(out)
    assert sum(fl["n_points"].to_pylist()) == sum(table["valid"].to_pylist())
    assert len(set(fl["flight_id"].to_pylist())) == fl.num_rows
    # clean -> split on the same random positions never crashes either
    split_flights(clean(to_positions(table.select(MESSAGE_SCHEMA.names))))
    assert np.all(
        np.asarray(fl["start"].cast(pa.int64())) <= np.asarray(fl["stop"].cast(pa.int64()))
    )
