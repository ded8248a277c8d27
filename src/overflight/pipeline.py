"""The main job: inputs to an analysis folder, one stage after another.

``overflight analyze`` and ``overflight demo`` call :func:`analyze`; the live
watcher reuses the same stage functions on its rolling window.  Outputs are
written into a staging folder inside ``out_dir`` and moved into place only
when every stage succeeded, so a failed run never leaves files that look
complete.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from overflight import clean, ingest
from overflight.errors import InputError
from overflight.schema import conform

#: Called with a short description of each step as it starts.
StepCallback = Callable[[str], None]

#: Readers of raw Mode S, which take a receiver ``reference`` position.
RAW_FORMATS = ("beast", "avr", "jet1090")


@dataclass(frozen=True)
class AnalyzeOptions:
    """Parameters of one analysis; every field is recorded in the manifest."""

    fmt: str | None = None
    mapping: dict[str, str] | None = None
    units: dict[str, str] | None = None
    reference: tuple[float, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def reader_options(self, fmt: str) -> dict[str, Any]:
        """The options that apply to the reader of format ``fmt``."""
        opts: dict[str, Any] = {}
        if fmt == "table":
            if self.mapping:
                opts["mapping"] = self.mapping
            if self.units:
                opts["units"] = self.units
        elif fmt in RAW_FORMATS and self.reference is not None:
            opts["reference"] = self.reference
        return opts


@dataclass
class AnalyzeResult:
    """What :func:`analyze` produced, for the CLI summary."""

    out_dir: Path
    points: pa.Table
    flights: pa.Table
    events: pa.Table | None
    files: list[Path]
    stats: dict[str, Any]


def read_inputs(
    inputs: Sequence[str | Path],
    options: AnalyzeOptions,
    on_step: StepCallback | None = None,
) -> tuple[pa.Table, dict[str, Any]]:
    """Read every input into one message table; return it with per-file stats."""
    tables = []
    stats: dict[str, Any] = {}
    for path in inputs:
        if on_step:
            on_step(f"reading {Path(path).name}")
        fmt = options.fmt or ("table" if options.mapping else ingest.detect_format(path))
        table = ingest.read(path, fmt=fmt, **options.reader_options(fmt))
        stats[str(path)] = ingest.table_stats(table)
        tables.append(conform(table.replace_schema_metadata(None)))
    if not tables:
        raise InputError("no input files given")
    return pa.concat_tables(tables), stats


def _write_parquet(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path, compression="zstd")
    return path


def analyze(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    options: AnalyzeOptions | None = None,
    on_step: StepCallback | None = None,
) -> AnalyzeResult:
    """Run every stage on ``inputs`` and write the results into ``out_dir``."""
    options = options or AnalyzeOptions()
    out = Path(out_dir)
    messages, stats = read_inputs(inputs, options, on_step)
    if on_step:
        on_step("cleaning and splitting flights")
    points, flights = clean.run(messages)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    try:
        if on_step:
            on_step("writing outputs")
        written = [
            _write_parquet(points, staging / "points.parquet"),
            _write_parquet(flights, staging / "flights.parquet"),
        ]
        final = []
        for f in written:
            target = out / f.name
            f.replace(target)
            final.append(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return AnalyzeResult(out, points, flights, None, final, stats)
