"""The engines from the command line: analyze/trends out of core, store export.

Each engine run is compared with the in-memory run of the same command on
the same real samples: the rows must be the same, whatever the engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from overflight import engine, pipeline, store
from overflight.cli import app, scale
from overflight.report.manifest import read_manifest, verify
from overflight.store.dataset import read_dataset

runner = CliRunner()

SAMPLES = ("military/aircraft_carrier.json.gz", "surveillance/border_control.json.gz")


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


@pytest.fixture(scope="module")
def inputs(traffic_samples: Path) -> list[Path]:
    return [traffic_samples / s for s in SAMPLES]


def test_analyze_local_engine_equals_memory(inputs: list[Path], tmp_path: Path) -> None:
    mem, eng = tmp_path / "mem", tmp_path / "eng"
    code, text = _run("analyze", *inputs, "--focus", "FRA", "--out", mem, "--engine", "memory")
    assert code == 0, text
    code, text = _run(
        "analyze", *inputs, "--focus", "FRA", "--out", eng, "--engine", "local", "--partitions", "3"
    )
    assert code == 0, text
    assert (eng / "points").is_dir() and not (eng / "points.parquet").exists()
    for name in ("flights", "events"):
        a = engine.canonical_sort(pq.read_table(mem / f"{name}.parquet"), name)
        b = engine.canonical_sort(pq.read_table(eng / f"{name}.parquet"), name)
        assert a.equals(b), name
    a = engine.canonical_sort(pq.read_table(mem / "points.parquet"), "points")
    b = engine.canonical_sort(read_dataset(eng / "points"), "points")
    assert a.num_rows == b.num_rows and a.column("zone").equals(b.column("zone"))
    # the report of an engine run covers the dataset files and verifies
    assert (eng / "report.html").is_file()
    code, text = _run("verify", eng)
    assert code == 0, text
    manifest = (eng / "manifest.json").read_text()
    assert "points/day=" in manifest
    # an in-memory run into the same folder replaces the engine's outputs
    code, text = _run("analyze", *inputs, "--out", eng, "--no-airspace", "--engine", "memory")
    assert code == 0, text
    assert (eng / "points.parquet").is_file() and not (eng / "points").exists()
    assert not (eng / "run.json").exists()


def test_trends_local_engine_equals_memory(inputs: list[Path], tmp_path: Path) -> None:
    common = ("--focus", "FRA", "--near-km", "100")
    code, text = _run("trends", *inputs, *common, "--out", tmp_path / "m", "--engine", "memory")
    assert code == 0, text
    code, text = _run(
        "trends",
        *inputs,
        *common,
        "--out",
        tmp_path / "e",
        "--engine",
        "local",
        "--partitions",
        "2",
    )
    assert code == 0, text
    mem = (tmp_path / "m" / "trends_daily.csv").read_text()
    assert (tmp_path / "e" / "trends_daily.csv").read_text() == mem
    # the border-control flight off Calais comes within 100 km of France
    assert "surveillance" in (tmp_path / "m" / "trends_weekly.csv").read_text().splitlines()[0]


def test_store_export_feeds_analyze(inputs: list[Path], tmp_path: Path) -> None:
    first = tmp_path / "first"
    code, text = _run("analyze", inputs[1], "--out", first, "--no-airspace", "--no-report")
    assert code == 0, text
    db, ds = tmp_path / "s.duckdb", tmp_path / "ds"
    assert _run("store", "append", db, first)[0] == 0
    code, text = _run("store", "export", db, ds)
    assert code == 0, text
    stored = pq.read_table(first / "points.parquet")
    exported = read_dataset(ds)
    assert exported.num_rows == stored.num_rows
    assert {p.name for p in ds.iterdir() if p.name.startswith("day=")}
    # a second export into the same folder is refused, the first one stays
    code, text = _run("store", "export", db, ds)
    assert code == 1 and "not empty" in text
    assert read_dataset(ds).num_rows == stored.num_rows
    # a dataset folder goes to the local engine by itself, and its report's
    # manifest lists the folder's files as inputs
    again = tmp_path / "again"
    code, text = _run("analyze", ds, "--out", again, "--no-airspace")
    assert code == 0, text
    assert (again / "run.json").is_file()
    flights = pipeline.load_analysis(again).flights
    assert flights.num_rows == pq.read_table(first / "flights.parquet").num_rows
    listed = {e["name"] for e in read_manifest(again)["inputs"]}
    files = {f"ds/{f.relative_to(ds).as_posix()}" for f in ds.rglob("*") if f.is_file()}
    assert listed == files and any(n.endswith(".parquet") for n in listed)
    assert verify(again, check_inputs=True) == []
    # the points are exported once: the engine's points/ dataset is the GeoParquet
    assert not (again / "points.geoparquet").exists()
    assert 'href="points/"' in (again / "report.html").read_text()
    # and the store takes them from there
    db2 = tmp_path / "again.duckdb"
    assert _run("store", "append", db2, again)[0] == 0
    n = store.query(db2, "SELECT count(*) FROM points").column(0)[0].as_py()
    assert n == read_dataset(again / "points").num_rows == stored.num_rows


def test_auto_engine_by_input_size(
    inputs: list[Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    options = pipeline.AnalyzeOptions()
    assert scale.resolve_engine("auto", inputs, options) == "memory"
    monkeypatch.setattr(scale, "AUTO_ROWS", 10)
    assert scale.resolve_engine("auto", inputs, options) == "local"
    assert scale.resolve_engine("auto", [tmp_path], options) == "local"
    code, text = _run("analyze", *inputs, "--out", tmp_path / "x", "--engine", "spark")
    assert code != 0 and "--engine" in text


def test_store_export_with_buckets_skips_the_map(inputs: list[Path], tmp_path: Path) -> None:
    """An export split by aircraft is analysed without re-sorting, to the same rows."""
    first = tmp_path / "first"
    assert _run("analyze", *inputs, "--out", first, "--no-airspace", "--no-report")[0] == 0
    db = tmp_path / "s.duckdb"
    assert _run("store", "append", db, first)[0] == 0
    plain, split = tmp_path / "plain", tmp_path / "split"
    assert _run("store", "export", db, plain)[0] == 0
    code, text = _run("store", "export", db, split, "--buckets", "4")
    assert code == 0, text
    assert {p.name for p in split.glob("day=*/bucket=*")} <= {f"bucket={i}" for i in range(4)}
    assert json.loads((split / "_overflight_dataset.json").read_text())["buckets"] == 4
    runs = {}
    for ds in (plain, split):
        out = tmp_path / f"out-{ds.name}"
        code, text = _run(
            "analyze", ds, "--out", out, "--no-airspace", "--no-report", "--partitions", "2"
        )
        assert code == 0, text
        runs[ds.name] = json.loads((out / "run.json").read_text())
        for name in ("flights", "events"):
            table = pq.read_table(out / f"{name}.parquet")
            runs[ds.name][name] = engine.canonical_sort(table, name)
    assert runs["plain"]["partitioning"] == "map" and runs["split"]["partitioning"] == "buckets"
    for name in ("flights", "events"):
        assert runs["plain"][name].equals(runs["split"][name]), name
    # a bucket count the layout cannot hold is refused before anything is written
    code, text = _run("store", "export", db, tmp_path / "bad", "--buckets", "0")
    assert code == 1 and "buckets must be" in text and not (tmp_path / "bad").exists()


def test_store_export_of_flights_and_events(inputs: list[Path], tmp_path: Path) -> None:
    """Flights and events go by the day of their start; a table without a time is refused."""
    first = tmp_path / "first"
    assert _run("analyze", *inputs, "--out", first, "--no-report")[0] == 0
    db = tmp_path / "s.duckdb"
    assert _run("store", "append", db, first)[0] == 0
    for table in ("flights", "events"):
        out = tmp_path / table
        code, text = _run("store", "export", db, out, "--table", table, "--buckets", "2")
        assert code == 0, text
        stored = pq.read_table(first / f"{table}.parquet")
        exported = read_dataset(out)
        assert exported.num_rows == stored.num_rows > 0
        days = {str(d)[:10] for d in stored.column("start").to_pylist()}
        assert {p.name for p in out.glob("day=*")} == {f"day={d}" for d in days}
    code, text = _run("store", "export", db, tmp_path / "x", "--table", "analyses")
    assert code == 1 and "no timestamp or start column" in text
    assert not (tmp_path / "x").exists()
