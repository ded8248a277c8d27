"""AVR and hex-per-line reader on real frames."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyModeS
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.errors import FormatError, InputError
from overflight.geodesy import haversine_m
from overflight.ingest import avr, beast, detect_format, head_bytes

ULSS7 = "raw_modes/beastblackbox_ulss7_20180403.beast"
TUTORIAL = "raw_modes/traffic_tutorial_jet1090_20240606.jsonl.gz"
START = "1522782148.136310917"  # the ulss7 capture's start, from its original file name


def _stats(table: pa.Table) -> dict[str, object]:
    return json.loads(table.schema.metadata[b"overflight:stats"])


def _beast_lines(shared_data: Path, template: str) -> str:
    """The Mode S frames of the ulss7 Beast capture as AVR-MLAT lines."""
    raw = np.frombuffer((shared_data / ULSS7).read_bytes(), dtype=np.uint8)
    fr = beast.frame_bytes(raw, None)
    lines = []
    for kind, counter, signal, payload in zip(
        fr["type"], fr["counter"], fr["signal"], fr["payload"], strict=True
    ):
        if kind == 0x31:
            continue
        frame = bytes(payload[: 14 if kind == 0x33 else 7]).hex().upper()
        lines.append(template.format(c=int(counter), s=int(signal), f=frame))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("template", ["@{c:012X}{f};", "%{c:012X}{f};", "<{c:012X}{s:02X}{f};"])
def test_mlat_lines_match_the_beast_reader(
    shared_data: Path, tmp_path: Path, template: str
) -> None:
    p = tmp_path / "ulss7.avr"
    p.write_text(_beast_lines(shared_data, template))
    got = avr.read(p, start_time=START, source="x")
    want = beast.read(shared_data / ULSS7, start_time=START, source="x", drop_duplicates=False)
    assert got.equals(want)
    assert _stats(got)["timestamp_mode"] == "12mhz"


def test_untimed_lines_give_jet1090_positions(shared_data: Path, tmp_path: Path) -> None:
    with gzip.open(shared_data / TUTORIAL, "rt") as fh:
        rows = [json.loads(line) for line in fh]
    p = tmp_path / "tutorial.txt"
    p.write_text("".join(f"*{r['frame'].upper()};\n" for r in rows))
    table = avr.read(p, start_time=0)
    assert _stats(table)["untimed_lines"] == len(rows)
    ours = table.to_pandas()
    line = ours["timestamp"].astype("int64").to_numpy() - 1  # start_time 0: ns = line - 1
    lat = np.full(len(rows), np.nan)
    lon = np.full(len(rows), np.nan)
    lat[line] = ours["latitude"].to_numpy(dtype=float, na_value=np.nan)
    lon[line] = ours["longitude"].to_numpy(dtype=float, na_value=np.nan)
    ref_lat = np.array([r.get("latitude", np.nan) for r in rows], dtype=float)
    ref_lon = np.array([r.get("longitude", np.nan) for r in rows], dtype=float)
    both = ~np.isnan(lat) & ~np.isnan(ref_lat)
    assert both.sum() >= 0.99 * (~np.isnan(ref_lat)).sum()
    d = haversine_m(lat[both], lon[both], ref_lat[both], ref_lon[both])
    assert (d <= 50.0).mean() >= 0.99


def test_iso_timestamp_column(shared_data: Path) -> None:
    path = shared_data / "raw_modes/pymodes_data_old.txt"
    table = avr.read(path)
    assert (
        _stats(table)["records"]
        == _stats(table)["rows"] + _stats(table)["rejected"] + _stats(table)["skipped"]
    )
    allowed = set()
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        stamp, frame = line.split()
        t = dt.datetime.fromisoformat(stamp).replace(tzinfo=dt.UTC)
        allowed.add((t, pyModeS.decode(frame)["icao"].lower()))
    got = set(
        zip(
            table.column("timestamp").to_pylist(),
            table.column("icao24").to_pylist(),
            strict=True,
        )
    )
    assert got and got <= allowed


def test_csv_with_epoch_and_quoted_hex(shared_data: Path) -> None:
    path = shared_data / "raw_modes/pymodes_sample_data_adsb.csv"
    table = avr.read(path)
    with path.open(newline="") as fh:
        rows = [r for r in csv.reader(fh) if r]
    assert table.num_rows == len(rows)  # every row is a checked DF17 with a canonical field
    assert table.column("icao24").to_pylist() == [r[2].lower() for r in rows]
    want = [dt.datetime.fromtimestamp(int(r[0]), dt.UTC) for r in rows]
    assert table.column("timestamp").to_pylist() == want


def test_garbage_lines_are_counted(shared_data: Path, tmp_path: Path) -> None:
    good = (shared_data / "derived/real_frames_combined_avr.txt").read_text().splitlines()[:200]
    p = tmp_path / "mixed.txt"
    p.write_text("\n".join([*good[:100], "garbage here", "*XYZ;", "", *good[100:]]) + "\n")
    stats = _stats(avr.read(p))
    assert stats["reasons"]["bad_line"] == 2
    assert stats["records"] == 202


def test_a_file_without_frames_names_line_1(tmp_path: Path) -> None:
    p = tmp_path / "junk.txt"
    p.write_text("not a frame\n*123;\n")
    with pytest.raises(FormatError) as err:
        avr.read(p)
    assert err.value.record == "line 1" and str(p) in str(err.value)


def test_sniff_and_detection(shared_data: Path) -> None:
    assert detect_format(shared_data / "derived/real_frames_combined_avr.txt") == "avr"
    assert detect_format(shared_data / "raw_modes/pymodes_data_old.txt") == "avr"
    for name in (
        "raw_modes/beastblackbox_ulss7_20180403_decoded.sbs",
        "raw_modes/stratux_es_20150902_michigan.log",
        TUTORIAL,
        ULSS7,
    ):
        assert not avr.sniff(head_bytes(shared_data / name), shared_data / name)


_HEXISH = st.text(alphabet='0123456789abcdefABCDEF*@%<;, :-T."xyz', max_size=40)


@settings(max_examples=150, deadline=None)
@given(st.lists(_HEXISH, max_size=30))
def test_random_lines_never_crash(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str]
) -> None:
    p = tmp_path_factory.mktemp("rnd") / "r.txt"
    p.write_text("\n".join(lines))
    try:
        table = avr.read(p, start_time=0)
    except InputError:
        return
    stats = _stats(table)
    assert stats["records"] == stats["rows"] + stats["rejected"] + stats["skipped"]
