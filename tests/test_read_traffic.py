"""traffic JSON/Parquet reader on the samples shipped with the traffic package."""

from __future__ import annotations

import contextlib
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from overflight.errors import FormatError, InputError
from overflight.ingest import head_bytes, traffic_json
from overflight.ingest._columns import stats_of

# small samples of each kind: records orient, columns orient, extra columns, numeric squawks
SAMPLES = [
    "surveillance/border_control.json.gz",
    "surveys/texas.json.gz",
    "ambulances/rega_zh.json.gz",  # squawk saved as integers
    "ambulances/rega_sg.json.gz",  # squawk as str, float and null; onground null
    "firefighting/calfire.json.gz",  # flight_id, geoaltitude
    "calibration/nice.json.gz",  # pandas "columns" orient
    "noisy/noisy_ground.json.gz",  # columns orient with onground
    "featured/zero_gravity.json.gz",  # IAS, Mach, roll ... dropped
]


def _records(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(gzip.decompress(path.read_bytes()))
    if isinstance(doc, dict):  # {"column": {"index": value}}
        index = sorted({i for col in doc.values() for i in col}, key=int)
        return [{k: doc[k].get(i) for k in doc} for i in index]
    return list(doc)


def _squawk(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    text = str(int(float(v))).zfill(4)
    return text if all(c in "01234567" for c in text) and len(text) == 4 else None


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_matches_json(traffic_samples: Path, name: str) -> None:
    path = traffic_samples / name
    records = _records(path)
    assert traffic_json.sniff(head_bytes(path), path)
    table = traffic_json.read(path)
    df = table.to_pandas()
    assert len(df) == len(records)
    ms = np.array([r["timestamp"] for r in records], dtype=np.int64)
    np.testing.assert_array_equal(df["timestamp"].astype("int64").to_numpy(), ms * 10**6)
    assert df["icao24"].tolist() == [r["icao24"] for r in records]
    for col in ("latitude", "longitude", "altitude", "groundspeed", "vertical_rate"):
        want = np.array([np.nan if r.get(col) is None else r[col] for r in records], float)
        np.testing.assert_array_equal(df[col].to_numpy(dtype=float), want)
    want_track = np.array([np.nan if r.get("track") is None else r["track"] for r in records])
    np.testing.assert_allclose(df["track"].to_numpy(dtype=float), want_track.astype(float) % 360)
    calls = [r.get("callsign") or None for r in records]
    assert [c if isinstance(c, str) else None for c in df["callsign"]] == calls
    if any("squawk" in r for r in records):
        got = [s if isinstance(s, str) else None for s in df["squawk"]]
        assert got == [_squawk(r.get("squawk")) for r in records]
    if any("geoaltitude" in r for r in records):
        geo = [np.nan if r.get("geoaltitude") is None else r["geoaltitude"] for r in records]
        np.testing.assert_array_equal(df["geoaltitude"].to_numpy(dtype=float), geo)
    if any("onground" in r for r in records):
        assert [None if v is None else bool(v) for v in df["onground"]] == [
            r.get("onground") for r in records
        ]
    assert set(df["source"]) == {path.name}
    assert stats_of(table)["rejected"] == 0


def test_parquet_trajectory(traffic_samples: Path, tmp_path: Path) -> None:
    records = _records(traffic_samples / "surveys/texas.json.gz")
    cols = {k: [r.get(k) for r in records] for k in records[0]}
    ms = pa.array(cols.pop("timestamp"), pa.int64())
    cols["timestamp"] = ms.cast(pa.timestamp("ms", "UTC")).cast(pa.timestamp("ns", "UTC"))
    path = tmp_path / "texas.parquet"
    pq.write_table(pa.table(cols), path)
    assert traffic_json.sniff(head_bytes(path), path)
    df = traffic_json.read(path).to_pandas()
    assert len(df) == len(records)
    np.testing.assert_array_equal(
        df["timestamp"].astype("int64").to_numpy(), ms.to_numpy().astype(np.int64) * 10**6
    )
    np.testing.assert_array_equal(df["latitude"], [r["latitude"] for r in records])


def test_sample_without_icao24(traffic_samples: Path) -> None:
    path = traffic_samples / "performance/fuelflow_a320.json.gz"
    with pytest.raises(FormatError, match="no icao24 column"):
        traffic_json.read(path)


def test_bad_records_counted(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    good = {"timestamp": 1633608773000, "icao24": "0101DE", "latitude": 48.5, "longitude": 3.8}
    path.write_text(json.dumps([good, 5, {**good, "latitude": "north"}, {**good, "icao24": "x"}]))
    table = traffic_json.read(path)
    assert table.column("icao24").to_pylist() == ["0101de"]
    assert stats_of(table)["first_rejected"] == [
        "record 2: record",
        "record 3: number",
        "record 4: icao24",
    ]


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.json"
    path.write_bytes(data)
    with contextlib.suppress(InputError):
        traffic_json.read(path)


_VALUE = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=6)
    | st.lists(st.integers(), max_size=2)
)
_KEY = st.sampled_from(["timestamp", "icao24", "latitude", "longitude", "squawk", "onground", "x"])


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(st.dictionaries(_KEY, _VALUE, max_size=7) | _VALUE, max_size=8))
@example(records=[-1, ":", ":"])  # "-1" + ISO strings: year -1, outside nanosecond timestamps
def test_random_records_never_crash(tmp_path: Path, records: list[Any]) -> None:
    for doc in (records, {"timestamp": dict(enumerate(records)), "icao24": {"0": "abcdef"}}):
        path = tmp_path / "fuzz.json"
        path.write_text(json.dumps(doc, default=str))
        try:
            table = traffic_json.read(path)
        except InputError:
            continue
        stats = stats_of(table)
        assert stats["records"] == stats["rows"] + stats["rejected"]
