"""Where overflight keeps its on-disk caches.

One folder holds them all: ``$OVERFLIGHT_CACHE`` when set, else
``$XDG_CACHE_HOME/overflight``, else ``~/.cache/overflight``.  Each stage
keeps its files in a subfolder of its own (``airspace/``, ``model/``, ...).
"""

from __future__ import annotations

import os
from pathlib import Path

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
