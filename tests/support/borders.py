"""A country's border sample index built afresh, without the on-disk cell cache."""

from __future__ import annotations

import numpy as np

from overflight.airspace import Boundaries
from overflight.airspace.distance import border_index
from overflight.airspace.nearest import SampleIndex


def fresh_border_index(boundaries: Boundaries, iso3: str) -> SampleIndex:
    """The border samples of ``iso3`` as a new index with no cache file: its cell
    lists start empty and are built in this process."""
    idx = border_index(boundaries)
    rows = np.searchsorted(idx._union, idx.borders.of(iso3))
    eids = idx._union[rows]
    e = boundaries.index.edges
    chained = np.zeros(rows.size, bool)
    chained[:-1] = (e.ax[eids[1:]] == e.bx[eids[:-1]]) & (e.ay[eids[1:]] == e.by[eids[:-1]])
    return SampleIndex(idx.store, rows, chained)
