"""On-disk cache of loaded boundaries: repaired polygons and the grid index.

Reading, repairing and indexing the default boundaries takes about a minute;
the cache makes later loads take about a second.  It lives in
``$OVERFLIGHT_CACHE`` (else ``$XDG_CACHE_HOME/overflight``, else
``~/.cache/overflight``) under ``airspace/<key>/``, where the key hashes the
source paths, sizes and modification times, the options and
:data:`CACHE_VERSION`.  Polygons are stored as WKB in Parquet, index arrays as
``.npy`` files that are memory-mapped on load.  A cache that cannot be written
or read is skipped with a warning, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

CACHE_VERSION = 4
CacheDir = str | os.PathLike[str] | bool | None


def cache_root(cache_dir: CacheDir = None) -> Path | None:
    """The cache folder, or None when caching is off (``cache_dir=False``)."""
    if cache_dir is False:
        return None
    if cache_dir is not None and cache_dir is not True:
        return Path(cache_dir)
    env = os.environ.get("OVERFLIGHT_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "overflight"


def cache_key(sources: list[tuple[str, Path]], options: dict[str, Any]) -> str:
    """Hex key of the sources (path, size, mtime) and options.

    Examples
    --------
    >>> len(cache_key([], {}))
    24
    """
    desc: list[Any] = [CACHE_VERSION, options]
    for kind, path in sources:
        st = path.stat()
        desc.append([kind, str(path.resolve()), st.st_size, st.st_mtime_ns])
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:24]


def save(
    folder: Path,
    table: pa.Table,
    meta: dict[str, Any],
    arrays: dict[str, npt.NDArray[np.generic]],
) -> None:
    """Write atomically: a temporary sibling folder renamed into place."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
        pq.write_table(table, tmp / "layers.parquet", compression="zstd")
        (tmp / "meta.json").write_text(json.dumps(meta))
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr))
        try:
            tmp.rename(folder)
        except OSError:  # another process won the race: keep its copy
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        warnings.warn(f"boundary cache not written to {folder}: {exc}", stacklevel=3)


def load(
    folder: Path, names: tuple[str, ...]
) -> tuple[pa.Table, dict[str, Any], dict[str, npt.NDArray[np.generic]]] | None:
    """The cached table, metadata and arrays, or None when absent or unreadable."""
    if not (folder / "meta.json").is_file():
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text())
        table = pq.read_table(folder / "layers.parquet")
        arrays = {n: np.load(folder / f"{n}.npy", mmap_mode="r") for n in names}
    except (OSError, ValueError, pa.ArrowException) as exc:
        warnings.warn(f"boundary cache at {folder} unreadable, rebuilding: {exc}", stacklevel=3)
        return None
    return table, meta, arrays


def save_arrays(folder: Path | None, name: str, arrays: dict[str, npt.NDArray[Any]]) -> None:
    """Add ``name.npz`` to an existing cache folder, atomically (skipped when absent)."""
    if folder is None or not folder.is_dir():
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)
        os.replace(tmp, folder / f"{name}.npz")
    except OSError as exc:
        warnings.warn(f"cache file {name} not written to {folder}: {exc}", stacklevel=3)


def load_arrays(folder: Path | None, name: str) -> dict[str, npt.NDArray[Any]] | None:
    """The arrays of ``name.npz`` in a cache folder, or None when absent or unreadable."""
    path = None if folder is None else folder / f"{name}.npz"
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        warnings.warn(f"cache file {path} unreadable, recomputing: {exc}", stacklevel=3)
        return None
