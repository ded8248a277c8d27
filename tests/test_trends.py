"""Trends on a multi-week dataset replayed from real traffic sample trajectories.

Real flights (a UK border-control patrol over the Strait of Dover, a US Navy
flight off San Diego, airliners around Paris, calibration flights) are replayed
on chosen days by shifting their timestamps.  The focus "airspace" is a circle
of 15 km radius near Cap Gris-Nez, so distances are plain haversine to its
centre minus the radius, independent of the airspace stage.  Every expected
count is derived here from the replay schedule with plain Python loops.
"""

from __future__ import annotations

import csv
import gzip
import json
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.geodesy import haversine_m
from overflight.schema import EVENT_SCHEMA, TIMESTAMP, conform
from overflight.trends import (
    ChangePoint,
    change_points,
    daily_activity,
    daily_series,
    focus_distance_m,
    trend_plot_svg,
    trends,
    weekly_activity,
    write_trends,
)

FOCUS = "FRA"
CENTRE = (51.0, 1.7)  # near Cap Gris-Nez
RADIUS_M = 15_000.0
NEAR_KM = 20.0
DAY0 = date(2024, 1, 1)  # a Monday
STEP_DAY = 28  # first day of the busy regime
N_DAYS = 49
NS_DAY = 86_400 * 10**9
NS_H = 3_600 * 10**9
#: (track, day, hour offset, mission, registry country) of one replayed flight
Replay = tuple[str, int, float, str | None, str | None]
Expected = defaultdict[date, defaultdict[str, float]]


def circle_distance_m(lat: Any, lon: Any) -> Any:
    """Metres outside the focus circle (0 inside), NaN for missing positions."""
    return np.maximum(haversine_m(lat, lon, *CENTRE) - RADIUS_M, 0.0)


def _load(path: Path) -> pd.DataFrame:
    with gzip.open(path, "rt") as f:
        raw = pd.DataFrame(json.load(f))
    ts = raw["timestamp"]
    t = (
        ts.astype("int64") * 10**6
        if np.issubdtype(ts.dtype, np.number)
        else pd.to_datetime(ts, utc=True).astype("int64")
    )
    return pd.DataFrame(
        {
            "t": np.asarray(t, dtype=np.int64),
            "icao24": raw["icao24"].astype(str),
            "callsign": raw["callsign"].astype(str),
            "latitude": pd.to_numeric(raw["latitude"]).astype(float),
            "longitude": pd.to_numeric(raw["longitude"]).astype(float),
        }
    ).sort_values("t", ignore_index=True)


@pytest.fixture(scope="module")
def tracks(traffic_samples: Path) -> dict[str, pd.DataFrame]:
    out = {
        "patrol": _load(traffic_samples / "surveillance" / "border_control.json.gz"),
        "navy": _load(traffic_samples / "military" / "aircraft_carrier.json.gz"),
    }
    # the patrol with 15 minutes of coverage missing (a real gap shape: a hole)
    p = out["patrol"]
    t0 = p["t"].iloc[0] + NS_H
    out["patrol_gap"] = p[(p["t"] < t0) | (p["t"] >= t0 + 15 * 60 * 10**9)].reset_index(drop=True)
    quick = _load(traffic_samples / "collections" / "quickstart.json.gz")
    for k, (_, g) in enumerate(list(quick.groupby(["icao24", "callsign"]))[:3]):
        out[f"airliner{k}"] = g.reset_index(drop=True)
    for name in ("bornholm", "kiruna", "lisbon"):
        out[name] = _load(traffic_samples / "calibration" / f"{name}.json.gz")
    return out


def _schedule(busy: bool) -> list[Replay]:
    """(track, day, hour offset, mission, registry) for every replayed flight."""
    s: list[Replay] = []
    for day in range(N_DAYS):
        if busy and day >= STEP_DAY:
            for k, hour in enumerate((0, 6, 12)):
                track = "patrol_gap" if (day + k) % 4 == 0 else "patrol"
                s.append((track, day, hour, "surveillance", "GBR"))
        elif day % 3 == 0:
            s.append(("patrol_gap" if day % 4 == 0 else "patrol", day, 0, "surveillance", "GBR"))
        if day % 7 == 2:  # a non-surveillance pass, its time near the focus split by midnight
            s.append(("patrol", day, 18.51, "transport", "FRA" if day % 14 == 2 else None))
        if day % 2 == 0:
            s.append(("navy", day, 0, None, "USA"))
        for k in range(3):
            s.append((f"airliner{k}", day, 0, "commercial", "FRA"))
    for k, name in enumerate(("bornholm", "kiruna", "lisbon")):
        s.append((name, 5 + 11 * k, 0, None, "DNK"))
    return s


def _replay(
    tracks: dict[str, pd.DataFrame], schedule: list[Replay]
) -> tuple[pa.Table, pa.Table, pa.Table]:
    points, flights, events = [], [], []
    for n, (name, day, hour, mission, registry) in enumerate(schedule):
        tr = tracks[name]
        first = datetime.fromtimestamp(tr["t"].iloc[0] / 1e9, UTC).date()
        shift = (DAY0 + timedelta(days=day) - first).days * NS_DAY + int(hour * NS_H)
        t = tr["t"].to_numpy() + shift
        fid = f"{name}-{n}"
        valid = np.isfinite(tr["latitude"]) & np.isfinite(tr["longitude"])
        points.append(
            pd.DataFrame(
                {
                    "timestamp": pd.to_datetime(t, utc=True),
                    "icao24": tr["icao24"],
                    "callsign": tr["callsign"],
                    "latitude": tr["latitude"],
                    "longitude": tr["longitude"],
                    "flight_id": fid,
                    "valid": valid,
                }
            )
        )
        flights.append(
            {
                "flight_id": fid,
                "icao24": tr["icao24"].iloc[0],
                "start": t[0],
                "stop": t[-1],
                "mission": mission,
                "registry_country": registry,
            }
        )
        inside = (circle_distance_m(tr["latitude"], tr["longitude"]) == 0.0).to_numpy()
        tv = t[valid.to_numpy()]
        iv = inside[valid.to_numpy()]
        for i in np.flatnonzero(iv[1:] & ~iv[:-1]) + 1:
            for kind, country in (("airspace_entry", FOCUS), ("airspace_entry", "GBR")):
                events.append(
                    {
                        "flight_id": fid,
                        "icao24": "x",
                        "kind": kind,
                        "country": country,
                        "start": tv[i],
                    }
                )
            events.append(
                {
                    "flight_id": fid,
                    "icao24": "x",
                    "kind": "airspace_exit",
                    "country": FOCUS,
                    "start": tv[i] + 1,
                }
            )
    pts = pa.Table.from_pandas(pd.concat(points, ignore_index=True), preserve_index=False)
    fl = pd.DataFrame(flights)
    fl["start"] = pd.to_datetime(fl["start"], utc=True)
    fl["stop"] = pd.to_datetime(fl["stop"], utc=True)
    ev = pd.DataFrame(events)
    ev["start"] = pd.to_datetime(ev["start"], utc=True)
    return (
        pts,
        pa.Table.from_pandas(fl, preserve_index=False),
        conform(pa.Table.from_pandas(ev, preserve_index=False), EVENT_SCHEMA),
    )


def _relative(track: pd.DataFrame, hour: float) -> dict[int, defaultdict[str, float]]:
    """Per day after the replay day: near (0/1), hours near, entries; by plain loops."""
    first = datetime.fromtimestamp(track["t"].iloc[0] / 1e9, UTC).date()
    shift = timedelta(days=(DAY0 - first).days, hours=hour)
    out: dict[int, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
    prev: tuple[datetime, bool, bool] | None = None
    for t_ns, lat, lon in zip(track["t"], track["latitude"], track["longitude"], strict=True):
        if not (np.isfinite(lat) and np.isfinite(lon)):
            continue
        when = datetime.fromtimestamp(t_ns // 10**9, UTC) + timedelta(
            microseconds=(t_ns % 10**9) // 1000
        )
        when += shift
        d = float(circle_distance_m(lat, lon))
        near, inside = d <= NEAR_KM * 1000, d == 0.0
        if near:
            out[(when.date() - DAY0).days]["near"] = 1
        if prev is not None:
            pwhen, pnear, pinside = prev
            if near and pnear and (when - pwhen) <= timedelta(minutes=10):
                midnight = datetime.combine(when.date(), datetime.min.time(), UTC)
                for a, b in ((pwhen, min(when, midnight)), (max(pwhen, midnight), when)):
                    if b > a:
                        out[(a.date() - DAY0).days]["hours"] += (b - a).total_seconds() / 3600
            if inside and not pinside:
                out[(when.date() - DAY0).days]["entries"] += 1
        prev = (when, near, inside)
    return out


def _expected(tracks: dict[str, pd.DataFrame], schedule: list[Replay]) -> Expected:
    """Daily expectations: each replayed flight's relative counts, placed on its day."""
    cache: dict[tuple[str, float], dict[int, defaultdict[str, float]]] = {}
    exp: Expected = defaultdict(lambda: defaultdict(float))
    for name, day, hour, mission, registry in schedule:
        if (name, hour) not in cache:
            cache[(name, hour)] = _relative(tracks[name], hour)
        surv = mission == "surveillance"
        for delta, c in cache[(name, hour)].items():
            e = exp[DAY0 + timedelta(days=day + delta)]
            e["flights_near"] += c["near"]
            e["surveillance_flights_near"] += c["near"] * surv
            e["flight_hours_near"] += c["hours"]
            e["surveillance_hours_near"] += c["hours"] * surv
            e["entries"] += c["entries"]
            e["foreign_entries"] += c["entries"] * (registry not in (None, FOCUS))
    return exp


@pytest.fixture(scope="module")
def busy(
    tracks: dict[str, pd.DataFrame],
) -> tuple[tuple[pa.Table, pa.Table, pa.Table], Expected]:
    s = _schedule(busy=True)
    return _replay(tracks, s), _expected(tracks, s)


@pytest.fixture(scope="module")
def busy_daily(busy: Any) -> pa.Table:
    (points, flights, events), _ = busy
    return daily_activity(points, flights, events, FOCUS, NEAR_KM, circle_distance_m)


def test_daily_counts_match_the_replay_schedule(busy: Any, busy_daily: pa.Table) -> None:
    _, exp = busy
    got = busy_daily.to_pylist()
    days = [r["day"] for r in got]
    assert days == [days[0] + timedelta(days=i) for i in range(len(days))]  # no holes
    assert days[0] == DAY0 and days[-1] >= DAY0 + timedelta(days=N_DAYS - 1)
    assert sum(exp[d]["surveillance_flights_near"] for d in exp) == 10 + 3 * (N_DAYS - STEP_DAY)
    for row in got:
        e = exp[row["day"]]
        for col in ("flights_near", "surveillance_flights_near", "entries", "foreign_entries"):
            assert row[col] == e[col], (row["day"], col)
        for col in ("flight_hours_near", "surveillance_hours_near"):
            assert row[col] == pytest.approx(e[col], abs=1e-9), (row["day"], col)
    # the 18.51 h transport pass is near on both sides of midnight: hours split
    assert exp[DAY0 + timedelta(days=2)]["flight_hours_near"] > 0.5
    day3 = exp[DAY0 + timedelta(days=3)]
    assert day3["flight_hours_near"] - day3["surveillance_hours_near"] > 0.5
    # the patrol spends hours near the focus; the 15-minute hole is not counted
    assert 1.0 < max(r["surveillance_hours_near"] for r in got) / 3 < 4.1
    stats = json.loads(busy_daily.schema.metadata[b"overflight:stats"])
    assert stats["focus"] == FOCUS and stats["points_skipped"] > 0  # the navy track's NaN fixes


def test_distance_inputs_agree_and_inputs_are_untouched(busy: Any, busy_daily: pa.Table) -> None:
    (points, flights, events), _ = busy
    before = points.to_pandas()
    dist = circle_distance_m(points["latitude"].to_numpy(), points["longitude"].to_numpy())
    shuffled = points.take(np.random.default_rng(0).permutation(points.num_rows))
    sdist = circle_distance_m(shuffled["latitude"].to_numpy(), shuffled["longitude"].to_numpy())
    again = daily_activity(
        shuffled, flights, events, FOCUS.lower(), NEAR_KM, pa.array(sdist - 5.0 * (sdist == 0))
    )
    assert again.equals(busy_daily)
    assert daily_activity(points, flights, events, FOCUS, NEAR_KM, dist).equals(busy_daily)
    pd.testing.assert_frame_equal(points.to_pandas(), before)
    with pytest.raises(ValueError, match="one focus distance per point"):
        focus_distance_m(points, FOCUS, dist[:-1])


def test_country_column_fallback_counts_inside_only(busy: Any) -> None:
    (points, flights, events), _ = busy
    dist = circle_distance_m(points["latitude"].to_numpy(), points["longitude"].to_numpy())
    with_country = points.append_column(
        "country", pa.array(np.full(dist.shape, FOCUS, object), mask=dist != 0.0)
    )
    a = daily_activity(with_country, flights, events, FOCUS, NEAR_KM, None)
    b = daily_activity(points, flights, events, FOCUS, 0.0, dist)
    assert a.to_pydict() == b.to_pydict()


def test_weekly_sums_per_iso_week(busy_daily: pa.Table) -> None:
    weekly = weekly_activity(busy_daily).to_pylist()
    sums: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    for row in busy_daily.to_pylist():
        y, w, _ = row["day"].isocalendar()
        sums[(y, w)].update({k: v for k, v in row.items() if k != "day"})
        sums[(y, w)]["days"] += 1
    assert len(weekly) == len(sums)
    for row in weekly:
        assert row["week"].weekday() == 0
        y, w, _ = row["week"].isocalendar()
        assert row["iso_week"] == f"{y}-W{w:02d}"
        for k, v in sums[(y, w)].items():
            assert row[k] == pytest.approx(v), (row["iso_week"], k)


def test_change_point_at_the_step(busy_daily: pa.Table) -> None:
    step = DAY0 + timedelta(days=STEP_DAY)
    for method in ("l2", "rbf"):
        for col in ("surveillance_flights_near", "surveillance_hours_near"):
            cps = change_points(daily_series(busy_daily, col), method)
            assert len(cps) == 1, (method, col, cps)
            assert abs((cps[0].day - step).days) <= 2, (method, col, cps)
            assert cps[0].after_mean > 3 * cps[0].before_mean
    s = daily_series(busy_daily, "surveillance_flights_near")
    (cp,) = change_points(s)
    assert cp.before_mean == pytest.approx(s[s.index < pd.Timestamp(cp.day)].mean())
    assert change_points(s.iloc[:13]) == []


def test_no_change_on_a_constant_schedule(tracks: dict[str, pd.DataFrame]) -> None:
    points, flights, events = _replay(tracks, _schedule(busy=False))
    result = trends(points, flights, events, FOCUS, NEAR_KM, circle_distance_m)
    assert result.changes == {"surveillance_flights_near": [], "surveillance_hours_near": []}
    assert sum(result.daily["surveillance_flights_near"].to_pylist()) == len(range(0, N_DAYS, 3))


def test_no_change_on_stationary_counts() -> None:
    rng = np.random.default_rng(20240101)
    days = pd.date_range("2024-01-01", periods=N_DAYS, freq="D")
    hits = sum(
        bool(change_points(pd.Series(rng.poisson(lam, N_DAYS).astype(float), index=days)))
        for lam in np.repeat([0.3, 1.0, 3.0, 10.0], 10)
    )
    assert hits <= 2  # false-alarm rate of the penalty: about 1 % on such series


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(0, 1e4), st.just(float("nan")), st.integers(0, 5).map(float)),
        max_size=120,
    ),
    st.sampled_from(["l2", "rbf"]),
)
def test_change_points_never_crash(values: list[float], method: str) -> None:
    s = pd.Series(
        values, index=pd.date_range("2023-12-25", periods=len(values), freq="D"), dtype=float
    )
    cps = change_points(s, method)
    assert all(isinstance(c, ChangePoint) and np.isfinite(c.before_mean) for c in cps)
    assert [c.day for c in cps] == sorted({c.day for c in cps})
    if cps:
        assert cps[0].day >= (s.index[0] + pd.Timedelta(days=7)).date()


def test_svg_and_files(busy_daily: pa.Table, tmp_path: Path) -> None:
    changes = {
        c: change_points(daily_series(busy_daily, c))
        for c in ("surveillance_flights_near", "surveillance_hours_near")
    }
    n_changes = sum(map(len, changes.values()))
    svg = ET.fromstring(trend_plot_svg(busy_daily, changes, title="Near FRA"))
    ns = "{http://www.w3.org/2000/svg}"
    marks = [g for g in svg.iter(f"{ns}g") if g.get("class") == "change-point"]
    assert len(marks) == n_changes == 2
    texts = [t.text or "" for t in svg.iter(f"{ns}text")]
    assert "2024-01-08" in texts and "Near FRA" in texts  # a Monday tick and the title
    assert ET.fromstring(trend_plot_svg(busy_daily.slice(0, 0))).tag == f"{ns}svg"

    weekly = weekly_activity(busy_daily)
    paths = write_trends(tmp_path / "out", busy_daily, weekly, changes)
    assert sorted(p.name for p in paths.values()) == [
        "trends.json",
        "trends.svg",
        "trends_daily.csv",
        "trends_weekly.csv",
    ]
    with paths["trends_daily.csv"].open() as f:
        rows = list(csv.DictReader(f))
    assert [date.fromisoformat(r["day"]) for r in rows] == busy_daily["day"].to_pylist()
    assert [int(r["surveillance_flights_near"]) for r in rows] == busy_daily[
        "surveillance_flights_near"
    ].to_pylist()
    hours = busy_daily["flight_hours_near"].to_pylist()
    assert [float(r["flight_hours_near"]) for r in rows] == pytest.approx(hours, abs=5e-5)
    assert all(len(r["flight_hours_near"].partition(".")[2]) <= 4 for r in rows)
    with paths["trends_weekly.csv"].open() as f:
        assert next(csv.reader(f))[:3] == ["week", "iso_week", "days"]
    doc = json.loads(paths["trends.json"].read_text())
    cp = changes["surveillance_flights_near"][0]
    assert doc["changes"]["surveillance_flights_near"] == [
        {"day": cp.day.isoformat(), "before_mean": cp.before_mean, "after_mean": cp.after_mean}
    ]
    assert doc["stats"]["near_km"] == NEAR_KM
    ET.fromstring(paths["trends.svg"].read_text())


def test_an_empty_panel_keeps_a_readable_axis(busy_daily: pa.Table) -> None:
    """No surveillance hours at all: the axis still runs up from 0 (it read 0 at every tick)."""
    i = busy_daily.schema.get_field_index("surveillance_hours_near")
    zero = pa.array(np.zeros(busy_daily.num_rows))
    svg = ET.fromstring(trend_plot_svg(busy_daily.set_column(i, "surveillance_hours_near", zero)))
    ns = "{http://www.w3.org/2000/svg}"
    (panel,) = [g for g in svg.iter(f"{ns}g") if g.get("data-series") == "surveillance_hours_near"]
    ticks = [float(t.text) for t in panel.iter(f"{ns}text") if t.get("text-anchor") == "end"]
    assert ticks[0] == 0 and len(set(ticks)) == len(ticks) > 1
    assert not [r for r in panel.iter(f"{ns}rect")]  # no bars


def test_empty_inputs() -> None:
    pts = pa.table(
        {
            "timestamp": pa.array([], TIMESTAMP),
            "flight_id": pa.array([], pa.string()),
            "latitude": pa.array([], pa.float64()),
            "longitude": pa.array([], pa.float64()),
        }
    )
    daily = daily_activity(
        pts,
        pa.table({"flight_id": pa.array([], pa.string())}),
        EVENT_SCHEMA.empty_table(),
        FOCUS,
        10,
        circle_distance_m,
    )
    assert daily.num_rows == 0 and weekly_activity(daily).num_rows == 0
    assert change_points(daily_series(daily, "entries")) == []
