"""Where overflight keeps its on-disk caches.

One folder holds them all: ``$OVERFLIGHT_CACHE`` when set, else
``$XDG_CACHE_HOME/overflight``, else ``~/.cache/overflight``.  Each stage
keeps its files in a subfolder of its own (``airspace/``, ``model/``, ...).
Arrays are kept as ``.npz`` files (:func:`save_arrays`, :func:`load_arrays`),
written atomically and checked by their zip CRCs when read.  Entries that
have not been used for a while are removed by their stage with the rule of
:func:`stale`.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def load_arrays(folder: Path | None, name: str) -> dict[str, npt.NDArray[Any]] | None:
    """The arrays of ``folder/name.npz``, or None when absent or unreadable (with a warning).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> save_arrays(d / "sub", "x", {"a": np.arange(3)}, create=True)
    >>> load_arrays(d / "sub", "x")["a"].tolist(), load_arrays(d, "x")
    ([0, 1, 2], None)
    """
    path = None if folder is None else folder / f"{name}.npz"
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        warnings.warn(f"cache file {path} unreadable, recomputing: {exc}", stacklevel=3)
        return None


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
