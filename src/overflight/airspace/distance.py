"""Signed distance to the nearest national-airspace boundary, in metres.

The boundary of a country's national airspace is the boundary of the union
of its maritime and land polygons: an edge of one of its polygons counts
unless its midpoint lies inside another polygon of the same country (a
coastline inside the territorial-sea polygon, for example).  Inside points get
the distance to the boundary of their own countries (positive); outside points
the distance to the nearest national airspace of any country (negative).

Distances are great-circle distances on a sphere of mean radius from the
point to each edge taken as a great-circle arc (within 0.5 % of the ellipsoid;
the edges of the 10 m boundary data are short enough that arc and lon/lat
segment coincide to centimetres).  Distances saturate at ``max_distance_m``
(default 500 km): a value of +/-500,000 means "at least that far".

The nearest edge is found exactly through k-d trees of points sampled along
the edges (:mod:`overflight.airspace.nearest`), one per country border, one
of all borders together (an outside point's nearest national airspace is the
nearest edge of any border) and one per user zone, built on first use; most
points are answered from short per-cell lists of candidate edges
(:mod:`overflight.airspace.cells`) instead.  Which edges form each border
is worked out once (:mod:`overflight.airspace.borders`); it and the cell
lists are stored next to the boundary cache.  A point repeating the previous
point's position (and class) is not measured again: it gets the same value.
:mod:`overflight.airspace.distance_reference` keeps the slower original search
that the tests compare against.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from overflight.airspace.arcs import arc_distance_m, arc_frames, degree_radius, unit_vectors
from overflight.airspace.borders import load_borders
from overflight.airspace.boundaries import Boundaries
from overflight.airspace.cells import (
    CACHE_TAG,
    fast_distance,
)
from overflight.airspace.grid import FloatArray, IntArray, sorted_unique
from overflight.airspace.nearest import SAMPLES_FORMAT, ArcStore, SampleIndex

__all__ = [
    "DEFAULT_MAX_DISTANCE_M",
    "BorderIndex",
    "arc_distance_m",
    "arc_frames",
    "border_distance",
    "boundary_distance_m",
    "degree_radius",
    "unit_vectors",
]

DEFAULT_MAX_DISTANCE_M = 500_000.0


class BorderIndex:
    """The border edges of every country and their sample trees, built on first use."""

    def __init__(self, b: Boundaries) -> None:
        self.b = b
        folder = b.extras.get("cache_folder")
        self._folder = folder if isinstance(folder, Path) else None
        self.borders = load_borders(b, self._folder)
        self._union = sorted_unique(self.borders.eids)
        self.store = _store(b, self._union)  # read lazily: stored samples need few arcs
        self._trees: dict[str, SampleIndex] = {}

    def country(self, code: str) -> SampleIndex | None:
        """The index of ``code``'s border edges (None for an unknown code)."""
        if code not in self.borders.codes:
            return None
        if code not in self._trees:
            self._trees[code] = self._index(self._rows(code), code)
        return self._trees[code]

    def every_country(self) -> SampleIndex:
        """The index of every country's border edges together: the nearest national
        airspace of a point outside all of them is the nearest of these edges."""
        key = "*"
        if key not in self._trees:
            self._trees[key] = self._index(np.arange(self._union.size), "_all")
        return self._trees[key]

    def _index(self, rows: IntArray, name: str) -> SampleIndex:
        """The index of ``rows`` of the store, its files named after ``name``."""
        if self._folder is None:
            return SampleIndex(self.store, rows)
        cells = self._folder / f"{CACHE_TAG}-{name}.npz"
        samples = self._folder / f"{SAMPLES_FORMAT}-{name}.npz"
        return SampleIndex(self.store, rows, cache_file=cells, samples_file=samples)

    def _rows(self, code: str) -> IntArray:
        return np.searchsorted(self._union, self.borders.of(code))

    def zone(self, name: str) -> SampleIndex:
        """The index of the edges of the user zones called ``name``."""
        key = "zone:" + name
        if key not in self._trees:
            b = self.b
            items = [i for i, n in enumerate(b.item_names) if n == name and b.item_kind[i] == 2]
            eids = np.flatnonzero(np.isin(b.index.edges.item, items))
            rows = np.arange(eids.size)
            self._trees[key] = SampleIndex(_store(b, eids), rows)
        return self._trees[key]


def _store(b: Boundaries, eids: IntArray) -> ArcStore:
    """Edges ``eids`` of ``b``'s index, their coordinates read when first needed
    (successive ones chain where one starts where the other ends)."""
    e = b.index.edges
    return ArcStore(e.ax, e.ay, e.bx, e.by, eids=eids)


def border_index(b: Boundaries) -> BorderIndex:
    """The :class:`BorderIndex` of ``b`` (built once, kept in ``b.extras``)."""
    cached: Any = b.extras.get("border_index")
    if isinstance(cached, BorderIndex):
        return cached
    made = BorderIndex(b)
    b.extras["border_index"] = made
    return made


def _measure(index: SampleIndex | None, lon: FloatArray, lat: FloatArray, cap: float) -> FloatArray:
    """Capped distance to ``index``'s arcs; NaN for a missing coordinate."""
    finite = np.isfinite(lon) & np.isfinite(lat)
    if index is None:
        return np.where(finite, cap, np.nan)
    if finite.all():
        return np.asarray(fast_distance(index, lon, lat, cap), np.float64)
    out = np.full(lon.size, np.nan)
    ok = np.flatnonzero(finite)
    if ok.size:
        out[ok] = fast_distance(index, lon[ok], lat[ok], cap)
    return out


def _outside(idx: BorderIndex, x: FloatArray, y: FloatArray, cap: float) -> FloatArray:
    """Capped distance to the nearest national airspace: for a point outside every
    country, the distance to the nearest border edge of any country."""
    return _measure(idx.every_country(), x, y, cap)


def border_distance(
    b: Boundaries, kind: str, name: str, lon: FloatArray, lat: FloatArray, max_distance_m: float
) -> FloatArray:
    """Unsigned distance (m) to the border of country ``name`` (kind ``airspace_entry``)
    or to the boundary of zone ``name`` (kind ``zone_entry``), capped."""
    idx = border_index(b)
    edges = idx.country(name) if kind == "airspace_entry" else idx.zone(name)
    x = np.asarray(lon, np.float64).ravel()
    y = np.asarray(lat, np.float64).ravel()
    return _measure(edges, x, y, max_distance_m)


def boundary_distance_m(
    b: Boundaries,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    group: npt.ArrayLike,
    group_countries: Sequence[Sequence[str]],
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
) -> FloatArray:
    """Signed distance (m) to the national-airspace boundary; positive inside.

    Point ``i`` is in the airspace of ``group_countries[group[i]]`` (empty when
    outside every country; ``group[i] < 0`` to skip the point): inside points
    are measured to the border of those countries, outside points to the
    nearest national airspace.  NaN for skipped points and missing
    coordinates; values saturate at ``+/-max_distance_m``.

    Examples
    --------
    >>> import shapely
    >>> from overflight.airspace.boundaries import Boundaries, Layer
    >>> sq = Layer("maritime", "-", np.array([shapely.box(0, 0, 1, 1)]), (("AAA",),), ("",))
    >>> b = Boundaries([sq])
    >>> d = boundary_distance_m(b, [0.5, 2.0], [0.5, 0.5], [0, 1], [("AAA",), ()])
    >>> [round(float(v) / 1000, 1) for v in d]
    [55.6, -111.2]
    """
    x = np.asarray(lon, dtype=np.float64).ravel()
    y = np.asarray(lat, dtype=np.float64).ravel()
    g = np.asarray(group, dtype=np.int64).ravel()
    out = np.full(x.size, np.nan)
    g = np.where(np.isfinite(x) & np.isfinite(y), g, -1)
    # a point repeating the previous one (position and class) is measured once
    rep = np.zeros(x.size, bool)
    rep[1:] = (x[1:] == x[:-1]) & (y[1:] == y[:-1]) & (g[1:] == g[:-1])
    g = np.where(rep, -1, g)
    if not (g >= 0).any():
        return out
    idx = border_index(b)
    # group the points by their set of countries (several classes share one):
    # one stable sort by group keeps each group's points in ascending order
    present = np.flatnonzero(np.bincount(g[g >= 0]))
    codes_of = {k: tuple(sorted(group_countries[k])) for k in present.tolist()}
    groups = sorted(set(codes_of.values()))
    rank = {codes: i for i, codes in enumerate(groups)}
    lut = np.full(present[-1] + 2, len(groups), np.int64)  # the last slot: skipped points
    lut[present] = [rank[codes_of[k]] for k in present.tolist()]
    of = lut[g]  # g = -1 takes the last slot
    order = np.argsort(of.astype(np.int16 if len(groups) < 1 << 15 else np.int64), kind="stable")
    bounds = np.searchsorted(of[order], np.arange(len(groups) + 1))
    for i, codes in enumerate(groups):
        sel = order[bounds[i] : bounds[i + 1]]
        if not codes:
            out[sel] = -_outside(idx, x[sel], y[sel], max_distance_m)
            continue
        d = np.full(sel.size, max_distance_m)
        for code in codes:
            d = np.minimum(d, _measure(idx.country(code), x[sel], y[sel], max_distance_m))
        out[sel] = d
    if rep.any():
        out = out[np.maximum.accumulate(np.where(rep, 0, np.arange(x.size)))]
    return out
