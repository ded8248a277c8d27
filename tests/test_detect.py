"""Content sniffing over every real sample file.

The decoded-data formats (sbs, readsb, opensky, traffic, table) are checked
strictly: exactly the expected one of their sniffers claims each file, and
``detect_format`` names it. For every other file (raw Mode S captures,
databases, boundaries, docs) none of these sniffers may claim it; what the raw
Mode S readers say is their business, so their answer is only checked not to
be one of ours, and a file nobody recognises is fine.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

from overflight.errors import FormatError
from overflight.ingest import READERS, detect_format, head_bytes

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OURS = ("sbs", "readsb", "opensky", "traffic", "table")

EXPECTED: dict[str, str] = {
    "raw_modes/sbs_recording_AFR_20161209_paris.sbs": "sbs",
    "raw_modes/beastblackbox_ulss7_20180403_decoded.sbs": "sbs",
    "raw_modes/stratux_es_20150902_michigan.log": "sbs",
    "raw_modes/stratux_es_20150907_problem.log": "sbs",
    "trajectories/buzzfeed_2016_conventions_rnc.csv": "table",
    "trajectories/opensky_msr804_20160519.sqlite3": "opensky",
    "trajectories/readsb_trace_full_ac671b_DAL1812.json": "readsb",
    "traffic:readsb/trace_full_ac671b.json": "readsb",
}


def _traffic_root() -> Path | None:
    spec = importlib.util.find_spec("traffic")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent / "data" / "samples"
    return root if root.is_dir() else None


def _cases() -> list[str]:
    cases = []
    if SHARED.is_dir():
        cases += sorted(str(p.relative_to(SHARED)) for p in SHARED.rglob("*") if p.is_file())
    root = _traffic_root()
    if root is not None:
        data = [p for p in root.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
        cases += sorted(f"traffic:{p.relative_to(root)}" for p in data)
    return cases


def _expected(case: str) -> str | None:
    if case in EXPECTED:
        return EXPECTED[case]
    if case.startswith("traffic:") and case.endswith(".json.gz"):
        return "traffic"
    return None


@pytest.mark.parametrize("case", _cases() or ["(no sample data)"])
def test_sniffers(case: str, request: pytest.FixtureRequest) -> None:
    if case.startswith("traffic:"):
        path = request.getfixturevalue("traffic_samples") / case.removeprefix("traffic:")
    else:
        path = request.getfixturevalue("shared_data") / case
    head = head_bytes(path)
    claims = [n for n in OURS if importlib.import_module(READERS[n]).sniff(head, path)]
    expected = _expected(case)
    if expected is None:
        assert claims == [], f"{case} is not a decoded-data file but {claims} claim it"
        try:
            fmt = detect_format(path)
        except FormatError:
            return
        assert fmt not in OURS
        return
    assert claims == [expected]
    assert detect_format(path) == expected


def test_every_listed_file_exists(shared_data: Path) -> None:
    for case in EXPECTED:
        if not case.startswith("traffic:"):
            assert (shared_data / case).is_file(), case
