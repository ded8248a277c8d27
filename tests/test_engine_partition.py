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
from overflight.engine.partition import (
    SPILL_SCHEMA,
    Source,
    bucket_plan,
    conform_encoded,
    groups,
    map_sources,
    partition_ids,
    plan_sources,
    read_partition,
    read_sources,
    spill_files,
)
from overflight.errors import FormatError, InputError
from overflight.schema import conform
from overflight.store.dataset import write_dataset


@pytest.fixture(scope="module")
def messages(traffic_samples: Path) -> pa.Table:
    t = ingest.read(traffic_samples / "collections" / "switzerland.json.gz")
    return conform(t.replace_schema_metadata(None))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(min_size=0, max_size=8)), max_size=30),
    st.integers(1, 64),
    st.integers(1, 4),
)
def test_partition_ids_are_crc32(values: list[str | None], n: int, chunks: int) -> None:
    expected = [zlib.crc32(v.encode()) % n if v else 0 for v in values]
    plain = pa.array(values, pa.string())
    assert partition_ids(plain, n).tolist() == expected
    # dictionary-encoded (as streamed Parquet is read) and chunked: the same ids
    cut = len(values) // chunks
    pieces = [plain.slice(i * cut, cut if i < chunks - 1 else None) for i in range(chunks)]
    encoded = pa.chunked_array(
        [c.dictionary_encode() for c in pieces], pa.dictionary(pa.int32(), pa.string())
    )
    assert partition_ids(encoded, n).tolist() == expected


def test_conform_encoded_keeps_dictionaries_and_decodes_to_conform(messages: pa.Table) -> None:
    t = messages.slice(0, 500).drop_columns(["squawk"])
    t = t.set_column(1, "icao24", pc.dictionary_encode(t.column("icao24")))
    enc = conform_encoded(t)
    assert pa.types.is_dictionary(enc.schema.field("icao24").type)
    assert enc.schema.field("squawk").type == pa.string()
    assert enc.cast(SPILL_SCHEMA).equals(conform(t))


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
    assert names <= {"m00000.arrow", "m00001.arrow"}


def test_streamed_and_whole_file_sources_share_a_spill(
    messages: pa.Table, traffic_samples: Path, tmp_path: Path
) -> None:
    """One buffer holding dictionary-read Parquet rows and plain rows of a JSON file."""
    src = tmp_path / "in.parquet"
    pq.write_table(messages, src)
    other = traffic_samples / "surveys" / "texas.json.gz"
    sources = plan_sources([src, other])
    assert [s.streamed for s in sources] == [True, False]
    res = map_sources(sources, tmp_path / "spill", 3, batch_rows=10**7)
    everything = pa.concat_tables([messages, conform(ingest.read(other))])
    assert res.total == everything.num_rows
    ids = partition_ids(everything.column("icao24"), 3)
    for p in range(3):
        part = read_partition(tmp_path / "spill", p)
        assert part.schema == SPILL_SCHEMA
        assert part.equals(everything.filter(pa.array(ids == p)).combine_chunks())


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


def test_damaged_spill_file_names_the_file(messages: pa.Table, tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(messages, src)
    map_sources(plan_sources([src]), tmp_path / "spill", 2)
    victim = spill_files(tmp_path / "spill", 0)[0]
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(FormatError, match=victim.name):
        read_partition(tmp_path / "spill", 0)


def test_streamed_file_without_some_string_columns(messages: pa.Table, tmp_path: Path) -> None:
    """Dictionary reading only asks for the string columns a file has."""
    t = messages.drop_columns(["callsign", "squawk"])
    t = t.append_column("tags", pa.array([["x"]] * t.num_rows, pa.list_(pa.string())))
    src = tmp_path / "in.parquet"
    pq.write_table(t, src)
    res = map_sources(plan_sources([src]), tmp_path / "spill", 2)
    ids = partition_ids(messages.column("icao24"), 2)
    for p in range(2):
        expected = conform(t).filter(pa.array(ids == p)).combine_chunks()
        assert read_partition(tmp_path / "spill", p).equals(expected)
    assert res.total == messages.num_rows


def test_bucket_files_read_as_their_spill_would_hold_them(
    messages: pa.Table, tmp_path: Path
) -> None:
    """A bucketed partition read directly equals the spill of the same rows by the map step."""
    root = tmp_path / "ds"
    half = messages.num_rows // 2  # two writers: two files per bucket
    write_dataset(messages.slice(0, half), root, buckets=3, tag="a")
    write_dataset(messages.slice(half), root, buckets=3, tag="b")
    sources = plan_sources([root])
    plan = bucket_plan(sources, 3)
    assert plan is not None and all(len(g) > 1 for g in plan.values())
    spill = tmp_path / "spill"
    map_sources(sources, spill, 3)
    for p, group in plan.items():
        assert read_sources(group).equals(read_partition(spill, p)), p


def test_bucket_files_of_different_schemas_or_damaged(messages: pa.Table, tmp_path: Path) -> None:
    """Files without a shared schema are read one by one; a damaged one is named."""
    root = tmp_path / "ds"
    third = messages.num_rows // 3
    for i in range(3):
        write_dataset(messages.slice(i * third, third), root, buckets=1, tag=str(i))
    files = [s.path for s in plan_sources([root])]
    assert len(files) > 2
    expected = read_sources([Source(f, True) for f in files])
    # a file with fewer columns: its rows get nulls there, as the map step gives them
    t = pq.read_table(files[1]).drop_columns(["callsign", "squawk"])
    pq.write_table(t, files[1])
    got = read_sources([Source(f, True) for f in files])
    lo = pq.ParquetFile(files[0]).metadata.num_rows
    n = t.num_rows
    assert got.column("callsign").slice(lo, n).null_count == n
    keep = [c for c in got.column_names if c not in ("callsign", "squawk")]
    assert got.select(keep).equals(expected.select(keep))
    files[2].write_bytes(b"PAR1 not really")
    with pytest.raises(FormatError, match=files[2].name):
        read_sources([Source(f, True) for f in files])
