"""Store: an embedded DuckDB file that accumulates analyses and answers SQL.

Tables (created on first use):

``analyses``
    one row per appended analysis: ``analysis_id``, ``created`` (UTC),
    ``label``, ``inputs`` (JSON list).
``points`` / ``flights`` / ``events``
    the tables ``overflight analyze`` writes, with ``analysis_id`` added
    (points from ``points.parquet`` or, for the out-of-core engines, from
    the day-partitioned ``points/`` folder, streamed by DuckDB; its WKB
    ``geometry`` column is left out: longitude and latitude are there).

An analysis folder is stored once: ``analyses.fingerprint`` is the SHA-256
of its ``manifest.json`` (or ``run.json``), and appending a folder whose
fingerprint is already there is refused, so a repeated command cannot
double every count.

Every append runs in one transaction: either the whole analysis is stored or
nothing is, so a failure never leaves half an analysis behind and never touches
what was stored before.  Tables gain columns when later analyses carry new ones
(``ALTER TABLE ... ADD COLUMN``), so older rows keep nulls there.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

import duckdb
import pyarrow as pa

from overflight.errors import StoreError
from overflight.store.dataset import GEOMETRY, dataset_files

TABLES = ("points", "flights", "events")

#: What :func:`append` stores per table: an Arrow table, or Parquet files
#: (one schema; DuckDB streams them, so they need not fit in memory).
Source: TypeAlias = pa.Table | Sequence[Path]


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
        con.execute("ALTER TABLE analyses ADD COLUMN IF NOT EXISTS fingerprint VARCHAR")
    return con


def _existing_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str] | None:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
        [table],
    ).fetchall()
    return {r[0]: r[1] for r in rows} if rows else None


def _append_table(
    con: duckdb.DuckDBPyConnection, name: str, source: Source, analysis_id: str
) -> None:
    staged = f"_stage_{name}"
    if isinstance(source, pa.Table):
        con.register(staged, source)
        rel = f'"{staged}"'
    else:
        files = ", ".join("'" + str(f).replace("'", "''") + "'" for f in source)
        rel = f"read_parquet([{files}], union_by_name = true, hive_partitioning = false)"
    try:
        described = [
            (col, dtype)
            for col, dtype, *_ in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()
            if col not in (GEOMETRY, "analysis_id")
        ]
        cols = ", ".join(f'"{c}"' for c, _ in described)
        select = f"SELECT {cols}, '{analysis_id}' AS analysis_id FROM {rel}"
        existing = _existing_columns(con, name)
        if existing is None:
            con.execute(f"CREATE TABLE {name} AS {select}")
            return
        for col, dtype in described:
            if col not in existing:
                con.execute(f'ALTER TABLE {name} ADD COLUMN "{col}" {dtype}')
        con.execute(f"INSERT INTO {name} ({cols}, analysis_id) {select}")
    finally:
        if isinstance(source, pa.Table):
            con.unregister(staged)


def append(
    db_path: str | Path,
    tables: Mapping[str, Source],
    label: str = "",
    inputs: Sequence[str] = (),
    fingerprint: str | None = None,
) -> str:
    """Append one analysis (``{"points": ..., "flights": ..., "events": ...}``).

    Each value is an Arrow table or a list of Parquet files.  Returns the new
    ``analysis_id``.  All or nothing: on any error the transaction is rolled
    back and :class:`StoreError` is raised.  With a ``fingerprint`` already
    in the store, nothing is stored and :class:`StoreError` names the
    analysis that has it.
    """
    analysis_id = uuid.uuid4().hex[:12]
    con = connect(db_path)
    try:
        con.execute("BEGIN TRANSACTION")
        if fingerprint is not None:
            same = con.execute(
                "SELECT analysis_id, label, "
                "strftime(timezone('UTC', created), '%Y-%m-%dT%H:%M:%SZ') "
                "FROM analyses WHERE fingerprint = ?",
                [fingerprint],
            ).fetchone()
            if same is not None:
                raise StoreError(
                    f"{db_path}: already holds this analysis as {same[0]} "
                    f"(label {same[1]!r}, appended {same[2]}); "
                    "nothing was stored"
                )
        for name, source in tables.items():
            if name not in TABLES:
                raise StoreError(f"unknown table {name!r}, expected one of {TABLES}")
            _append_table(con, name, source, analysis_id)
        con.execute(
            "INSERT INTO analyses (analysis_id, created, label, inputs, fingerprint) "
            "VALUES (?, ?, ?, ?, ?)",
            [analysis_id, datetime.now(UTC), label, json.dumps(list(inputs)), fingerprint],
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
    """Append the parquet files an ``analyze`` run wrote into ``out_dir``.

    Points come from ``points.parquet`` or the ``points/`` dataset folder the
    out-of-core engines write; the folder's fingerprint is the SHA-256 of its
    ``manifest.json`` (or ``run.json``), so the same folder is stored once.
    """
    d = Path(out_dir)
    if not d.is_dir():
        raise StoreError(f"{d}: not an analysis folder (expected a folder written by analyze)")
    tables: dict[str, Source] = {}
    for name in TABLES:
        f = d / f"{name}.parquet"
        if f.is_file():
            tables[name] = [f]
        elif (d / name).is_dir() and (files := dataset_files(d / name)):
            tables[name] = files
    if not tables:
        raise StoreError(f"{d}: no points/flights/events parquet files to append")
    inputs: list[str] = []
    manifest = d / "manifest.json"
    if manifest.exists():
        inputs = [i.get("path", "") for i in json.loads(manifest.read_text()).get("inputs", [])]
    fingerprint = next(
        (
            hashlib.sha256(f.read_bytes()).hexdigest()
            for f in (manifest, d / "run.json")
            if f.is_file()
        ),
        None,
    )
    return append(db_path, tables, label=label or d.name, inputs=inputs, fingerprint=fingerprint)


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
