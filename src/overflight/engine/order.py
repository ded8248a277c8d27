"""The one row order of the engines' tables, and merging partitions already in it.

Rows are sorted by content, not by the order partitions finished in, so
outputs are the same whichever engine, partition count or worker count made
them.  Each partition sorts its own tables (:func:`canonical_sort`, on the
workers, in parallel); the caller then only merges them
(:func:`merge_sorted`), which costs a sort on one key instead of every key.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Leading sort keys per table; every other sortable column follows as a tie-break.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "points": ("icao24", "timestamp"),
    "flights": ("flight_id",),
    "events": ("flight_id", "kind", "start", "stop"),
    "reach": ("flight_id", "country"),
}


def _sortable(t: pa.DataType) -> bool:
    return not (pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t))


def sort_keys(schema: pa.Schema, kind: str) -> list[str]:
    """The columns ``kind``'s rows are sorted by, most significant first."""
    lead = [k for k in SORT_KEYS[kind] if k in schema.names]
    return [*lead, *(f.name for f in schema if f.name not in lead and _sortable(f.type))]


def canonical_sort(table: pa.Table, kind: str) -> pa.Table:
    """``table`` sorted by :data:`SORT_KEYS` then every other sortable column.

    Two runs produced the same rows exactly when their canonically sorted
    tables are equal (:meth:`pyarrow.Table.equals`).

    Examples
    --------
    >>> t = pa.table({"flight_id": ["b", "a"], "n": [1, 2]})
    >>> canonical_sort(t, "flights").column("flight_id").to_pylist()
    ['a', 'b']
    """
    if table.num_rows < 2:
        return table
    # one chunk first: a take over many chunks costs about twice as much
    table = table.combine_chunks()
    return table.take(
        pc.sort_indices(table, [(k, "ascending") for k in sort_keys(table.schema, kind)])
    )


def merge_sorted(tables: Sequence[pa.Table], kind: str) -> pa.Table:
    """:func:`canonical_sort` of the rows of ``tables``, each of which is in that order already.

    When no value of the leading key (``flight_id``: a flight's rows all
    come from one partition) is in two of the tables, a stable sort on that
    key alone is the canonical order; otherwise, or when the tables' schemas
    differ, every key is sorted again.  Either way the result is exactly
    ``canonical_sort(concat(tables))``.

    Examples
    --------
    >>> a = pa.table({"flight_id": ["a", "c"], "n": [2, 1]})
    >>> b = pa.table({"flight_id": ["b", "b"], "n": [1, 2]})
    >>> merge_sorted([a, b], "flights").to_pydict()
    {'flight_id': ['a', 'b', 'b', 'c'], 'n': [2, 1, 2, 1]}
    >>> merge_sorted([a, a], "flights").column("n").to_pylist()  # shared keys: full sort
    [2, 2, 1, 1]
    """
    parts = [t for t in tables if t.num_rows]
    if not parts:
        return tables[0] if tables else pa.table({})
    table = pa.concat_tables(parts, promote_options="permissive").combine_chunks()
    if len(parts) == 1:
        return table
    lead = sort_keys(table.schema, kind)[:1]
    if not lead or any(t.schema != parts[0].schema for t in parts[1:]):
        return canonical_sort(table, kind)
    order = pc.sort_indices(table, [(lead[0], "ascending")])  # stable
    origin = np.repeat(np.arange(len(parts)), [t.num_rows for t in parts])
    origin = origin[order.to_numpy()]
    seams = np.flatnonzero(origin[1:] != origin[:-1])
    if seams.size:
        key = table.column(lead[0]).take(order)
        before, after = key.take(seams), key.take(seams + 1)
        shared = pc.or_kleene(pc.equal(before, after), pc.and_(before.is_null(), after.is_null()))
        if pc.any(shared).as_py():
            return canonical_sort(table, kind)
    return table.take(order)
