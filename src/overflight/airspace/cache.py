"""On-disk cache of loaded boundaries: repaired polygons and the grid index.

Reading, repairing and indexing the default boundaries takes about a minute;
the cache makes later loads take a fraction of a second.  It lives in the
cache folder (:func:`overflight.cachedir.cache_root`) under
``airspace/<key>/``, where the key hashes the source paths, sizes and
modification times, the options and :data:`CACHE_VERSION`.  Polygons are
stored as WKB in an uncompressed Arrow IPC file (``layers.arrow``,
memory-mapped on load and checked against the CRC-32 in ``layers.crc32``;
version 4's zstd Parquet took most of a second to decompress in every
process), index arrays as ``.npy``
files that are memory-mapped on load.  Later stages add ``.npz`` files
(:func:`save_arrays`), among them the samples and k-d trees of the
boundary-distance indices (:func:`save_samples`).  A cache that cannot be
written is skipped with a warning, never an error; one that cannot be read
is removed with a warning and rebuilt.

Each load touches the folder's ``meta.json``; whenever a new folder is
written, :func:`prune` removes the folders of boundary sets not used for
:data:`CACHE_GRACE_S` beyond the :data:`CACHE_KEEP` most recently used (an
upgrade that changes :data:`CACHE_VERSION`, a reinstalled boundary package
or another checkout each make a new folder of several hundred megabytes).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy.spatial import cKDTree

from overflight.cachedir import load_arrays as load_arrays
from overflight.cachedir import save_arrays as save_arrays
from overflight.cachedir import stale

CACHE_VERSION = 5
#: Boundary-set folders kept whatever their age (the one just used among them).
CACHE_KEEP = 3
#: A folder used this recently is never removed (a running process may be using it).
CACHE_GRACE_S = 86_400.0
LAYERS = "layers.arrow"
_UNREADABLE = (OSError, ValueError, EOFError, zipfile.BadZipFile, pa.ArrowException)


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
        _write_ipc(table, tmp / LAYERS)
        (tmp / "meta.json").write_text(json.dumps(meta))
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr))
        try:
            tmp.rename(folder)
        except OSError:  # another process won the race: keep its copy
            shutil.rmtree(tmp, ignore_errors=True)
            if not (folder / "meta.json").is_file():  # no: a folder that could not be removed
                warnings.warn(f"boundary cache at {folder} could not be replaced", stacklevel=3)
    except OSError as exc:
        warnings.warn(f"boundary cache not written to {folder}: {exc}", stacklevel=3)


def load(
    folder: Path, names: tuple[str, ...]
) -> tuple[pa.Table, dict[str, Any], dict[str, npt.NDArray[np.generic]]] | None:
    """The cached table, metadata and arrays, or None when absent or unreadable
    (then the folder is removed with a warning, to be written afresh)."""
    if not (folder / "meta.json").is_file():
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text())
        table = _read_layers(folder)
        arrays = {n: np.load(folder / f"{n}.npy", mmap_mode="r") for n in names}
    except _UNREADABLE as exc:
        # a missing or malformed file is damage; another OSError (permissions,
        # too many open files) may pass, so that folder is kept
        damaged = isinstance(exc, FileNotFoundError) or not isinstance(exc, OSError)
        discard(folder, exc, remove=damaged)
        return None
    with contextlib.suppress(OSError):
        os.utime(folder / "meta.json")  # in use: pruning keeps recently used folders
    return table, meta, arrays


def prune(
    parent: Path, keep: int = CACHE_KEEP, grace_s: float = CACHE_GRACE_S, now_s: float | None = None
) -> list[Path]:
    """Remove the cache folders in ``parent`` that :func:`~overflight.cachedir.stale`
    names (last use: their ``meta.json``), and leftovers of interrupted writes
    older than ``grace_s``.  Returns the folders removed.

    A folder is renamed away before it is deleted, so a process loading it
    meanwhile finds it whole or missing (then it rebuilds); files it has
    already memory-mapped stay readable.

    Examples
    --------
    >>> import tempfile
    >>> prune(Path(tempfile.mkdtemp()))
    []
    """
    caches: list[tuple[float, Path]] = []
    leftovers: list[tuple[float, Path]] = []
    try:
        children = list(parent.iterdir())
    except OSError:
        return []
    for d in children:
        try:
            if d.name.startswith((".tmp-", ".damaged-")):
                leftovers.append((d.stat().st_mtime, d))
            elif d.is_dir():
                meta = d / "meta.json"
                caches.append(((meta if meta.is_file() else d).stat().st_mtime, d))
        except OSError:  # removed by someone else meanwhile
            continue
    old = [*stale(caches, keep, grace_s, now_s), *stale(leftovers, 0, grace_s, now_s)]
    return [d for d in old if _remove(d)]


def _remove(folder: Path) -> bool:
    """Rename ``folder`` away, then delete it (a loader sees it whole or missing);
    False when it could not be renamed."""
    try:
        gone = Path(tempfile.mkdtemp(prefix=".damaged-", dir=folder.parent))
        folder.rename(gone / folder.name)
    except OSError:
        return False
    shutil.rmtree(gone, ignore_errors=True)
    return True


def discard(folder: Path, why: object, remove: bool = True) -> None:
    """Warn that the cache folder is unreadable and (with ``remove``) remove it,
    so that it is written afresh (skipped when it cannot be: the next write then
    fails and says so)."""
    warnings.warn(f"boundary cache at {folder} unreadable, rebuilding: {why}", stacklevel=3)
    if remove:
        _remove(folder)


def _write_ipc(table: pa.Table, path: Path) -> None:
    """``table`` as an uncompressed Arrow IPC file, and the file's CRC-32 beside it
    (``path`` with suffix ``.crc32``, written first)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    data = sink.getvalue()
    path.with_suffix(".crc32").write_text(f"{zlib.crc32(data):08x}")
    with open(path, "wb") as fh:
        fh.write(data)


def _read_layers(folder: Path) -> pa.Table:
    """The layers table, memory-mapped, after checking its CRC-32."""
    path = folder / LAYERS
    mapped = pa.memory_map(str(path))
    crc = f"{zlib.crc32(mapped.read_buffer()):08x}"
    if crc != path.with_suffix(".crc32").read_text().strip():
        raise ValueError(f"{path}: CRC-32 {crc} differs from the one written with it")
    mapped.seek(0)
    table = pa.ipc.open_file(mapped).read_all()
    table.validate(full=True)
    return table


def tree_arrays(tree: cKDTree) -> dict[str, npt.NDArray[Any]]:
    """The arrays that restore ``tree`` without building it (:func:`tree_from_arrays`;
    its data, the points, are not among them): empty when this scipy's tree
    state is not the one expected.

    Examples
    --------
    >>> pts = np.random.default_rng(0).random((100, 3))
    >>> again = tree_from_arrays(tree_arrays(cKDTree(pts)), pts)
    >>> [int(i) for i in again.query(pts[:3], k=1)[1]]
    [0, 1, 2]
    """
    state = tree.__getstate__()
    if not (
        isinstance(state, tuple)
        and len(state) == 10
        and state[8] is None
        and state[9] is None
        and np.shape(state[1]) == (tree.n, tree.m)
    ):
        return {}
    nodes, _data, n, m, leafsize, maxes, mins, indices = state[:8]
    return {
        "tree_nodes": np.asarray(nodes).view(np.uint8),
        "tree_shape": np.array([n, m, leafsize], np.int64),
        "tree_maxes": np.asarray(maxes, np.float64),
        "tree_mins": np.asarray(mins, np.float64),
        "tree_indices": np.asarray(indices, np.intp),
    }


def tree_from_arrays(
    arrays: dict[str, npt.NDArray[Any]], data: npt.NDArray[np.float64]
) -> cKDTree | None:
    """The k-d tree of points ``data`` saved by :func:`tree_arrays`, or None when
    the arrays are missing or do not fit ``data``.

    The arrays must come from a file this scipy version wrote (keep its version
    in the file's key): the node buffer is scipy's own memory layout, and the
    CRC of the ``.npz`` member guards it against damage.
    """
    try:
        nodes, shape = arrays["tree_nodes"], arrays["tree_shape"]
        maxes, mins, indices = arrays["tree_maxes"], arrays["tree_mins"], arrays["tree_indices"]
    except KeyError:
        return None
    n, m = data.shape
    if not (
        nodes.dtype == np.uint8
        and nodes.ndim == 1
        and nodes.size > 0
        and shape.tolist()[:2] == [n, m]
        and maxes.shape == mins.shape == (m,)
        and indices.shape == (n,)
        and indices.dtype == np.intp
        and data.dtype == np.float64
        and data.flags.c_contiguous
    ):
        return None
    tree = cKDTree.__new__(cKDTree)
    state = (
        np.ascontiguousarray(nodes).view("S1"),
        data,
        n,
        m,
        int(shape[2]),
        np.ascontiguousarray(maxes),
        np.ascontiguousarray(mins),
        np.ascontiguousarray(indices),
        None,
        None,
    )
    try:
        tree.__setstate__(state)
    except (TypeError, ValueError):
        return None
    return tree


def save_samples(
    path: Path | None,
    key: str,
    xyz: npt.NDArray[np.float64],
    touch: npt.NDArray[np.int64],
    sample_h: npt.NDArray[np.float64],
    tree: cKDTree,
) -> None:
    """Store the samples of a :class:`~overflight.airspace.nearest.SampleIndex`
    (points, arcs touching them, half sub-arcs) and their k-d tree as ``path``
    (skipped when None), under ``key``."""
    if path is None:
        return
    arrays = {
        "key": np.array(key),
        "xyz": xyz,
        "touch": touch.astype(np.int32),
        "sample_h": sample_h,
    }
    save_arrays(path.parent, path.stem, arrays | tree_arrays(tree))


def load_samples(
    path: Path | None,
    key: str,
    n_arcs: int,
    build: Callable[[npt.NDArray[np.float64]], cKDTree],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.float64], cKDTree] | None:
    """What :func:`save_samples` stored as ``path`` when it was stored under
    ``key`` for arcs numbered below ``n_arcs``; else None (a damaged file with a
    warning).  A tree that cannot be restored is made again with ``build``."""
    # mapped: the largest files of the cache (the samples of every border,
    # 250 MB), read in place and shared by a machine's worker processes
    got = None if path is None else load_arrays(path.parent, path.stem, mapped=True)
    if got is None:
        return None
    try:
        xyz, touch, h = got["xyz"], got["touch"].astype(np.int64), got["sample_h"]
        n = xyz.shape[0]
        sound = (
            str(got["key"]) == key
            and xyz.shape == (n, 3)
            and xyz.dtype == h.dtype == np.float64
            and touch.shape == (n, 2)
            and h.shape == (n,)
            and n > 0
            and bool(np.all((touch >= -1) & (touch < n_arcs)))
        )
    except (KeyError, ValueError, IndexError):
        sound = False
    if not sound:
        if str(got.get("key", "")) == key:
            warnings.warn(f"stored samples {path} inconsistent, recomputing", stacklevel=3)
        return None
    tree = tree_from_arrays(got, xyz)
    return xyz, touch, h, build(xyz) if tree is None else tree
