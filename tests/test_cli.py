"""The command line on real files: outputs, schema drift, and bad input."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from overflight import store
from overflight.cli import app
from overflight.schema import DECLARED_COLUMNS

runner = CliRunner()

BEAST = "raw_modes/beastblackbox_ulss7_20180403.beast"
SBS_TRUTH = "raw_modes/beastblackbox_ulss7_20180403_decoded.sbs"
RNC = "trajectories/buzzfeed_2016_conventions_rnc.csv"
FAST = ["--no-airspace", "--no-report"]


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def test_analyze_beast_matches_dump1090_aircraft(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, text = _run("analyze", shared_data / BEAST, "--out", out, *FAST)
    assert code == 0, text
    points = pq.read_table(out / "points.parquet")
    flights = pq.read_table(out / "flights.parquet")
    # schema drift: nothing undeclared leaves a stage
    assert set(points.column_names) <= DECLARED_COLUMNS["points"]
    assert set(flights.column_names) <= DECLARED_COLUMNS["flights"]
    # the aircraft dump1090 itself found positions for (MSG,3 rows with lat/lon)
    with open(shared_data / SBS_TRUTH, newline="") as fh:
        truth = {
            r[4].lower() for r in csv.reader(fh) if len(r) > 15 and r[:2] == ["MSG", "3"] and r[14]
        }
    assert set(points.column("icao24").to_pylist()) == truth
    assert points.column("flight_id").null_count == 0
    assert set(flights.column("flight_id").to_pylist()) == set(
        points.column("flight_id").to_pylist()
    )


def test_store_gets_the_analysis(shared_data: Path, tmp_path: Path) -> None:
    out, db = tmp_path / "out", tmp_path / "a.duckdb"
    code, text = _run("analyze", shared_data / BEAST, "--out", out, "--db", db, *FAST)
    assert code == 0, text
    n = pq.read_metadata(out / "points.parquet").num_rows
    got = store.query(db, "SELECT count(*) AS n FROM points").column("n")[0].as_py()
    assert got == n


def test_truncated_beast_names_file_and_offset(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / BEAST).read_bytes()
    cut = tmp_path / "cut.beast"
    # cut inside the last frame: a 0x1a '3' long frame is 2 + 6 + 1 + 14 bytes
    last = data.rfind(b"\x1a3")
    cut.write_bytes(data[: last + 10])
    out = tmp_path / "out"
    code, text = _run("analyze", cut, "--out", out, *FAST)
    assert code == 1
    assert "overflight analyze: error:" in text
    assert "cut.beast" in text and "byte" in text and "--on-invalid skip" in text
    assert not (out / "points.parquet").exists()
    # the capture up to the cut reads with skip: the same as the file cut before that frame
    code, text = _run("analyze", cut, "--out", out, "--on-invalid", "skip", *FAST)
    assert code == 0, text
    whole = tmp_path / "whole.beast"
    whole.write_bytes(data[:last])
    code, text = _run("analyze", whole, "--out", tmp_path / "whole", *FAST)
    assert code == 0, text
    got, want = (
        pq.read_table(out / "points.parquet"),
        pq.read_table(tmp_path / "whole/points.parquet"),
    )
    assert got.num_rows == want.num_rows > 0
    for name in ("icao24", "latitude", "longitude", "altitude"):  # times hang on the file's mtime
        assert got.column(name).equals(want.column(name))


def test_csv_garbage_rows(shared_data: Path, tmp_path: Path) -> None:
    lines = (shared_data / RNC).read_text().splitlines(keepends=True)
    bad = tmp_path / "rnc_bad.csv"
    bad.write_text("".join([*lines[:100], "this,is,not,a,row,at,all,!,?,x,y\n", *lines[100:]]))
    out = tmp_path / "out"
    code, text = _run("analyze", bad, "--out", out, *FAST)
    assert code == 1
    assert "rnc_bad.csv" in text and "line 101" in text
    assert "(wrong number of comma-separated fields)" in text
    assert not (out / "points.parquet").exists()
    code, text = _run("analyze", bad, "--out", out, "--on-invalid", "skip", *FAST)
    assert code == 0, text
    assert pq.read_metadata(out / "points.parquet").num_rows == len(lines) - 1


def test_json_that_is_not_readsb(tmp_path: Path) -> None:
    f = tmp_path / "aircraft.json"
    f.write_text('{"now": "yesterday", "planes": [1, 2, 3]}')
    code, text = _run("analyze", f, "--out", tmp_path / "out", *FAST)
    assert code == 1
    assert "aircraft.json" in text


def test_wrong_mapping_names_the_column(shared_data: Path, tmp_path: Path) -> None:
    code, text = _run(
        "analyze", shared_data / RNC, "--map", "icao24=hexcode", "--out", tmp_path / "o", *FAST
    )
    assert code == 1
    assert "hexcode" in text and "buzzfeed_2016_conventions_rnc.csv" in text


def test_failed_run_keeps_earlier_outputs(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, text = _run("analyze", shared_data / RNC, "--out", out, *FAST)
    assert code == 0, text
    before = _digests(out)
    broken = tmp_path / "broken.beast"
    shutil.copy(shared_data / BEAST, broken)
    with open(broken, "ab") as fh:
        fh.write(b"\x1a3\x00\x01")
    code, _ = _run("analyze", broken, "--out", out, *FAST)
    assert code == 1
    assert _digests(out) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".partial")]


def test_a_folder_with_other_files_is_refused(shared_data: Path, tmp_path: Path) -> None:
    """Its files would be vouched for by the manifest, or fail verify: refused up front."""
    out = tmp_path / "notes"
    out.mkdir()
    (out / "mynote.txt").write_text("mine")
    for engine in ("memory", "local"):
        code, text = _run("analyze", shared_data / RNC, "--out", out, "--engine", engine, *FAST)
        assert code == 1, text
        assert "mynote.txt" in text and "new or empty folder" in text
        assert sorted(p.name for p in out.iterdir()) == ["mynote.txt"]
    # a folder holding an earlier analysis is fine: it is replaced
    (out / "mynote.txt").unlink()
    for _ in range(2):
        code, text = _run("analyze", shared_data / RNC, "--out", out, *FAST)
        assert code == 0, text


def test_an_unknown_focus_code_is_refused(shared_data: Path, tmp_path: Path) -> None:
    """A typo would run to the end and report that nobody entered a country that is not there."""
    for engine in ("memory", "local"):
        out = tmp_path / engine
        args = ["--focus", "FRN", "--engine", engine, "--no-report"]
        code, text = _run("analyze", shared_data / RNC, "--out", out, *args)
        assert code == 1, text
        assert "--focus FRN" in text and "FRA" in text  # the near code is suggested
        assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("args", [["--reference", "north"], ["--map", "icao24"]])
def test_bad_options_exit_1(tmp_path: Path, args: list[str]) -> None:
    f = tmp_path / "x.csv"
    f.write_text("a,b\n1,2\n")
    code, text = _run("analyze", f, "--out", tmp_path / "o", *args, *FAST)
    assert code == 1
    assert "overflight analyze: error:" in text


def test_an_input_that_gives_nothing_is_explained(shared_data: Path, tmp_path: Path) -> None:
    """pyModeS's Comm-B sample: DF20 replies only, so no squitter confirms any address."""
    pms = pytest.importorskip("pyModeS")
    path = shared_data / "raw_modes" / "pymodes_sample_data_commb_df20.csv"
    frames = [r[-1] for r in csv.reader(path.read_text(encoding="utf-8-sig").splitlines()) if r]
    assert {pms.decode(f)["df"] for f in frames} == {20}  # no DF11/17/18 confirms an address
    code, text = _run("analyze", path, "--out", tmp_path / "o", "--no-airspace", "--no-report")
    assert code == 0, text
    assert f"none of its {len(frames):,} records gave a message" in text
    assert f"unknown_address {len(frames):,}" in text and "no squitter" in text
