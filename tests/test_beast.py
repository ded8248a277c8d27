"""Beast reader on the real St Petersburg capture, checked against dump1090's decode."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.errors import DecodeError, FormatError, InputError
from overflight.geodesy import haversine_m
from overflight.ingest import beast, detect_format, head_bytes

ULSS7 = "raw_modes/beastblackbox_ulss7_20180403.beast"
ULSS7_SBS = "raw_modes/beastblackbox_ulss7_20180403_decoded.sbs"
# The capture's name in denzen84/beastblackbox (MANIFEST.md): the logging script
# wrote the Unix time of the first frame into it.
ULSS7_ORIGINAL_NAME = "ulss7-beast-bin-utc--1522782148.136310917--.log"
PAYLOAD = {0x31: 2, 0x32: 7, 0x33: 14}


def _reference_parse(raw: bytes) -> list[tuple[int, int, bytes]]:
    """(byte offset, type, unescaped body) per frame, reading byte by byte."""
    out = []
    i = 0
    while i < len(raw):
        assert raw[i] == 0x1A, f"expected a frame marker at byte {i}"
        kind = raw[i + 1]
        body = bytearray()
        j = i + 2
        while len(body) < 7 + PAYLOAD[kind]:
            b = raw[j]
            j += 1
            if b == 0x1A:
                assert raw[j] == 0x1A
                j += 1
            body.append(b)
        out.append((i, kind, bytes(body)))
        i = j
    return out


def _escape(body: bytes) -> bytes:
    return body.replace(b"\x1a", b"\x1a\x1a")


def _stats(table: pa.Table) -> dict[str, object]:
    return json.loads(table.schema.metadata[b"overflight:stats"])


@pytest.fixture(scope="module")
def ulss7(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The capture under its original name (a symlink), so its start time is known."""
    link = tmp_path_factory.mktemp("beast") / ULSS7_ORIGINAL_NAME
    link.symlink_to(shared_data / ULSS7)
    return link


def _sbs_positions(path: Path) -> pd.DataFrame:
    rows = []
    with path.open(newline="") as fh:
        for r in csv.reader(fh):
            if len(r) > 15 and r[0] == "MSG" and r[1] == "3" and r[14] and r[15]:
                t = dt.datetime.strptime(f"{r[6]} {r[7]}", "%Y/%m/%d %H:%M:%S.%f")
                rows.append((r[4].lower(), t.replace(tzinfo=dt.UTC), float(r[14]), float(r[15])))
    df = pd.DataFrame(rows, columns=["icao24", "timestamp", "lat", "lon"]).drop_duplicates()
    df["timestamp"] = df["timestamp"].astype("datetime64[ns, UTC]")
    return df.sort_values("timestamp")


def test_positions_agree_with_dump1090(ulss7: Path, shared_data: Path) -> None:
    table = beast.read(ulss7)
    stats = _stats(table)
    assert stats["time_origin"] == "file name" and stats["timestamp_mode"] == "12mhz"
    ours = table.to_pandas()
    ours = ours[ours["latitude"].notna()].sort_values("timestamp")
    sbs = _sbs_positions(shared_data / ULSS7_SBS)
    assert set(ours["icao24"]) == set(sbs["icao24"])
    ours = ours.assign(t_ours=ours["timestamp"])
    m = pd.merge_asof(
        sbs,
        ours[["icao24", "timestamp", "t_ours", "latitude", "longitude"]],
        on="timestamp",
        by="icao24",
        direction="nearest",
    )
    d = haversine_m(m["lat"], m["lon"], m["latitude"], m["longitude"])
    assert (d <= 50.0).mean() >= 0.99
    # dump1090 prints milliseconds, truncated: our times are right to the ms
    lag = (m["timestamp"] - m["t_ours"]).abs()
    assert lag.max() < pd.Timedelta(milliseconds=1)


def test_framing_matches_a_byte_by_byte_parse(ulss7: Path) -> None:
    raw = ulss7.read_bytes()
    ref = _reference_parse(raw)
    fr = beast.frame_bytes(np.frombuffer(raw, dtype=np.uint8), ulss7)
    assert fr["offset"].tolist() == [o for o, _, _ in ref]
    assert fr["type"].tolist() == [k for _, k, _ in ref]
    assert fr["counter"].tolist() == [int.from_bytes(b[:6], "big") for _, _, b in ref]
    assert [bytes(p[: PAYLOAD[k]]) for p, k in zip(fr["payload"], fr["type"], strict=True)] == [
        b[7:] for _, _, b in ref
    ]
    assert fr["bad_frame"] == 0 and fr["junk_bytes"] == 0
    stats = _stats(beast.read(ulss7))
    mode_s = [(k, b) for _, k, b in ref if k != 0x31]
    assert stats["reasons"]["mode_ac"] == sum(k == 0x31 for _, k, _ in ref)
    assert stats["reasons"]["duplicate"] == len(mode_s) - len(set(mode_s))


def test_start_time_option_matches_the_file_name(ulss7: Path, shared_data: Path) -> None:
    by_name = beast.read(ulss7)
    start = ULSS7_ORIGINAL_NAME.split("--")[1]
    by_option = beast.read(shared_data / ULSS7, start_time=start)
    assert by_name.column("timestamp").equals(by_option.column("timestamp"))
    assert _stats(by_option)["time_origin"] == "start_time option"


def test_gps_time_of_day_timestamps_are_detected(ulss7: Path, tmp_path: Path) -> None:
    """The same frames re-stamped as a GPS receiver would (second of day | ns)."""
    truth = beast.read(ulss7).column("timestamp").cast(pa.int64()).to_numpy()
    start_ns = int(ULSS7_ORIGINAL_NAME.split("--")[1].replace(".", ""))
    out = bytearray()
    for _, kind, body in _reference_parse(ulss7.read_bytes()):
        t = start_ns + (int.from_bytes(body[:6], "big") - 0x030BF18CC2AB) * 1000 // 12
        sod, ns = divmod(t % (86_400 * 10**9), 10**9)
        out += b"\x1a" + bytes([kind]) + _escape(((sod << 30) | ns).to_bytes(6, "big") + body[6:])
    gps = tmp_path / "gps.beast"
    gps.write_bytes(bytes(out))
    # the date comes from start_time, which may be hours off the first frame
    for hours_off in (0, -8, 8):
        table = beast.read(gps, start_time=(start_ns + hours_off * 3600 * 10**9) / 1e9)
        assert _stats(table)["timestamp_mode"] == "utc_ns_of_day"
        got = table.column("timestamp").cast(pa.int64()).to_numpy()
        assert np.abs(got - truth).max() <= 1


def test_truncated_file_names_the_last_frame(ulss7: Path, tmp_path: Path) -> None:
    raw = ulss7.read_bytes()
    last_offset = _reference_parse(raw)[-1][0]
    cut = tmp_path / "cut.beast"
    cut.write_bytes(raw[:-3])
    with pytest.raises(DecodeError) as err:
        beast.read(cut)
    assert err.value.record == f"byte {last_offset}"
    assert str(cut) in str(err.value)


def test_no_frame_at_all_is_a_format_error(tmp_path: Path) -> None:
    p = tmp_path / "text.beast"
    p.write_bytes(b"hello world\n" * 10)
    with pytest.raises(FormatError, match="byte 0"):
        beast.read(p)


def test_sniff_picks_beast_only_for_beast(shared_data: Path) -> None:
    raw = shared_data / "raw_modes"
    for name in ("beastblackbox_ulss7_20180403.beast", "traffic_sample_dump1090.bin"):
        assert detect_format(raw / name) == "beast"
    for name in (
        "beastblackbox_ulss7_20180403_decoded.sbs",
        "pymodes_data_old.txt",
        "traffic_tutorial_jet1090_20240606.jsonl.gz",
    ):
        assert not beast.sniff(head_bytes(raw / name), raw / name)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_random_bytes_never_crash(
    tmp_path_factory: pytest.TempPathFactory, blob: bytes, lead: bool
) -> None:
    p = tmp_path_factory.mktemp("rnd") / "r.beast"
    p.write_bytes((b"\x1a\x33" if lead else b"") + blob)
    try:
        table = beast.read(p, start_time=0)
    except InputError:
        return
    stats = _stats(table)
    assert table.num_rows == stats["rows"] <= stats["records"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=14, max_size=14), min_size=1, max_size=20))
def test_escaped_payloads_round_trip(
    tmp_path_factory: pytest.TempPathFactory, bodies: list[bytes]
) -> None:
    raw = b"".join(b"\x1a\x33" + _escape(b"\x1a" * 7 + body) for body in bodies)
    fr = beast.frame_bytes(np.frombuffer(raw, dtype=np.uint8), None)
    assert [bytes(p) for p in fr["payload"]] == bodies
    assert (fr["counter"] == 0x1A1A1A1A1A1A).all() and (fr["signal"] == 0x1A).all()
