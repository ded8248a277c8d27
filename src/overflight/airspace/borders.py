"""Which polygon edges form each country's border, worked out once and cached.

A country's border is the boundary of the union of its maritime and land
polygons: an edge of one of its polygons counts unless its midpoint lies
inside another polygon of the same country (a coastline inside the
territorial-sea polygon, for example).  Finding them takes a few seconds on
the default boundaries, so the result is stored next to the boundary cache as
``border-edges-*.npz``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from overflight.airspace import cache
from overflight.airspace.boundaries import Boundaries
from overflight.airspace.grid import IntArray

CACHE_NAME = "border-edges-v2"


@dataclass(frozen=True)
class Borders:
    """Border edge ids per country: ``eids[start[k]:start[k + 1]]`` for ``codes[k]``."""

    codes: list[str]
    start: IntArray
    eids: IntArray

    def of(self, code: str) -> IntArray:
        """Edge ids of ``code``'s border, ascending (empty for an unknown code)."""
        if code not in self.codes:
            return np.zeros(0, np.int64)
        k = self.codes.index(code)
        return self.eids[self.start[k] : self.start[k + 1]]


def border_edge_ids(b: Boundaries) -> tuple[list[str], IntArray, IntArray]:
    """Every country's border edges: (codes, CSR offsets, edge ids), codes as
    :attr:`Boundaries.country_codes`, each country's edge ids ascending."""
    e = b.index.edges
    codes = b.country_codes
    national = np.flatnonzero(b.item_kind < 2)
    by_item = bool(np.all(e.item[1:] >= e.item[:-1]))
    bounds = np.searchsorted(e.item, np.arange(b.item_kind.size + 1)) if by_item else None
    mx = 0.5 * (np.asarray(e.ax) + np.asarray(e.bx))
    my = 0.5 * (np.asarray(e.ay) + np.asarray(e.by))
    items_of: dict[str, list[int]] = {c: [] for c in codes}
    for i in national.tolist():
        for c in b.item_codes[i]:
            items_of[c].append(i)
    parts: list[IntArray] = []
    for code in codes:
        items = items_of[code]
        if bounds is not None:
            eids = np.concatenate([np.arange(bounds[i], bounds[i + 1]) for i in items])
        else:
            eids = np.flatnonzero(np.isin(e.item, items))
        keep = np.ones(eids.size, bool)
        own = e.item[eids]
        for j in items:
            other = np.flatnonzero(own != j)
            if other.size:
                shapely.prepare(b.item_geoms[j])
                inside = shapely.contains_xy(b.item_geoms[j], mx[eids[other]], my[eids[other]])
                keep[other[inside]] = False
        parts.append(eids[keep].astype(np.int64))
    start = np.zeros(len(codes) + 1, np.int64)
    start[1:] = np.cumsum([p.size for p in parts])
    flat = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return codes, start, flat


def load_borders(b: Boundaries, folder: Path | None) -> Borders:
    """The :class:`Borders` of ``b``, from ``folder`` (the boundary cache) when there."""
    hit = cache.load_arrays(folder, CACHE_NAME)
    if hit is not None and hit.get("codes", np.zeros(0)).tolist() == b.country_codes:
        try:
            return Borders(
                b.country_codes,
                hit["start"].astype(np.int64),
                hit["eids"].astype(np.int64),
            )
        except KeyError:
            pass
    codes, start, eids = border_edge_ids(b)
    arrays = {
        "codes": np.array(codes, dtype=np.str_),
        "start": start,
        "eids": eids.astype(np.int32),
    }
    cache.save_arrays(folder, CACHE_NAME, arrays)
    return Borders(codes, start, eids)
