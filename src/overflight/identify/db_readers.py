"""Readers of aircraft databases, one per published format.

Each database is read from its own format, recognised from its first line
(:func:`detect_db_format`); gzip, bzip2, xz and zstd files are decompressed by
their magic bytes.  Every reader returns a :data:`DB_SCHEMA` table, one row
per record, not yet merged (:mod:`overflight.identify.databases` merges).

``plane_alert``
    sdr-enthusiasts/plane-alert-db CSVs: ``$ICAO,$Registration,$Operator,
    $Type,$ICAO Type,#CMPG,$Tag 1,$#Tag 2,$#Tag 3,Category,$#Link`` (the ``$``
    and ``#`` are display hints and are ignored).  ``CMPG`` is
    Civ/Mil/Pol/Gov.
``opensky``
    OpenSky Network ``aircraftDatabase.csv`` (``icao24, registration,
    manufacturericao, manufacturername, model, typecode, ..., operator,
    operatorcallsign, operatoricao, operatoriata, owner, ...``), in either
    its double-quoted or its newer single-quoted, camelCase form.
``tar1090``
    tar1090-db / Mictronics, as the flattened CSV ``icao24,registration,
    typecode,dbflags,description`` or as tar1090-db's headerless
    ``aircraft.csv`` (``icao;registration;typecode;dbflags;description;...``).
    ``dbflags`` is a bit string; its first character ``1`` means military.
``flightaware``
    FlightAware's public dump1090 export ``icao24,r,t[,desc]`` and the older
    VRS-derived ``icao24,r,t`` (``desc`` is an ICAO type description such as
    ``L2J`` and is not kept).
"""

from __future__ import annotations

import json
import lzma
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from overflight.errors import FormatError, InputError
from overflight.identify.allocation import format_icao24, parse_icao24

#: An aircraft table: one row per record as read, or per address once merged.
DB_SCHEMA = pa.schema(
    [
        pa.field("icao24", pa.string()),
        pa.field("registration", pa.string()),
        pa.field("typecode", pa.string()),
        pa.field("operator", pa.string()),
        pa.field("military", pa.bool_()),
        pa.field("operator_class", pa.string()),
        pa.field("category", pa.string()),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("db_source", pa.string()),
    ]
)

#: Format names, highest precedence first.
DB_FORMATS: tuple[str, ...] = ("plane_alert", "opensky", "tar1090", "flightaware")

#: plane-alert-db CMPG to :data:`DB_SCHEMA` ``operator_class``.
CMPG_CLASS = {"mil": "military", "gov": "government", "pol": "police", "civ": "civil"}

_HEAD_BYTES = 65536
_TAR1090_CSV_COLUMNS = ["icao24", "registration", "typecode", "dbflags", "description"]


def _decompressed(path: Path) -> pa.NativeFile:
    """A readable stream of the file's content, decompressed by magic bytes."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic[:2] == b"\x1f\x8b":
        return pa.input_stream(str(path), compression="gzip")
    if magic[:3] == b"BZh":
        return pa.input_stream(str(path), compression="bz2")
    if magic[:4] == b"\x28\xb5\x2f\xfd":
        return pa.input_stream(str(path), compression="zstd")
    if magic == b"\xfd7zXZ\x00":
        try:
            with lzma.open(path, "rb") as fh:
                return pa.BufferReader(fh.read())
        except lzma.LZMAError as exc:
            raise FormatError(f"corrupt xz stream ({exc})", path, "byte 0") from exc
    return pa.input_stream(str(path))


def _head(path: Path) -> bytes:
    """The first bytes of the decompressed content."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
    try:
        if magic == b"\xfd7zXZ\x00":  # avoid decompressing the whole file
            with lzma.open(path, "rb") as xz:
                return xz.read(_HEAD_BYTES)
        with _decompressed(path) as stream:
            return bytes(stream.read(_HEAD_BYTES))
    except (OSError, EOFError, lzma.LZMAError, pa.ArrowException) as exc:
        raise FormatError(f"cannot decompress ({exc})", path, "byte 0") from exc


def _header_names(line: str, quote: str) -> list[str]:
    """Header cells normalised: unquoted, ``$``/``#`` hints removed, lower snake case."""
    cells = line.split(",")
    return [re.sub(r"\s+", "_", c.strip().strip(quote).lstrip("$#").strip().lower()) for c in cells]


def _first_line(path: Path) -> str:
    head = _head(path)
    if b"\x00" in head:
        raise FormatError("binary content where a CSV header was expected", path, "line 1")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    return text.splitlines()[0] if text.strip() else ""


def detect_db_format(path: str | Path) -> str:
    """The aircraft-database format of ``path`` (one of :data:`DB_FORMATS`).

    Raises
    ------
    FormatError
        When the first line matches none of the known headers.
    """
    p = Path(path)
    line = _first_line(p)
    quote = "'" if line.startswith("'") else '"'
    names = set(_header_names(line, quote))
    if {"icao", "cmpg"} <= names:
        return "plane_alert"
    if "icao24" in names and ({"manufacturericao", "operatoricao"} & names):
        return "opensky"
    if {"icao24", "registration", "typecode", "dbflags"} <= names:
        return "tar1090"
    if {"icao24", "r", "t"} <= names:
        return "flightaware"
    cells = line.split(";")
    if len(cells) >= 4 and re.fullmatch(r"~?[0-9A-Fa-f]{6}", cells[0].strip()):
        return "tar1090"
    raise FormatError(
        "not an aircraft database: expected a plane-alert-db, OpenSky, tar1090-db or "
        f"FlightAware header, got {line[:80]!r}",
        p,
        "line 1",
    )


def _read_csv(path: Path, fmt: str, rejected: list[int]) -> pa.Table:
    line = _first_line(path)
    headerless = fmt == "tar1090" and "dbflags" not in line.lower()
    if headerless:
        delimiter, quote = ";", '"'
        n_cells = len(line.split(";"))
        names = (_TAR1090_CSV_COLUMNS + [f"extra_{i}" for i in range(n_cells)])[:n_cells]
    else:
        delimiter = ","
        quote = "'" if line.startswith("'") else '"'
        names = _header_names(line, quote)
        names = [n if n not in names[:i] else f"{n}_{i}" for i, n in enumerate(names)]

    short: list[str] = []

    def on_invalid(row: Any) -> str:
        # rows with too few cells (plane-alert-pia.csv lists only ICAO and
        # registration) are padded and parsed again below; others are rejected
        if row.actual_columns < row.expected_columns and row.text:
            short.append(row.text + delimiter * (row.expected_columns - row.actual_columns))
        else:
            rejected[0] += 1
        return "skip"

    wanted = {
        "plane_alert": [
            *("icao", "registration", "operator", "icao_type", "cmpg"),
            *("tag_1", "tag_2", "tag_3", "category"),
        ],
        "opensky": ["icao24", "registration", "typecode", "operator", "owner"],
        "tar1090": ["icao24", "registration", "typecode", "dbflags"],
        "flightaware": ["icao24", "r", "t"],
    }[fmt]
    include = [c for c in wanted if c in names]
    parse = pacsv.ParseOptions(
        delimiter=delimiter,
        quote_char=quote,
        newlines_in_values=fmt in ("plane_alert", "opensky"),
        invalid_row_handler=on_invalid,
    )
    convert = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in names},
        include_columns=include,
        strings_can_be_null=True,
        null_values=[""],
        quoted_strings_can_be_null=True,
    )

    def attempt(encoding: str) -> pa.Table:
        short.clear()
        rejected[0] = 0
        table = pacsv.read_csv(
            _decompressed(path),
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=0 if headerless else 1,
                block_size=1 << 22,
                encoding=encoding,
            ),
            parse_options=parse,
            convert_options=convert,
        )
        if short:
            extra = pacsv.read_csv(
                pa.BufferReader("\n".join(short).encode()),
                read_options=pacsv.ReadOptions(column_names=names),
                parse_options=parse,
                convert_options=convert,
            )
            table = pa.concat_tables([table, extra])
        return table

    first = "utf8"
    try:
        _head(path).decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < _HEAD_BYTES - 4:  # not a character cut at the end of the head
            first = "latin1"
    try:
        return attempt(first)
    except pa.ArrowInvalid as exc:
        # not UTF-8 (some older exports are Latin-1): read it as Latin-1, which
        # any byte sequence is, so only a structural problem can fail now
        try:
            return attempt("latin1")
        except pa.ArrowInvalid:
            raise FormatError(f"unreadable {fmt} CSV ({exc})", path) from exc


def _clean(col: pa.ChunkedArray | None, n: int, upper: bool = False) -> pa.ChunkedArray:
    if col is None:
        return pa.chunked_array([pa.nulls(n, pa.string())])
    s = pc.utf8_trim_whitespace(col)
    s = pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)
    return pc.utf8_upper(s) if upper else s


def _tags(cols: list[pa.ChunkedArray]) -> pa.Array:
    """Row-wise list of the non-null, non-empty values of ``cols``."""
    n = len(cols[0])
    k = len(cols)
    flat = pa.concat_arrays([c.combine_chunks() for c in cols])  # column-major
    order = np.arange(n * k).reshape(k, n).T.ravel()  # row-major positions
    vals = flat.take(pa.array(order))
    keep = pc.fill_null(pc.not_equal(vals, ""), False).to_numpy(zero_copy_only=False)
    offsets = np.zeros(n + 1, dtype=np.int32)
    counts = keep.reshape(n, k).sum(axis=1)
    np.cumsum(counts, out=offsets[1:])
    values = vals.filter(pa.array(keep))
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array(counts == 0))


def _normalise(raw: pa.Table, fmt: str) -> pa.Table:
    n = raw.num_rows

    def col(name: str) -> pa.ChunkedArray | None:
        return raw.column(name) if name in raw.column_names else None

    key = "icao" if fmt == "plane_alert" else "icao24"
    none = pa.nulls(n, pa.string())
    if fmt == "plane_alert":
        cmpg = pc.ascii_lower(_clean(col("cmpg"), n))
        cls = pc.fill_null(pc.index_in(cmpg, pa.array(list(CMPG_CLASS))), -1).to_numpy()
        classes = pa.array(list(CMPG_CLASS.values()))
        operator_class = classes.take(pa.array(np.clip(cls, 0, None), mask=cls < 0))
        military = pc.equal(operator_class, "military")
        tag_cols = [_clean(col(c), n) for c in ("tag_1", "tag_2", "tag_3")]
        fields = {
            "registration": _clean(col("registration"), n),
            "typecode": _clean(col("icao_type"), n, upper=True),
            "operator": _clean(col("operator"), n),
            "military": military,
            "operator_class": operator_class,
            "category": _clean(col("category"), n),
            "tags": _tags(tag_cols),
        }
    else:
        fields = {
            "registration": _clean(col("registration" if fmt != "flightaware" else "r"), n),
            "typecode": _clean(col("typecode" if fmt != "flightaware" else "t"), n, upper=True),
            "operator": pc.coalesce(_clean(col("operator"), n), _clean(col("owner"), n)),
            "military": pa.nulls(n, pa.bool_()),
            "operator_class": none,
            "category": none,
            "tags": pa.nulls(n, pa.list_(pa.string())),
        }
        if fmt == "tar1090":
            flags = _clean(col("dbflags"), n)
            mil = pc.fill_null(pc.starts_with(flags, "1"), False)
            fields["military"] = mil
            fields["operator_class"] = pc.if_else(mil, "military", pa.scalar(None, pa.string()))
    addr = parse_icao24(_clean(col(key), n))
    ok = addr >= 0
    out = pa.table(
        {
            "icao24": format_icao24(addr),
            **fields,
            "db_source": pa.repeat(pa.scalar(fmt), n),
        }
    )
    out = out.filter(pa.array(ok))
    return out.cast(DB_SCHEMA)


def read_aircraft_db(path: str | Path, fmt: str | None = None) -> pa.Table:
    """One database file as a :data:`DB_SCHEMA` table (not deduplicated).

    Rows with an unusable address or a wrong number of cells are dropped and
    counted in the schema metadata under ``b"overflight:stats"``.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", p)
    fmt = fmt or detect_db_format(p)
    if fmt not in DB_FORMATS:
        raise FormatError(f"unknown aircraft database format {fmt!r}, expected one of {DB_FORMATS}")
    rejected = [0]
    raw = _read_csv(p, fmt, rejected)
    out = _normalise(raw, fmt)
    bad_addr = raw.num_rows - out.num_rows
    stats = {
        "records": raw.num_rows + rejected[0],
        "rejected": bad_addr + rejected[0],
        "reasons": {k: v for k, v in {"icao24": bad_addr, "cells": rejected[0]}.items() if v},
        "format": fmt,
    }
    return out.replace_schema_metadata({b"overflight:stats": json.dumps(stats).encode()})
