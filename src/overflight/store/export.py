"""``overflight store export DB OUTDIR``: a store table into the partitioned layout.

The layout itself (folders, file names, WKB geometry, GeoParquet metadata)
is described in :mod:`overflight.store.layout`; the files are written by
:class:`overflight.store.dataset.PartitionedWriter`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from overflight.errors import StoreError
from overflight.schema import TIMESTAMP
from overflight.store import connect
from overflight.store.dataset import PartitionedWriter, check_buckets
from overflight.store.layout import time_column, write_layout_file


def _canonical_batch(batch: pa.RecordBatch) -> pa.Table:
    """DuckDB's Arrow output with the canonical types: ns UTC times, plain strings."""
    arrays, fields = [], []
    for f, col in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_timestamp(f.type):
            col, f = col.cast(TIMESTAMP), pa.field(f.name, TIMESTAMP)
        elif pa.types.is_large_string(f.type) or pa.types.is_string_view(f.type):
            col, f = col.cast(pa.string()), pa.field(f.name, pa.string())
        arrays.append(col)
        fields.append(f)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _empty(folder: Path, remove: bool) -> None:
    """Remove what a failed export wrote into ``folder`` (and the folder itself)."""
    if remove:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in folder.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote."""

    out_dir: Path
    rows: int
    files: list[Path]


def export(
    db_path: str | Path,
    out_dir: str | Path,
    *,
    table: str = "points",
    analysis_id: str | None = None,
    region_deg: int | None = None,
    buckets: int | None = None,
    batch_rows: int = 1_000_000,
) -> ExportResult:
    """Stream one table of the store into the partitioned layout in ``out_dir``.

    Rows go from DuckDB to Parquet in batches of ``batch_rows``, so the
    table may be larger than memory.  ``analysis_id`` keeps the rows of one
    analysis.  ``buckets`` adds the aircraft ``bucket`` level (tables with
    ``icao24``).  Points go by the day of ``timestamp``, flights and events
    by the day of ``start``.  The folder must be empty or absent: an export
    never mixes with older files, and one that fails leaves it as it was.
    """
    out = Path(out_dir)
    check_buckets(buckets)
    if out.exists() and any(out.iterdir()):
        raise StoreError(f"{out}: export folder is not empty")
    if not Path(db_path).exists():
        raise StoreError(f"{db_path}: no such store")
    con = connect(db_path, read_only=True)
    try:
        names = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if table not in names:
            raise StoreError(f"{db_path}: no table {table!r} in the store (has {sorted(names)})")
        columns = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]
        if time_column(columns) is None:
            raise StoreError(f"{db_path}: table {table!r} has no timestamp or start column")
        if buckets is not None and "icao24" not in columns:
            raise StoreError(f"{db_path}: table {table!r} has no icao24 column for --buckets")
        sql, params = f'SELECT * FROM "{table}"', {}
        if analysis_id is not None:
            sql, params = sql + " WHERE analysis_id = $aid", {"aid": analysis_id}
        reader = con.sql(sql, params=params).to_arrow_reader(batch_rows)
        existed = out.exists()
        out.mkdir(parents=True, exist_ok=True)
        try:
            with PartitionedWriter(out, region_deg=region_deg, buckets=buckets) as writer:
                for batch in reader:
                    writer.write(_canonical_batch(batch))
        except BaseException:
            _empty(out, remove=not existed)  # the folder was empty or absent
            raise
    except (duckdb.Error, pa.ArrowException, OSError) as exc:
        raise StoreError(f"{db_path}: export of {table!r} failed ({exc})") from exc
    finally:
        con.close()
    write_layout_file(out, writer.rows, len(writer.files), writer.columns, region_deg, buckets)
    return ExportResult(out, writer.rows, sorted(writer.files))
