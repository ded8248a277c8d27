"""ICAO 24-bit address to state of registry.

ICAO Annex 10, Volume III, Part I, Chapter 9 ("Aircraft addressing system")
and its Appendix (Table 9-1) divide the 2**24 address space into blocks, one
or more per contracting State, each written as a bit pattern such as
``0100 0000 0000 ---- ---- ----`` (United Kingdom, 400000-43FFFF).  Every
block is therefore a power-of-two number of addresses starting on a multiple
of its size; the State then assigns individual addresses to its aircraft.

``data/icao_allocation.csv`` transcribes that table (2nd edition, 2007, with
amendments; ``note`` marks later allocations and renamed States) with one row
per block: ``start_hex, end_hex, state, iso2, iso3, kind, note``.  ``kind`` is
``state`` for a State's block, ``icao_temporary`` for F00000-F07FFF (ICAO
temporary addresses) and ``icao_special`` for the ICAO special-use blocks
(899000-8993FF, which carries the Taiwan register, and F09000-F093FF).  The
regional reserves and unassigned space have no row: they look up as null.

Lookup is one :func:`numpy.searchsorted` over the sorted block starts.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

Int64Array = npt.NDArray[np.int64]

#: Largest valid address.
MAX_ADDRESS = 0xFFFFFF

# value of each byte as a lowercase hex digit; -1 for any other byte
_HEX_LUT = np.full(256, -1, dtype=np.int64)
_HEX_LUT[np.frombuffer(b"0123456789", dtype=np.uint8)] = np.arange(10)
_HEX_LUT[np.frombuffer(b"abcdef", dtype=np.uint8)] = np.arange(10, 16)


def _as_arrow(values: Any) -> pa.Array:
    """Any scalar, sequence, numpy/pandas/Arrow column as one Arrow array."""
    if values is None or isinstance(values, str | int | np.integer | bytes):
        values = [values]
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        try:
            values = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            # mixed or exotic objects: keep the strings, drop the rest
            values = pa.array([v if isinstance(v, str) else None for v in values], pa.string())
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    return values


def parse_icao24(values: Any) -> Int64Array:
    """ICAO addresses as integers; -1 where the value is not a valid address.

    Strings are read as hexadecimal (1 to 6 digits, case-insensitive, an
    optional ``0x`` prefix, surrounding blanks ignored); integers are taken as
    the address itself.  Anything else (``~``-prefixed non-ICAO addresses,
    out-of-range numbers, nulls, NaN, other types) gives -1.

    Examples
    --------
    >>> parse_icao24(["ae0455", "0x4CA7B4", " 400000 ", "zz", None]).tolist()
    [11404373, 5023668, 4194304, -1, -1]
    """
    arr = _as_arrow(values)
    n = len(arr)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    t = arr.type
    if pa.types.is_integer(t):
        v = pc.fill_null(arr.cast(pa.int64(), safe=False), -1).to_numpy(zero_copy_only=False)
        return np.where((v >= 0) & (v <= MAX_ADDRESS), v, -1).astype(np.int64)
    if pa.types.is_floating(t):
        f = pc.fill_null(arr, np.nan).to_numpy(zero_copy_only=False).astype(np.float64)
        ok = np.isfinite(f) & (f >= 0) & (f <= MAX_ADDRESS) & (np.floor(f) == f)
        return np.where(ok, np.nan_to_num(f, nan=-1.0), -1).astype(np.int64)
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        arr = arr.cast(pa.string())
    elif not pa.types.is_string(t):
        return np.full(n, -1, dtype=np.int64)
    s = pc.ascii_lower(pc.utf8_trim_whitespace(arr))
    s = pc.if_else(pc.starts_with(s, "0x"), pc.utf8_slice_codeunits(s, 2), s)
    padded = pc.utf8_lpad(s, 6, "0")
    # exactly 6 bytes after padding: 1 to 6 ASCII characters
    ok = pc.and_(pc.equal(pc.binary_length(padded), 6), pc.greater(pc.utf8_length(s), 0))
    ok = pc.fill_null(ok, False)
    fixed = pc.if_else(ok, padded, "000000").cast(pa.binary())
    offsets = np.frombuffer(fixed.buffers()[1], dtype=np.int32)[fixed.offset : fixed.offset + n + 1]
    data = np.frombuffer(fixed.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[0] + 6 * n]
    digits = _HEX_LUT[data.reshape(n, 6)]
    good = ok.to_numpy(zero_copy_only=False) & (digits >= 0).all(axis=1)
    value = (digits << np.array([20, 16, 12, 8, 4, 0], dtype=np.int64)).sum(axis=1)
    return np.where(good, value, -1).astype(np.int64)


def format_icao24(addresses: Any) -> pa.Array:
    """Integers back to 6 lowercase hex characters; null where negative or too large.

    Examples
    --------
    >>> format_icao24([11404373, -1]).to_pylist()
    ['ae0455', None]
    """
    v = np.asarray(addresses, dtype=np.int64).ravel()
    n = v.size
    ok = (v >= 0) & (v <= MAX_ADDRESS)
    nibbles = (np.where(ok, v, 0)[:, None] >> np.array([20, 16, 12, 8, 4, 0])) & 0xF
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    offsets = np.arange(0, 6 * n + 1, 6, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(),
        n,
        [
            pa.array(ok).buffers()[1] if (~ok).any() else None,
            pa.py_buffer(offsets),
            pa.py_buffer(np.ascontiguousarray(chars, dtype=np.uint8).tobytes()),
        ],
        null_count=int((~ok).sum()),
    )


@lru_cache(maxsize=1)
def allocation_table() -> pa.Table:
    """The block table from ``data/icao_allocation.csv``, sorted by start.

    Columns: ``start`` and ``end`` (int64), ``start_hex``, ``end_hex``,
    ``state``, ``iso2``, ``iso3``, ``kind``, ``note``.
    """
    ref = resources.files("overflight.identify").joinpath("data/icao_allocation.csv")
    with ref.open("rb") as fh:
        raw = pacsv.read_csv(
            fh,
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in _CSV_COLUMNS},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    start = parse_icao24(raw["start_hex"])
    end = parse_icao24(raw["end_hex"])
    order = np.argsort(start, kind="stable")
    table = raw.append_column("start", pa.array(start)).append_column("end", pa.array(end))
    return table.take(pa.array(order))


_CSV_COLUMNS = ("start_hex", "end_hex", "state", "iso2", "iso3", "kind", "note")


def block_index(icao24: Any) -> Int64Array:
    """Row of :func:`allocation_table` holding each address; -1 when none does.

    Examples
    --------
    >>> tbl = allocation_table()
    >>> i = block_index(["4ca7b4"])[0]
    >>> tbl["state"][int(i)].as_py()
    'Ireland'
    """
    tbl = allocation_table()
    starts = tbl["start"].to_numpy()
    ends = tbl["end"].to_numpy()
    v = parse_icao24(icao24)
    i = np.searchsorted(starts, v, side="right") - 1
    hit = (v >= 0) & (i >= 0)
    hit &= v <= ends[np.clip(i, 0, None)]
    return np.where(hit, i, -1).astype(np.int64)


def registry_lookup(icao24: Any) -> pa.Table:
    """State of registry for each address, as a table aligned with the input.

    Columns ``state``, ``iso2``, ``iso3`` and ``kind``; all null where the
    address is invalid or falls outside every allocated block.

    Examples
    --------
    >>> registry_lookup(["ae0455", "407918", "f00001", "zzz"]).to_pydict()["iso3"]
    ['USA', 'GBR', None, None]
    """
    idx = block_index(icao24)
    take = pa.array(idx, mask=idx < 0)
    tbl = allocation_table()
    return pa.table({c: tbl[c].take(take) for c in ("state", "iso2", "iso3", "kind")})


def registry_country(
    icao24: Any, code: Literal["iso3", "iso2", "state"] = "iso3"
) -> pa.ChunkedArray:
    """ISO 3166 code (``iso3`` default, ``iso2``) or ``state`` name per address.

    Examples
    --------
    >>> registry_country(["3b7777", "7c1a89"]).to_pylist()
    ['FRA', 'AUS']
    """
    return registry_lookup(icao24)[code]
