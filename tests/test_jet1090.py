"""jet1090 JSON lines: our decode of the raw frames against jet1090's own fields."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyModeS
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.errors import InputError
from overflight.geodesy import haversine_m
from overflight.ingest import detect_format, head_bytes, jet1090

TUTORIAL = "raw_modes/traffic_tutorial_jet1090_20240606.jsonl.gz"


def _stats(table: pa.Table) -> dict[str, object]:
    return json.loads(table.schema.metadata[b"overflight:stats"])


@pytest.fixture(scope="module")
def tutorial(shared_data: Path) -> tuple[pa.Table, pd.DataFrame]:
    path = shared_data / TUTORIAL
    with gzip.open(path, "rt") as fh:
        ref = pd.DataFrame([json.loads(line) for line in fh])
    return jet1090.read(path), ref


def test_positions_match_jet1090(tutorial: tuple[pa.Table, pd.DataFrame]) -> None:
    table, ref = tutorial
    ref = ref[ref["latitude"].notna()].copy()
    ref["timestamp"] = pd.to_datetime(
        np.round(ref["timestamp"].to_numpy(float) * 1e9).astype("int64"), utc=True
    )
    ours = table.to_pandas()
    ours = ours[ours["latitude"].notna()]
    assert set(ours["icao24"]) == set(ref["icao24"])
    m = ref.merge(
        ours[["icao24", "timestamp", "latitude", "longitude"]],
        on=["icao24", "timestamp"],
        how="left",
        suffixes=("", "_ours"),
    ).drop_duplicates(subset=["icao24", "timestamp", "frame"])
    assert m["latitude_ours"].notna().mean() >= 0.99
    d = haversine_m(m["latitude"], m["longitude"], m["latitude_ours"], m["longitude_ours"])
    assert (d[m["latitude_ours"].notna()] <= 50.0).mean() >= 0.99


def test_timestamps_and_callsigns_match(tutorial: tuple[pa.Table, pd.DataFrame]) -> None:
    table, ref = tutorial
    ours = table.to_pandas()
    ident = ref[ref["callsign"].notna()]
    # jet1090 of 2024 cut an invalid ('#') callsign short; pyModeS and rs1090
    # 0.7.0 keep all eight characters, so those frames are checked against pyModeS.
    clean = ident["callsign"].str.contains("#", regex=False)
    want = set(ident.loc[~clean, "callsign"].str.strip())
    want |= {pyModeS.decode(f)["callsign"] for f in ident.loc[clean, "frame"]}
    assert set(ours["callsign"].dropna()) == want
    t = ours["timestamp"].astype("int64").to_numpy()
    ref_t = np.sort(ref["timestamp"].to_numpy(float) * 1e9)
    k = np.clip(np.searchsorted(ref_t, t), 1, ref_t.size - 1)
    nearest = np.minimum(np.abs(ref_t[k] - t), np.abs(ref_t[k - 1] - t))
    assert nearest.max() <= 1000.0  # within a microsecond, the file's resolution
    stats = _stats(table)
    assert stats["records"] == len(ref)


def test_broken_lines_are_counted(shared_data: Path, tmp_path: Path) -> None:
    with gzip.open(shared_data / TUTORIAL, "rt") as fh:
        lines = [next(fh) for _ in range(300)]
    p = tmp_path / "broken.jsonl"
    p.write_text(
        "".join(lines[:150])
        + "{not json\n"
        + '{"timestamp": 1, "frame": "zz"}\n'
        + "".join(lines[150:])
    )
    table = jet1090.read(p)
    stats = _stats(table)
    assert stats["reasons"]["bad_line"] == 2
    assert stats["records"] == 302
    intact = tmp_path / "intact.jsonl"
    intact.write_text("".join(lines))
    assert table.equals(jet1090.read(intact, source=p.name))


def test_sniff(shared_data: Path) -> None:
    assert detect_format(shared_data / TUTORIAL) == "jet1090"
    p = shared_data / "raw_modes/pymodes_data_old.txt"
    assert not jet1090.sniff(head_bytes(p), p)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(tmp_path_factory: pytest.TempPathFactory, blob: bytes) -> None:
    p = tmp_path_factory.mktemp("rnd") / "r.jsonl"
    p.write_bytes(blob)
    try:
        table = jet1090.read(p)
    except InputError:
        return
    assert table.num_rows == _stats(table)["rows"]
