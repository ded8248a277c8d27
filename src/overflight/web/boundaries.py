"""Country boundaries for the live map, cut to the part of the world in view.

The ``territory`` layer is ``@geo-maps/countries-maritime-10m`` from the
project's ``node_modules`` (each country's land plus its 12 NM territorial
sea: the national airspace); the optional ``land`` layer is
``@geo-maps/countries-coastline-10m`` (the same cut at the coastline), drawn
over it so the territorial sea shows as a band.  Loading them takes seconds
(37 and 68 MB), so they load one after the other in a background thread when
the app starts, and responses say which are still pending and which failed.
A request's box is widened to a grid whose step grows with the box, so
panning hits a cache, and the polygons are simplified to a tolerance
proportional to that step.

The parsed layers are cached as Parquet, shared by every process and checkout
on the machine: a file is written to a unique temporary name and renamed into
place, read through one open handle (so a file replaced or removed meanwhile
reads whole or counts as a miss), touched when used, and only files unused for
:data:`CACHE_GRACE_S` beyond the :data:`CACHE_KEEP` most recently used of a
layer are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import tempfile
import threading
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from overflight.cachedir import stale

NPM_LAYERS = {
    "territory": Path("@geo-maps") / "countries-maritime-10m" / "map.geo.json",
    "land": Path("@geo-maps") / "countries-coastline-10m" / "map.geo.json",
}
Bbox = tuple[float, float, float, float]
CACHE_VERSION = 1
#: Cache files kept per layer whatever their age (the one just used among them).
CACHE_KEEP = 4
#: A cache file used (read or written) this recently is never removed.
CACHE_GRACE_S = 3600.0
_CACHE_ERRORS = (OSError, ValueError, KeyError, pa.ArrowException, shapely.errors.GEOSException)
_log = logging.getLogger(__name__)


def default_path(layer: str) -> Path:
    """The npm file of ``layer`` (``territory`` or ``land``) in Leaflet's ``node_modules``."""
    from overflight.report.assets import node_modules

    return node_modules() / NPM_LAYERS[layer]


def snap_bbox(bbox: Bbox) -> tuple[Bbox, float]:
    """``bbox`` widened to a grid of step ``2**k`` degrees (a quarter of its size or more).

    Returns the snapped box and the step.

    Examples
    --------
    >>> snap_bbox((28.3, 58.9, 36.2, 61.1))
    ((28.0, 58.0, 38.0, 62.0), 2.0)
    """
    west, south, east, north = bbox
    size = max(east - west, north - south, 1e-6)
    step = float(2.0 ** math.ceil(math.log2(size / 4.0)))
    step = min(max(step, 1.0 / 64.0), 90.0)
    snapped = (
        max(-180.0, math.floor(west / step) * step),
        max(-90.0, math.floor(south / step) * step),
        min(180.0, math.ceil(east / step) * step),
        min(90.0, math.ceil(north / step) * step),
    )
    return snapped, step


def _read_source(path: Path) -> tuple[Any, list[str]]:
    from pyogrio.raw import read

    meta, _fids, wkb, fields = read(path, force_2d=True)
    names = [str(n).upper() for n in meta["fields"]]
    pick = next((names.index(k) for k in ("A3", "ISO_A3", "ADM0_A3", "ISOA3") if k in names), None)
    geoms = shapely.from_wkb(wkb)
    codes = [str(c) if c else "" for c in fields[pick]] if pick is not None else []
    return geoms, codes + [""] * (len(geoms) - len(codes))


def cache_file(root: Path, name: str, path: Path) -> Path:
    """Where the parsed layer ``name`` read from ``path`` is cached under ``root``.

    The name hashes the file's resolved path, size and modification time, so
    an edited or reinstalled file, or another checkout's copy, gets its own.
    """
    st = path.stat()
    desc = json.dumps([CACHE_VERSION, str(path.resolve()), st.st_size, st.st_mtime_ns])
    key = hashlib.sha256(desc.encode()).hexdigest()[:20]
    return root / "web" / f"{name}-{key}.parquet"


def _read_cached(target: Path) -> tuple[Any, list[str]] | None:
    """The cached layer, or None when it is missing or unreadable.

    The file is opened once and read through that handle: a writer that
    replaces it or a pruner that removes it meanwhile cannot take it away
    from under the reader.
    """
    try:
        with open(target, "rb") as fh:
            t = pq.read_table(fh)
        geoms = shapely.from_wkb(t["wkb"].to_numpy(zero_copy_only=False))
        codes = [str(c) for c in t["iso3"].to_pylist()]
    except _CACHE_ERRORS:
        return None
    if len(codes) != len(geoms):
        return None
    with contextlib.suppress(OSError):
        os.utime(target)  # in use: pruning keeps recently used files
    return geoms, codes


def _write_cached(target: Path, geoms: Any, codes: list[str]) -> None:
    """Write to a unique temporary sibling, then rename it over ``target`` (atomic)."""
    table = pa.table({"iso3": codes, "wkb": shapely.to_wkb(geoms)})
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
        os.replace(tmp, target)
        tmp = None
    except (OSError, pa.ArrowException) as exc:
        _log.warning("boundary cache not written to %s: %s", target, exc)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def prune_cache(
    folder: Path,
    name: str,
    keep: int = CACHE_KEEP,
    grace_s: float = CACHE_GRACE_S,
    now_s: float | None = None,
) -> list[Path]:
    """Remove the cache files of layer ``name`` beyond the ``keep`` most recently used.

    A file used less than ``grace_s`` ago is kept whatever the count, and so
    are leftover temporary files younger than that (a writer may still be at
    work).  Removing a file never breaks a reader: readers hold it open (see
    :func:`read_layer`) or find it missing and parse the source again.
    Returns the files removed.

    Examples
    --------
    >>> import tempfile
    >>> prune_cache(Path(tempfile.mkdtemp()), "land")
    []
    """
    found: list[tuple[float, Path]] = []
    for p in [*folder.glob(f"{name}-*.parquet"), *folder.glob(f".{name}-*.tmp")]:
        try:
            found.append((p.stat().st_mtime, p))
        except OSError:  # removed by someone else meanwhile
            continue
    files = [f for f in found if f[1].suffix == ".parquet"]
    old = stale(files, keep, grace_s, now_s)
    old += stale([f for f in found if f[1].suffix == ".tmp"], 0, grace_s, now_s)
    removed = []
    for p in old:
        try:
            p.unlink()
            removed.append(p)
        except OSError:  # gone already, or open elsewhere on a system that refuses
            continue
    return removed


def read_layer(name: str, path: Path, cache_dir: Path | None = None) -> tuple[Any, list[str]]:
    """Polygons and ISO codes of a boundary file, through the on-disk cache.

    Parsing the npm GeoJSON takes seconds; the polygons are kept as WKB in
    Parquet under ``cache_dir`` (by default the overflight cache folder, see
    :func:`overflight.cachedir.cache_root`) in :func:`cache_file`, and
    load in a second or two afterwards.  Safe for any number of threads and
    processes sharing the folder; a cache that cannot be read or written is
    ignored (with a warning when writing fails).
    """
    from overflight.cachedir import cache_root

    root = cache_dir if cache_dir is not None else cache_root()
    target = cache_file(root, name, path) if root is not None else None
    if target is not None:
        hit = _read_cached(target)
        if hit is not None:
            return hit
    geoms, codes = _read_source(path)
    if target is not None:
        _write_cached(target, geoms, codes)
        prune_cache(target.parent, name)
    return geoms, codes


class _Layer:
    """One loaded boundary file: polygons, ISO codes and an STRtree."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.geoms, self.codes = read_layer(name, path)
        self.tree = shapely.STRtree(self.geoms)


class Boundaries:
    """Boundary layers loaded once, one after the other in a background thread, and cut per request.

    Parameters
    ----------
    layers
        ``{name: path}`` in drawing order; a None path means the npm file of
        that name (``territory``: land and 12 NM sea, ``land``: coastlines).

    Notes
    -----
    ``layers`` and ``errors`` change only under a lock, and every answer is
    built from one consistent view of both: a layer that finishes loading
    while a request is being answered is either in its features or in its
    ``pending`` list, never in neither.
    """

    def __init__(self, layers: Mapping[str, Path | None] | None = None) -> None:
        self._wanted = dict(layers) if layers is not None else {"territory": None}
        self._changed = threading.Condition()
        self._started = False
        self.errors: dict[str, str] = {}
        self.layers: dict[str, _Layer] = {}

    def start(self) -> None:
        """Begin loading in a daemon thread (once)."""
        with self._changed:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="overflight-boundaries", daemon=True).start()

    def _load(self) -> None:
        for name, wanted in self._wanted.items():
            path = wanted
            try:
                path = path or default_path(name)
                layer = _Layer(name, path)
            except Exception as exc:  # our locator, pyogrio/GDAL and GEOS raise unrelated types
                # the log names the whole path; clients (a read token is enough) its file name
                _log.error("boundaries %r not loaded from %s: %s", name, path, exc)
                where = f" ({path.name})" if path is not None else ""
                with self._changed:
                    self.errors[name] = f"boundaries {name!r} unavailable{where}: {exc}"
                    self._changed.notify_all()
                continue
            with self._changed:
                self.layers[name] = layer
                self._changed.notify_all()

    def snapshot(self) -> tuple[dict[str, _Layer], dict[str, str], list[str]]:
        """``(layers, errors, pending)`` as of one moment, consistent with each other."""
        with self._changed:
            layers, errors = dict(self.layers), dict(self.errors)
        pending = [n for n in self._wanted if n not in layers and n not in errors]
        return layers, errors, pending

    @property
    def pending(self) -> list[str]:
        """Layers still loading."""
        return self.snapshot()[2]

    def wait(self, timeout_s: float) -> str | None:
        """Wait for a layer to load; None when something can be drawn, else why not."""
        self.start()
        with self._changed:
            self._changed.wait_for(
                lambda: self.layers or all(n in self.errors for n in self._wanted), timeout_s
            )
        layers, errors, pending = self.snapshot()
        if layers:
            return None
        if pending:
            return "boundaries are still loading"
        return "; ".join(errors.values()) or "no boundary layers"

    def state(self) -> str:
        """``ready``, ``loading``, ``loading land``, or the errors (with what is still loading)."""
        self.start()
        layers, errors, pending = self.snapshot()
        if errors:
            still = [f"loading {', '.join(pending)}"] if pending else []
            return "; ".join([*errors.values(), *still])
        if pending:
            return f"loading {', '.join(pending)}" if layers else "loading"
        return "ready"

    def geojson(self, bbox: Bbox) -> dict[str, Any]:
        """Polygons inside ``bbox`` (snapped) as a FeatureCollection; ``{"iso3", "layer"}`` each.

        ``pending`` lists the layers that are not loaded yet (ask again later),
        ``errors`` the layers that failed to load, with why.
        """
        snapped, step = snap_bbox(bbox)
        layers, errors, pending = self.snapshot()
        features: list[dict[str, Any]] = []
        for layer in layers.values():
            features += _cut(layer, snapped, step)
        return {
            "type": "FeatureCollection",
            "bbox": list(snapped),
            "pending": pending,
            "errors": errors,
            "features": features,
        }


@lru_cache(maxsize=256)
def _cut(layer: _Layer, bbox: Bbox, step: float) -> list[dict[str, Any]]:
    tolerance = step / 400.0
    idx = layer.tree.query(shapely.box(*bbox))
    features = []
    for i in np.sort(idx):
        geom = shapely.clip_by_rect(layer.geoms[i], *bbox)
        if geom.is_empty:
            continue
        geom = shapely.simplify(geom, tolerance, preserve_topology=True)
        geom = shapely.transform(geom, lambda c: np.round(c, 4))
        if geom.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {"iso3": layer.codes[i] or None, "layer": layer.name},
                "geometry": json.loads(shapely.to_geojson(geom)),
            }
        )
    return features
