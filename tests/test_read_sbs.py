"""SBS-1 reader on real BaseStation recordings and stratux logs.

Expected values are derived here line by line with the csv and datetime modules.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overflight.errors import FormatError, InputError
from overflight.ingest import head_bytes, sbs
from overflight.ingest._columns import stats_of

AFR = "raw_modes/sbs_recording_AFR_20161209_paris.sbs"
DECODED = "raw_modes/beastblackbox_ulss7_20180403_decoded.sbs"
STRATUX = (
    "raw_modes/stratux_es_20150902_michigan.log",
    "raw_modes/stratux_es_20150907_problem.log",
)


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        return [(i, row) for i, row in enumerate(csv.reader(fh), start=1) if row]


def _expected_sbs(path: Path) -> list[tuple[int, datetime, str, str, str, str]]:
    """(line, time, icao, lat, lon, altitude) of every MSG row, by the csv module."""
    out = []
    for line, row in _csv_rows(path):
        if len(row) == 22 and row[0] == "MSG":
            when = datetime.strptime(f"{row[6]} {row[7]}", "%Y/%m/%d %H:%M:%S.%f")
            out.append((line, when.replace(tzinfo=UTC), row[4].lower(), row[14], row[15], row[11]))
    return out


@pytest.mark.parametrize("name", [AFR, DECODED])
def test_basestation_rows_match_csv_module(shared_data: Path, name: str) -> None:
    path = shared_data / name
    expected = _expected_sbs(path)
    table = sbs.read(path)
    assert sbs.sniff(head_bytes(path), path)
    assert table.num_rows == len(expected)
    df = table.to_pandas()
    times = [e[1] for e in expected]
    assert (df["timestamp"].dt.to_pydatetime() == np.array(times)).all()
    assert df["icao24"].tolist() == [e[2] for e in expected]
    for col, k in (("latitude", 3), ("longitude", 4), ("altitude", 5)):
        want = np.array([float(str(e[k])) if e[k] else np.nan for e in expected])
        np.testing.assert_array_equal(df[col].to_numpy(dtype=float), want)
    stats = stats_of(table)
    n_lines = len(_csv_rows(path))
    assert stats["records"] == n_lines
    assert stats["rejected"] == n_lines - len(expected)
    assert set(df["source"]) == {path.name}


def test_decoded_sbs_trailer_lines_are_counted(shared_data: Path) -> None:
    path = shared_data / DECODED
    bad = [line for line, row in _csv_rows(path) if row[0] != "MSG"]
    stats = stats_of(sbs.read(path))
    assert stats["reasons"] == {"fields": len(bad)}
    assert stats["first_rejected"] == [f"line {n}: fields" for n in bad]


def test_basestation_other_fields(shared_data: Path) -> None:
    path = shared_data / AFR
    rows = [r for _, r in _csv_rows(path) if len(r) == 22 and r[0] == "MSG"]
    df = sbs.read(path).to_pandas()
    for col, k in (("groundspeed", 12), ("track", 13), ("vertical_rate", 16)):
        want = np.array([float(r[k]) if r[k] else np.nan for r in rows])
        np.testing.assert_allclose(df[col].to_numpy(dtype=float), want % 360 if k == 13 else want)
    calls = [r[10].strip() or None for r in rows]
    assert [None if isinstance(c, float) else c for c in df["callsign"]] == calls
    ground = [None if r[21] == "" else r[21] != "0" for r in rows]
    assert df["onground"].tolist() == ground


def test_tz_option_shifts_local_times(shared_data: Path) -> None:
    path = shared_data / AFR
    utc = sbs.read(path)["timestamp"].to_pandas()
    paris = sbs.read(path, tz="Europe/Paris")["timestamp"].to_pandas()
    assert ((utc - paris) == timedelta(hours=1)).all()  # CET in December


def _expected_stratux(path: Path) -> tuple[list[tuple[datetime, str]], dict[str, int]]:
    """Walk the log: START sets the clock, a counter that goes back without START breaks it."""
    start: datetime | None = None
    previous = -1
    broken = False
    out: list[tuple[datetime, str]] = []
    reasons: dict[str, int] = {}
    for _, row in _csv_rows(path):
        if row[0] == "START":
            start = datetime.strptime(row[1], "%a %b %d %H:%M:%S %z UTC %Y")
            previous, broken = -1, False
            continue
        if "START" in row:  # a cut line followed by a START header, no newline between
            reasons["fields"] = reasons.get("fields", 0) + 1
            i = row.index("START")
            start = datetime.strptime(row[i + 1], "%a %b %d %H:%M:%S %z UTC %Y")
            previous, broken = -1, False
            continue
        if len(row) != 23 or not re.fullmatch(r"\d+", row[0]) or row[1] != "MSG":
            reasons["fields"] = reasons.get("fields", 0) + 1
            continue
        counter = int(row[0])
        if counter < previous:
            broken = True
        previous = counter
        if broken:
            reasons["clock_reset"] = reasons.get("clock_reset", 0) + 1
            continue
        assert start is not None
        out.append((start + timedelta(microseconds=counter // 1000), row[5].lower()))
    return out, reasons


@pytest.mark.parametrize("name", STRATUX)
def test_stratux_times_from_start_line(shared_data: Path, name: str) -> None:
    path = shared_data / name
    expected, reasons = _expected_stratux(path)
    table = sbs.read(path)
    assert sbs.sniff(head_bytes(path), path)
    df = table.to_pandas()
    assert len(df) == len(expected)
    got = df["timestamp"].dt.floor("us").dt.to_pydatetime()
    assert (got == np.array([e[0] for e in expected])).all()
    assert df["icao24"].tolist() == [e[1] for e in expected]
    assert stats_of(table)["reasons"] == reasons


def test_garbage_rows_are_counted_good_rows_kept(tmp_path: Path) -> None:
    good = "MSG,3,1,1,4CA2D6,1,2018/04/03,19:02:28.5,2018/04/03,19:02:28.6,,3000,,,53.1,-6.2,,,,,,0"
    lines = [
        good,
        "garbage",
        "",
        good.replace("4CA2D6", "ZZZZZZ"),
        good.replace("3000", "3e"),
        good.replace("2018/04/03,19", "2018/44/03,19"),
        "SEL," + ",".join([""] * 21),
        good,
    ]
    path = tmp_path / "mixed.sbs"
    path.write_text("\n".join(lines) + "\n")
    table = sbs.read(path)
    assert table.num_rows == 2
    stats = stats_of(table)
    assert stats["records"] == 7  # the blank line is not a record
    assert stats["first_rejected"] == [
        "line 2: fields",
        "line 4: icao24",
        "line 5: number",
        "line 6: timestamp",
        "line 7: msg_type",
    ]


def test_no_valid_row_names_line_1(tmp_path: Path) -> None:
    path = tmp_path / "junk.sbs"
    path.write_text("hello,world\nMSG,3\n")
    with pytest.raises(FormatError, match=r"junk\.sbs, line 1: no valid sbs record"):
        sbs.read(path)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=400))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.sbs"
    path.write_bytes(data)
    try:
        table = sbs.read(path)
    except InputError:
        return
    assert stats_of(table)["rows"] == table.num_rows


_FIELD = st.sampled_from(
    [
        "",
        "MSG",
        "3",
        "1",
        "4CA2D6",
        "~abc123",
        "2018/04/03",
        "19:02:28.5",
        "-1",
        "0",
        "53.1",
        "x",
        "99999999999999999999",
        "START",
        "12",
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(_FIELD, min_size=1, max_size=24), max_size=12))
def test_random_sbs_like_lines_never_crash(tmp_path: Path, rows: list[list[str]]) -> None:
    path = tmp_path / "fuzz.sbs"
    path.write_text("\n".join(",".join(r) for r in rows))
    try:
        table = sbs.read(path)
    except InputError:
        return
    stats = stats_of(table)
    assert stats["rows"] == table.num_rows
    assert stats["records"] == stats["rows"] + stats["rejected"]
