"""Country boundaries for the live map, cut to the part of the world in view.

The ``territory`` layer is ``@geo-maps/countries-maritime-10m`` from the
project's ``node_modules`` (each country's land plus its 12 NM territorial
sea: the national airspace); the optional ``land`` layer is
``@geo-maps/countries-coastline-10m`` (the same cut at the coastline), drawn
over it so the territorial sea shows as a band.  Loading them takes seconds
(37 and 68 MB), so they load one after the other in a background thread when
the app starts, and responses say which are still pending.  A request's box is widened to a grid
whose step grows with the box, so panning hits a cache, and the polygons are
simplified to a tolerance proportional to that step.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

NPM_LAYERS = {
    "territory": Path("@geo-maps") / "countries-maritime-10m" / "map.geo.json",
    "land": Path("@geo-maps") / "countries-coastline-10m" / "map.geo.json",
}
Bbox = tuple[float, float, float, float]
CACHE_VERSION = 1


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


def read_layer(name: str, path: Path) -> tuple[Any, list[str]]:
    """Polygons and ISO codes of a boundary file, through the on-disk cache.

    Parsing the npm GeoJSON takes seconds; the polygons are kept as WKB in
    Parquet under the overflight cache folder (see
    :func:`overflight.airspace.cache.cache_root`), keyed by the file's path,
    size and modification time, and load in a second or two afterwards.
    A cache that cannot be read or written is ignored.
    """
    from overflight.airspace.cache import cache_root

    root = cache_root()
    target = None
    if root is not None:
        st = path.stat()
        desc = json.dumps([CACHE_VERSION, str(path.resolve()), st.st_size, st.st_mtime_ns])
        key = hashlib.sha256(desc.encode()).hexdigest()[:20]
        target = root / "web" / f"{name}-{key}.parquet"
        if target.is_file():
            try:
                t = pq.read_table(target)
                return shapely.from_wkb(t["wkb"].to_numpy(zero_copy_only=False)), [
                    str(c) for c in t["iso3"].to_pylist()
                ]
            except (OSError, ValueError, pa.ArrowException, shapely.errors.GEOSException):
                pass
    geoms, codes = _read_source(path)
    if target is not None:
        table = pa.table({"iso3": codes, "wkb": shapely.to_wkb(geoms)})
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, target)
            for stale in target.parent.glob(f"{name}-*.parquet"):
                if stale != target:
                    stale.unlink(missing_ok=True)
        except OSError:
            pass
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
    """

    def __init__(self, layers: dict[str, Path | None] | None = None) -> None:
        self._wanted = dict(layers) if layers is not None else {"territory": None}
        self._first = threading.Event()
        self._started = False
        self._lock = threading.Lock()
        self.errors: dict[str, str] = {}
        self.layers: dict[str, _Layer] = {}

    def start(self) -> None:
        """Begin loading in a daemon thread (once)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="overflight-boundaries", daemon=True).start()

    def _load(self) -> None:
        for name, path in self._wanted.items():
            try:
                self.layers[name] = _Layer(name, path or default_path(name))
            except Exception as exc:  # our locator, pyogrio/GDAL and GEOS raise unrelated types
                self.errors[name] = f"boundaries {name!r} unavailable: {exc}"
            self._first.set()

    @property
    def pending(self) -> list[str]:
        """Layers still loading."""
        return [n for n in self._wanted if n not in self.layers and n not in self.errors]

    def wait(self, timeout_s: float) -> str | None:
        """Wait for the first layer; None when something can be drawn, else why not."""
        self.start()
        if not self._first.wait(timeout_s):
            return "boundaries are still loading"
        if not self.layers:
            return "; ".join(self.errors.values()) or "no boundary layers"
        return None

    def state(self) -> str:
        """``ready``, ``loading``, ``loading land`` or the errors."""
        problem = self.wait(0)
        if problem:
            return problem if self.errors or "loading" not in problem else "loading"
        pending = self.pending
        return f"loading {', '.join(pending)}" if pending else "ready"

    def geojson(self, bbox: Bbox) -> dict[str, Any]:
        """Polygons inside ``bbox`` (snapped) as a FeatureCollection; ``{"iso3", "layer"}`` each.

        ``pending`` lists the layers that are not loaded yet (ask again later).
        """
        snapped, step = snap_bbox(bbox)
        features: list[dict[str, Any]] = []
        for layer in list(self.layers.values()):
            features += _cut(layer, snapped, step)
        return {
            "type": "FeatureCollection",
            "bbox": list(snapped),
            "pending": self.pending,
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
