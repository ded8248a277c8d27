"""The compiled path-crossing loop of the grid classifier equals its numpy original.

:func:`~overflight.airspace.grid.crossing_keys` settles points of level-1
cells that edges touch; the reference below is the numpy code it replaced
(one (point, edge) pair per row, :func:`~overflight.airspace.grid.orient`, XOR
and OR reductions per point).  Keys and "uncertain" flags must be identical
for real boundaries, including points exactly on edges and vertices (where
the flags send the point to shapely); the classification itself is compared
with shapely in ``test_airspace_index.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from overflight.airspace import Boundaries
from overflight.airspace.grid import crossing_keys as compiled
from overflight.airspace.grid import orient


def _crossing_keys_numpy(
    px: Any,
    py: Any,
    cell: Any,
    cell_start: Any,
    cell_edges: Any,
    edges: Any,
    item_key: Any,
    ref_x: Any,
    ref_y: Any,
    ref_key: Any,
) -> tuple[np.ndarray, np.ndarray]:
    start = cell_start[cell]
    count = cell_start[cell + 1] - start
    first = np.cumsum(count) - count
    pt = np.repeat(np.arange(count.size), count)
    e = cell_edges[np.repeat(start - first, count) + np.arange(pt.size)]
    ax, ay, bx, by = edges.ax[e], edges.ay[e], edges.bx[e], edges.by[e]
    x, y = px[pt], py[pt]
    rx, ry = ref_x[cell][pt], ref_y[cell][pt]
    o_p, u_p = orient(ax, ay, bx, by, x, y)
    o_q, u_q = orient(ax, ay, bx, by, rx, y)
    o_r, u_r = orient(ax, ay, bx, by, rx, ry)
    s1 = (ay > y) != (by > y)
    s2 = (ax > rx) != (bx > rx)
    cross = (s1 & ((o_p > 0) != (o_q > 0))) ^ (s2 & ((o_q > 0) != (o_r > 0)))
    in_box = (
        (x >= np.minimum(ax, bx))
        & (x <= np.maximum(ax, bx))
        & (y >= np.minimum(ay, by))
        & (y <= np.maximum(ay, by))
    )
    unsure = (u_p & in_box) | ((s1 | s2) & (u_p | u_q | u_r))
    toggle = np.where(cross, item_key[edges.item[e]], np.uint64(0))
    key = ref_key[cell] ^ np.bitwise_xor.reduceat(toggle, first)
    return key, np.logical_or.reduceat(unsure, first)


def test_compiled_crossings_equal_numpy(boundaries: Boundaries, monkeypatch: Any) -> None:
    seen = {"points": 0, "unsure": 0}

    def checked(*args: Any) -> tuple[np.ndarray, np.ndarray]:
        key, unsure = compiled(*args)
        want_key, want_unsure = _crossing_keys_numpy(*args)
        np.testing.assert_array_equal(key, want_key)
        np.testing.assert_array_equal(unsure, want_unsure)
        seen["points"] += key.size
        seen["unsure"] += int(unsure.sum())
        return key, unsure

    monkeypatch.setattr("overflight.airspace.index.crossing_keys", checked)
    e = boundaries.index.edges
    rng = np.random.default_rng(8)
    pick = rng.integers(0, len(e.ax), 2000)
    t = rng.random(pick.size)
    # on vertices, on edges (rounded), near edges, and around the Alps and Brittany
    lon = np.concatenate(
        [
            e.ax[pick[:500]],
            e.ax[pick] + t * (e.bx[pick] - e.ax[pick]),
            e.ax[pick] + rng.normal(0, 1e-4, pick.size),
            rng.uniform(5.9, 10.5, 3000),
            rng.uniform(-5.2, -1.0, 3000),
        ]
    )
    lat = np.concatenate(
        [
            e.ay[pick[:500]],
            e.ay[pick] + t * (e.by[pick] - e.ay[pick]),
            e.ay[pick] + rng.normal(0, 1e-4, pick.size),
            rng.uniform(45.8, 47.8, 3000),
            rng.uniform(47.2, 49.0, 3000),
        ]
    )
    boundaries.classify(lon, lat)
    assert seen["points"] > 1000 and seen["unsure"] > 0
