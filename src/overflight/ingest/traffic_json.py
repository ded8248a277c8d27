"""Trajectories saved by the ``traffic`` library: JSON (optionally gzip, xz or bzip2) and Parquet.

JSON is pandas ``to_json`` output in one of two orients:

* ``records``: ``[{"timestamp": 1633608773000, "icao24": "0101de", ...}, ...]``
* ``columns``: ``{"timestamp": {"0": 1633608773000, ...}, "icao24": {...}, ...}``

Columns already have the canonical names and units (altitude ft, groundspeed
kt, vertical_rate ft/min); the time is epoch milliseconds (or any epoch unit or
ISO 8601 string; see :func:`overflight.ingest._columns.to_ns`). Only exact
canonical names are used; other columns (``flight_id``, ``origin``,
``last_position``, ...) are dropped. Squawks saved as numbers (``7000.0``,
``400``) are restored to four digits. ``source`` is the file name.

Parquet files with the same column names (``Traffic.to_parquet``) are read the
same way; their ``timestamp`` is usually a ``timestamp[ns, UTC]`` column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from overflight.errors import FormatError
from overflight.ingest._columns import json_strings, load_json
from overflight.ingest.tabular import CANONICAL, Loaded, canonicalise, load, names_of

_RECORDS = re.compile(rb'^\s*\[\s*\{\s*"')
_COLUMNS = re.compile(rb'^\s*\{\s*"([A-Za-z_]+)"\s*:\s*\{\s*"\d+"\s*:')


def sniff(head: bytes, path: Path) -> bool:
    """True for a JSON array of records or pandas columns with ``timestamp`` and ``icao24``.

    Examples
    --------
    >>> sniff(b'[{"timestamp": 1, "icao24": "abcdef", "latitude": 1.0}]', Path("x"))
    True
    >>> sniff(b'{"timestamp": 1.0, "frame": "8d", "icao24": "abcdef"}', Path("x"))
    False
    """
    if head[:4] == b"PAR1":
        names = set(names_of(head, path))
        return {"timestamp", "icao24", "latitude", "longitude"} <= names
    if _RECORDS.match(head):
        return b'"icao24"' in head and b'"timestamp"' in head
    # pandas "columns" orient: a whole column may fill the head, so trust the first name
    columns = _COLUMNS.match(head)
    return columns is not None and columns.group(1).decode() in CANONICAL


def _column(values: list[Any]) -> pa.Array:
    """An Arrow column from JSON values; mixed or odd types become strings or nulls."""
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return json_strings(values)
    if pa.types.is_struct(arr.type) or pa.types.is_list(arr.type) or pa.types.is_null(arr.type):
        return json_strings(values)
    return arr


def _records_columns(records: list[dict[str, Any]]) -> dict[str, pa.Array]:
    """Canonical columns of a list of JSON objects (pandas builds them in C)."""
    import pandas as pd

    try:
        frame = pd.DataFrame.from_records(records, columns=None)
    except (TypeError, ValueError):
        frame = None
    cols: dict[str, pa.Array] = {}
    for name in CANONICAL:
        if frame is not None and name not in frame.columns:
            continue
        if frame is None or frame[name].dtype == object:
            values = [r.get(name) for r in records]
            if frame is None and all(v is None for v in values):
                continue
            cols[name] = _column(values)
        else:
            cols[name] = pa.array(frame[name], from_pandas=True)
    return cols


def _from_json(path: Path) -> Loaded:
    doc = load_json(path)
    if isinstance(doc, list):
        records = doc
        ok = np.array([isinstance(r, dict) for r in records], bool)
        good = records if ok.all() else [r for r, k in zip(records, ok, strict=True) if k]
        cols = _records_columns(good)
        positions = np.flatnonzero(ok) + 1
        bad = list(np.flatnonzero(~ok) + 1)
    elif isinstance(doc, dict) and doc and all(isinstance(v, dict) for v in doc.values()):
        index = sorted({i for v in doc.values() for i in v}, key=_index_key)
        cols = {k: _column([doc[k].get(i) for i in index]) for k in CANONICAL if k in doc}
        positions = np.arange(1, len(index) + 1)
        bad = []
    else:
        raise FormatError(
            "not a traffic JSON: expected a list of records or pandas 'columns' orient "
            "({column: {index: value}})",
            path,
            "line 1",
        )
    n = len(positions)
    table = pa.table(cols) if cols else pa.table({"_empty": pa.nulls(n)})
    return Loaded(table, positions.astype(np.int64), "record", [int(b) for b in bad], "record")


def _index_key(i: str) -> tuple[int, Any]:
    return (0, int(i)) if i.isdigit() else (1, i)


def read(path: Path, non_icao: str = "keep", **_: Any) -> pa.Table:
    """Read a traffic JSON (``.json``, ``.json.gz``) or Parquet trajectory file.

    Raises
    ------
    FormatError
        When the file is not JSON records/columns or has no ``timestamp`` or ``icao24``.
    """
    with open(path, "rb") as fh:
        parquet = fh.read(4) == b"PAR1"
    loaded = load(path, ("icao24", "callsign", "squawk")) if parquet else _from_json(path)
    present = [c for c in CANONICAL if c in loaded.table.column_names]
    missing = [c for c in ("timestamp", "icao24") if c not in present]
    if missing:
        raise FormatError(
            f"no {' or '.join(missing)} column; expected traffic column names "
            f"{list(CANONICAL)}; columns present: {loaded.table.column_names}",
            path,
            "line 1",
        )
    if loaded.table.num_rows == 0 and not loaded.bad_fields:
        raise FormatError("no records", path, "line 1")
    return canonicalise(loaded, {c: c for c in present}, path, "traffic", non_icao=non_icao)
