"""CPR arithmetic: NL against its closed form, local decoding against rs1090."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest
import rs1090
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.geodesy import destination
from overflight.ingest.modes import cpr
from overflight.ingest.modes.positions import CprOptions, resolve

TUTORIAL = "raw_modes/traffic_tutorial_jet1090_20240606.jsonl.gz"


def _nl_closed_form(lat: float) -> int:
    """NL from DO-260B's formula, without the transition table."""
    if lat == 0.0:
        return 59
    if abs(lat) == 87.0:
        return 2
    if abs(lat) > 87.0:
        return 1
    a = 1.0 - math.cos(math.pi / 30.0)
    b = math.cos(math.pi / 180.0 * abs(lat)) ** 2
    return math.floor(2.0 * math.pi / math.acos(1.0 - a / b))


@settings(max_examples=400, deadline=None)
@given(st.floats(min_value=-90.0, max_value=90.0, allow_nan=False))
def test_nl_matches_closed_form(lat: float) -> None:
    got = int(cpr.nl(np.array([lat]))[0])
    want = _nl_closed_form(lat)
    if got != want:  # only acceptable within rounding of a transition latitude
        edges = np.abs(cpr._TRANSITIONS - abs(lat))
        assert edges.min() < 1e-9


@pytest.fixture(scope="module")
def positions(shared_data: Path) -> list[dict[str, object]]:
    """Real DF17 position reports of the Toulouse tutorial, with jet1090's decoded position."""
    with gzip.open(shared_data / TUTORIAL, "rt") as fh:
        rows = [json.loads(line) for line in fh]
    return [r for r in rows if r.get("latitude") is not None][::25]


def _cpr_fields(frame: str) -> tuple[float, float, bool, bool]:
    me = int(frame[8:22], 16)
    tc = me >> 51
    odd = bool((me >> 34) & 1)
    return ((me >> 17) & 0x1FFFF) / 2**17, (me & 0x1FFFF) / 2**17, odd, 5 <= tc <= 8


def test_local_decoding_matches_rs1090(positions: list[dict[str, object]]) -> None:
    rng = np.random.default_rng(7)
    checked = 0
    for r in positions:
        frame = str(r["frame"])
        yz, xz, odd, surface = _cpr_fields(frame)
        # a reference up to 20 NM (surface 5 NM) away in a random direction
        dist_m = rng.uniform(0, (5 if surface else 20) * 1852.0)
        ref_lat, ref_lon = destination(r["latitude"], r["longitude"], rng.uniform(0, 360), dist_m)
        want = rs1090.decode(frame, reference=(float(ref_lat), float(ref_lon)))
        lat, lon = cpr.local(
            np.array([yz]),
            np.array([xz]),
            np.array([odd]),
            np.array([surface]),
            np.array([float(ref_lat)]),
            np.array([float(ref_lon)]),
        )
        assert lat[0] == pytest.approx(want["latitude"], abs=1e-6)
        assert lon[0] == pytest.approx(want["longitude"], abs=1e-6)
        checked += 1
    assert checked > 100


def test_resolve_matches_jet1090_on_a_contiguous_block(shared_data: Path) -> None:
    with gzip.open(shared_data / TUTORIAL, "rt") as fh:
        rows = [json.loads(line) for line in fh]
    block = [r for r in rows if r.get("lat_cpr") is not None and r.get("latitude") is not None]
    block = block[2000:5000]
    frames = [str(r["frame"]) for r in block]
    f = [_cpr_fields(x) for x in frames]
    lat, lon, counts = resolve(
        np.array([int(x[2:8], 16) for x in frames], dtype=np.uint32),
        np.round(np.array([r["timestamp"] for r in block], float) * 1e9).astype(np.int64),
        np.array([x[3] for x in f]),
        np.array([x[2] for x in f]),
        np.array([x[0] for x in f]),
        np.array([x[1] for x in f]),
    )
    want_lat = np.array([r["latitude"] for r in block], float)
    want_lon = np.array([r["longitude"] for r in block], float)
    ok = ~np.isnan(lat)
    assert ok.mean() > 0.99
    np.testing.assert_allclose(lat[ok], want_lat[ok], atol=1e-5)
    np.testing.assert_allclose(lon[ok], want_lon[ok], atol=1e-5)
    assert counts["global"] + counts["local"] + counts["surface_reference"] == int(ok.sum())


def test_reports_beyond_the_window_are_not_paired() -> None:
    pair = ["8D40621D58C382D690C8AC2863A7", "8D40621D58C386435CC412692AD6"]  # even, odd
    f = [_cpr_fields(x) for x in pair]
    yz, xz = np.array([x[0] for x in f]), np.array([x[1] for x in f])
    odd = np.array([x[2] for x in f])
    args = (np.array([1, 1], np.uint32), np.array([0, 11_000_000_000]), np.zeros(2, bool), odd)
    lat, _, counts = resolve(*args, yz, xz)  # 11 s apart: beyond the 10 s window
    assert np.isnan(lat).all() and counts["unresolved"] == 2
    lat, lon, counts = resolve(*args, yz, xz, CprOptions(airborne_window_s=12))
    assert counts["global"] == 2
    want = rs1090.decode(pair, [0.0, 1.0])[1]
    assert (lat[1], lon[1]) == pytest.approx((want["latitude"], want["longitude"]), abs=1e-9)
