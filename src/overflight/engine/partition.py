"""Stream inputs and split their rows by aircraft into spill files (the map step).

Every row goes to partition ``crc32(icao24) mod N``: all the messages of one
aircraft land in one partition, so the clean stage sees whole flights there
(a flight never spans two aircraft) and each partition can be processed on
its own, by any worker, in any order.  CRC-32 is fixed by its standard, so a
row lands in the same partition in every process and on every machine
(Python's ``hash`` is salted per process).

How inputs are read, so that memory stays bounded whatever their size:

* the partitioned dataset layout, and Parquet files with the canonical
  column names (``timestamp`` as a timestamp, ``icao24``, ``latitude``,
  ``longitude``, ...): streamed as Arrow record batches of ``batch_rows``,
  with only the canonical columns read;
* any other format the readers know (Beast, AVR, SBS, readsb, OpenSky,
  traffic JSON, CSV): read whole, one file at a time, with
  :func:`overflight.ingest.read` and spilled at once, so one *file* must fit
  in memory (split big raw captures into several files).

Spill files are ``SPILL/p<partition>/m<map task>.parquet``: a map task
writes its own file per partition, so map tasks never share a file, and a
partition is read back in map-task order, which is the input order.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from overflight import ingest
from overflight.errors import FormatError, InputError
from overflight.pipeline import AnalyzeOptions
from overflight.schema import MESSAGE_SCHEMA, conform
from overflight.store.dataset import dataset_files, is_dataset, iter_batches

#: The message table as :func:`overflight.schema.conform` returns it (nullable fields).
SPILL_SCHEMA = conform(MESSAGE_SCHEMA.empty_table()).schema

#: Columns a Parquet file needs to be streamed as it is.
STREAM_COLUMNS = frozenset({"timestamp", "icao24", "latitude", "longitude"})


def partition_ids(icao24: pa.Array | pa.ChunkedArray, partitions: int) -> npt.NDArray[np.int64]:
    """Partition of each row: CRC-32 of the address modulo ``partitions`` (null: 0).

    Examples
    --------
    >>> import zlib
    >>> partition_ids(pa.array(["4ca7b5", None, "4ca7b5"]), 7).tolist()
    [3, 0, 3]
    >>> zlib.crc32(b"4ca7b5") % 7
    3
    """
    arr = icao24.combine_chunks() if isinstance(icao24, pa.ChunkedArray) else icao24
    arr = pc.fill_null(arr.cast(pa.string()), "")
    enc = pc.dictionary_encode(arr)
    uniques = enc.dictionary.to_pylist()
    # one CRC per distinct address, not per row
    per_value = np.array([zlib.crc32(u.encode()) % partitions if u else 0 for u in uniques])
    idx = enc.indices.to_numpy(zero_copy_only=False)
    out: npt.NDArray[np.int64] = (
        per_value[idx].astype(np.int64) if len(uniques) else (np.zeros(len(arr), dtype=np.int64))
    )
    return out


@dataclass(frozen=True)
class Source:
    """One input file and how it is read: streamed in batches or whole."""

    path: Path
    streamed: bool
    rows: int | None = None  # known for streamed Parquet (from the footer)


def _streamable(path: Path) -> int | None:
    """Row count of a Parquet file with canonical columns, else None."""
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError):
        return None
    schema = pf.schema_arrow
    if not set(schema.names) >= STREAM_COLUMNS:
        return None
    if not pa.types.is_timestamp(schema.field("timestamp").type):
        return None
    return int(pf.metadata.num_rows)


def plan_sources(
    inputs: Sequence[str | Path],
    options: AnalyzeOptions | None = None,
    days: tuple[str | None, str | None] | None = None,
) -> list[Source]:
    """Expand inputs (files, dataset folders) into :class:`Source` s, in input order."""
    options = options or AnalyzeOptions()
    sources: list[Source] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            if not is_dataset(p):
                raise InputError("expected a file or a partitioned dataset folder (day=...)", p)
            for f in dataset_files(p, days):
                sources.append(Source(f, True, _streamable(f)))
            continue
        if not p.is_file():
            raise InputError("no such file", p)
        rows = None
        if options.fmt in (None, "traffic") and not options.mapping and p.suffix == ".parquet":
            rows = _streamable(p)
        sources.append(Source(p, rows is not None, rows))
    if not sources:
        raise InputError("no input files given")
    return sources


def source_tables(
    source: Source, options: AnalyzeOptions, batch_rows: int
) -> Iterator[tuple[pa.Table, dict[str, Any] | None]]:
    """Message tables of one source, with the reader's stats on the last one."""
    if source.streamed:
        cols = [f.name for f in MESSAGE_SCHEMA]
        rows = 0
        for batch in iter_batches([source.path], cols, batch_rows):
            rows += batch.num_rows
            yield conform(pa.Table.from_batches([batch])), None
        yield SPILL_SCHEMA.empty_table(), {"format": "parquet (streamed)", "records": rows}
        return
    fmt = options.fmt or ("table" if options.mapping else ingest.detect_format(source.path))
    table = ingest.read(source.path, fmt=fmt, **options.reader_options(fmt))
    stats = ingest.table_stats(table)
    yield conform(table.replace_schema_metadata(None)), stats


@dataclass
class MapResult:
    """What one map task wrote: rows per partition, and reader stats per file."""

    rows: list[int]
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows)


class Spiller:
    """Writes rows into per-partition spill files, buffering up to ``max_buffered_rows``.

    One instance per map task; not thread-safe.  Call :meth:`close`.
    """

    def __init__(
        self,
        spill_dir: str | Path,
        partitions: int,
        map_id: int,
        max_buffered_rows: int = 1_000_000,
        compression: str = "lz4",
    ) -> None:
        self.spill_dir = Path(spill_dir)
        self.partitions = partitions
        self.map_id = map_id
        self.max_buffered_rows = max_buffered_rows
        self.compression = compression
        self.rows = [0] * partitions
        self._buffers: dict[int, list[pa.Table]] = {}
        self._buffered = 0
        self._writers: dict[int, pq.ParquetWriter] = {}

    def write(self, table: pa.Table) -> None:
        """Send each row of ``table`` (a message table) to its partition."""
        if table.num_rows == 0:
            return
        pid = partition_ids(table.column("icao24"), self.partitions)
        order = np.argsort(pid, kind="stable")  # keeps the input order inside a partition
        spid = pid[order]
        cuts = np.flatnonzero(np.diff(spid)) + 1
        table = table.take(pa.array(order)) if len(cuts) else table
        bounds = [0, *cuts.tolist(), len(spid)]
        for lo, hi in itertools.pairwise(bounds):
            p = int(spid[lo])
            self._buffers.setdefault(p, []).append(table.slice(lo, hi - lo))
            self.rows[p] += hi - lo
        self._buffered += table.num_rows
        if self._buffered >= self.max_buffered_rows:
            self.flush()

    def flush(self) -> None:
        """Write every buffered row to its spill file."""
        for p, parts in sorted(self._buffers.items()):
            writer = self._writers.get(p)
            if writer is None:
                folder = self.spill_dir / f"p{p:05d}"
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"m{self.map_id:05d}.parquet"
                writer = pq.ParquetWriter(path, SPILL_SCHEMA, compression=self.compression)
                self._writers[p] = writer
            writer.write_table(pa.concat_tables(parts).cast(SPILL_SCHEMA))
        self._buffers.clear()
        self._buffered = 0

    def close(self) -> None:
        """Flush and close every spill file."""
        self.flush()
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def map_sources(
    sources: Sequence[Source],
    spill_dir: str | Path,
    partitions: int,
    map_id: int = 0,
    options: AnalyzeOptions | None = None,
    batch_rows: int = 1_000_000,
    on_source: Callable[[int, int], None] | None = None,
) -> MapResult:
    """Read ``sources`` in order and spill their rows by aircraft (one map task).

    ``on_source(i, rows)`` is called after source ``i`` with the rows read so far.
    """
    options = options or AnalyzeOptions()
    spiller = Spiller(spill_dir, partitions, map_id, max_buffered_rows=batch_rows)
    stats: dict[str, Any] = {}
    try:
        for i, source in enumerate(sources):
            for table, file_stats in source_tables(source, options, batch_rows):
                spiller.write(table)
                if file_stats is not None:
                    stats[str(source.path)] = file_stats
            if on_source is not None:
                on_source(i, sum(spiller.rows))
    finally:
        spiller.close()
    return MapResult(spiller.rows, stats)


def spill_files(spill_dir: str | Path, partition: int) -> list[Path]:
    """The spill files of one partition, in map-task (that is, input) order."""
    folder = Path(spill_dir) / f"p{partition:05d}"
    return sorted(folder.glob("m*.parquet")) if folder.is_dir() else []


def read_partition(spill_dir: str | Path, partition: int) -> pa.Table:
    """All the messages of one partition, in input order."""
    files = spill_files(spill_dir, partition)
    if not files:
        return SPILL_SCHEMA.empty_table()
    try:
        tables = [pq.read_table(f) for f in files]
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(f"cannot read spill file ({exc})", files[0]) from exc
    return pa.concat_tables(tables).combine_chunks()


def estimate_rows(sources: Sequence[Source]) -> int:
    """Rows of the inputs: exact for streamed Parquet, ~1 row per 60 bytes otherwise."""
    return sum(s.rows if s.rows is not None else s.path.stat().st_size // 60 for s in sources)


def default_partitions(sources: Sequence[Source], rows_per_partition: int, workers: int) -> int:
    """Enough partitions to keep each near ``rows_per_partition``, at least ``workers``."""
    rows = estimate_rows(sources)
    return max(workers, -(-rows // max(rows_per_partition, 1)), 1)
