"""Transparent decompression of inputs: gzip, xz and bzip2, told by their magic bytes.

Every reader gets its bytes through :func:`read_all` (the whole file) and
format detection through :func:`read_head` (the first bytes), so a ``.gz``,
``.xz`` or ``.bz2`` copy of any text or binary input reads exactly like the
original. A damaged or cut stream raises :class:`FormatError` naming the file
and how far decompression got, never a zlib/lzma traceback. A leading UTF-8
byte order mark (Windows editors, Excel exports) is dropped by
:func:`strip_bom`.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from pathlib import Path
from typing import BinaryIO, cast

from overflight.errors import FormatError

#: Magic bytes of each supported compression, and how to open a stream of it.
MAGIC: dict[str, bytes] = {
    "gzip": b"\x1f\x8b",
    "xz": b"\xfd7zXZ\x00",
    "bzip2": b"BZh",
}
BOM = b"\xef\xbb\xbf"
_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)


def compression(head: bytes) -> str | None:
    """Name of the compression whose magic bytes start ``head``, else None.

    Examples
    --------
    >>> compression(b"\\x1f\\x8b\\x08"), compression(b"\\xfd7zXZ\\x00\\x00"), compression(b"MSG,3")
    ('gzip', 'xz', None)
    """
    for name, magic in MAGIC.items():
        if head.startswith(magic):
            if name == "bzip2" and (len(head) < 4 or not head[3:4].isdigit()):
                continue  # 'BZh' followed by the block size digit 1-9
            return name
    return None


def _open(path: Path, kind: str) -> BinaryIO:
    if kind == "gzip":
        return cast(BinaryIO, gzip.open(path, "rb"))
    if kind == "xz":
        return cast(BinaryIO, lzma.open(path, "rb"))
    return cast(BinaryIO, bz2.open(path, "rb"))


def _fail(path: Path, kind: str, exc: BaseException, done: int) -> FormatError:
    return FormatError(
        f"corrupt or truncated {kind} stream ({exc}); expected a complete {kind} file",
        path,
        f"byte {done} of the decompressed data",
    )


def read_head(path: Path, n: int) -> bytes:
    """The first ``n`` bytes of ``path``, decompressed when it is compressed."""
    with open(path, "rb") as fh:
        raw = fh.read(n)
    kind = compression(raw)
    if kind is None:
        return raw
    try:
        with _open(path, kind) as fh:
            return fh.read(n)
    except _ERRORS as exc:
        raise _fail(path, kind, exc, 0) from exc


def read_all(path: Path) -> bytes:
    """The whole of ``path``, decompressed when it is compressed.

    Raises
    ------
    FormatError
        When the compressed stream is damaged or cut short.
    """
    raw = Path(path).read_bytes()
    kind = compression(raw[:8])
    if kind is None:
        return raw
    chunks: list[bytes] = []
    done = 0
    try:
        with _open(Path(path), kind) as fh:
            while chunk := fh.read(1 << 22):
                chunks.append(chunk)
                done += len(chunk)
    except _ERRORS as exc:
        raise _fail(Path(path), kind, exc, done) from exc
    return b"".join(chunks)


def strip_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte order mark.

    Examples
    --------
    >>> strip_bom(b"\\xef\\xbb\\xbfMSG,3"), strip_bom(b"MSG,3")
    (b'MSG,3', b'MSG,3')
    """
    return data[len(BOM) :] if data.startswith(BOM) else data
