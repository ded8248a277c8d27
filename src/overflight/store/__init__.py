"""Store: an embedded DuckDB file that accumulates analyses and answers SQL.

Tables (created on first use):

``analyses``
    one row per appended analysis: ``analysis_id``, ``created`` (UTC),
    ``label``, ``inputs`` (JSON list).
``points`` / ``flights`` / ``events``
    the tables ``overflight analyze`` writes, with ``analysis_id`` added.

Every append runs in one transaction: either the whole analysis is stored or
nothing is, so a failure never leaves half an analysis behind and never touches
what was stored before.  Tables gain columns when later analyses carry new ones
(``ALTER TABLE ... ADD COLUMN``), so older rows keep nulls there.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from overflight.errors import StoreError

TABLES = ("points", "flights", "events")


def connect(db_path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating when needed) the DuckDB file at ``db_path``."""
    try:
        con = duckdb.connect(str(db_path), read_only=read_only)
    except duckdb.Error as exc:
        raise StoreError(f"{db_path}: cannot open DuckDB file ({exc})") from exc
    if not read_only:
        con.execute(
            "CREATE TABLE IF NOT EXISTS analyses ("
            "analysis_id VARCHAR PRIMARY KEY, created TIMESTAMPTZ, label VARCHAR, inputs VARCHAR)"
        )
    return con


def _existing_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str] | None:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
        [table],
    ).fetchall()
    return {r[0]: r[1] for r in rows} if rows else None


def _append_table(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    staged = f"_stage_{name}"
    con.register(staged, table)
    try:
        existing = _existing_columns(con, name)
        if existing is None:
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM {staged}")
            return
        described = con.execute(f"DESCRIBE {staged}").fetchall()
        for col, dtype, *_ in described:
            if col not in existing:
                con.execute(f'ALTER TABLE {name} ADD COLUMN "{col}" {dtype}')
        cols = ", ".join(f'"{c}"' for c, *_ in described)
        con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {staged}")
    finally:
        con.unregister(staged)


def append(
    db_path: str | Path,
    tables: dict[str, pa.Table],
    label: str = "",
    inputs: Sequence[str] = (),
) -> str:
    """Append one analysis (``{"points": ..., "flights": ..., "events": ...}``).

    Returns the new ``analysis_id``.  All or nothing: on any error the
    transaction is rolled back and :class:`StoreError` is raised.
    """
    analysis_id = uuid.uuid4().hex[:12]
    con = connect(db_path)
    try:
        con.execute("BEGIN TRANSACTION")
        for name, table in tables.items():
            if name not in TABLES:
                raise StoreError(f"unknown table {name!r}, expected one of {TABLES}")
            ids = pa.array([analysis_id] * table.num_rows, pa.string())
            _append_table(con, name, table.append_column("analysis_id", ids))
        con.execute(
            "INSERT INTO analyses VALUES (?, ?, ?, ?)",
            [analysis_id, datetime.now(UTC), label, json.dumps(list(inputs))],
        )
        con.execute("COMMIT")
    except (duckdb.Error, pa.ArrowException, StoreError) as exc:
        con.execute("ROLLBACK")
        if isinstance(exc, StoreError):
            raise
        raise StoreError(f"{db_path}: append failed, nothing was stored ({exc})") from exc
    finally:
        con.close()
    return analysis_id


def append_dir(db_path: str | Path, out_dir: str | Path, label: str = "") -> str:
    """Append the parquet files an ``analyze`` run wrote into ``out_dir``."""
    d = Path(out_dir)
    tables: dict[str, pa.Table] = {}
    for name in TABLES:
        f = d / f"{name}.parquet"
        if f.exists():
            tables[name] = pq.read_table(f)
    if not tables:
        raise StoreError(f"{d}: no points/flights/events parquet files to append")
    inputs: list[str] = []
    manifest = d / "manifest.json"
    if manifest.exists():
        inputs = [i.get("path", "") for i in json.loads(manifest.read_text()).get("inputs", [])]
    return append(db_path, tables, label=label or d.name, inputs=inputs)


def query(db_path: str | Path, sql: str) -> pa.Table:
    """Run ``sql`` against the store, read-only, and return an Arrow table."""
    if not Path(db_path).exists():
        raise StoreError(f"{db_path}: no such store")
    con = connect(db_path, read_only=True)
    try:
        rel = con.sql(sql)
        if rel is None:
            raise StoreError(f"query returned no rows or columns: {sql!r}")
        result: pa.Table = rel.to_arrow_table()
    except duckdb.Error as exc:
        raise StoreError(f"query failed: {exc}") from exc
    finally:
        con.close()
    return result
