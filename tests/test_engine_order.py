"""Merging partitions that each sorted their own rows gives exactly the
canonical order of all the rows, whether or not their flights overlap."""

from __future__ import annotations

import random

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.engine.order import canonical_sort, merge_sorted

ROW = st.tuples(
    st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "e", "f"])),
    st.sampled_from(["orbit", "entry", "exit"]),
    st.integers(0, 3),
    st.one_of(st.none(), st.sampled_from(["x", "y"])),
)


def _table(rows: list[tuple[object, ...]]) -> pa.Table:
    names = ["flight_id", "kind", "start", "details"]
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    schema = pa.schema(
        [("flight_id", pa.string()), ("kind", pa.string()), ("start", pa.int64()),
         ("details", pa.string())]
    )  # fmt: skip
    return pa.table([pa.array(c, f.type) for c, f in zip(cols, schema, strict=True)], schema=schema)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(ROW, max_size=60),
    parts=st.integers(1, 5),
    by_flight=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_merge_equals_sorting_everything(
    rows: list[tuple[object, ...]], parts: int, by_flight: bool, seed: int
) -> None:
    """Rows go to partitions by flight (as the engines send them) or anywhere
    (flights split over partitions: the merge must notice and sort again)."""
    rng = random.Random(seed)
    groups: list[list[tuple[object, ...]]] = [[] for _ in range(parts)]
    for row in rows:
        p = ord(str(row[0])[0]) % parts if by_flight else rng.randrange(parts)
        groups[p].append(row)
    tables = [canonical_sort(_table(g), "events") for g in groups]
    want = canonical_sort(_table(rows), "events")
    got = merge_sorted(tables, "events")
    assert got.equals(want)
    assert got.column("flight_id").num_chunks <= 1


def test_merge_of_no_rows_keeps_the_schema() -> None:
    empty = _table([])
    assert merge_sorted([empty, empty], "events").schema == empty.schema
