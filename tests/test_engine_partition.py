"""Map step: inputs streamed and spilled by aircraft, with bounded buffers."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight import ingest
from overflight.engine.dask_engine import groups
from overflight.engine.partition import (
    Source,
    map_sources,
    partition_ids,
    plan_sources,
    read_partition,
    spill_files,
)
from overflight.errors import InputError
from overflight.schema import conform
from overflight.store.dataset import write_dataset


@pytest.fixture(scope="module")
def messages(traffic_samples: Path) -> pa.Table:
    t = ingest.read(traffic_samples / "collections" / "switzerland.json.gz")
    return conform(t.replace_schema_metadata(None))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(min_size=1, max_size=8)), max_size=30),
    st.integers(1, 64),
)
def test_partition_ids_are_crc32(values: list[str | None], n: int) -> None:
    got = partition_ids(pa.array(values, pa.string()), n).tolist()
    assert got == [zlib.crc32(v.encode()) % n if v else 0 for v in values]


def test_spill_keeps_aircraft_whole_and_in_order(messages: pa.Table, tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(messages, src)
    sources = plan_sources([src])
    assert sources == [Source(src, True, messages.num_rows)]
    res = map_sources(sources, tmp_path / "spill", 7, batch_rows=10_000)
    assert res.total == messages.num_rows
    owner: dict[str, int] = {}
    for p in range(7):
        part = read_partition(tmp_path / "spill", p)
        assert part.num_rows == res.rows[p]
        for a in pc.unique(part.column("icao24")).to_pylist():
            assert owner.setdefault(a, p) == p
        # rows of a partition keep the input order: compare with a plain filter
        mask = pc.is_in(messages.column("icao24"), pc.unique(part.column("icao24")))
        assert part.equals(messages.filter(mask).combine_chunks())
    assert set(owner) == set(pc.unique(messages.column("icao24")).to_pylist())


def test_map_tasks_write_separate_files(messages: pa.Table, tmp_path: Path) -> None:
    root = tmp_path / "ds"
    write_dataset(messages, root)
    sources = plan_sources([root])
    assert all(s.streamed for s in sources)
    half = len(sources) // 2 or 1
    a = map_sources(sources[:half], tmp_path / "spill", 3, map_id=0, batch_rows=5000)
    b = map_sources(sources[half:], tmp_path / "spill", 3, map_id=1, batch_rows=5000)
    assert a.total + b.total == messages.num_rows
    names = {f.name for p in range(3) for f in spill_files(tmp_path / "spill", p)}
    assert names <= {"m00000.parquet", "m00001.parquet"}


def test_whole_file_formats_are_read_with_ingest(traffic_samples: Path, tmp_path: Path) -> None:
    path = traffic_samples / "surveys" / "texas.json.gz"
    sources = plan_sources([path])
    assert sources[0].streamed is False
    res = map_sources(sources, tmp_path / "spill", 2)
    assert res.total == ingest.read(path).num_rows
    assert res.stats[str(path)]["format"] == "traffic"


def test_bad_inputs_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        plan_sources([tmp_path / "missing.parquet"])
    with pytest.raises(InputError, match="partitioned dataset"):
        plan_sources([tmp_path])


def test_groups_are_contiguous_and_balanced() -> None:
    sizes = [5, 1, 1, 1, 1, 1, 5, 5]
    sources = [Source(Path(str(i)), True, s) for i, s in enumerate(sizes)]
    gs = groups(sources, 3)
    assert [s for g in gs for s in g] == sources
    totals = [sum(s.rows or 0 for s in g) for g in gs]
    assert len(gs) == 3 and max(totals) <= 10
    assert np.sum(totals) == sum(sizes)
