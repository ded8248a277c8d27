"""Where overflight keeps its on-disk caches.

One folder holds them all: ``$OVERFLIGHT_CACHE`` when set, else
``$XDG_CACHE_HOME/overflight``, else ``~/.cache/overflight``.  Each stage
keeps its files in a subfolder of its own (``airspace/``, ``model/``, ...).
Arrays are kept as ``.npz`` files (:func:`save_arrays`, :func:`load_arrays`),
written atomically and checked by their zip CRCs when read; large ones can be
read in place from a memory map (``mapped=True``), so that processes on one
machine share their pages instead of each copying them.  Entries that
have not been used for a while are removed by their stage with the rule of
:func:`stale`.
"""

from __future__ import annotations

import io
import mmap
import os
import struct
import tempfile
import time
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import numpy.typing as npt

#: A cache folder argument: a path, True or None for the default, False for no cache.
CacheDir = str | os.PathLike[str] | bool | None


def cache_root(cache_dir: CacheDir = None) -> Path | None:
    """The cache folder, or None when caching is off (``cache_dir=False``).

    Examples
    --------
    >>> cache_root(False) is None
    True
    >>> cache_root("some/folder").name
    'folder'
    """
    if cache_dir is False:
        return None
    if cache_dir is not None and cache_dir is not True:
        return Path(cache_dir)
    env = os.environ.get("OVERFLIGHT_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "overflight"


def save_arrays(
    folder: Path | None, name: str, arrays: dict[str, npt.NDArray[Any]], create: bool = False
) -> None:
    """Write ``folder/name.npz`` atomically (a temporary file renamed into place).

    Skipped when ``folder`` is None or absent (unless ``create``); a failure
    warns and leaves nothing behind: a cache is never worth an error.
    """
    if folder is None or not (create or folder.is_dir()):
        return
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)
        os.replace(tmp, folder / f"{name}.npz")
    except OSError as exc:
        warnings.warn(f"cache file {name} not written to {folder}: {exc}", stacklevel=3)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def load_arrays(
    folder: Path | None, name: str, mapped: bool = False
) -> dict[str, npt.NDArray[Any]] | None:
    """The arrays of ``folder/name.npz``, or None when absent or unreadable (with a warning).

    With ``mapped``, the arrays are read-only views of a memory map of the
    file (see :func:`map_npz`); otherwise they are copies in memory.  Either
    way every member's CRC is checked first.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> save_arrays(d / "sub", "x", {"a": np.arange(3)}, create=True)
    >>> load_arrays(d / "sub", "x")["a"].tolist(), load_arrays(d, "x")
    ([0, 1, 2], None)
    >>> load_arrays(d / "sub", "x", mapped=True)["a"].tolist()
    [0, 1, 2]
    """
    path = None if folder is None else folder / f"{name}.npz"
    if path is None or not path.is_file():
        return None
    try:
        if mapped:
            return map_npz(path)
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        warnings.warn(f"cache file {path} unreadable, recomputing: {exc}", stacklevel=3)
        return None


_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra length


def map_npz(path: Path) -> dict[str, npt.NDArray[Any]]:
    """The arrays of an uncompressed ``.npz`` file (as :func:`numpy.savez` writes
    them) as read-only views of one memory map of it.

    Nothing is copied: pages are read when first touched and, being the
    kernel's page cache, shared by every process that maps the file.  Each
    member's CRC is checked (which reads the whole file once).  The map stays
    open as long as an array refers to it; the cache files are replaced, never
    rewritten in place, so a map never sees a file change under it.  Raises
    ``ValueError`` or :class:`zipfile.BadZipFile` for a damaged file, or one
    holding compressed or object arrays.
    """
    with open(path, "rb") as fh:
        if not os.fstat(fh.fileno()).st_size:
            raise zipfile.BadZipFile("empty file")
        buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    view = memoryview(buf)
    out: dict[str, npt.NDArray[Any]] = {}
    # the directory is read from the map too: one file, even if replaced meanwhile
    with zipfile.ZipFile(cast(IO[bytes], buf)) as zf:
        for info in zf.infolist():
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                raise ValueError(f"member {info.filename} is compressed or not an array")
            head = bytes(view[info.header_offset : info.header_offset + _LOCAL_HEADER.size])
            if len(head) != _LOCAL_HEADER.size or not head.startswith(b"PK\x03\x04"):
                raise zipfile.BadZipFile(f"bad local header of {info.filename}")
            _, name_len, extra_len = _LOCAL_HEADER.unpack(head)
            start = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
            body = view[start : start + info.file_size]
            if len(body) != info.file_size or zlib.crc32(body) != info.CRC:
                raise zipfile.BadZipFile(f"bad CRC for {info.filename}")
            out[info.filename[: -len(".npy")]] = _npy_view(buf, body, start)
    return out


def _npy_view(buf: Any, body: memoryview, start: int) -> npt.NDArray[Any]:
    """The array of one ``.npy`` member ``body`` found at offset ``start`` of ``buf``."""
    fh = io.BytesIO(body[: min(len(body), 1 << 16)])
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        raise ValueError(f".npy format {version} not read in place")
    if dtype.hasobject:
        raise ValueError("object arrays are not read in place")
    count = int(np.prod(shape, dtype=np.int64))
    if fh.tell() + count * dtype.itemsize > len(body):
        raise ValueError("array larger than its member")
    flat = np.frombuffer(buf, dtype=dtype, count=count, offset=start + fh.tell())
    return flat.reshape(shape, order="F" if fortran else "C")


def stale(
    entries: Sequence[tuple[float, Path]], keep: int, grace_s: float, now_s: float | None = None
) -> list[Path]:
    """Of ``entries`` (time of last use, path), those to remove: beyond the ``keep``
    most recently used, and last used more than ``grace_s`` ago.

    The grace period protects entries in use by a process that is still
    running, whatever their number.

    Examples
    --------
    >>> entries = [(100.0, Path("a")), (300.0, Path("b")), (200.0, Path("c"))]
    >>> [p.name for p in stale(entries, keep=1, grace_s=70.0, now_s=260.0)]
    ['a']
    """
    now = time.time() if now_s is None else now_s
    ranked = sorted(entries, key=lambda e: e[0], reverse=True)
    return [p for used, p in ranked[keep:] if now - used > grace_s]
