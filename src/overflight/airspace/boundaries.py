"""National airspace boundaries: loading, validation, repair, caching and classes.

National airspace is the land territory plus the territorial sea (12 NM from
the baseline); everything beyond is international airspace.  A
:class:`Boundaries` holds up to three layers:

``maritime``
    each country's land and territorial sea (default: npm
    ``@geo-maps/countries-maritime-10m``, OpenStreetMap, about 10 m error);
``land``
    the same clipped at the coastline (default: ``@geo-maps/countries-coastline-10m``);
``zones``
    optional user areas (an ADIZ, a restricted area), reported by name.

A point's countries are the claimants of every maritime or land polygon that
contains it (overlapping claims such as Crimea give several); its zone is
``land`` inside a land polygon, ``territorial_sea`` inside a maritime polygon
only, ``international`` otherwise.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import shapely

from overflight.airspace import cache
from overflight.airspace.grid import Int32Array
from overflight.airspace.index import ARRAY_NAMES, GridIndex
from overflight.airspace.repair import BoundaryWarning, repair_layer
from overflight.airspace.sources import find_default, read_layer
from overflight.cachedir import CacheDir, cache_root

GeomArray = npt.NDArray[np.object_]
KINDS = ("maritime", "land", "zones")
ZONE_NAMES = ("international", "territorial_sea", "land")
PathLike = str | os.PathLike[str]
#: What a damaged cached boundary table raises while it is decoded.
_DAMAGED = (ValueError, pa.ArrowException, shapely.errors.ShapelyError)


@dataclass(frozen=True)
class Layer:
    """One boundary file after repair: valid polygons in [-180, 180] longitude."""

    kind: str
    source: str
    geoms: GeomArray
    codes: tuple[tuple[str, ...], ...]
    names: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClassInfo:
    """What each class (a set of containing polygons) means, by class id."""

    country: list[str | None]
    countries: list[list[str]]
    land_countries: list[list[str]]
    zone: npt.NDArray[np.int8]
    zones: list[list[str]]


def read_boundary_layer(path: PathLike, kind: str, iso_field: str | None = None) -> Layer:
    """Read, validate and repair one boundary file (no cache)."""
    raw = read_layer(path, kind, iso_field)
    if raw.notes:
        warnings.warn(BoundaryWarning(f"{raw.path}: " + "; ".join(raw.notes)), stacklevel=3)
    geoms, notes = repair_layer(raw)
    names = tuple(
        n or (f"{raw.path.stem} {i}" if kind == "zones" else "") for i, n in enumerate(raw.names)
    )
    return Layer(kind, str(raw.path), geoms, tuple(raw.codes), names, tuple(raw.notes + notes))


class Boundaries:
    """Boundary layers with the grid index that classifies points against them.

    Items are the features of all layers in order; class ids index the item
    sets met so far (:attr:`index` ``.classes``), a table that grows when a
    query meets a new combination.  Not thread-safe.
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        index_arrays: dict[str, npt.NDArray[np.generic]] | None = None,
        class_sets: list[tuple[int, ...]] | None = None,
    ) -> None:
        self.layers = tuple(layers)
        self.item_geoms: GeomArray = np.concatenate([la.geoms for la in self.layers])
        self.item_kind = np.concatenate(
            [np.full(la.geoms.size, KINDS.index(la.kind), np.int8) for la in self.layers]
        )
        self.item_codes: list[tuple[str, ...]] = [c for la in self.layers for c in la.codes]
        self.item_names: list[str] = [n for la in self.layers for n in la.names]
        self._tree: shapely.STRtree | None = None
        self._info: ClassInfo | None = None
        #: caches of later stages (border edge sets, ...), keyed by name
        self.extras: dict[str, Any] = {}
        if index_arrays is None:
            self.index = GridIndex.build(self.item_geoms, self.exact_sets)
        else:
            self.index = GridIndex.from_arrays(index_arrays, class_sets or [], self.exact_sets)

    def __repr__(self) -> str:
        kinds = ", ".join(
            f"{la.kind}={Path(la.source).name} ({la.geoms.size})" for la in self.layers
        )
        return f"Boundaries({kinds})"

    @property
    def country_codes(self) -> list[str]:
        """Every ISO3 code of the national layers, sorted."""
        national = self.item_kind < 2
        return sorted({c for i in np.flatnonzero(national) for c in self.item_codes[i]})

    def exact_sets(self, x: npt.ArrayLike, y: npt.ArrayLike) -> list[tuple[int, ...]]:
        """Items containing each point, by shapely's exact ``contains_xy``."""
        xs = np.asarray(x, dtype=np.float64)
        ys = np.asarray(y, dtype=np.float64)
        if self._tree is None:
            shapely.prepare(self.item_geoms)
            self._tree = shapely.STRtree(self.item_geoms)
        pi, gi = self._tree.query(shapely.points(xs, ys))
        hit = shapely.contains_xy(self.item_geoms[gi], xs[pi], ys[pi])
        out: list[list[int]] = [[] for _ in range(xs.size)]
        for p, g in zip(pi[hit].tolist(), gi[hit].tolist(), strict=True):
            out[p].append(g)
        return [tuple(sorted(o)) for o in out]

    def classify(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> Int32Array:
        """Class id per point, -1 for a missing coordinate (see :meth:`info`)."""
        return self.index.classify(lon, lat)

    def info(self) -> ClassInfo:
        """Meaning of every class id known so far."""
        sets = self.index.classes.sets
        if self._info is not None and len(self._info.country) == len(sets):
            return self._info
        country: list[str | None] = []
        countries: list[list[str]] = []
        land: list[list[str]] = []
        zone = np.zeros(len(sets), np.int8)
        zones: list[list[str]] = []
        for k, items in enumerate(sets):
            by_kind: list[set[str]] = [set(), set(), set()]
            for i in items:
                kd = int(self.item_kind[i])
                by_kind[kd].update(self.item_codes[i] if kd < 2 else [self.item_names[i]])
            codes = sorted(by_kind[0] | by_kind[1])
            countries.append(codes)
            land.append(sorted(by_kind[1]))
            country.append("/".join(codes) if codes else None)
            zone[k] = 2 if by_kind[1] else (1 if codes else 0)
            zones.append(sorted(by_kind[2]))
        self._info = ClassInfo(country, countries, land, zone, zones)
        return self._info

    def country_geometry(
        self, code: str, kinds: Sequence[str] = ("maritime", "land")
    ) -> shapely.Geometry:
        """Union of the polygons of ``code`` in the given layers (empty when none)."""
        wanted = [KINDS.index(k) for k in kinds]
        sel = [
            i
            for i in range(self.item_geoms.size)
            if int(self.item_kind[i]) in wanted and code in self.item_codes[i]
        ]
        return shapely.union_all(self.item_geoms[sel]) if sel else shapely.Polygon()

    def to_table(self) -> pa.Table:
        """One row per feature: layer, kind, source, feature, codes, name, WKB."""
        rows: dict[str, list[Any]] = {
            k: [] for k in ("layer", "kind", "source", "feature", "codes", "name")
        }
        for li, la in enumerate(self.layers):
            n = la.geoms.size
            rows["layer"] += [li] * n
            rows["kind"] += [la.kind] * n
            rows["source"] += [la.source] * n
            rows["feature"] += list(range(n))
            rows["codes"] += [list(c) for c in la.codes]
            rows["name"] += list(la.names)
        return pa.table({**rows, "wkb": pa.array(shapely.to_wkb(self.item_geoms), pa.binary())})


def _layers_from_table(table: pa.Table, notes: list[list[str]]) -> list[Layer]:
    geoms = shapely.from_wkb(table.column("wkb").to_numpy(zero_copy_only=False))
    layer = table.column("layer").to_numpy()
    out = []
    for li in range(int(layer.max()) + 1 if layer.size else 0):
        sel = np.flatnonzero(layer == li)
        sub = table.take(sel)
        out.append(
            Layer(
                sub.column("kind")[0].as_py(),
                sub.column("source")[0].as_py(),
                geoms[sel],
                tuple(tuple(c) for c in sub.column("codes").to_pylist()),
                tuple(sub.column("name").to_pylist()),
                tuple(notes[li]) if li < len(notes) else (),
            )
        )
    return out


def _sources(
    maritime: PathLike | None,
    land: PathLike | Literal[False] | None,
    zones: PathLike | Sequence[PathLike] | None,
) -> list[tuple[str, Path]]:
    """(kind, file) of each boundary layer to load, defaults filled in."""
    sources: list[tuple[str, Path]] = [
        ("maritime", Path(maritime) if maritime is not None else find_default("maritime"))
    ]
    if land is not False:
        sources.append(("land", Path(land) if land is not None else find_default("land")))
    if zones is not None:
        zone_files = [zones] if isinstance(zones, str | os.PathLike) else list(zones)
        sources.extend(("zones", Path(z)) for z in zone_files)
    return sources


def _cache_folder(
    sources: list[tuple[str, Path]], iso_field: str | None, cache_dir: CacheDir
) -> Path | None:
    """The cache folder of these sources; None without a cache or with a missing file."""
    root = cache_root(cache_dir)
    if root is None or not all(p.is_file() for _, p in sources):
        return None
    return root / "airspace" / cache.cache_key(sources, {"iso_field": iso_field})


def boundaries_cached(
    maritime: PathLike | None = None,
    land: PathLike | Literal[False] | None = None,
    zones: PathLike | Sequence[PathLike] | None = None,
    *,
    iso_field: str | None = None,
    cache_dir: CacheDir = None,
) -> bool:
    """Whether :func:`load_boundaries` with these arguments would find its cache
    (checked from file sizes and times alone, without reading anything)."""
    folder = _cache_folder(_sources(maritime, land, zones), iso_field, cache_dir)
    return folder is not None and (folder / "meta.json").is_file()


def load_boundaries(
    maritime: PathLike | None = None,
    land: PathLike | Literal[False] | None = None,
    zones: PathLike | Sequence[PathLike] | None = None,
    *,
    iso_field: str | None = None,
    cache_dir: CacheDir = None,
) -> Boundaries:
    """Load national airspace boundaries, from the cache when possible.

    Parameters
    ----------
    maritime
        Countries with their territorial sea (``--boundaries FILE``); default
        the npm ``@geo-maps/countries-maritime-10m``.  Any GeoJSON, Shapefile
        or GeoPackage with an ISO3 code property, e.g. Marine Regions' World 12 NM.
    land
        Countries clipped at the coastline (``--land FILE``); default the npm
        ``@geo-maps/countries-coastline-10m``; ``False`` for none (then every
        national point is ``territorial_sea``).
    zones
        Extra named areas (``--zones FILE``, one file or several): an ADIZ, a
        restricted area.  Features are named by a ``name`` property.
    iso_field
        Property with the ISO3 code when it is not a usual name.
    cache_dir
        Cache folder; None for the default (see :mod:`overflight.airspace.cache`),
        False to disable.

    Raises
    ------
    overflight.errors.BoundaryError
        Missing default data (with the fix), or a bad file (naming file and feature).
    """
    sources = _sources(maritime, land, zones)
    folder = _cache_folder(sources, iso_field, cache_dir)
    if folder is not None:
        hit = cache.load(folder, ARRAY_NAMES)
        if hit is not None:
            table, meta, arrays = hit
            try:
                layers = _layers_from_table(table, meta.get("notes", []))
                sets = [tuple(s) for s in meta["classes"]]
                cached = Boundaries(layers, arrays, sets)
            except (*_DAMAGED, KeyError, TypeError, IndexError) as exc:
                cache.discard(folder, exc)
            else:
                cached.extras["cache_folder"] = folder
                return cached
    layers = [read_boundary_layer(p, kind, iso_field) for kind, p in sources]
    b = Boundaries(layers)
    if folder is not None:
        meta = {
            "sources": [[k, str(p)] for k, p in sources],
            "notes": [list(la.notes) for la in layers],
            "classes": [list(s) for s in b.index.classes.sets],
        }
        cache.save(folder, b.to_table(), meta, b.index.arrays())
        cache.prune(folder.parent)
        b.extras["cache_folder"] = folder
    return b
