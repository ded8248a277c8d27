"""Shared helpers for the decoded-data readers: units, value normalisation, stats.

Every reader turns its input into a dict of canonical columns (see
:mod:`overflight.schema`), records which input records it had to reject and
why with a :class:`Rejections`, and hands both to :func:`finish`, which drops
the rejected rows, conforms the table and attaches the stats as JSON under
:data:`STATS_KEY` in the schema metadata::

    {"format": "sbs", "source": "x.sbs", "records": 1000, "rows": 997,
     "rejected": 3, "reasons": {"fields": 2, "timestamp": 1},
     "first_rejected": ["line 7: fields", ...]}

Unit factors are exact: 1 ft = 0.3048 m, 1 kt = 1852 m / 3600 s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.errors import FormatError
from overflight.geodesy import FT_M, KT_MS
from overflight.ingest._compress import read_all, strip_bom
from overflight.schema import conform

STATS_KEY = b"overflight:stats"
#: How many rejected records are listed by position in the stats.
MAX_EXAMPLES = 10

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Factor from each accepted unit to the canonical unit of each kind.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "length": {"ft": 1.0, "m": 1.0 / FT_M, "km": 1000.0 / FT_M},
    "speed": {"kt": 1.0, "m/s": 1.0 / KT_MS, "km/h": 1.0 / 1.852, "mph": 1609.344 / 1852.0},
    "rate": {"ft/min": 1.0, "m/s": 60.0 / FT_M, "ft/s": 60.0, "m/min": 1.0 / FT_M},
}
#: The unit kind of each canonical numeric column that has a unit to convert.
COLUMN_KIND: dict[str, str] = {
    "altitude": "length",
    "geoaltitude": "length",
    "groundspeed": "speed",
    "vertical_rate": "rate",
}
TIME_UNITS: dict[str, int] = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def mask(values: Any) -> BoolArray:
    """A numpy bool mask from an Arrow boolean array; null counts as False."""
    arr = pc.fill_null(as_array(values), False)
    return np.asarray(arr.to_numpy(zero_copy_only=False), bool)


def open_bytes(path: Path) -> bytes:
    """The whole file, decompressed when it is gzip, xz or bzip2, without a
    UTF-8 byte order mark.

    Raises
    ------
    FormatError
        When a compressed stream is corrupt or cut short.
    """
    return strip_bom(read_all(path))


def utf8(data: bytes) -> bytes:
    """``data`` unchanged when it is UTF-8, else with bad bytes replaced by U+FFFD."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace").encode("utf-8")
    return data


def kept_lines(n_rows: int, skipped: list[int], first: int = 1) -> IntArray:
    """Line numbers of ``n_rows`` parsed rows when the lines ``skipped`` were left out.

    Examples
    --------
    >>> kept_lines(3, [2, 4]).tolist()
    [1, 3, 5]
    """
    total = n_rows + len(skipped)
    out = np.ones(total, bool)
    idx = np.asarray(skipped, np.int64) - first
    out[idx[(idx >= 0) & (idx < total)]] = False
    return (np.flatnonzero(out)[:n_rows] + first).astype(np.int64)


def as_array(values: Any) -> pa.Array:
    """A single-chunk Arrow array from an Arrow array/chunked array, numpy or list."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if isinstance(values, pa.Array):
        return values
    return pa.array(values, from_pandas=True)


def _blank_to_null(arr: pa.Array) -> pa.Array:
    arr = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def to_float(values: Any) -> tuple[FloatArray, BoolArray]:
    """Numbers from any column, NaN where missing, and a mask of unparsable values.

    Empty strings and nulls are missing, not bad; ``"abc"`` and infinities are bad.

    Examples
    --------
    >>> v, bad = to_float(pa.array(["1.5", "", None, "x", "1e3"]))
    >>> v.tolist()[0], v.tolist()[4], bad.tolist()
    (1.5, 1000.0, [False, False, False, True, False])
    """
    arr = as_array(values)
    if pa.types.is_null(arr.type):
        return np.full(len(arr), np.nan), np.zeros(len(arr), bool)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        arr = _blank_to_null(arr)
        present = arr.is_valid().to_numpy(zero_copy_only=False)
        try:
            out = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            import pandas as pd

            series = pd.Series(arr.to_numpy(zero_copy_only=False), dtype=object)
            out = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        out = np.asarray(out, dtype=np.float64)
        bad = present & ~np.isfinite(out)
        out = np.where(bad, np.nan, out)
        return out, bad
    if pa.types.is_boolean(arr.type) or pa.types.is_integer(arr.type):
        arr = arr.cast(pa.float64(), safe=False)
    if not pa.types.is_floating(arr.type) and not pa.types.is_decimal(arr.type):
        return to_float(arr.cast(pa.string()))
    out = np.asarray(arr.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    bad = np.isinf(out)
    return np.where(bad, np.nan, out), bad


def convert(values: FloatArray, column: str, unit: str | None) -> FloatArray:
    """``values`` of canonical ``column`` converted from ``unit`` to the canonical unit.

    Examples
    --------
    >>> convert(np.array([0.3048, 1.0]), "altitude", "m").round(6).tolist()
    [1.0, 3.28084]
    """
    if unit is None or column not in COLUMN_KIND:
        return values
    factors = UNIT_FACTORS[COLUMN_KIND[column]]
    if unit not in factors:
        raise ValueError(f"unknown unit {unit!r} for {column}, expected one of {sorted(factors)}")
    return values * factors[unit]


def _epoch_factor(values: FloatArray, unit: str) -> int:
    if unit != "auto":
        return TIME_UNITS[unit]
    finite = np.abs(values[np.isfinite(values)])
    if finite.size == 0:
        return TIME_UNITS["s"]
    median = float(np.median(finite))
    # seconds until the year 5138, then ms, us, ns
    for bound, name in ((1e11, "s"), (1e14, "ms"), (1e17, "us")):
        if median < bound:
            return TIME_UNITS[name]
    return 1


def epoch_to_ns(values: FloatArray, unit: str = "auto") -> tuple[IntArray, BoolArray]:
    """Epoch numbers (``s``, ``ms``, ``us``, ``ns`` or ``auto`` by magnitude) to ns.

    Returns the int64 nanoseconds and a mask of values that are missing or out of range.

    Examples
    --------
    >>> ns, bad = epoch_to_ns(np.array([1.5e9, np.nan]))
    >>> int(ns[0]), bad.tolist()
    (1500000000000000000, [False, True])
    """
    factor = _epoch_factor(values, unit)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = values * float(factor)
        bad = ~np.isfinite(scaled) | (np.abs(scaled) >= 9.2e18)
        ns = np.where(bad, 0.0, scaled)
    # A float64 epoch in s or ms resolves about 0.2 us today: rebuild the whole units
    # as integers and round the fraction to the microsecond, not to float noise.
    if factor > 1:
        clean = np.where(bad, 0.0, values)
        whole = np.floor(clean)
        step = 1000 if factor >= 10**6 else 1
        frac = np.round((clean - whole) * (factor // step)).astype(np.int64) * step
        return np.where(bad, 0, whole.astype(np.int64) * factor + frac), bad
    return ns.astype(np.int64), bad


def _int_epoch_to_ns(arr: pa.Array, unit: str) -> tuple[IntArray, BoolArray]:
    missing = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), bool)
    values = np.asarray(pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(), np.int64)
    factor = _epoch_factor(np.where(missing, np.nan, values.astype(np.float64)), unit)
    limit = np.iinfo(np.int64).max // factor
    bad = missing | (values > limit) | (values < -limit)
    return np.where(bad, 0, values * factor), bad


_TZ_SUFFIX = r"(Z|z|[+-]\d{2}(:?\d{2})?)$"


def iso_to_ns(values: Any, tz: str = "UTC") -> tuple[IntArray, BoolArray]:
    """UTC nanoseconds from ISO 8601 strings; naive ones are read in ``tz``.

    Returns the ns and a mask of values that are missing or do not parse.

    Examples
    --------
    >>> ns, bad = iso_to_ns(pa.array(["2016-12-09 09:13:34.625", "", "2016-13-01"]))
    >>> int(ns[0]), bad.tolist()
    (1481274814625000000, [False, True, True])
    """
    arr = _blank_to_null(as_array(values).cast(pa.string()))
    present = arr.is_valid().to_numpy(zero_copy_only=False)
    aware = np.asarray(
        pc.fill_null(pc.match_substring_regex(arr, _TZ_SUFFIX), False).to_numpy(
            zero_copy_only=False
        ),
        bool,
    )
    # fast path: Arrow's own ISO parser, all-or-nothing
    target = None
    if not aware.any() and tz == "UTC":
        target = pa.timestamp("ns")
    elif aware[present].all():
        target = pa.timestamp("ns", "UTC")
    if target is not None:
        try:
            parsed = arr.cast(target).cast(pa.int64())
            ok = parsed.is_valid().to_numpy(zero_copy_only=False)
            return np.asarray(pc.fill_null(parsed, 0).to_numpy(), np.int64), ~ok
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    import pandas as pd

    series = pd.Series(arr.to_numpy(zero_copy_only=False), dtype=object)
    ns = np.zeros(len(arr), np.int64)
    ok = np.zeros(len(arr), bool)
    for subset, is_aware in ((aware & present, True), (~aware & present, False)):
        if not subset.any():
            continue
        parsed = pd.to_datetime(
            series[subset], format="ISO8601", errors="coerce", utc=is_aware or tz == "UTC"
        )
        if not is_aware and tz != "UTC":
            parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        utc = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        # pandas parses years outside the nanosecond range (1677-2262) at a
        # coarser unit: those do not parse here
        in_range = (utc >= pd.Timestamp.min) & (utc <= pd.Timestamp.max)
        valid = (parsed.notna() & in_range).to_numpy()
        values_ns = utc.where(valid).astype("datetime64[ns]")
        idx = np.flatnonzero(subset)
        ns[idx[valid]] = values_ns.to_numpy()[valid].astype(np.int64)
        ok[idx[valid]] = True
    return ns, ~ok


def to_ns(values: Any, unit: str = "auto", tz: str = "UTC") -> tuple[IntArray, BoolArray]:
    """UTC nanoseconds from epoch numbers, ISO 8601 strings or Arrow timestamps.

    Naive times are read in ``tz``. String columns that are mostly numbers are
    epochs (``unit``, detected by magnitude when ``"auto"``). Returns the ns and a
    mask of values that are missing or do not parse.

    Examples
    --------
    >>> ns, bad = to_ns(pa.array(["2016-07-15 19:26:16", "2016-07-15T19:26:17Z", "x"]))
    >>> [int(v) for v in ns[:2]], bad.tolist()
    ([1468610776000000000, 1468610777000000000], [False, False, True])
    >>> to_ns(pa.array([1468610776000]))[0].tolist()
    [1468610776000000000]
    """
    arr = as_array(values)
    if pa.types.is_timestamp(arr.type):
        ns, bad = _int_epoch_to_ns(arr.cast(pa.int64()), arr.type.unit)
        if arr.type.tz is None and tz != "UTC":
            import pandas as pd

            local = pd.DatetimeIndex(np.where(bad, np.datetime64("NaT"), ns.view("M8[ns]")))
            utc = local.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC")
            bad |= np.asarray(utc.isna(), bool)
            ns = np.where(bad, 0, utc.tz_localize(None).asi8)
        return ns, bad
    if pa.types.is_date(arr.type):
        return to_ns(arr.cast(pa.timestamp("ms")), unit, tz)
    text = pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
    if text or pa.types.is_integer(arr.type):
        try:  # integers keep nanosecond precision that float64 would lose
            return _int_epoch_to_ns(pc.cast(_blank_to_null(arr) if text else arr, pa.int64()), unit)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    if text:
        numbers, bad_numbers = to_float(arr)
        present = _blank_to_null(arr).is_valid().to_numpy(zero_copy_only=False)
        if present.any() and bad_numbers[present].mean() > 0.5:
            return iso_to_ns(arr, tz)
        ns, bad = epoch_to_ns(numbers, unit)
        return ns, bad | bad_numbers
    numbers, bad_numbers = to_float(arr)
    ns, bad = epoch_to_ns(numbers, unit)
    return ns, bad | bad_numbers


def icao24(values: Any, non_icao: str = "keep") -> tuple[pa.Array, BoolArray]:
    """Lowercase ICAO addresses and a mask of values that are not 6 hex digits.

    A leading ``~`` marks a non-ICAO address (TIS-B, ADS-R, anonymous) in
    dump1090/readsb output. ``non_icao="keep"`` (default) keeps it, so that
    ``~abc123`` never collides with the real aircraft ``abc123``; ``"strip"``
    removes the mark; ``"drop"`` keeps it here and :func:`finish` rejects those
    records (reason ``non_icao``).

    Examples
    --------
    >>> a, bad = icao24(pa.array([" 3C6444", "~ABC123", "xyz", None]))
    >>> a.to_pylist(), bad.tolist()
    (['3c6444', '~abc123', 'xyz', None], [False, False, True, True])
    """
    if non_icao not in ("keep", "strip", "drop"):
        raise ValueError(f"non_icao={non_icao!r}, expected 'keep', 'strip' or 'drop'")
    arr = pc.utf8_lower(_blank_to_null(as_array(values).cast(pa.string())))
    if non_icao == "strip":
        arr = pc.replace_substring_regex(arr, "^~", "")
    ok = pc.fill_null(pc.match_substring_regex(arr, "^~?[0-9a-f]{6}$"), False)
    return arr, ~np.asarray(ok.to_numpy(zero_copy_only=False), bool)


def callsign(values: Any) -> pa.Array:
    """Callsigns stripped of padding, null when empty."""
    return _blank_to_null(as_array(values).cast(pa.string()))


def squawk(values: Any) -> pa.Array:
    """Mode A codes as 4 octal digits; integers and ``"7000.0"`` are repaired, others null.

    Examples
    --------
    >>> squawk(pa.array(["7000", "400", "1200.0", "9999", None])).to_pylist()
    ['7000', '0400', '1200', None, None]
    >>> squawk(pa.array([7000, 17])).to_pylist()
    ['7000', '0017']
    """
    arr = as_array(values)
    if pa.types.is_floating(arr.type):
        numbers = arr.to_numpy(zero_copy_only=False)
        small = np.isfinite(numbers) & (np.abs(numbers) < 1e5)
        ints = np.where(small, numbers, -1).astype(np.int64)
        arr = pa.array(ints, mask=~small | (ints != numbers)).cast(pa.string())
    arr = _blank_to_null(arr.cast(pa.string()))
    arr = pc.replace_substring_regex(arr, r"\.0*$", "")
    arr = pc.utf8_lpad(arr, 4, "0")
    ok = pc.match_substring_regex(arr, "^[0-7]{4}$")
    return pc.if_else(ok, arr, pa.scalar(None, pa.string()))


_TRUE = ("true", "t", "yes", "y", "1", "-1", "ground")
_FALSE = ("false", "f", "no", "n", "0", "airborne")


def to_bool(values: Any) -> pa.Array:
    """Booleans from bools, numbers (nonzero is true) or words; null otherwise.

    Examples
    --------
    >>> to_bool(pa.array(["True", "0", "-1", "", "x"])).to_pylist()
    [True, False, True, None, None]
    """
    arr = as_array(values)
    if pa.types.is_boolean(arr.type):
        return arr
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        return pc.not_equal(arr, pa.scalar(0, arr.type))
    text = pc.utf8_lower(_blank_to_null(arr.cast(pa.string())))
    true = pc.is_in(text, pa.array(_TRUE))
    false = pc.is_in(text, pa.array(_FALSE))
    null = pa.scalar(None, pa.bool_())
    return pc.if_else(true, True, pc.if_else(false, False, null))


class Rejections:
    """Which of ``n`` input records are rejected, and why (first reason wins).

    Parameters
    ----------
    positions
        The position of each record in the input (line or row number), used in
        the stats and in error messages.
    unit
        ``"line"``, ``"row"`` or ``"record"``.
    """

    def __init__(self, positions: IntArray, unit: str = "line") -> None:
        self.positions = np.asarray(positions, np.int64)
        self.unit = unit
        self.code = np.zeros(len(self.positions), np.int16)
        self.reasons: list[str] = []
        self.external: list[tuple[int, str]] = []

    def reject(self, mask: BoolArray, reason: str) -> None:
        """Reject the records in ``mask`` not already rejected, for ``reason``."""
        if reason not in self.reasons:
            self.reasons.append(reason)
        code = self.reasons.index(reason) + 1
        self.code[(self.code == 0) & np.asarray(mask, bool)] = code

    def ignore(self, mask: BoolArray) -> None:
        """Drop the records in ``mask`` without counting them (headers, comments)."""
        self.code[(self.code == 0) & np.asarray(mask, bool)] = -1

    def reject_outside(self, positions: list[int], reason: str) -> None:
        """Count records that never made it into the arrays (e.g. wrong field count)."""
        self.external.extend((p, reason) for p in positions)

    @property
    def keep(self) -> BoolArray:
        """Mask of the records that are kept."""
        return np.asarray(self.code == 0, bool)

    def stats(self) -> dict[str, Any]:
        """Counts by reason and the first rejected records by position."""
        bad = np.flatnonzero(self.code > 0)
        items = [
            (int(self.positions[i]), self.reasons[self.code[i] - 1]) for i in bad[:MAX_EXAMPLES]
        ]
        items += self.external
        counts: dict[str, int] = {}
        for i, reason in enumerate(self.reasons):
            counts[reason] = int(np.count_nonzero(self.code == i + 1))
        for _, reason in self.external:
            counts[reason] = counts.get(reason, 0) + 1
        items.sort()
        return {
            "records": int(np.count_nonzero(self.code >= 0)) + len(self.external),
            "rows": int(np.count_nonzero(self.code == 0)),
            "rejected": int(bad.size) + len(self.external),
            "reasons": {k: v for k, v in counts.items() if v},
            "first_rejected": [f"{self.unit} {p}: {r}" for p, r in items[:MAX_EXAMPLES]],
        }


def finish(
    columns: Mapping[str, Any],
    rejections: Rejections,
    path: Path,
    fmt: str,
    non_icao: str = "keep",
    extra: Mapping[str, Any] | None = None,
) -> pa.Table:
    """The message table from canonical ``columns``, with rejected records dropped.

    ``columns`` must hold ``timestamp`` (int64 ns; readers reject the records
    whose time did not parse) and ``icao24`` (raw strings: records without a valid
    address are rejected here); other canonical columns are optional. Numeric
    columns given as float numpy arrays turn NaN into null and ``track`` is
    wrapped into [0, 360). Raises :class:`FormatError` naming the first rejected
    record when no record survives.
    """
    address, bad_address = icao24(columns["icao24"], non_icao)
    if non_icao == "drop":
        rejections.reject(
            np.asarray(pc.fill_null(pc.starts_with(address, "~"), False), bool), "non_icao"
        )
    rejections.reject(bad_address, "icao24")
    keep = pa.array(rejections.keep)
    arrays: dict[str, pa.Array] = {"icao24": address.filter(keep)}
    for name, values in columns.items():
        if name == "icao24":
            continue
        if name == "timestamp":
            arr = pa.array(np.asarray(values, np.int64)).cast(pa.timestamp("ns", "UTC"))
        elif isinstance(values, np.ndarray) and values.dtype.kind == "f":
            arr = pa.array(np.mod(values, 360.0) if name == "track" else values, from_pandas=True)
        else:
            arr = as_array(values)
        arrays[name] = arr.filter(keep)
    n = len(arrays["icao24"])
    arrays["source"] = pa.repeat(pa.scalar(path.name, pa.string()), n)
    table = conform(pa.table(arrays))
    stats = {"format": fmt, "source": path.name, **rejections.stats(), **(extra or {})}
    if n == 0:
        listed = stats["first_rejected"]
        record = listed[0].split(":")[0] if listed else f"{rejections.unit} 1"
        raise FormatError(
            f"no valid {fmt} record; expected {EXPECTED.get(fmt, fmt)}; "
            f"rejected {stats['reasons'] or 'nothing (empty input)'}",
            path,
            record,
        )
    return with_stats(table, stats)


#: What each format looks like, for error messages.
EXPECTED: dict[str, str] = {
    "sbs": "SBS-1 lines 'MSG,<1-8>,...' with 22 fields",
    "readsb": "readsb aircraft.json or trace JSON",
    "opensky": "OpenSky state vectors",
    "traffic": "traffic records with timestamp and icao24",
    "table": "rows with a timestamp and a 6-hex-digit icao24",
}


def with_stats(table: pa.Table, stats: Mapping[str, Any]) -> pa.Table:
    """``table`` with ``stats`` attached as JSON under :data:`STATS_KEY`."""
    meta = dict(table.schema.metadata or {})
    meta[STATS_KEY] = json.dumps(stats).encode()
    return table.replace_schema_metadata(meta)


def stats_of(table: pa.Table) -> dict[str, Any]:
    """The stats a reader attached to ``table`` (empty dict when none)."""
    raw = (table.schema.metadata or {}).get(STATS_KEY)
    return {} if raw is None else dict(json.loads(raw))


# --- decoded JSON: one pass per column that also sanitises types ---------------

_NAN = float("nan")


def load_json(path: Path) -> Any:
    """The decoded JSON document of ``path`` (gzip, xz or bzip2 allowed).

    Raises
    ------
    FormatError
        Naming the line and column where the JSON stops being valid.
    """
    data = open_bytes(path)
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text ({exc.reason})", path, f"byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"invalid JSON: {exc.msg} (column {exc.colno})", path, f"line {exc.lineno}"
        ) from exc
    except RecursionError as exc:
        raise FormatError("JSON nested too deeply", path, "byte 0") from exc


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def json_numbers(values: Sequence[Any]) -> tuple[FloatArray, BoolArray]:
    """Floats from JSON values; NaN for null, and a mask of non-numeric non-null values.

    Examples
    --------
    >>> v, bad = json_numbers([1, 2.5, None, "ground", [1]])
    >>> v[:2].tolist(), bad.tolist()
    ([1.0, 2.5], [False, False, False, True, True])
    """
    try:  # fast path: numbers and nulls only (numeric strings are accepted too)
        out = np.array(values, np.float64)
        bad = np.zeros(len(values), bool)
        if out.shape != (len(values),):
            raise ValueError("nested")
    except (ValueError, TypeError, OverflowError):
        out = np.array([float(v) if _is_number(v) else _NAN for v in values], np.float64)
        bad = np.array([v is not None and not _is_number(v) for v in values], bool)
    with np.errstate(invalid="ignore"):
        inf = np.isinf(out)
    out[inf] = np.nan
    return out, bad | inf


def json_strings(values: Sequence[Any]) -> pa.Array:
    """Strings from JSON values; numbers are written out, other types are null."""
    return pa.array(
        [v if isinstance(v, str) else (str(v) if _is_number(v) else None) for v in values],
        pa.string(),
    )


def json_field(records: Sequence[Any], key: str | int) -> list[Any]:
    """``record[key]`` for every record, None where absent or not a container."""
    if isinstance(key, int):
        return [r[key] if isinstance(r, list) and len(r) > key else None for r in records]
    return [r.get(key) if isinstance(r, dict) else None for r in records]


def json_first(records: Sequence[Any], *keys: str) -> list[Any]:
    """The value of the first of ``keys`` present in each record (old and new names)."""
    out = json_field(records, keys[0])
    for key in keys[1:]:
        other = json_field(records, key)
        out = [a if a is not None else b for a, b in zip(out, other, strict=True)]
    return out
