"""The DuckDB store: appends are all or nothing, and queries see what was stored."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from overflight import store
from overflight.errors import StoreError
from overflight.store.dataset import write_dataset
from support.samples import as_table, read_sample


def _sample(traffic_samples: Path, name: str) -> pa.Table:
    return as_table(read_sample(traffic_samples, name, precise_float=True))


def test_append_then_query(tmp_path: Path, traffic_samples: Path) -> None:
    pts = _sample(traffic_samples, "military/aircraft_carrier.json.gz")
    db = tmp_path / "a.duckdb"
    first = store.append(db, {"points": pts}, label="carrier")
    second = store.append(db, {"points": pts.slice(0, 10)}, label="again")
    assert first != second
    counts = store.query(db, "SELECT analysis_id, count(*) AS n FROM points GROUP BY 1").to_pylist()
    assert {r["analysis_id"]: r["n"] for r in counts} == {first: pts.num_rows, second: 10}
    labels = store.query(db, "SELECT label FROM analyses ORDER BY created").column("label")
    assert labels.to_pylist() == ["carrier", "again"]


def test_failed_append_keeps_earlier_data(tmp_path: Path, traffic_samples: Path) -> None:
    pts = _sample(traffic_samples, "military/aircraft_carrier.json.gz")
    db = tmp_path / "a.duckdb"
    store.append(db, {"points": pts})
    # a column whose type cannot be inserted into the existing DOUBLE column
    bad = pts.set_column(
        pts.column_names.index("latitude"), "latitude", pa.array(["x"] * pts.num_rows)
    )
    with pytest.raises(StoreError, match="nothing was stored"):
        store.append(db, {"flights": pts.slice(0, 5), "points": bad})
    assert (
        store.query(db, "SELECT count(*) AS n FROM points").column("n")[0].as_py() == pts.num_rows
    )
    assert store.query(db, "SELECT count(*) AS n FROM analyses").column("n")[0].as_py() == 1
    tables = store.query(db, "SELECT table_name FROM information_schema.tables").column(0)
    assert "flights" not in tables.to_pylist()


def test_new_columns_are_added(tmp_path: Path, traffic_samples: Path) -> None:
    pts = _sample(traffic_samples, "military/aircraft_carrier.json.gz").slice(0, 20)
    db = tmp_path / "a.duckdb"
    store.append(db, {"points": pts})
    wider = pts.append_column("zone", pa.array(["land"] * 20))
    store.append(db, {"points": wider})
    zones = store.query(db, "SELECT zone FROM points").column("zone").to_pylist()
    assert zones == [None] * 20 + ["land"] * 20


def test_query_errors_are_ours(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such store"):
        store.query(tmp_path / "missing.duckdb", "SELECT 1")
    db = tmp_path / "a.duckdb"
    store.connect(db).close()
    with pytest.raises(StoreError, match="query failed"):
        store.query(db, "SELECT * FROM nowhere")


def test_engine_folder_points_are_stored(tmp_path: Path, traffic_samples: Path) -> None:
    """The out-of-core engines write points as a day-partitioned folder: all of it is stored."""
    pts = _sample(traffic_samples, "military/aircraft_carrier.json.gz")
    out = tmp_path / "out"
    write_dataset(pts, out / "points")
    pq.write_table(pts.slice(0, 3).select(["icao24", "callsign"]), out / "flights.parquet")
    db = tmp_path / "a.duckdb"
    aid = store.append_dir(db, out)
    got = store.query(db, "SELECT * FROM points ORDER BY timestamp")
    assert got.num_rows == pts.num_rows and "geometry" not in got.column_names
    assert set(got.column("analysis_id").to_pylist()) == {aid}
    assert got.column("latitude").to_pylist() == pts.sort_by("timestamp")["latitude"].to_pylist()
    assert store.query(db, "SELECT count(*) FROM flights").column(0)[0].as_py() == 3


def test_a_folder_is_stored_once(tmp_path: Path, traffic_samples: Path) -> None:
    pts = _sample(traffic_samples, "military/aircraft_carrier.json.gz").slice(0, 50)
    out = tmp_path / "out"
    out.mkdir()
    pq.write_table(pts, out / "points.parquet")
    (out / "manifest.json").write_text(json.dumps({"inputs": [{"path": "a.json"}]}))
    db = tmp_path / "a.duckdb"
    first = store.append_dir(db, out)
    with pytest.raises(StoreError, match=f"already holds this analysis as {first}"):
        store.append_dir(db, out)
    assert store.query(db, "SELECT count(*) FROM points").column(0)[0].as_py() == 50
    (out / "manifest.json").write_text(json.dumps({"inputs": [{"path": "b.json"}]}))
    store.append_dir(db, out)  # another analysis written into the same folder
    assert store.query(db, "SELECT count(*) FROM analyses").column(0)[0].as_py() == 2
    with pytest.raises(StoreError, match="not an analysis folder"):
        store.append_dir(db, tmp_path / "missing")
