"""Ingest: every common flight-tracking input to the canonical message table.

Each reader module exposes two functions:

``sniff(head: bytes, path: Path) -> bool``
    True when the first bytes of the file (up to 64 KiB; decompressed for
    ``.gz``) look like this format.
``read(path: Path, **options) -> pyarrow.Table``
    The file as a message table conforming to
    :data:`overflight.schema.MESSAGE_SCHEMA`, or an
    :class:`overflight.errors.InputError` naming the file and the record.

:func:`read` picks the reader by the ``fmt`` argument, else by content.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from overflight.errors import FormatError, InputError
from overflight.ingest._compress import read_head, strip_bom

#: Reader modules in the order they are tried when sniffing: the most specific
#: signatures first, the generic tabular reader last.
READERS: dict[str, str] = {
    "beast": "overflight.ingest.beast",
    "avr": "overflight.ingest.avr",
    "sbs": "overflight.ingest.sbs",
    "readsb": "overflight.ingest.readsb",
    "jet1090": "overflight.ingest.jet1090",
    "opensky": "overflight.ingest.opensky",
    "traffic": "overflight.ingest.traffic_json",
    "table": "overflight.ingest.tabular",
}

SNIFF_BYTES = 65536


def head_bytes(path: Path, n: int = SNIFF_BYTES) -> bytes:
    """First ``n`` bytes of ``path``, decompressed when it is gzip, xz or bzip2,
    without a UTF-8 byte order mark."""
    return strip_bom(read_head(path, n))


def _module(name: str) -> Any:
    return importlib.import_module(READERS[name])


def detect_format(path: str | Path) -> str:
    """Name of the reader for ``path``, decided from its content.

    Raises
    ------
    FormatError
        When no reader recognises the file.
    """
    p = Path(path)
    if p.is_dir():
        raise FormatError("is a directory, expected a file", p)
    head = head_bytes(p)
    if not head.strip():
        what = "is empty (0 bytes)" if p.stat().st_size == 0 else "holds only blank lines"
        raise FormatError(f"the file {what}; expected flight-tracking data", p, "byte 0")
    for name in READERS:
        try:
            mod = _module(name)
        except ModuleNotFoundError:  # reader not built yet
            continue
        if mod.sniff(head, p):
            return name
    raise FormatError(
        "format not recognised; expected Beast binary, AVR/hex lines, SBS-1 CSV, "
        "readsb JSON, OpenSky state vectors, traffic JSON or a CSV/Parquet table "
        "(use --format and --map to say which)",
        p,
        "byte 0",
    )


def read(path: str | Path, fmt: str | None = None, **options: Any) -> pa.Table:
    """Read one file into the canonical message table.

    Parameters
    ----------
    path
        The input file.
    fmt
        A key of :data:`READERS`; detected from the content when omitted.
    **options
        Passed to the reader (for example ``mapping`` for ``table``).
    """
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", p)
    name = fmt or detect_format(p)
    if name not in READERS:
        raise FormatError(f"unknown format {name!r}, expected one of {sorted(READERS)}", p)
    table: pa.Table = _module(name).read(p, **options)
    return table


def table_stats(table: pa.Table) -> dict[str, Any]:
    """The reader's counts attached under ``b"overflight:stats"``, or ``{}``."""
    meta = table.schema.metadata or {}
    raw = meta.get(b"overflight:stats")
    if raw is None:
        return {"records": table.num_rows}
    stats: dict[str, Any] = json.loads(raw)
    return stats
