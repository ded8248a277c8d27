"""The columnar decoder: CRC, Address/Parity trust, bookkeeping, random input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyModeS
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from overflight.ingest.modes import crc, decode_frames
from overflight.ingest.modes.hexio import frames_from_hex
from overflight.schema import MESSAGE_SCHEMA

TUTORIAL = "raw_modes/traffic_tutorial_jet1090_20240606.jsonl.gz"


def _frames(hexes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    buf = np.frombuffer("\n".join(hexes).encode(), dtype=np.uint8)
    lengths = np.array([len(h) for h in hexes], dtype=np.int64)
    starts = np.r_[0, np.cumsum(lengths + 1)[:-1]]
    frames, long, ok = frames_from_hex(buf, starts, lengths)
    assert ok.all()
    return frames, long


@pytest.fixture(scope="module")
def tutorial_frames(shared_data: Path) -> list[str]:
    with gzip.open(shared_data / TUTORIAL, "rt") as fh:
        return [json.loads(line)["frame"] for line in fh][:20000]


def test_crc_remainder_gives_the_address_pymodes_finds(tutorial_frames: list[str]) -> None:
    frames, long = _frames(tutorial_frames)
    rem = crc.remainder(crc.right_align(frames, long))
    df = frames[:, 0] >> 3
    for i in np.flatnonzero(np.isin(df, (0, 4, 5, 16, 20, 21)))[:2000]:
        assert f"{int(rem[i]):06X}" == pyModeS.decode(tutorial_frames[i])["icao"]
    es = np.flatnonzero(df == 17)
    assert es.size and (rem[es] == 0).all()


def test_a_flipped_bit_fails_the_crc_and_is_counted(tutorial_frames: list[str]) -> None:
    es = [h for h in tutorial_frames if h.lower().startswith("8d")][:500]
    frames, long = _frames(es)
    rng = np.random.default_rng(3)
    bit = rng.integers(8, 112, size=len(es))  # anywhere after the DF field
    frames[np.arange(len(es)), bit // 8] ^= (1 << (7 - bit % 8)).astype(np.uint8)
    table, stats = decode_frames(frames, long, np.zeros(len(es), np.int64), source="t")
    assert table.num_rows == 0
    assert stats["reasons"]["crc"] == len(es)


def test_address_parity_replies_need_a_checked_squitter(tutorial_frames: list[str]) -> None:
    frames, long = _frames(tutorial_frames)
    df = frames[:, 0] >> 3
    ap = np.isin(df, (0, 4, 5, 16, 20, 21))
    t = np.arange(len(tutorial_frames), dtype=np.int64)
    alone, stats_alone = decode_frames(frames[ap], long[ap], t[ap], source="t")
    assert alone.num_rows == 0
    assert stats_alone["reasons"]["unknown_address"] == int(ap.sum())
    both, _ = decode_frames(frames, long, t, source="t")
    seen = set(
        both.filter(pc.is_in(both["timestamp"].cast(pa.int64()), pa.array(t[~ap])))
        .column("icao24")
        .to_pylist()
    )
    ap_rows = both.filter(pc.is_in(both["timestamp"].cast(pa.int64()), pa.array(t[ap])))
    assert ap_rows.num_rows > 0
    assert set(ap_rows.column("icao24").to_pylist()) <= seen


def test_every_frame_is_a_row_a_rejection_or_a_skip(tutorial_frames: list[str]) -> None:
    frames, long = _frames(tutorial_frames)
    table, stats = decode_frames(
        frames, long, np.arange(len(tutorial_frames), dtype=np.int64), source="t"
    )
    assert stats["records"] == stats["rows"] + stats["rejected"] + stats["skipped"]
    assert table.num_rows == stats["rows"]
    assert table.schema.equals(pa.schema([pa.field(f.name, f.type) for f in MESSAGE_SCHEMA]))
    assert set(table.column("source").to_pylist()) == {"t"}


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.uint8, st.tuples(st.integers(0, 40), st.just(14))),
    st.data(),
)
def test_random_frames_never_crash(frames: np.ndarray, data: st.DataObject) -> None:
    n = frames.shape[0]
    long = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    frames = frames.copy()
    frames[~long, 7:] = 0
    t = np.array(data.draw(st.lists(st.integers(0, 2**62), min_size=n, max_size=n)), np.int64)
    table, stats = decode_frames(frames, long, t, source="random")
    assert stats["records"] == n == stats["rows"] + stats["rejected"] + stats["skipped"]
    assert table.num_rows == stats["rows"]


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 60), st.just(11))), st.integers(0, 3))
def test_random_squitters_with_valid_parity_decode_to_sane_values(
    data: np.ndarray, n_aircraft: int
) -> None:
    n = data.shape[0]
    frames = np.zeros((n, 14), dtype=np.uint8)
    frames[:, :11] = data
    frames[:, 0] = 0x8D  # DF17, CA 5
    frames[:, 1:4] = np.arange(n)[:, None] % (n_aircraft + 1)  # few addresses: CPR pairs form
    long = np.ones(n, dtype=bool)
    parity = crc.remainder(crc.right_align(frames, long))
    frames[:, 11] = parity >> 16
    frames[:, 12] = (parity >> 8) & 0xFF
    frames[:, 13] = parity & 0xFF
    assert (crc.remainder(crc.right_align(frames, long)) == 0).all()
    table, stats = decode_frames(frames, long, np.arange(n, dtype=np.int64) * 10**8, source="r")
    assert stats["reasons"].get("crc", 0) == 0
    df = table.to_pandas()
    assert df["latitude"].dropna().between(-90, 90).all()
    assert df["longitude"].dropna().between(-180, 180).all()
    assert df["track"].dropna().between(0, 360).all()
