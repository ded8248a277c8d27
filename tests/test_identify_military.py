"""Military address blocks and callsign prefixes, on real databases and tracks."""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from overflight.identify.allocation import registry_country
from overflight.identify.databases import read_aircraft_db
from overflight.identify.military import (
    MILITARY_BLOCKS,
    callsign_rule_table,
    military_block,
    military_callsign,
)

# --- the FAA N-number to Mode S address mapping, written from its published rules:
# N + digit 1-9, then up to four more characters, at most two trailing letters
# (A-Z without I and O); addresses are handed out in lexicographic order from A00001.
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_SUFFIX = 1 + len(_LETTERS) * (1 + len(_LETTERS))  # none, X, XY
_BUCKET4 = 1 + len(_LETTERS) + 10  # after 4 digits: none, a letter, a 5th digit
_BUCKET3 = 10 * _BUCKET4 + _SUFFIX
_BUCKET2 = 10 * _BUCKET3 + _SUFFIX
_BUCKET1 = 10 * _BUCKET2 + _SUFFIX


def _suffix_offset(s: str) -> int:
    if not s:
        return 0
    off = 1 + _LETTERS.index(s[0]) * (1 + len(_LETTERS))
    if len(s) > 1:
        off += 1 + _LETTERS.index(s[1])
    return off


def n_number_to_icao(reg: str) -> int:
    s = reg.upper().removeprefix("N")
    out = 0xA00001 + (int(s[0]) - 1) * _BUCKET1
    buckets = [_BUCKET2, _BUCKET3, _BUCKET4]
    for level, ch in enumerate(s[1:], start=1):
        if ch.isalpha():
            if level == 4:
                return out + 1 + _LETTERS.index(ch)
            return out + _suffix_offset(s[level:])
        if level == 4:
            return out + 1 + len(_LETTERS) + int(ch)
        out += _SUFFIX + int(ch) * buckets[level - 1]
    return out


def test_n_number_mapping_matches_real_pairs(shared_data: Path) -> None:
    """The mapping above reproduces the addresses of real US registrations."""
    bz = pd.read_csv(shared_data / "trajectories" / "buzzfeed_2016_conventions_rnc.csv", dtype=str)
    pairs = bz[["reg", "adshex"]].drop_duplicates()
    for reg, hexa in pairs.itertuples(index=False):
        assert n_number_to_icao(reg) == int(hexa, 16), reg
    with lzma.open(
        shared_data / "aircraft_db" / "flightaware_dump1090_aircraft_20250514.csv.xz"
    ) as fh:
        fa = pd.read_csv(fh, dtype=str, usecols=["icao24", "r"]).dropna()
    us = fa[fa["r"].str.fullmatch(r"N[1-9][0-9A-HJ-NP-Z]{0,4}")].sample(5000, random_state=0)
    got = np.array([n_number_to_icao(r) for r in us["r"]])
    agree = float(np.mean(got == us["icao24"].map(lambda h: int(h, 16)).to_numpy()))
    print(f"N-number mapping agrees with FlightAware for {agree:.2%} of 5000 US aircraft")
    assert agree > 0.98


def test_us_military_block_starts_after_the_last_n_number() -> None:
    last_civil = n_number_to_icao("N99999")
    us = [b for b in MILITARY_BLOCKS if b.iso3 == "USA"]
    assert len(us) == 1
    assert us[0].start == last_civil + 1
    assert us[0].end == 0xAFFFFF
    assert not military_block([f"{last_civil:06x}"])[0]
    assert military_block([f"{last_civil + 1:06x}", "ae0000", "afffff"]).all()


def test_blocks_match_tar1090_db_ranges(shared_data: Path) -> None:
    ranges = json.loads(
        (shared_data / "icao_allocation" / "tar1090db_military_ranges.json").read_text()
    )
    ref = {(int(a, 16), int(b, 16)) for a, b in ranges["military"]}
    mine = {(b.start, b.end) for b in MILITARY_BLOCKS}
    print(f"military blocks: {len(mine)} ours, {len(ref)} tar1090-db, {len(mine & ref)} identical")
    assert mine == ref, (sorted(mine - ref), sorted(ref - mine))


def test_each_block_lies_in_its_states_allocation() -> None:
    for b in MILITARY_BLOCKS:
        got = registry_country([f"{b.start:06x}", f"{b.end:06x}"]).to_pylist()
        assert got == [b.iso3, b.iso3], b


def test_block_flag_against_tar1090_db_flags(shared_data: Path) -> None:
    """Agreement of the block flag with the database's own military flag."""
    db = read_aircraft_db(shared_data / "aircraft_db" / "tar1090_db_flat.csv.gz")
    block = military_block(db["icao24"])
    flag = db["military"].to_numpy(zero_copy_only=False).astype(bool)
    agree = float(np.mean(block == flag))
    precision = float((block & flag).sum() / block.sum())
    recall = float((block & flag).sum() / flag.sum())
    print(
        f"tar1090-db: {len(flag)} aircraft, {int(flag.sum())} flagged military; "
        f"block flag agrees {agree:.2%}, precision {precision:.2%}, recall {recall:.2%}"
    )
    assert agree > 0.98
    assert precision > 0.95


def test_sample_military_aircraft(traffic_samples: Path) -> None:
    carrier = pd.read_json(
        traffic_samples / "military/aircraft_carrier.json.gz", dtype={"icao24": str}
    )
    assert military_block(carrier["icao24"].unique()).all()  # ae0455, US Navy C-2A
    tanker = pd.read_json(
        traffic_samples / "military/inflight_refuelling.json.gz", dtype={"icao24": str}
    )
    assert military_block(tanker["icao24"].unique()).all()  # 3b7777, French KC-135
    assert set(military_callsign(tanker["callsign"].unique()).to_pylist()) == {"FAF"}


def test_callsign_prefixes_on_every_sample(traffic_samples: Path, shared_data: Path) -> None:
    """No false positives: each callsign match belongs to a military aircraft per tar1090-db."""
    frames = []
    for f in sorted(traffic_samples.glob("*/*.json.gz")):
        if f.stat().st_size > 1_000_000:  # the large collections take too long to parse
            continue
        df = pd.read_json(f, dtype={"icao24": str})
        if {"icao24", "callsign"} <= set(df.columns):
            frames.append(df[["icao24", "callsign"]].dropna().drop_duplicates())
    # SBS-1 identification messages (MSG,1): hex ident and callsign
    raw = shared_data / "raw_modes"
    for name, shift in (
        ("sbs_recording_AFR_20161209_paris.sbs", 0),
        ("stratux_es_20150902_michigan.log", 1),
    ):
        lines = [ln.split(",") for ln in (raw / name).read_text().splitlines() if "MSG,1," in ln]
        frames.append(
            pd.DataFrame(
                {
                    "icao24": [x[4 + shift].lower() for x in lines],
                    "callsign": [x[10 + shift].strip() for x in lines],
                }
            ).drop_duplicates()
        )
    pairs = pd.concat(frames).drop_duplicates()
    pairs = pairs[pairs["callsign"].map(lambda x: isinstance(x, str))]
    hit = pairs[
        military_callsign(pairs["callsign"].tolist()).is_valid().to_numpy(zero_copy_only=False)
    ]
    db = read_aircraft_db(shared_data / "aircraft_db" / "tar1090_db_flat.csv.gz").to_pandas()
    mil = set(db.loc[db["military"], "icao24"])
    print(
        f"{len(hit)} of {len(pairs)} sample callsigns match a military prefix: "
        f"{hit.values.tolist()}"
    )
    assert len(hit) >= 1
    assert hit["icao24"].isin(mil).all(), hit


@pytest.mark.parametrize(
    ("callsign", "expected"),
    [
        ("RCH123", "RCH"),
        (" rch4 ", "RCH"),
        ("NATO01", "NATO"),
        ("FORTE12", "FORTE"),
        ("RCHX", None),  # prefix not followed by a digit
        ("PATRIOT1", None),
        ("DLH4TR", None),
        ("", None),
        (None, None),
    ],
)
def test_callsign_rules(callsign: str | None, expected: str | None) -> None:
    assert military_callsign([callsign]).to_pylist() == [expected]


def test_rule_table() -> None:
    t = callsign_rule_table()
    assert t.column_names == ["prefix", "operator", "isr", "source"]
    assert len(set(t["prefix"].to_pylist())) == t.num_rows


def test_non_string_inputs() -> None:
    assert military_callsign([1, 2]).to_pylist() == [None, None]
    assert military_block([]).tolist() == []
    assert military_block([0xAE0455, -5, 2**30]).tolist() == [True, False, False]
