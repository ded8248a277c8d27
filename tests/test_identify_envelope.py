"""Drone-like envelope on the real sample flights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from overflight.identify.envelope import ENVELOPE_SCHEMA, EnvelopeThresholds, flight_envelope

COLUMNS = ["flight_id", "timestamp", "altitude", "groundspeed", "vertical_rate"]


def _points(path: Path, name: str) -> pd.DataFrame:
    df = pd.read_json(path, dtype={"icao24": str})
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    df["flight_id"] = name
    for c in COLUMNS:
        if c not in df:
            df[c] = np.nan
    return df[COLUMNS].sort_values("timestamp")


def _table(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


def test_border_patrol_drone(traffic_samples: Path) -> None:
    """G-TEKV, a Tekever AR5 flown for UK Border Force, keeps the tactical envelope."""
    df = _points(traffic_samples / "surveillance/border_control.json.gz", "tekever")
    env = flight_envelope(_table(df)).to_pylist()[0]
    span_h = (df["timestamp"].max() - df["timestamp"].min()).total_seconds() / 3600
    assert env["duration_h"] == pytest.approx(span_h)
    assert env["median_groundspeed_kt"] == pytest.approx(df["groundspeed"].median())
    assert env["median_altitude_ft"] == pytest.approx(df["altitude"].median())
    assert env["envelope"] == "tactical" and env["drone_envelope"]
    # the same verdict when the vertical rate has to be derived from the altitudes
    env2 = flight_envelope(_table(df.assign(vertical_rate=np.nan))).to_pylist()[0]
    assert env2["drone_envelope"]


def test_gliders_are_not_level(traffic_samples: Path) -> None:
    files = sorted((traffic_samples / "gliders").glob("*.json.gz"))
    df = pd.concat([_points(f, f.stem) for f in files])
    env = flight_envelope(_table(df)).to_pandas()
    assert len(env) == len(files)
    assert not env["drone_envelope"].any()
    # independently: the share of reports within +-300 ft/min, unweighted
    share = df.groupby("flight_id")["vertical_rate"].apply(lambda v: (v.abs() <= 300).mean())
    assert (share < EnvelopeThresholds().min_level_fraction).all()
    assert (env["level_fraction"] < EnvelopeThresholds().min_level_fraction).all()


@pytest.mark.parametrize(
    "name",
    [
        "military/aircraft_carrier",  # US Navy C-2A, 3 h of carrier traffic
        "military/inflight_refuelling",  # KC-135, fast
        "featured/dreamliner_boeing",  # 18 h at 466 kt
        "surveys/texas",  # 4.6 h survey at 235 kt
        "ambulances/rega_sg",
    ],
)
def test_not_drone_like(traffic_samples: Path, name: str) -> None:
    env = flight_envelope(_table(_points(traffic_samples / f"{name}.json.gz", name)))
    assert env["drone_envelope"].to_pylist() == [False]


def test_documented_look_alikes(traffic_samples: Path) -> None:
    """TV relay and survey aircraft fly the same envelope (reported, not asserted away)."""
    rows = []
    for name in ("tv_relay/vasaloppet", "surveys/ign_fontainebleau", "surveys/liguria"):
        env = flight_envelope(_table(_points(traffic_samples / f"{name}.json.gz", name)))
        rows.append(env.to_pylist()[0])
    for r in rows:
        print(f"{r['flight_id']}: {r['envelope']} {r['duration_h']:.1f} h")
    assert any(r["drone_envelope"] for r in rows)


def _profile(hours: float, altitude_ft: float, speed_kt: float, seed: int = 0) -> pd.DataFrame:
    """A constructed track with the published cruise numbers of a type (not real data)."""
    rng = np.random.default_rng(seed)
    n = int(hours * 360)  # one report every 10 s
    t = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n) * 10, unit="s")
    return pd.DataFrame(
        {
            "flight_id": "profile",
            "timestamp": t,
            "altitude": altitude_ft + rng.normal(0, 25, n).round(-1),
            "groundspeed": speed_kt + rng.normal(0, 8, n),
            "vertical_rate": rng.normal(0, 64, n).round(-1),
        }
    )


def test_thresholds_on_fact_sheet_profiles() -> None:
    """MQ-9 (USAF fact sheet: ~200 kt cruise, typical 20,000 ft) and RQ-4 (~310 kt at 55,000 ft)."""
    mq9 = flight_envelope(_table(_profile(14, 20_000, 170))).to_pylist()[0]
    assert mq9["envelope"] == "male"
    rq4 = flight_envelope(_table(_profile(20, 55_000, 310))).to_pylist()[0]
    assert rq4["envelope"] == "hale"
    assert not flight_envelope(_table(_profile(3, 20_000, 170)))["drone_envelope"][0].as_py()
    assert not flight_envelope(_table(_profile(8, 36_000, 450)))["drone_envelope"][0].as_py()


def test_invalid_points_are_ignored(traffic_samples: Path) -> None:
    df = _points(traffic_samples / "surveillance/border_control.json.gz", "x")
    t = _table(df).append_column("valid", pa.array(np.zeros(len(df), dtype=bool)))
    assert flight_envelope(t).num_rows == 0
    half = np.arange(len(df)) < len(df) // 2  # first half only: too short
    t = _table(df).append_column("valid", pa.array(half))
    env = flight_envelope(t).to_pylist()[0]
    assert env["duration_h"] < 2.5 and not env["drone_envelope"]


def test_empty_and_schema() -> None:
    empty = pa.table(
        {
            "flight_id": pa.array([], pa.string()),
            "timestamp": pa.array([], pa.timestamp("ns", tz="UTC")),
        }
    )
    out = flight_envelope(empty)
    assert out.schema.equals(ENVELOPE_SCHEMA)
    out = flight_envelope(_table(_profile(5, 20_000, 170)))
    assert out.schema.equals(ENVELOPE_SCHEMA)
