"""The DuckDB sink: batches are whole or absent, the file can be shared, restarts resume."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from overflight import clean, ingest
from overflight.errors import StoreError
from overflight.live.sink import Sink, read_status

BEAST = "raw_modes/beastblackbox_ulss7_20180403.beast"


@pytest.fixture(scope="module")
def points(shared_data: Path) -> pa.Table:
    pts, _ = clean.run(ingest.read(shared_data / BEAST, fmt="beast", start_time=0))
    return pts


def test_batches_are_numbered_and_logged(points: pa.Table, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    sink = Sink(db)
    assert sink.write(points.slice(0, 100)) == 1
    assert sink.write(points.slice(100, 50)) == 2
    assert sink.write(points.slice(0, 0)) is None  # nothing to store: no batch
    sink.close()
    again = Sink(db)  # a restart continues the numbering
    assert again.next_batch == 3
    marks = again.stored_marks()
    again.close()
    assert read_status(db) == {"points": 150, "alerts": 0, "ingest_log": 2}
    last = points.slice(0, 150).group_by("icao24").aggregate([("timestamp", "max")])
    assert sorted(marks["icao24"].to_pylist()) == sorted(last["icao24"].to_pylist())


def test_a_failing_batch_stores_nothing(points: pa.Table, tmp_path: Path) -> None:
    db = tmp_path / "f.duckdb"
    sink = Sink(db)
    sink.write(points.slice(0, 10))
    bad = points.slice(10, 10).set_column(
        points.schema.get_field_index("altitude"),
        "altitude",
        pa.array(["not a number"] * 10),
    )
    with pytest.raises(StoreError, match="not stored"):
        sink.write(bad)
    assert sink.write(points.slice(20, 5)) == 2  # the failed batch used no number
    sink.close()
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute(
        "SELECT batch_id, count(*) FROM points GROUP BY 1 ORDER BY 1"
    ).fetchall() == [
        (1, 10),
        (2, 5),
    ]
    con.close()


def test_shared_file_can_be_read_between_batches(points: pa.Table, tmp_path: Path) -> None:
    db = tmp_path / "shared.duckdb"
    sink = Sink(db, hold_connection=False)
    sink.write(points.slice(0, 20))
    assert read_status(db)["points"] == 20  # another connection opens it meanwhile
    sink.write(points.slice(20, 20))
    assert read_status(db)["points"] == 40
    held = Sink(tmp_path / "held.duckdb")
    with pytest.raises(duckdb.Error):
        read_status(tmp_path / "held.duckdb")  # the default holds DuckDB's write lock
    held.close()
