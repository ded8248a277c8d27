"""Generic CSV/Parquet reader: the BuzzFeed RNC surveillance positions, mappings, garbage rows."""

from __future__ import annotations

import contextlib
import csv
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overflight.errors import FormatError, InputError, MappingError
from overflight.ingest import head_bytes, tabular
from overflight.ingest._columns import stats_of

RNC = "trajectories/buzzfeed_2016_conventions_rnc.csv"
FUZZ = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _rnc(shared_data: Path) -> list[dict[str, str]]:
    with open(shared_data / RNC, newline="") as fh:
        return list(csv.DictReader(fh))


def _check_rnc(df: object, rows: list[dict[str, str]]) -> None:
    import pandas as pd

    assert isinstance(df, pd.DataFrame)
    assert len(df) == len(rows)
    assert df["icao24"].tolist() == [r["adshex"].lower() for r in rows]
    when = [
        datetime.strptime(r["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) for r in rows
    ]
    assert (df["timestamp"].dt.to_pydatetime() == np.array(when)).all()
    np.testing.assert_array_equal(df["latitude"], [_num(r["latitude"]) for r in rows])
    np.testing.assert_array_equal(df["longitude"], [_num(r["longitude"]) for r in rows])
    np.testing.assert_array_equal(df["track"], [_num(r["heading"]) % 360 for r in rows])
    squawks = [r["squawk"].zfill(4) if r["squawk"] else None for r in rows]
    assert [s if isinstance(s, str) else None for s in df["squawk"]] == squawks


def _num(text: str) -> float:
    return float(text) if text else float("nan")


def test_rnc_by_aliases(shared_data: Path) -> None:
    path = shared_data / RNC
    rows = _rnc(shared_data)
    assert tabular.sniff(head_bytes(path), path)
    table = tabular.read(path)
    df = table.to_pandas()
    _check_rnc(df, rows)
    np.testing.assert_array_equal(df["altitude"], [_num(r["altitude"]) for r in rows])
    stats = stats_of(table)
    assert stats["columns"]["icao24"] == "adshex" and stats["columns"]["track"] == "heading"
    assert stats["records"] == len(rows) and stats["rejected"] == 0
    # nine government aircraft, as the BuzzFeed README says
    assert df["icao24"].nunique() == len({r["adshex"] for r in rows}) == 9


def test_rnc_by_mapping_with_units(shared_data: Path) -> None:
    path = shared_data / RNC
    rows = _rnc(shared_data)
    mapping = {"icao24": "adshex", "track": "heading", "altitude": "altitude", "callsign": "reg"}
    df = tabular.read(path, mapping=mapping, units={"altitude": "m"}).to_pandas()
    _check_rnc(df, rows)
    np.testing.assert_allclose(df["altitude"], [_num(r["altitude"]) / 0.3048 for r in rows])
    assert df["callsign"].tolist() == [r["reg"] for r in rows]


def test_rnc_as_parquet(shared_data: Path, tmp_path: Path) -> None:
    rows = _rnc(shared_data)
    path = tmp_path / "rnc.parquet"
    cols: dict[str, list[str] | list[float]] = {k: [r[k] for r in rows] for k in rows[0]}
    cols["latitude"] = [_num(r["latitude"]) for r in rows]
    cols["longitude"] = [_num(r["longitude"]) for r in rows]
    pq.write_table(pa.table(cols), path)
    assert tabular.sniff(head_bytes(path), path)
    _check_rnc(tabular.read(path).to_pandas(), rows)


def test_wrong_mapping_names_file_and_column(shared_data: Path) -> None:
    path = shared_data / RNC
    with pytest.raises(MappingError) as err:
        tabular.read(path, mapping={"icao24": "icao_hex"})
    message = str(err.value)
    assert path.name in message and "'icao_hex'" in message
    assert "adshex" in message and "loc_timestamp" in message  # lists the columns present
    with pytest.raises(MappingError, match="not canonical"):
        tabular.read(path, mapping={"lat": "latitude"})
    with pytest.raises(MappingError, match="unknown unit"):
        tabular.read(path, units={"altitude": "furlong"})


def test_garbage_rows_counted_good_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "time,icao,lat,lon,alt\n"
        "1468610776,A94BBC,41.5,-81.6,2775\n"  # line 2
        "\n"  # blank: skipped, not counted
        "1468610777,A94BBC,forty,-81.6,2775\n"  # line 4: number
        "1468610778,A94BBC,41.5\n"  # line 5: fields
        "1468610779,nothex,41.5,-81.6,1\n"  # line 6: icao24
        "tomorrow,A94BBC,41.5,-81.6,100\n"  # line 7: timestamp
        "1468610780,a94bbc,41.5,-81.6,2775,9\n"  # line 8: fields
        "1468610781,A94BBC,41.6,-81.7,\n"  # line 9: good, no altitude
    )
    table = tabular.read(path)
    df = table.to_pandas()
    assert df["timestamp"].astype("int64").tolist() == [1468610776 * 10**9, 1468610781 * 10**9]
    assert np.isnan(df["altitude"][1])
    stats = stats_of(table)
    assert stats["records"] == 7 and stats["rows"] == 2 and stats["rejected"] == 5
    assert stats["first_rejected"] == [
        "line 4: number",
        "line 5: fields",
        "line 6: icao24",
        "line 7: timestamp",
        "line 8: fields",
    ]


@pytest.mark.parametrize(
    ("values", "unit"),
    [
        (["1468610776", "1468610777.5"], None),
        (["1468610776000", "1468610777500"], None),
        (["1468610776000000000", "1468610777500000000"], None),
        (["2016-07-15T19:26:16Z", "2016-07-15 21:26:17.5+02:00"], None),
        (["1468610776", "1468610777.5"], "s"),
    ],
)
def test_timestamp_units(tmp_path: Path, values: list[str], unit: str | None) -> None:
    path = tmp_path / "t.csv"
    path.write_text("timestamp,icao24\n" + "".join(f"{v},abcdef\n" for v in values))
    got = tabular.read(path, time_unit=unit or "auto")["timestamp"].to_pylist()
    assert got == [
        datetime(2016, 7, 15, 19, 26, 16, tzinfo=UTC),
        datetime(2016, 7, 15, 19, 26, 17, 500000, tzinfo=UTC),
    ]


def test_ambiguous_aliases_need_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("ts,hex,icao,lat,lon\n1,8D406B90,406B90,1,2\n")
    with pytest.raises(MappingError, match=r"could each be icao24"):
        tabular.read(path)
    assert not tabular.sniff(head_bytes(path), path)
    df = tabular.read(path, mapping={"icao24": "icao"}).to_pandas()
    assert df["icao24"].tolist() == ["406b90"]


def test_leading_zeros_survive(tmp_path: Path) -> None:
    path = tmp_path / "z.csv"
    path.write_text(
        "timestamp,icao24,squawk,latitude,longitude\n1,010093,0400,1,2\n2,010093,17,1,2\n"
    )
    df = tabular.read(path).to_pandas()
    assert df["icao24"].tolist() == ["010093", "010093"]
    assert df["squawk"].tolist() == ["0400", "0017"]


def test_no_time_column(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text("icao24,latitude,longitude\nabcdef,1,2\n")
    with pytest.raises(MappingError, match=r"n\.csv, line 1: no column for \['timestamp'\]"):
        tabular.read(path)
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(FormatError):
        tabular.read(empty)


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    with contextlib.suppress(InputError):
        tabular.read(path)


@FUZZ
@given(lines=st.lists(st.text(alphabet='0123456789abcdefT:-., "x;', max_size=30), max_size=10))
def test_random_text_lines_never_crash(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_text("\n".join(["timestamp,icao24,latitude,longitude,altitude", *lines]))
    try:
        table = tabular.read(path)
    except InputError:
        return
    stats = stats_of(table)
    assert stats["records"] == stats["rows"] + stats["rejected"]
