"""Field decoders and the columnar decode checked against pyModeS on real frames."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyModeS
import pytest

from overflight.ingest.modes import decode_frames, fields
from overflight.ingest.modes.hexio import frames_from_hex

TUTORIAL = "raw_modes/traffic_tutorial_jet1090_20240606.jsonl.gz"


def _frames(hexes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    text = "\n".join(hexes).encode()
    buf = np.frombuffer(text, dtype=np.uint8)
    lengths = np.array([len(h) for h in hexes], dtype=np.int64)
    starts = np.r_[0, np.cumsum(lengths + 1)[:-1]]
    frames, long, ok = frames_from_hex(buf, starts, lengths)
    assert ok.all()
    return frames, long


def test_altitude_code_table_matches_pymodes_for_every_code() -> None:
    codes = np.arange(8192)
    # DF4 replies carrying every 13-bit AC code (the parity is irrelevant to pyModeS here)
    hexes = [f"{(4 << 27) | int(c):08X}000000" for c in codes]
    want = np.array(
        [np.nan if (a := pyModeS.decode(h).get("altitude")) is None else a for h in hexes],
        dtype=float,
    )
    got = fields.altitude_ac13(codes)
    np.testing.assert_array_equal(got, want)


def test_squawk_digits_match_pymodes_for_every_code() -> None:
    codes = np.arange(8192)
    hexes = [f"{(5 << 27) | int(c):08X}000000" for c in codes]
    want = [pyModeS.decode(h)["squawk"] for h in hexes]
    got = [bytes(row).decode() for row in fields.squawk_digits(codes)]
    assert got == want


@pytest.fixture(scope="module")
def real_sample(shared_data: Path) -> list[str]:
    """Every 8th frame of the Toulouse tutorial plus the pyModeS ADS-B sample."""
    with gzip.open(shared_data / TUTORIAL, "rt") as fh:
        tutorial = [json.loads(line)["frame"] for line in fh][::8]
    csv_lines = (shared_data / "raw_modes/pymodes_sample_data_adsb.csv").read_text().splitlines()
    adsb = [line.split(",")[1].strip('"') for line in csv_lines if line]
    return tutorial + adsb


def _value(result: dict[str, Any], key: str) -> Any:
    v = result.get(key)
    return None if v is None else v


def test_fields_agree_with_pymodes_on_real_frames(real_sample: list[str]) -> None:
    frames, long = _frames(real_sample)
    n = len(real_sample)
    table, stats = decode_frames(frames, long, np.arange(n, dtype=np.int64), source="t")
    assert stats["records"] == n
    ours = table.to_pandas()
    index = ours["timestamp"].astype("int64").to_numpy()  # timestamp = frame index
    ref = [pyModeS.decode(real_sample[i]) for i in index]
    checked = dict.fromkeys(
        ("altitude", "geoaltitude", "groundspeed", "track", "vertical_rate", "callsign", "squawk"),
        0,
    )
    for row, r in zip(ours.itertuples(index=False), ref, strict=True):
        assert row.icao24 == r["icao"].lower()
        tc = r.get("typecode")
        alt = _value(r, "altitude")
        if tc is not None and 20 <= tc <= 22:
            assert abs(row.geoaltitude - alt) <= 1.0
            checked["geoaltitude"] += 1
        elif alt is not None:
            assert row.altitude == alt
            checked["altitude"] += 1
        if r["df"] in (17, 18) and (tc == 19 or (tc is not None and 5 <= tc <= 8)):
            gs = _value(r, "groundspeed")
            if gs is not None:
                if tc == 19:  # pyModeS truncates the vector sum to whole knots
                    assert 0.0 <= row.groundspeed - gs < 1.0
                else:
                    assert row.groundspeed == gs
                checked["groundspeed"] += 1
            trk = _value(r, "track")
            if trk is not None:
                assert abs(row.track - trk) < 1e-6
                checked["track"] += 1
            vr = _value(r, "vertical_rate")
            if vr is not None:
                assert row.vertical_rate == vr
                checked["vertical_rate"] += 1
        if r["df"] == 17 and tc is not None and 1 <= tc <= 4:
            assert row.callsign == r["callsign"]
            checked["callsign"] += 1
        if r["df"] in (5, 21):
            assert row.squawk == r["squawk"]
            checked["squawk"] += 1
    assert all(v > 0 for k, v in checked.items() if k != "geoaltitude"), checked


def test_velocity_rows_exist_wherever_pymodes_finds_a_velocity(real_sample: list[str]) -> None:
    frames, long = _frames(real_sample)
    n = len(real_sample)
    table, _ = decode_frames(frames, long, np.arange(n, dtype=np.int64), source="t")
    ours = table.to_pandas()
    with_gs = set(ours.loc[ours["groundspeed"].notna(), "timestamp"].astype("int64"))
    ref = [pyModeS.decode(h) for h in real_sample]
    want = {
        i
        for i, r in enumerate(ref)
        if r.get("crc_valid") and r.get("typecode") == 19 and r.get("groundspeed") is not None
    }
    assert want and want <= with_gs
