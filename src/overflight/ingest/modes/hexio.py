"""Hex text to frame matrices and fixed-width text to Arrow strings, without loops.

Frames are held as an ``(n, 14)`` uint8 matrix, one frame per row, left
aligned (a 56-bit frame uses the first 7 bytes), plus a boolean ``long``
vector. Hex digits are read with a 256-entry nibble table over a byte
buffer, so a whole file parses in a few numpy gathers.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]

FRAME_BYTES = 14
BAD = 0xFF

NIBBLE = np.full(256, BAD, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    NIBBLE[_c] = _i
    NIBBLE[ord(chr(_c).upper())] = _i
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def frames_from_hex(
    buf: U8, start: I64, nhex: I64
) -> tuple[U8, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Decode hex frames found at ``buf[start : start + nhex]``.

    Returns the frame matrix, whether each frame is long (28 hex digits) and
    whether it was valid (14 or 28 hex digits, nothing else).

    Examples
    --------
    >>> buf = np.frombuffer(b"*8D406B902015A678D4D220AA4BDA;\\n5d4840d6f87407", np.uint8)
    >>> f, long, ok = frames_from_hex(buf, np.array([1, 31]), np.array([28, 14]))
    >>> bytes(f[1, :7]).hex(), long.tolist(), ok.tolist()
    ('5d4840d6f87407', [True, False], [True, True])
    """
    n = start.size
    cols = np.arange(2 * FRAME_BYTES, dtype=np.int64)
    idx = np.minimum(start[:, None] + cols[None, :], max(buf.size - 1, 0))
    nib = NIBBLE[buf[idx]] if buf.size else np.full((n, 2 * FRAME_BYTES), BAD, np.uint8)
    inside = cols[None, :] < nhex[:, None]
    nib = np.where(inside, nib, 0)
    ok = ((nhex == 14) | (nhex == 28)) & ~np.any(nib == BAD, axis=1)
    frames = ((nib[:, 0::2] << 4) | nib[:, 1::2]).astype(np.uint8)
    frames[~ok] = 0
    return frames, nhex == 28, ok


def hex_counter(
    buf: U8, start: I64, ndigits: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]:
    """Unsigned integers from ``ndigits`` hex digits at each start (and validity)."""
    idx = np.minimum(start[:, None] + np.arange(ndigits)[None, :], max(buf.size - 1, 0))
    nib = NIBBLE[buf[idx]].astype(np.uint64)
    ok = ~np.any(nib == BAD, axis=1)
    value = np.zeros(start.size, dtype=np.uint64)
    for k in range(ndigits):
        value = (value << np.uint64(4)) | (nib[:, k] & np.uint64(0xF))
    return value, ok


def fixed_strings(chars: U8, valid: npt.NDArray[np.bool_] | None = None) -> pa.StringArray:
    """An Arrow string array from an ``(n, width)`` matrix of ASCII bytes."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    bitmap = None
    nulls = 0
    if valid is not None:
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        nulls = int(n - np.count_nonzero(valid))
    arr = pa.Array.from_buffers(
        pa.string(),
        n,
        [bitmap, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars).tobytes())],
        null_count=nulls,
    )
    assert isinstance(arr, pa.StringArray)
    return arr


def hex_strings(values: npt.NDArray[np.integer], width: int) -> pa.StringArray:
    """Lower-case hex of each value, zero-padded to ``width`` digits.

    Examples
    --------
    >>> hex_strings(np.array([0x406B90, 0x8]), 6).to_pylist()
    ['406b90', '000008']
    """
    v = np.asarray(values, dtype=np.uint64)
    shifts = np.arange(4 * (width - 1), -1, -4, dtype=np.uint64)
    digits = (v[:, None] >> shifts[None, :]) & np.uint64(0xF)
    return fixed_strings(_HEX_DIGITS[digits.astype(np.intp)])


def string_slices(arr: pa.Array) -> tuple[U8, I64, I64]:
    """The data buffer of an Arrow string array with each value's start and length."""
    if isinstance(arr, pa.ChunkedArray):
        arr = pa.concat_arrays(arr.chunks) if arr.num_chunks else pa.array([], pa.string())
    arr = arr.cast(pa.large_string())
    bufs = arr.buffers()
    n = len(arr)
    offsets = np.frombuffer(bufs[1], dtype=np.int64, count=n + 1 + arr.offset)[arr.offset :]
    data = (
        np.frombuffer(bufs[2], dtype=np.uint8)
        if bufs[2] is not None
        else np.zeros(0, dtype=np.uint8)
    )
    start = offsets[:-1].astype(np.int64)
    length = (offsets[1:] - offsets[:-1]).astype(np.int64)
    if arr.null_count:
        length = np.where(arr.is_null().to_numpy(zero_copy_only=False), 0, length)
    return data, start, length
