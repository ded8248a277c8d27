"""readsb reader on a real trace_full file and on aircraft.json built from the documented fields."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overflight.errors import FormatError, InputError
from overflight.ingest import head_bytes, readsb
from overflight.ingest._columns import stats_of

TRACE = "trajectories/readsb_trace_full_ac671b_DAL1812.json"
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_trace_points_match_json(shared_data: Path) -> None:
    path = shared_data / TRACE
    doc = json.loads(path.read_text())
    trace = doc["trace"]
    table = readsb.read(path)
    assert readsb.sniff(head_bytes(path), path)
    assert table.num_rows == len(trace)
    df = table.to_pandas()
    assert set(df["icao24"]) == {doc["icao"]}
    # time = timestamp + dt, computed exactly in decimal from the JSON text
    base = Decimal(repr(doc["timestamp"]))
    want_ns = [int((base + Decimal(repr(p[0]))) * 10**9) for p in trace]
    got_ns = df["timestamp"].astype("int64").to_numpy()
    assert np.abs(got_ns - np.array(want_ns)).max() <= 1000  # 1 us
    np.testing.assert_array_equal(df["latitude"], [p[1] for p in trace])
    np.testing.assert_array_equal(df["longitude"], [p[2] for p in trace])
    ground = np.array([p[3] == "ground" for p in trace])
    assert ground.any()
    assert df["onground"].to_numpy(dtype=bool)[ground].all()
    assert df["altitude"][ground].isna().all()
    alts = [float(p[3]) for p in trace if isinstance(p[3], int | float)]
    np.testing.assert_array_equal(df["altitude"][~ground].dropna(), alts)
    np.testing.assert_array_equal(
        df["groundspeed"].to_numpy(dtype=float), [np.nan if p[4] is None else p[4] for p in trace]
    )


def test_trace_callsign_and_squawk_only_where_details(shared_data: Path) -> None:
    path = shared_data / TRACE
    trace = json.loads(path.read_text())["trace"]
    df = readsb.read(path).to_pandas()
    calls = [p[8]["flight"].strip() if p[8] and "flight" in p[8] else None for p in trace]
    squawks = [p[8].get("squawk") if p[8] else None for p in trace]
    assert [c if isinstance(c, str) else None for c in df["callsign"]] == calls
    assert [s if isinstance(s, str) else None for s in df["squawk"]] == squawks
    assert {"DAL1812", "DAL2927"} <= set(df["callsign"].dropna())


def test_traffic_sample_is_the_same_trace(shared_data: Path, traffic_samples: Path) -> None:
    a = readsb.read(shared_data / TRACE).drop_columns(["source"])
    b = readsb.read(traffic_samples / "readsb" / "trace_full_ac671b.json").drop_columns(["source"])
    assert a.equals(b)


def _trace_doc(points: list[list[Any]]) -> dict[str, Any]:
    return {"icao": "~3c6444", "timestamp": 1700000000.5, "trace": points}


def test_trace_geometric_altitude_flag_and_old_9_field_points(tmp_path: Path) -> None:
    points: list[list[Any]] = [
        [0.0, 50.0, 8.0, 30000, 400.0, 90.0, 8, 64, None, "adsb_icao", None, 32, 250, 0.0],
        [1.5, 50.1, 8.1, 30100, 401.0, 91.0, 4, -64, {"flight": "DLH1  ", "squawk": "1000"}],
    ]
    path = tmp_path / "trace_full_3c6444.json"
    path.write_text(json.dumps(_trace_doc(points)))
    df = readsb.read(path).to_pandas()
    assert df["icao24"].tolist() == ["~3c6444", "~3c6444"]  # non-ICAO mark kept
    assert np.isnan(df["altitude"][0]) and df["geoaltitude"][0] == 30000
    assert df["altitude"][1] == 30100 and df["vertical_rate"][1] == -64
    assert df["callsign"][1] == "DLH1" and df["squawk"][1] == "1000"
    assert df["timestamp"].astype("int64").tolist() == [1700000000500000000, 1700000002000000000]
    stripped = readsb.read(path, non_icao="strip").column("icao24").to_pylist()
    assert stripped == ["3c6444", "3c6444"]
    with pytest.raises(FormatError):
        readsb.read(path, non_icao="drop")


def _aircraft_json(path: Path, now: float) -> None:
    aircraft = [
        {
            "hex": "3C6444",
            "flight": "DLH9U   ",
            "alt_baro": 37000,
            "alt_geom": 37650,
            "gs": 451.3,
            "track": 92.4,
            "baro_rate": -64,
            "geom_rate": -32,
            "squawk": "1000",
            "lat": 50.1,
            "lon": 8.6,
            "seen_pos": 1.5,
            "seen": 0.2,
            "messages": 120,
        },
        {
            "hex": "4ca2d6",
            "alt_baro": "ground",
            "gs": 12.0,
            "lat": 53.42,
            "lon": -6.27,
            "seen_pos": 0.0,
            "seen": 0.0,
        },
        {"hex": "~2b00f1", "alt_baro": 2000, "seen": 3.0, "type": "tisb_other"},
        {
            "hex": "a1b2c3",
            "altitude": 12000,
            "speed": 250,
            "vert_rate": 512,
            "lat": 40.0,
            "lon": -75.0,
            "seen_pos": 10,
            "squawk": "7000",
        },
        {"hex": "nothex", "lat": 1.0, "lon": 2.0},
        "not an object",
    ]
    path.write_text(json.dumps({"now": now, "messages": 999, "aircraft": aircraft}))


@pytest.mark.parametrize("scale", [1, 1000])  # seconds (readsb) or milliseconds (ADSBx v2)
def test_aircraft_json_documented_fields(tmp_path: Path, scale: int) -> None:
    path = tmp_path / "aircraft.json"
    now = 1700000000.0
    _aircraft_json(path, now * scale)
    assert readsb.sniff(head_bytes(path), path)
    table = readsb.read(path)
    df = table.to_pandas()
    assert df["icao24"].tolist() == ["3c6444", "4ca2d6", "~2b00f1", "a1b2c3"]
    seconds = df["timestamp"].astype("int64").to_numpy() / 1e9
    np.testing.assert_allclose(seconds, [now - 1.5, now, now - 3.0, now - 10], atol=1e-6)
    assert df["callsign"][0] == "DLH9U"
    assert df["altitude"].tolist()[0] == 37000 and np.isnan(df["altitude"][1])
    assert df["onground"].tolist() == [False, True, False, False]
    assert df["geoaltitude"][0] == 37650 and df["vertical_rate"][0] == -64  # baro preferred
    assert df["groundspeed"][3] == 250 and df["vertical_rate"][3] == 512  # dump1090 names
    assert df["squawk"].tolist()[0] == "1000"
    stats = stats_of(table)
    assert stats["reasons"] == {"record": 1, "icao24": 1}
    assert stats["first_rejected"] == ["aircraft 5: icao24", "aircraft 6: record"]


def test_json_that_is_not_readsb(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"result": {"flights": []}}))
    with pytest.raises(FormatError, match="not readsb JSON"):
        readsb.read(path)
    assert not readsb.sniff(head_bytes(path), path)
    broken = tmp_path / "broken.json"
    broken.write_text('{"now": 1,\n "aircraft": [\n {"hex": }]}')
    with pytest.raises(FormatError, match=r"broken\.json, line 3: invalid JSON"):
        readsb.read(broken)


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.json"
    path.write_bytes(data)
    with contextlib.suppress(InputError):
        readsb.read(path)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
_KEYS = st.sampled_from(
    ["hex", "lat", "lon", "alt_baro", "gs", "seen_pos", "seen", "flight", "squawk"]
)


@FUZZ
@given(
    now=_JSON,
    aircraft=st.lists(st.dictionaries(_KEYS, _JSON, max_size=9) | _JSON, max_size=6),
    trace=st.lists(st.lists(_JSON, max_size=14) | _JSON, max_size=6),
)
def test_random_json_documents_never_crash(
    tmp_path: Path, now: Any, aircraft: list[Any], trace: list[Any]
) -> None:
    for doc in (
        {"now": now, "aircraft": aircraft},
        {"icao": "abcdef", "timestamp": now, "trace": trace},
    ):
        path = tmp_path / "fuzz.json"
        path.write_text(json.dumps(doc))
        try:
            table = readsb.read(path)
        except InputError:
            continue
        assert stats_of(table)["rows"] == table.num_rows
