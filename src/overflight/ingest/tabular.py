"""Generic CSV/Parquet tables, mapped onto the canonical columns.

``read(path, mapping={"icao24": "adshex", "track": "heading"}, units={"altitude": "m"})``
maps canonical names (keys) to the file's columns (values). Without a mapping,
columns are matched by name, case-insensitively: the canonical/traffic name
first, then these aliases (an alias is used only when exactly one of them is
present; two candidates raise :class:`MappingError` asking for a mapping):

=============  =====================================================
canonical      aliases
=============  =====================================================
timestamp      time, ts, datetime, date_time, time_utc, utc_time
icao24         icao, hex, adshex, icao_address, hex_ident, hexid
callsign       flight, call_sign
latitude       lat
longitude      lon, lng, long
altitude       alt, alt_baro, altitude_ft
geoaltitude    alt_geom
groundspeed    gs, ground_speed
track          heading, hdg, trk, true_track
vertical_rate  vert_rate, vrate, baro_rate
squawk         sqk
onground       on_ground, is_on_ground
=============  =====================================================

Metre and m/s columns (OpenSky's ``baroaltitude``, ``velocity``, ``vertrate``)
are deliberately not aliases: use :mod:`overflight.ingest.opensky` or ``units``.
Units default to ft, kt, ft/min; ``units`` accepts m, km (altitudes), m/s, km/h,
mph (speed), m/s, ft/s, m/min (vertical rate). Timestamps are epoch numbers
(``time_unit`` s/ms/us/ns, detected by magnitude by default) or ISO 8601
strings; naive times are in ``tz`` (UTC by default).

Rows whose numbers or timestamps do not parse are dropped and counted
(``number``, ``timestamp``), as are CSV rows with the wrong number of fields
(``fields``) and rows without a valid address (``icao24``); the stats list the
first line numbers. Blank rows are skipped.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overflight.errors import FormatError, MappingError
from overflight.ingest._columns import (
    Rejections,
    callsign,
    convert,
    finish,
    kept_lines,
    open_bytes,
    squawk,
    to_bool,
    to_float,
    to_ns,
    utf8,
)
from overflight.schema import MESSAGE_SCHEMA

CANONICAL = tuple(f.name for f in MESSAGE_SCHEMA if f.name != "source")
ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("time", "ts", "datetime", "date_time", "time_utc", "utc_time"),
    "icao24": ("icao", "hex", "adshex", "icao_address", "hex_ident", "hexid"),
    "callsign": ("flight", "call_sign"),
    "latitude": ("lat",),
    "longitude": ("lon", "lng", "long"),
    "altitude": ("alt", "alt_baro", "altitude_ft"),
    "geoaltitude": ("alt_geom",),
    "groundspeed": ("gs", "ground_speed"),
    "track": ("heading", "hdg", "trk", "true_track"),
    "vertical_rate": ("vert_rate", "vrate", "baro_rate"),
    "squawk": ("sqk",),
    "onground": ("on_ground", "is_on_ground"),
}
#: Columns read as text so that "0400" and "012345" keep their leading zeros.
TEXT_COLUMNS = ("icao24", "callsign", "squawk")
_REQUIRED = ("timestamp", "icao24")
_SNIFF_REQUIRED = ("timestamp", "icao24", "latitude", "longitude")


@dataclass
class Loaded:
    """A file read as an Arrow table, with the input position of every row."""

    table: pa.Table
    positions: np.ndarray[Any, np.dtype[np.int64]]
    unit: str
    bad_fields: list[int] = field(default_factory=list)
    bad_reason: str = "fields"


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def header_names(head: bytes) -> list[str]:
    """Column names of a CSV from its first bytes (empty when not text).

    Examples
    --------
    >>> header_names(b'"adshex","lat"\\n"A94BBC",41.5\\n')
    ['adshex', 'lat']
    """
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return []
    first = text.split("\n", 1)[0].strip("\r")
    if "\x00" in first:
        return []
    return [n.strip().strip('"').strip() for n in first.split(_delimiter(first))]


def load(path: Path, text_columns: tuple[str, ...] = ()) -> Loaded:
    """Read a Parquet or CSV file (gzip, xz or bzip2 allowed) without interpreting its columns.

    ``text_columns`` are read as strings. Rows with the wrong field count are
    left out and listed in ``bad_fields`` by line number.
    """
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    data = open_bytes(path)
    if data[:4] == b"PAR1":
        try:
            table = pq.read_table(pa.BufferReader(data))
        except (pa.ArrowException, OSError) as exc:
            raise FormatError(f"unreadable Parquet ({exc})", path, "byte 0") from exc
        return Loaded(_dedupe(table), np.arange(1, table.num_rows + 1), "row")
    data = utf8(data)  # bad bytes become U+FFFD and fail per row
    names = header_names(data[:65536])
    bad: list[int] = []

    def on_invalid(row: Any) -> str:
        bad.append(int(row.number) if row.number is not None else -1)
        return "skip"

    wanted = {n for n in names if n.lower() in text_columns}
    try:
        table = pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(use_threads=False),
            parse_options=pcsv.ParseOptions(
                delimiter=_delimiter(data[:4096].decode("utf-8", "replace").split("\n")[0]),
                invalid_row_handler=on_invalid,
                ignore_empty_lines=False,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in wanted}, strings_can_be_null=True
            ),
        )
    except (pa.ArrowException, UnicodeDecodeError) as exc:
        raise FormatError(f"not a readable CSV table ({exc})", path, "line 1") from exc
    positions = kept_lines(table.num_rows, bad, first=2)  # line 1 is the header
    return Loaded(_dedupe(table), positions, "line", bad)


def _dedupe(table: pa.Table) -> pa.Table:
    names: list[str] = []
    for name in table.column_names:
        new, k = name, 1
        while new in names:
            k += 1
            new = f"{name}.{k}"
        names.append(new)
    return table.rename_columns(names)


def resolve(
    present: list[str], mapping: Mapping[str, str] | None, path: Path, strict: bool = True
) -> dict[str, str]:
    """Canonical name -> column of the file, from ``mapping`` or by name and alias.

    Raises
    ------
    MappingError
        When a mapped column is absent, a key is not canonical, an alias is
        ambiguous, or (``strict``) ``timestamp`` or ``icao24`` cannot be found.
    """
    listed = ", ".join(present) or "(none)"
    if mapping:
        unknown = sorted(set(mapping) - set(CANONICAL))
        if unknown:
            raise MappingError(
                f"mapping keys {unknown} are not canonical columns; expected some of {CANONICAL}",
                path,
            )
        for canonical, column in mapping.items():
            if column not in present:
                raise MappingError(
                    f"mapped column {column!r} (for {canonical}) is not in the file; "
                    f"columns present: {listed}",
                    path,
                    "line 1",
                )
    found: dict[str, str] = dict(mapping or {})
    lower = {p.lower(): p for p in present}
    for canonical in CANONICAL:
        if canonical in found:
            continue
        if canonical in lower:
            found[canonical] = lower[canonical]
            continue
        hits = [lower[a] for a in ALIASES.get(canonical, ()) if a in lower]
        hits = [h for h in hits if h not in found.values()]
        if len(hits) > 1:
            raise MappingError(
                f"columns {hits} could each be {canonical}; say which with "
                f"mapping={{'{canonical}': ...}}; columns present: {listed}",
                path,
                "line 1",
            )
        if hits:
            found[canonical] = hits[0]
    missing = [c for c in _REQUIRED if c not in found]
    if strict and missing:
        raise MappingError(
            f"no column for {missing}; pass mapping={{'{missing[0]}': '<column>'}}; "
            f"columns present: {listed}",
            path,
            "line 1",
        )
    return found


def canonicalise(
    loaded: Loaded,
    columns: Mapping[str, str],
    path: Path,
    fmt: str,
    units: Mapping[str, str] | None = None,
    tz: str = "UTC",
    time_unit: str = "auto",
    non_icao: str = "keep",
) -> pa.Table:
    """The message table from ``loaded`` given canonical -> column ``columns``."""
    table = loaded.table
    rej = Rejections(loaded.positions, loaded.unit)
    rej.reject_outside(loaded.bad_fields, loaded.bad_reason)
    units = dict(units or {})
    unknown_units = sorted(set(units) - {"altitude", "geoaltitude", "groundspeed", "vertical_rate"})
    if unknown_units:
        raise MappingError(f"units given for {unknown_units}, which have no unit", path)
    blank = np.ones(table.num_rows, bool)
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = pc.utf8_trim_whitespace(col)
            blank &= np.asarray(pc.fill_null(pc.equal(col, ""), True).to_numpy(), bool)
        else:
            blank &= np.asarray(col.is_null().to_numpy(), bool)
    rej.ignore(blank)
    out: dict[str, Any] = {}
    number_bad = np.zeros(table.num_rows, bool)
    for canonical, column in columns.items():
        values = table.column(column)
        if canonical == "timestamp":
            out["timestamp"], bad_time = to_ns(values, time_unit, tz)
            rej.reject(bad_time, "timestamp")
        elif canonical == "icao24":
            out["icao24"] = values
        elif canonical == "callsign":
            out["callsign"] = callsign(values)
        elif canonical == "squawk":
            out["squawk"] = squawk(values)
        elif canonical == "onground":
            out["onground"] = to_bool(values)
        else:
            numbers, bad = to_float(values)
            try:
                out[canonical] = convert(numbers, canonical, units.get(canonical))
            except ValueError as exc:
                raise MappingError(str(exc), path) from exc
            number_bad |= bad
    rej.reject(number_bad, "number")
    return finish(out, rej, path, fmt, non_icao=non_icao, extra={"columns": dict(columns)})


def _parquet_names(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except (pa.ArrowException, OSError):
        return []


def names_of(head: bytes, path: Path) -> list[str]:
    """Column names of a Parquet (from its footer) or CSV (from its header) file."""
    if head[:4] == b"PAR1":
        return _parquet_names(path)
    return header_names(head)


def sniff(head: bytes, path: Path) -> bool:
    """True for a CSV/Parquet whose columns map without help to time, address and position."""
    names = names_of(head, path)
    if len(names) < len(_SNIFF_REQUIRED):
        return False
    try:
        found = resolve(names, None, path, strict=False)
    except MappingError:
        return False
    return all(c in found for c in _SNIFF_REQUIRED)


def read(
    path: Path,
    mapping: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    tz: str = "UTC",
    time_unit: str = "auto",
    non_icao: str = "keep",
    **_: Any,
) -> pa.Table:
    """Read a CSV or Parquet table into the message table.

    Parameters
    ----------
    path
        The file (CSV may be gzip, xz or bzip2 compressed; ``,`` ``;`` tab or ``|`` separated).
    mapping
        Canonical name -> column of the file; unmapped canonical columns are
        still matched by name and alias.
    units
        Canonical column -> unit of the file's values.
    tz, time_unit
        Zone of naive times; unit of epoch numbers (``auto`` by magnitude).
    non_icao
        ``keep`` (default), ``strip`` or ``drop`` addresses starting with ``~``.

    Raises
    ------
    MappingError
        Naming the file, the missing column and the columns present.
    """
    text = tuple(c.lower() for c in TEXT_COLUMNS)
    text += tuple(a for c in TEXT_COLUMNS for a in ALIASES[c])
    text += tuple(v.lower() for k, v in (mapping or {}).items() if k in TEXT_COLUMNS)
    loaded = load(path, text)
    columns = resolve(loaded.table.column_names, mapping, path)
    return canonicalise(loaded, columns, path, "table", units, tz, time_unit, non_icao)
