"""Read access to the store for the web app: one short-lived connection per request.

DuckDB lets one process hold a database file for writing, and then no other
process can open it, not even read-only.  The web app therefore reads in one
of two ways:

* **its own process holds the database** (the live watcher runs inside
  ``overflight serve``): pass that connection as ``connection`` and every
  request reads through its own :meth:`~duckdb.DuckDBPyConnection.cursor`,
  which sees each committed write at once;
* **nobody else holds it for long**: every request opens the file read-only
  and closes it again.  A writer in another process that keeps the file open
  makes requests wait up to ``busy_timeout_s`` and then fail with HTTP 503
  and a message that says how to run the two together.

Tables that are missing, or that lack optional columns, read as empty or null.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from overflight.errors import OverflightError

FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


class ApiError(OverflightError):
    """An error the API reports as ``{"ok": false, "error": message, "status": status}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def quote(name: str) -> str:
    """A double-quoted SQL identifier.

    Examples
    --------
    >>> quote('a"b')
    '"a""b"'
    """
    return '"' + name.replace('"', '""') + '"'


class Snapshot:
    """One connection's view of the store, with the column types of each table cached."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None) -> None:
        self.con = con
        self._columns: dict[str, dict[str, str]] | None = None

    def columns(self, table: str) -> dict[str, str]:
        """``{column: DuckDB type}`` of ``table`` in the main schema; empty when it is absent."""
        if self._columns is None:
            self._columns = {}
            if self.con is not None:
                rows = self.con.execute(
                    "SELECT table_name, column_name, data_type FROM duckdb_columns() "
                    "WHERE schema_name = 'main' AND database_name = current_database() "
                    "ORDER BY table_name, column_index"
                ).fetchall()
                for table_name, column, dtype in rows:
                    self._columns.setdefault(str(table_name), {})[str(column)] = str(dtype).upper()
        return self._columns.get(table, {})

    def has(self, table: str, *columns: str) -> bool:
        """True when ``table`` exists and has every one of ``columns``."""
        cols = self.columns(table)
        return bool(cols) and all(c in cols for c in columns)

    def arrow(self, sql: str, params: list[object] | None = None) -> pa.Table:
        """Run ``sql`` and return the result as an Arrow table."""
        if self.con is None:
            raise ApiError(500, "no database connection")
        try:
            rel = self.con.sql(sql, params=params or None)
            if rel is None:
                raise ApiError(500, "query returned no result")
            result: pa.Table = rel.to_arrow_table()
        except duckdb.Error as exc:
            raise ApiError(500, f"query failed: {exc}") from exc
        return result

    def scalar(self, sql: str, params: list[object] | None = None) -> object:
        """The first value of the first row of ``sql``, or None."""
        t = self.arrow(sql, params)
        return t.column(0)[0].as_py() if t.num_rows and t.num_columns else None

    def integer(self, sql: str, params: list[object] | None = None) -> int | None:
        """:meth:`scalar` as an int (None stays None)."""
        v = self.scalar(sql, params)
        return None if v is None else int(str(v))

    # -- SQL pieces that adapt to the table's actual columns ------------------

    def time_col(self, table: str, name: str) -> tuple[str, str]:
        """``(expression, type)`` of a time column, cast to TIMESTAMPTZ when stored otherwise."""
        ty = self.columns(table).get(name)
        if ty is None:
            raise ApiError(500, f"table {table} has no {name} column")
        if ty.startswith("TIMESTAMP"):
            return quote(name), ty
        return f"CAST({quote(name)} AS TIMESTAMPTZ)", "TIMESTAMPTZ"

    def ms(self, table: str, name: str) -> str:
        """SQL for the epoch milliseconds (floored) of time column ``name``."""
        expr, _ = self.time_col(table, name)
        return f"(epoch_ns({expr}) // 1000000)"

    def bound(self, table: str, name: str) -> str:
        """SQL for a ``?`` parameter in epoch microseconds, typed like time column ``name``.

        Comparing the column with a value of its own type lets DuckDB skip
        row groups by their min/max.
        """
        _, ty = self.time_col(table, name)
        if "TIME ZONE" in ty or ty.startswith("TIMESTAMPTZ"):
            return f"CAST(make_timestamptz(CAST(? AS BIGINT)) AS {ty})"
        return f"CAST(make_timestamp(CAST(? AS BIGINT)) AS {ty})"

    def between(
        self, table: str, name: str, after_ms: int | None, upto_ms: int | None
    ) -> tuple[str, list[object]]:
        """SQL (`` AND ...``) and parameters keeping rows timed in ``(after, upto]``, in whole ms.

        Either end may be None (open).
        """
        expr, _ = self.time_col(table, name)
        sql, params = "", list[object]()
        if after_ms is not None:
            sql += f" AND {expr} >= {self.bound(table, name)}"
            params.append((int(after_ms) + 1) * 1000)
        if upto_ms is not None:
            sql += f" AND {expr} < {self.bound(table, name)}"
            params.append((int(upto_ms) + 1) * 1000)
        return sql, params

    def col(self, table: str, name: str, alias: str | None = None, prefix: str = "") -> str:
        """``table.name AS alias``: NULL when the column is missing, NaN/inf as NULL for floats."""
        alias = quote(alias or name)
        ty = self.columns(table).get(name)
        if ty is None:
            return f"NULL AS {alias}"
        ref = prefix + quote(name)
        if ty.startswith(FLOAT_TYPES):
            return f"CASE WHEN isfinite({ref}) THEN {ref} END AS {alias}"
        return f"{ref} AS {alias}"


def _is_lock_error(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


class Database:
    """Where the web app reads from: a DuckDB file and, optionally, a connection that owns it.

    Parameters
    ----------
    path
        The store's DuckDB file.
    connection
        A read-write connection of this process to ``path`` (the live watcher's),
        read through per-request cursors.
    busy_timeout_s
        How long a request waits for another process to release the file.
    """

    def __init__(
        self,
        path: str | Path,
        connection: duckdb.DuckDBPyConnection | None = None,
        busy_timeout_s: float = 2.0,
    ) -> None:
        self.path = Path(path)
        self.connection = connection
        self.busy_timeout_s = busy_timeout_s

    def _open(self) -> duckdb.DuckDBPyConnection | None:
        if self.connection is not None:
            return self.connection.cursor()
        if not self.path.exists():
            return None
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=True)
            except duckdb.ConnectionException as exc:
                # this process already holds the file read-write (an in-process
                # writer that was not passed as ``connection``): join that instance
                if "different configuration" in str(exc):
                    return duckdb.connect(str(self.path))
                raise ApiError(503, f"{self.path.name}: cannot open the store ({exc})") from exc
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise ApiError(503, f"{self.path.name}: cannot open the store ({exc})") from exc
                if time.monotonic() >= deadline:
                    raise ApiError(
                        503,
                        f"{self.path.name} is held for writing by another process; "
                        "start the watcher with `overflight watch --share-db` so that "
                        "`overflight serve` can read the store between its batches",
                    ) from exc
                time.sleep(0.05)

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """A :class:`Snapshot` on a connection that is closed when the block ends."""
        con = self._open()
        try:
            yield Snapshot(con)
        finally:
            if con is not None:
                con.close()
