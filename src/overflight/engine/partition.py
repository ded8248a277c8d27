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

Spill files are ``SPILL/p<partition>/m<map task>.arrow``: a map task
writes its own file per partition, so map tasks never share a file, and a
partition is read back in map-task order, which is the input order.  They
are Arrow IPC streams with LZ4-compressed buffers: a spill file is written
once and read once by the same code, so it needs no Parquet encoding (which
costs several times more CPU to write and to read back).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from overflight import ingest
from overflight.errors import FormatError, InputError
from overflight.pipeline import AnalyzeOptions
from overflight.schema import MESSAGE_SCHEMA, conform
from overflight.store.dataset import dataset_buckets, dataset_files, is_dataset, iter_batches
from overflight.store.layout import bucket_ids as partition_ids
from overflight.store.layout import path_bucket

#: The message table as :func:`overflight.schema.conform` returns it (nullable fields).
SPILL_SCHEMA = conform(MESSAGE_SCHEMA.empty_table()).schema

#: Suffix of the spill files (Arrow IPC stream format).
SPILL_SUFFIX = ".arrow"

#: The ``format`` of a streamed Parquet input in the run's input statistics.
STREAMED_FORMAT = "parquet (streamed)"

#: Columns a Parquet file needs to be streamed as it is.
STREAM_COLUMNS = frozenset({"timestamp", "icao24", "latitude", "longitude"})

#: String columns read dictionary-encoded from streamed Parquet: cheaper to
#: decode, and partition ids come from the dictionary (see :func:`partition_ids`).
DICTIONARY_COLUMNS = ("icao24", "callsign", "squawk", "source")


@dataclass(frozen=True)
class Source:
    """One input file and how it is read: streamed in batches or whole.

    ``bucket`` and ``buckets``: the file's aircraft bucket and the bucket
    count of its dataset (the layout's optional ``bucket`` level), else None.
    """

    path: Path
    streamed: bool
    rows: int | None = None  # known for streamed Parquet (from the footer)
    bucket: int | None = None
    buckets: int | None = None


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
            n = dataset_buckets(p)
            for f in dataset_files(p, days):
                bucket = path_bucket(f, p) if n is not None else None
                sources.append(Source(f, True, _streamable(f), bucket, n))
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
    """Message tables of one source, with the reader's stats on the last one.

    Streamed tables may hold the :data:`DICTIONARY_COLUMNS` dictionary-encoded;
    :class:`Spiller` conforms them to :data:`SPILL_SCHEMA`.
    """
    if source.streamed:
        cols = [f.name for f in MESSAGE_SCHEMA]
        rows = 0
        for batch in iter_batches([source.path], cols, batch_rows, DICTIONARY_COLUMNS):
            rows += batch.num_rows
            yield pa.Table.from_batches([batch]), None
        yield SPILL_SCHEMA.empty_table(), {"format": STREAMED_FORMAT, "records": rows}
        return
    fmt = options.fmt or ("table" if options.mapping else ingest.detect_format(source.path))
    table = ingest.read(source.path, fmt=fmt, **options.reader_options(fmt))
    stats = ingest.table_stats(table)
    yield conform(table.replace_schema_metadata(None)), stats


def conform_encoded(table: pa.Table) -> pa.Table:
    """:func:`~overflight.schema.conform` to :data:`SPILL_SCHEMA`, dictionary strings kept.

    Columns dictionary-encoded with the right value type stay encoded, so
    that reordering rows moves indices, not strings; a cast to
    :data:`SPILL_SCHEMA` decodes them.

    Examples
    --------
    >>> t = pa.table({"icao24": pa.array(["a", "b"]).dictionary_encode(), "timestamp": [0, 1]})
    >>> conform_encoded(t).cast(SPILL_SCHEMA).equals(conform(t))
    True
    """
    arrays, fields = [], []
    for f in SPILL_SCHEMA:
        col = table.column(f.name) if f.name in table.column_names else None
        if col is None:
            col = pa.nulls(table.num_rows, f.type)
        elif pa.types.is_dictionary(col.type) and col.type.value_type == f.type:
            f = pa.field(f.name, col.type)
        elif col.type != f.type:
            col = col.cast(f.type)
        arrays.append(col)
        fields.append(f)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


@dataclass
class MapResult:
    """What one map task wrote: rows per partition, and reader stats per file."""

    rows: list[int]
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows)


def _stable_order(pid: npt.NDArray[np.int64], partitions: int) -> npt.NDArray[np.intp]:
    """Stable sort order of partition ids (a radix sort when they fit in 16 bits)."""
    small = pid.astype(np.int16) if partitions <= np.iinfo(np.int16).max else pid
    return np.argsort(small, kind="stable")


class Spiller:
    """Writes rows into per-partition spill files, buffering up to ``max_buffered_rows``.

    One instance per map task; not thread-safe.  Call :meth:`close`.
    ``compression`` is the IPC buffer codec: ``"lz4"``, ``"zstd"`` or None.
    """

    def __init__(
        self,
        spill_dir: str | Path,
        partitions: int,
        map_id: int,
        max_buffered_rows: int = 1_000_000,
        compression: str | None = "lz4",
    ) -> None:
        self.spill_dir = Path(spill_dir)
        self.partitions = partitions
        self.map_id = map_id
        self.max_buffered_rows = max_buffered_rows
        self.compression = compression
        self.rows = [0] * partitions
        self._buffers: list[tuple[pa.Table, npt.NDArray[np.int64]]] = []
        self._buffered = 0
        self._writers: dict[int, tuple[pa.NativeFile, ipc.RecordBatchStreamWriter]] = {}

    def write(self, table: pa.Table) -> None:
        """Send each row of ``table`` (a message table) to its partition."""
        if table.num_rows == 0:
            return
        pid = partition_ids(table.column("icao24"), self.partitions)
        self._buffers.append((conform_encoded(table), pid))
        counts = np.bincount(pid, minlength=self.partitions).tolist()
        self.rows = [a + b for a, b in zip(self.rows, counts, strict=True)]
        self._buffered += table.num_rows
        if self._buffered >= self.max_buffered_rows:
            self.flush()

    def _writer(self, p: int) -> ipc.RecordBatchStreamWriter:
        entry = self._writers.get(p)
        if entry is None:
            folder = self.spill_dir / f"p{p:05d}"
            folder.mkdir(parents=True, exist_ok=True)
            sink = pa.OSFile(str(folder / f"m{self.map_id:05d}{SPILL_SUFFIX}"), "wb")
            options = ipc.IpcWriteOptions(compression=self.compression)
            entry = (sink, ipc.new_stream(sink, SPILL_SCHEMA, options=options))
            self._writers[p] = entry
        return entry[1]

    def flush(self) -> None:
        """Write every buffered row to its spill file (one record batch per partition).

        The buffered tables are reordered by partition with one ``take``
        (stable: input order inside a partition), then sliced.
        """
        if not self._buffers:
            return
        tables = [t for t, _ in self._buffers]
        if any(t.schema != tables[0].schema for t in tables):
            tables = [t.cast(SPILL_SCHEMA) for t in tables]
        table = pa.concat_tables(tables)
        pid = np.concatenate([p for _, p in self._buffers])
        self._buffers.clear()
        self._buffered = 0
        order = _stable_order(pid, self.partitions)
        spid = pid[order]
        cuts = np.flatnonzero(np.diff(spid)) + 1
        # dictionary columns are reordered as indices, then decoded
        table = table.take(pa.array(order)) if len(cuts) else table.combine_chunks()
        if table.schema != SPILL_SCHEMA:
            table = table.cast(SPILL_SCHEMA)
        bounds = [0, *cuts.tolist(), len(spid)]
        for lo, hi in itertools.pairwise(bounds):
            self._writer(int(spid[lo])).write_table(table.slice(lo, hi - lo))

    def close(self) -> None:
        """Flush and close every spill file."""
        try:
            self.flush()
        finally:
            for sink, writer in self._writers.values():
                writer.close()
                sink.close()
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


def groups(sources: Sequence[Source], n: int) -> list[list[Source]]:
    """Cut ``sources`` into at most ``n`` contiguous groups of similar row counts.

    Examples
    --------
    >>> from pathlib import Path
    >>> s = [Source(Path(str(i)), True, 10) for i in range(5)]
    >>> [len(g) for g in groups(s, 2)]
    [3, 2]
    """
    if not sources:
        return []
    n = max(1, min(n, len(sources)))
    sizes = [s.rows if s.rows is not None else s.path.stat().st_size // 60 for s in sources]
    sizes = [max(1, x) for x in sizes]
    total = sum(sizes)
    out: list[list[Source]] = [[] for _ in range(n)]
    before = 0
    for source, size in zip(sources, sizes, strict=True):
        out[min(n - 1, before * n // total)].append(source)
        before += size
    return [g for g in out if g]


def work_order(maps: Sequence[MapResult], partitions: int) -> list[int]:
    """The partitions that got rows, largest first.

    Workers take partitions in this order: the largest start first and the
    small ones fill the end, so no worker finishes long after the others
    (longest-processing-time-first scheduling; an aircraft's rows all go to
    one partition, so sizes vary).  No output depends on the order.

    Examples
    --------
    >>> work_order([MapResult([5, 0, 9]), MapResult([1, 0, 0])], 3)
    [2, 0]
    """
    rows = [sum(m.rows[p] for m in maps) for p in range(partitions)]
    return sorted((p for p in range(partitions) if rows[p]), key=lambda p: (-rows[p], p))


def spill_files(spill_dir: str | Path, partition: int) -> list[Path]:
    """The spill files of one partition, in map-task (that is, input) order."""
    folder = Path(spill_dir) / f"p{partition:05d}"
    return sorted(folder.glob(f"m*{SPILL_SUFFIX}")) if folder.is_dir() else []


def _read_spill(path: Path) -> pa.Table:
    try:
        with pa.OSFile(str(path), "rb") as f:
            return ipc.open_stream(f).read_all()
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(f"cannot read spill file ({exc})", path) from exc


def _bucket_count(sources: Sequence[Source]) -> int | None:
    """The inputs' common number of aircraft buckets, when every source is a
    streamed file of a bucketed dataset (the same count for all), else None."""
    counts = {s.buckets for s in sources}
    if not sources or len(counts) != 1:
        return None
    n = counts.pop()
    if n is None or any(s.bucket is None or not s.streamed for s in sources):
        return None
    return n


def bucket_partitions(sources: Sequence[Source], at_least: int) -> int | None:
    """Partitions that read the inputs' aircraft buckets directly, or None.

    When every source is a streamed file of a dataset with ``N`` aircraft
    buckets (the same ``N`` for all), partition ``p`` of ``d`` partitions is
    buckets ``p, p + d, ...`` whenever ``d`` divides ``N``
    (``crc mod d == (crc mod N) mod d``): no map step is needed.  Returns
    the smallest divisor of ``N`` that is at least ``at_least``, or None
    (some input without buckets, or ``N`` too small: map as usual).

    Examples
    --------
    >>> s = [Source(Path("a"), True, 10, b, 12) for b in range(12)]
    >>> bucket_partitions(s, 5), bucket_partitions(s, 13), bucket_partitions(s[:1], 1)
    (6, None, 1)
    """
    n = _bucket_count(sources)
    if n is None:
        return None
    return next((d for d in range(max(at_least, 1), n + 1) if n % d == 0), None)


def bucket_plan(sources: Sequence[Source], partitions: int) -> dict[int, list[Source]] | None:
    """The sources of each partition (input order kept) when buckets allow it, else None.

    Examples
    --------
    >>> s = [Source(Path(str(b)), True, 10, b, 4) for b in range(4)]
    >>> {p: [x.bucket for x in g] for p, g in bucket_plan(s, 2).items()}
    {0: [0, 2], 1: [1, 3]}
    >>> bucket_plan(s, 3) is None
    True
    """
    n = _bucket_count(sources)
    if n is None or n % partitions:
        return None
    plan: dict[int, list[Source]] = {}
    for s in sources:
        assert s.bucket is not None
        plan.setdefault(s.bucket % partitions, []).append(s)
    return plan


def planned_maps(plan: dict[int, list[Source]], partitions: int) -> MapResult:
    """What a map step would have reported for inputs read by :func:`bucket_plan`."""
    rows = [sum(s.rows or 0 for s in plan.get(p, [])) for p in range(partitions)]
    stats = {
        str(s.path): {"format": STREAMED_FORMAT, "records": s.rows or 0}
        for group in plan.values()
        for s in group
    }
    return MapResult(rows, stats)


def _scan(paths: Sequence[Path]) -> pa.Table | None:
    """The canonical columns of Parquet files, in order, in one dataset scan.

    One scan costs far less per file than opening each file on its own (a
    bucketed partition is dozens of small files; its strings are read plain,
    which here is cheaper than dictionaries that are decoded anyway).  None
    when the files do not all have one schema: then each is read on its own.
    """
    d = pads.dataset([str(p) for p in paths], format="parquet")
    frags = list(d.get_fragments())
    first = frags[0].physical_schema
    if any(f.physical_schema != first for f in frags[1:]):
        return None
    cols = [f.name for f in MESSAGE_SCHEMA if f.name in first.names]
    return d.to_table(columns=cols, use_threads=False)


def read_sources(
    sources: Sequence[Source], options: AnalyzeOptions | None = None, batch_rows: int = 1_000_000
) -> pa.Table:
    """All the messages of ``sources`` in order, as spill files hold them (:data:`SPILL_SCHEMA`).

    Streamed Parquet sources are read in one dataset scan when they share a
    schema (a bucketed partition); otherwise, or when that scan fails, each
    source is read on its own, and a bad file is named in the error.
    """
    options = options or AnalyzeOptions()
    if sources and all(s.streamed for s in sources):
        try:
            scanned = _scan([s.path for s in sources])
        except (pa.ArrowException, OSError):
            scanned = None  # read file by file below, which names the bad file
        if scanned is not None:
            return conform_encoded(scanned).cast(SPILL_SCHEMA).combine_chunks()
    tables = [
        conform_encoded(t).cast(SPILL_SCHEMA)
        for s in sources
        for t, _ in source_tables(s, options, batch_rows)
        if t.num_rows
    ]
    if not tables:
        return SPILL_SCHEMA.empty_table()
    return pa.concat_tables(tables).combine_chunks()


def read_partition(spill_dir: str | Path, partition: int) -> pa.Table:
    """All the messages of one partition, in input order (one chunk per column)."""
    files = spill_files(spill_dir, partition)
    if not files:
        return SPILL_SCHEMA.empty_table()
    return pa.concat_tables([_read_spill(f) for f in files]).combine_chunks()


def estimate_rows(sources: Sequence[Source]) -> int:
    """Rows of the inputs: exact for streamed Parquet, ~1 row per 60 bytes otherwise."""
    return sum(s.rows if s.rows is not None else s.path.stat().st_size // 60 for s in sources)


def default_partitions(sources: Sequence[Source], rows_per_partition: int, workers: int) -> int:
    """Enough partitions to keep each near ``rows_per_partition``, at least ``workers``."""
    rows = estimate_rows(sources)
    return max(workers, -(-rows // max(rows_per_partition, 1)), 1)
