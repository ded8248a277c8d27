"""Field tests of ingest as a user meets it: compressed copies, byte order marks,
empty files, damaged gzip and Beast captures stopped mid-frame, on real files."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from overflight import ingest
from overflight.cli import app
from overflight.errors import DecodeError, FormatError, InputError
from overflight.ingest import beast

AFR = "raw_modes/sbs_recording_AFR_20161209_paris.sbs"
BEAST = "raw_modes/beastblackbox_extract_71be34.beast"
TRACE = "trajectories/readsb_trace_full_ac671b_DAL1812.json"
STRATUX = "raw_modes/stratux_es_20150907_problem.log"
JET1090 = "raw_modes/traffic_tutorial_jet1090_20240606.jsonl.gz"
FAST = ["--no-airspace", "--no-report"]
BOM = b"\xef\xbb\xbf"


def _content(table: pa.Table) -> pa.Table:
    """The table without its ``source`` column (the file name) and metadata."""
    return table.drop_columns(["source"]).replace_schema_metadata(None)


@pytest.mark.parametrize("name", [AFR, BEAST, TRACE])
@pytest.mark.parametrize("codec", ["xz", "bz2"])
def test_xz_and_bzip2_copies_read_like_the_original(
    shared_data: Path, tmp_path: Path, name: str, codec: str
) -> None:
    src = shared_data / name
    packed = tmp_path / f"{src.name}.{codec}"
    compress = lzma.compress if codec == "xz" else bz2.compress
    packed.write_bytes(compress(src.read_bytes()))
    assert ingest.detect_format(packed) == ingest.detect_format(src)
    # a Beast capture's clock origin falls back to the file time: pin it
    opts: dict[str, Any] = {"start_time": 1522782148} if name == BEAST else {}
    original = ingest.read(src, **opts)
    assert _content(ingest.read(packed, **opts)).equals(_content(original))


def test_jet1090_xz_copy_reads_like_the_gzip_original(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / JET1090
    packed = tmp_path / "tutorial.jsonl.xz"
    packed.write_bytes(lzma.compress(gzip.decompress(src.read_bytes())))
    assert _content(ingest.read(packed)).equals(_content(ingest.read(src)))


def _corrupt_gzip(src: Path, dst: Path) -> None:
    packed = bytearray(gzip.compress(src.read_bytes()))
    for i in range(200, 260):  # inside the deflate data: zlib reports a bad stream
        packed[i] ^= 0x55
    dst.write_bytes(bytes(packed))


def test_corrupt_gzip_is_a_format_error(shared_data: Path, tmp_path: Path) -> None:
    bad = tmp_path / "afr.sbs.gz"
    _corrupt_gzip(shared_data / AFR, bad)
    with pytest.raises(FormatError, match="corrupt or truncated gzip") as info:
        ingest.read(bad)
    assert info.value.path == str(bad)


def test_corrupt_gzip_on_the_command_line_is_one_line(shared_data: Path, tmp_path: Path) -> None:
    bad = tmp_path / "afr.sbs.gz"
    _corrupt_gzip(shared_data / AFR, bad)
    result = CliRunner().invoke(app, ["analyze", str(bad), "--out", str(tmp_path / "o"), *FAST])
    text = result.output + (result.stderr if result.stderr_bytes else "")
    assert result.exit_code == 1, text
    assert "Traceback" not in text
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert re.search(r"overflight analyze: error: .*afr\.sbs\.gz.*gzip", text), text


@pytest.mark.parametrize("name", [TRACE, STRATUX])
def test_utf8_byte_order_mark_is_ignored(shared_data: Path, tmp_path: Path, name: str) -> None:
    src = shared_data / name
    marked = tmp_path / src.name
    marked.write_bytes(BOM + src.read_bytes())
    assert ingest.detect_format(marked) == ingest.detect_format(src)
    got, want = ingest.read(marked), ingest.read(src)
    assert _content(got).equals(_content(want))
    assert ingest.table_stats(got) == ingest.table_stats(want)


@pytest.mark.parametrize("content", [b"", b"\n\r\n  \n"])
def test_empty_file_says_so(tmp_path: Path, content: bytes) -> None:
    f = tmp_path / "capture.sbs"
    f.write_bytes(content)
    with pytest.raises(FormatError, match=r"empty|blank") as info:
        ingest.read(f)
    assert info.value.path == str(f)


def test_beast_cut_mid_frame_reads_the_frames_before_with_skip(
    shared_data: Path, tmp_path: Path
) -> None:
    data = (shared_data / BEAST).read_bytes()
    cut = tmp_path / "cut.beast"
    cut.write_bytes(data[: len(data) - 5])
    with pytest.raises(DecodeError) as info:
        beast.read(cut, start_time=0)
    assert info.value.record is not None
    offset = int(info.value.record.split()[-1])  # where the cut frame starts
    whole = tmp_path / "whole.beast"
    whole.write_bytes(data[:offset])
    want = beast.read(whole, start_time=0)
    got = beast.read(cut, start_time=0, on_invalid="skip")
    assert _content(got).equals(_content(want))
    stats = ingest.table_stats(got)
    assert stats["reasons"]["truncated"] == 1
    assert stats["records"] == ingest.table_stats(want)["records"] + 1


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(min_size=0, max_size=300), st.sampled_from(["gz", "xz", "bz2"]))
def test_damaged_compressed_streams_never_crash(tmp_path: Path, body: bytes, codec: str) -> None:
    magic = {"gz": b"\x1f\x8b\x08\x00", "xz": b"\xfd7zXZ\x00", "bz2": b"BZh9"}[codec]
    f = tmp_path / f"x.{codec}"
    f.write_bytes(magic + body)
    with contextlib.suppress(InputError):
        ingest.read(f)


def test_short_replies_sent_as_112_bits_match_pymodes(traffic_samples: Path) -> None:
    """rs1090/jet1090 with an RTL-SDR writes DF0/4/5 replies as 28 hex digits
    (56 bits of noise after the reply); pyModeS decoding their first 56 bits is
    the reference for the altitude and squawk we read."""
    import json

    import numpy as np
    import pandas as pd
    import pyModeS

    path = traffic_samples / "rs1090" / "full_flight_short.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    ref_rows = []
    for r in rows:
        if len(r["frame"]) != 28 or int(r["frame"][:2], 16) >> 3 not in (0, 4, 5):
            continue
        d = pyModeS.decode(r["frame"][:14])
        ref_rows.append(
            {
                "timestamp": round(r["timestamp"] * 1e9),
                "icao24": str(d["icao"]).lower(),
                "ref_alt": d.get("altitude"),
                "ref_sq": d.get("squawk"),
            }
        )
    ref = pd.DataFrame(ref_rows).drop_duplicates(["timestamp", "icao24"], keep=False)
    assert len(ref) > 1000
    got = ingest.read(path).to_pandas()
    got["timestamp"] = got["timestamp"].astype("int64")
    both = ref.merge(got.drop_duplicates(["timestamp", "icao24"], keep=False))
    assert len(both) >= 0.95 * len(ref)
    alt = both.dropna(subset=["ref_alt"])
    assert len(alt) > 500
    assert np.array_equal(alt["altitude"].to_numpy(float), alt["ref_alt"].to_numpy(float))
    sq = both.dropna(subset=["ref_sq"])
    assert len(sq) > 100
    assert (sq["squawk"] == sq["ref_sq"]).all()


def test_parquet_of_raw_frames_reads_like_jet1090_lines(shared_data: Path, tmp_path: Path) -> None:
    """OpenSky raw tables and rs1090's examples keep frames as ``rawmsg`` with a
    ``mintime`` timestamp in Parquet: the same frames as jet1090 JSON lines."""
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    src = shared_data / JET1090
    lines = pj.read_json(pa.BufferReader(gzip.decompress(src.read_bytes())))
    seconds = lines.column("timestamp").to_numpy()
    stamps = pa.array((seconds * 1e6).round().astype("int64"), pa.timestamp("us", "UTC"))
    raw = tmp_path / "raw.parquet"
    pq.write_table(pa.table({"mintime": stamps, "rawmsg": lines.column("frame")}), raw)
    assert ingest.detect_format(raw) == "jet1090"
    got, want = _content(ingest.read(raw)), _content(ingest.read(src))
    assert got.num_rows == want.num_rows
    assert got.drop_columns(["timestamp"]).equals(want.drop_columns(["timestamp"]))
    t_got = got.column("timestamp").cast(pa.int64()).to_numpy()
    t_want = want.column("timestamp").cast(pa.int64()).to_numpy()
    assert abs(t_got - t_want).max() <= 1000  # the Parquet holds microseconds

    rs1090 = shared_data / "raw_modes" / "rs1090_minimal_20230301.parquet"
    assert ingest.detect_format(rs1090) == "jet1090"
    stats = ingest.table_stats(ingest.read(rs1090))
    assert stats["records"] == pq.read_metadata(rs1090).num_rows
