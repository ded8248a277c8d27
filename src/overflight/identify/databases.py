"""Aircraft databases: registration, type, operator and military flag by address.

Supported formats (``plane_alert``, ``opensky``, ``tar1090``, ``flightaware``)
and their readers are in :mod:`overflight.identify.db_readers`.

:func:`load_aircraft_db` merges several into one table with one row per
address (:data:`DB_SCHEMA`).  Precedence (:data:`FIELD_PRECEDENCE`): type and
registration come first from tar1090, then opensky, flightaware,
plane_alert; operator, operator class, category and tags first from
plane_alert (hand-curated), then opensky, tar1090, flightaware; between two
files of the same format, the earlier in ``paths`` wins.  ``military`` is
True when any source says military, False when some source says not and
none says military, null when no source has a flag.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from overflight.identify.allocation import _as_arrow, format_icao24, parse_icao24
from overflight.identify.db_readers import (
    CMPG_CLASS,
    DB_FORMATS,
    DB_SCHEMA,
    detect_db_format,
    read_aircraft_db,
)

__all__ = [
    "CMPG_CLASS",
    "DB_FORMATS",
    "DB_SCHEMA",
    "FIELD_PRECEDENCE",
    "detect_db_format",
    "load_aircraft_db",
    "lookup_aircraft",
    "merge_aircraft_db",
    "read_aircraft_db",
]

_CACHE_VERSION = "1"

#: For each field, the formats it is taken from, first choice first.  Types
#: and registrations come from the databases that maintain ICAO designators
#: (plane-alert-db's "ICAO Type" holds non-designators such as ``UAV`` for
#: some drones); operator and categories from the hand-curated ones.
FIELD_PRECEDENCE: dict[str, tuple[str, ...]] = {
    "registration": ("tar1090", "opensky", "flightaware", "plane_alert"),
    "typecode": ("tar1090", "opensky", "flightaware", "plane_alert"),
    "operator": ("plane_alert", "opensky", "tar1090", "flightaware"),
    "operator_class": ("plane_alert", "tar1090", "opensky", "flightaware"),
    "category": ("plane_alert", "opensky", "tar1090", "flightaware"),
    "tags": ("plane_alert", "opensky", "tar1090", "flightaware"),
}


def _first_valid(
    col: pa.ChunkedArray,
    rank: npt.NDArray[np.int64],
    order: npt.NDArray[np.int64],
    starts: npt.NDArray[np.intp],
) -> pa.ChunkedArray:
    """Per address group, the non-null value of ``col`` with the least ``rank``.

    ``order`` sorts the rows by address; the groups are
    ``order[starts[i]:starts[i+1]]``.
    """
    valid = ~pc.is_null(col).to_numpy(zero_copy_only=False)[order]
    inf = np.iinfo(np.int64).max
    score = np.where(valid, (rank[order] << 32) | order, inf)
    best = np.minimum.reduceat(score, starts)
    has = best != inf
    return col.take(pa.array(best & 0xFFFFFFFF, mask=~has))


def merge_aircraft_db(tables: Sequence[pa.Table]) -> pa.Table:
    """Merge :data:`DB_SCHEMA` tables into one row per address.

    Each field takes its first non-null value in the order of
    :data:`FIELD_PRECEDENCE` for its source format, then the order of
    ``tables``; ``military`` is True if any source says so, False if some
    source says not, else null; ``db_source`` lists the formats present.
    """
    tbl = pa.concat_tables(
        [DB_SCHEMA.empty_table()]
        + [t.cast(DB_SCHEMA).replace_schema_metadata(None) for t in tables]
    )
    if tbl.num_rows == 0:
        return DB_SCHEMA.empty_table()
    file_no = np.repeat(np.arange(len(tables), dtype=np.int64), [t.num_rows for t in tables])
    fmt = pc.fill_null(pc.index_in(tbl["db_source"], pa.array(DB_FORMATS)), len(DB_FORMATS))
    fmt_no = fmt.to_numpy().astype(np.int64)
    addr = parse_icao24(tbl["icao24"])
    order = np.argsort(addr, kind="stable").astype(np.int64)
    starts = np.flatnonzero(np.r_[True, np.diff(addr[order]) != 0])
    cols: dict[str, Any] = {"icao24": tbl["icao24"].take(pa.array(order[starts]))}
    for field, formats in FIELD_PRECEDENCE.items():
        fmt_rank = np.array([formats.index(f) for f in DB_FORMATS] + [len(formats)])
        rank = fmt_rank[fmt_no] * 65536 + file_no
        cols[field] = _first_valid(tbl[field], rank, order, starts)
    mil = tbl["military"]
    mil_true = pc.fill_null(mil, False).to_numpy(zero_copy_only=False)[order].astype(np.int8)
    mil_known = (~pc.is_null(mil).to_numpy(zero_copy_only=False))[order].astype(np.int8)
    any_true = np.maximum.reduceat(mil_true, starts) > 0
    any_known = np.maximum.reduceat(mil_known, starts) > 0
    cols["military"] = pa.array(any_true, mask=~any_known)
    present = np.bitwise_or.reduceat(np.left_shift(1, fmt_no[order]), starts)
    names = [*DB_FORMATS, "other"]
    combos = pa.array(
        ["+".join(f for k, f in enumerate(names) if m >> k & 1) for m in range(1 << len(names))]
    )
    cols["db_source"] = combos.take(pa.array(present))
    return pa.table(cols).select(DB_SCHEMA.names).cast(DB_SCHEMA)


def _cache_key(paths: Sequence[Path]) -> str:
    h = hashlib.sha256(_CACHE_VERSION.encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def load_aircraft_db(
    paths: str | Path | Sequence[str | Path], cache_dir: str | Path | None = None
) -> pa.Table:
    """Read and merge aircraft databases into one :data:`DB_SCHEMA` table.

    Parameters
    ----------
    paths
        Database files in any of :data:`DB_FORMATS`, detected from the header.
    cache_dir
        When given, the merged table is kept there as Parquet, keyed on the
        files' paths, sizes and modification times, and reused next time.

    Returns
    -------
    pyarrow.Table
        One row per ICAO address; the per-file read statistics are in the
        schema metadata under ``b"overflight:stats"``.
    """
    plist = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"aircraft_db_{_cache_key(plist)}.parquet"
        if cache.is_file():
            return pq.read_table(cache)
    tables = [read_aircraft_db(p) for p in plist]
    stats = {
        str(p): json.loads(t.schema.metadata[b"overflight:stats"])
        for p, t in zip(plist, tables, strict=True)
    }
    merged = merge_aircraft_db(tables)
    merged = merged.replace_schema_metadata({b"overflight:stats": json.dumps(stats).encode()})
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        pq.write_table(merged, tmp, compression="zstd")
        tmp.replace(cache)
    return merged


def lookup_aircraft(db: pa.Table, icao24: Any) -> pa.Table:
    """The rows of ``db`` for each address, aligned with ``icao24`` (nulls when absent).

    Examples
    --------
    >>> row = {"icao24": "ae0455", "typecode": "C2", "db_source": "tar1090"}
    >>> db = pa.Table.from_pylist([row], schema=DB_SCHEMA)
    >>> lookup_aircraft(db, ["AE0455", "000000"])["typecode"].to_pylist()
    ['C2', None]
    """
    keys = format_icao24(parse_icao24(_as_arrow(icao24)))
    idx = pc.index_in(keys, db["icao24"])
    return db.take(idx)
