"""OpenSky reader: the MS804 sample database and state-vector tables built from it.

Unit conversions are checked against hand formulas: ft = m / 0.3048,
kt = m/s * 3600 / 1852, ft/min = m/s * 60 / 0.3048.
"""

from __future__ import annotations

import csv
import sqlite3
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overflight.errors import FormatError, InputError
from overflight.ingest import head_bytes, opensky
from overflight.ingest._columns import stats_of

MS804 = "trajectories/opensky_msr804_20160519.sqlite3"


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as con:
        return list(con.execute(sql).fetchall())


def test_ms804_database(shared_data: Path) -> None:
    path = shared_data / MS804
    positions = _rows(path, "SELECT timestamp, latitude, longitude, altitude FROM positions")
    velocities = _rows(path, "SELECT timestamp, velocity, heading, verticalRate FROM velocities")
    ((icao, call),) = _rows(path, "SELECT icao24, callsign FROM flights")
    assert opensky.sniff(head_bytes(path), path)
    table = opensky.read(path)
    df = table.to_pandas()
    assert len(df) == len(positions) + len(velocities)
    assert set(df["icao24"]) == {icao} and set(df["callsign"]) == {call.strip()}
    assert df["timestamp"].is_monotonic_increasing
    pos = df[df["latitude"].notna()]
    order = np.argsort([p[0] for p in positions], kind="stable")
    want = np.array(positions, dtype=float)[order]
    np.testing.assert_allclose(pos["timestamp"].astype("int64") / 1e9, want[:, 0], atol=1e-6)
    np.testing.assert_array_equal(pos["latitude"], want[:, 1])
    np.testing.assert_allclose(pos["altitude"], want[:, 3] / 0.3048)
    vel = df[df["vertical_rate"].notna()]
    v = np.array([[np.nan if x is None else x for x in r] for r in velocities], float)
    v = v[np.argsort(v[:, 0], kind="stable")]
    np.testing.assert_allclose(vel["groundspeed"], v[:, 1] * 3600 / 1852)
    np.testing.assert_allclose(vel["track"], v[:, 2] % 360)
    np.testing.assert_allclose(vel["vertical_rate"], v[:, 3] * 60 / 0.3048)
    stats = stats_of(table)
    assert stats["positions"] == len(positions) and stats["velocities"] == len(velocities)
    # over Europe, cruising near FL360 (10,973 m)
    assert pos["latitude"].min() > 43 and pos["latitude"].max() < 49.5
    assert abs(pos["altitude"].median() - 36000) < 1000


def _vectors(shared_data: Path) -> list[dict[str, Any]]:
    """Real MS804 positions, each with the latest complete velocity record before it."""
    path = shared_data / MS804
    pos = _rows(path, "SELECT timestamp, latitude, longitude, altitude FROM positions ORDER BY 1")
    vel = _rows(
        path,
        "SELECT timestamp, velocity, heading, verticalRate FROM velocities "
        "WHERE velocity IS NOT NULL AND heading IS NOT NULL ORDER BY 1",
    )
    vt = [v[0] for v in vel]
    out = []
    for t, lat, lon, alt in pos[:400]:
        i = max(int(np.searchsorted(vt, t)) - 1, 0)
        out.append(
            {
                "t": t,
                "lat": lat,
                "lon": lon,
                "alt": alt,
                "v": vel[i][1],
                "hdg": vel[i][2],
                "vr": vel[i][3],
            }
        )
    return out


HISTORICAL = [
    "time",
    "icao24",
    "lat",
    "lon",
    "velocity",
    "heading",
    "vertrate",
    "callsign",
    "onground",
    "alert",
    "spi",
    "squawk",
    "baroaltitude",
    "geoaltitude",
    "lastposupdate",
    "lastcontact",
    "hour",
]
REST = [
    "icao24",
    "callsign",
    "origin_country",
    "time_position",
    "last_contact",
    "longitude",
    "latitude",
    "baro_altitude",
    "on_ground",
    "velocity",
    "true_track",
    "vertical_rate",
    "sensors",
    "geo_altitude",
    "squawk",
    "spi",
    "position_source",
]


def _historical_row(r: dict[str, Any]) -> list[Any]:
    t = int(r["t"])
    return [
        t,
        "010093",
        r["lat"],
        r["lon"],
        r["v"],
        r["hdg"],
        r["vr"],
        "MSR804  ",
        False,
        False,
        False,
        "0400",
        r["alt"],
        r["alt"] + 150.0,
        r["t"],
        r["t"],
        t - t % 3600,
    ]


def _rest_row(r: dict[str, Any]) -> list[Any]:
    return [
        "010093",
        "MSR804  ",
        "Egypt",
        r["t"],
        r["t"] + 1,
        r["lon"],
        r["lat"],
        r["alt"],
        False,
        r["v"],
        r["hdg"],
        r["vr"],
        "",
        r["alt"] + 150.0,
        "0400",
        False,
        0,
    ]


def _check(df: Any, vectors: list[dict[str, Any]], time_key: str) -> None:
    assert len(df) == len(vectors)
    t = np.array([int(r["t"]) if time_key == "time" else r["t"] for r in vectors])
    np.testing.assert_allclose(df["timestamp"].astype("int64") / 1e9, t, atol=1e-6)
    np.testing.assert_allclose(df["altitude"], [r["alt"] / 0.3048 for r in vectors])
    np.testing.assert_allclose(df["geoaltitude"], [(r["alt"] + 150) / 0.3048 for r in vectors])
    np.testing.assert_allclose(df["groundspeed"], [r["v"] * 3600 / 1852 for r in vectors])
    np.testing.assert_allclose(df["vertical_rate"], [r["vr"] * 60 / 0.3048 for r in vectors])
    np.testing.assert_allclose(df["track"], [r["hdg"] for r in vectors])
    assert set(df["icao24"]) == {"010093"} and set(df["callsign"]) == {"MSR804"}
    assert set(df["squawk"]) == {"0400"} and not df["onground"].any()


@pytest.mark.parametrize("scheme", ["historical", "rest"])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_state_vector_tables(shared_data: Path, tmp_path: Path, scheme: str, suffix: str) -> None:
    vectors = _vectors(shared_data)
    names, make = (HISTORICAL, _historical_row) if scheme == "historical" else (REST, _rest_row)
    rows = [make(r) for r in vectors]
    path = tmp_path / f"states{suffix}"
    if suffix == ".csv":
        with open(path, "w", newline="") as fh:
            csv.writer(fh).writerows([names, *rows])
    else:
        cols = {n: [r[i] for r in rows] for i, n in enumerate(names)}
        pq.write_table(pa.table(cols), path)
    assert opensky.sniff(head_bytes(path), path)
    table = opensky.read(path)
    _check(table.to_pandas(), vectors, "time" if scheme == "historical" else "time_position")
    assert stats_of(table)["format"] == "opensky"


def test_rest_falls_back_to_last_contact(tmp_path: Path) -> None:
    path = tmp_path / "states.csv"
    path.write_text(
        ",".join(REST) + "\n"
        "3c6444,DLH1,Germany,,1700000010,8.6,50.1,10000,False,200,90,0,,10100,1000,False,0\n"
    )
    df = opensky.read(path).to_pandas()
    assert df["timestamp"].astype("int64").tolist() == [1700000010 * 10**9]
    assert df["altitude"][0] == pytest.approx(10000 / 0.3048)


def test_not_opensky_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("timestamp,icao24,latitude,longitude,altitude\n1,abcdef,1,2,3\n")
    assert not opensky.sniff(head_bytes(path), path)
    with pytest.raises(FormatError, match="not OpenSky state vectors"):
        opensky.read(path)


def test_sqlite_without_the_sample_tables(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(path)) as con:
        con.execute("CREATE TABLE t (a INT)")
        con.commit()
    assert not opensky.sniff(head_bytes(path), path)
    with pytest.raises(FormatError, match="not an OpenSky sample database"):
        opensky.read(path)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300), magic=st.booleans())
def test_random_bytes_never_crash(tmp_path: Path, data: bytes, magic: bool) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes((opensky.SQLITE_MAGIC if magic else b"") + data)
    with suppress(InputError):
        opensky.read(path)


_CELL = st.sampled_from(["", "1700000000", "abcdef", "3C6444", "x", "1e400", "-1", "True", "nan"])


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(_CELL, min_size=1, max_size=18), max_size=8))
def test_random_rows_under_a_real_header_never_crash(tmp_path: Path, rows: list[list[str]]) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_text("\n".join([",".join(HISTORICAL), *(",".join(r) for r in rows)]))
    try:
        table = opensky.read(path)
    except InputError:
        return
    stats = stats_of(table)
    assert stats["records"] == stats["rows"] + stats["rejected"]
