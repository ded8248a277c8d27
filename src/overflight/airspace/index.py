"""Exact point-in-polygon classification on a two-level lon/lat grid.

:class:`GridIndex` answers "which items contain this point" for millions of
points with the same answers as shapely's ``contains_xy``: interior cells are
settled by one array lookup, cells crossed by a boundary by an exact crossing
test against the few edges of that cell (see :mod:`overflight.airspace.grid`
for the method and its error bounds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.airspace.grid import (
    NCOL0,
    NCOL1,
    NROW0,
    NROW1,
    RES0,
    RES1,
    ROW_STRIDE,
    SUB,
    BoolArray,
    ClassTable,
    Edges,
    ExactSets,
    FloatArray,
    Int32Array,
    IntArray,
    KeyArray,
    Scanline,
    crossing_keys,
    edge_cells,
    item_keys,
    orient,
    ring_edges,
    sorted_unique,
)

_POINT_CHUNK = 1 << 18
#: Offsets (in cell widths) tried when a cell centre lies on an edge.
_REF_OFFSETS = ((0.0, 0.0), (0.2137, 0.1379), (-0.3113, 0.2417), (0.2903, -0.3271))

ARRAY_NAMES = (
    "labels0",
    "labels1",
    "cell_start",
    "cell_edges",
    "ref_x",
    "ref_y",
    "ref_key",
    "edge_ax",
    "edge_ay",
    "edge_bx",
    "edge_by",
    "edge_item",
    "item_key",
)


def _csr_pairs(start: IntArray, count: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """For rows with ``count`` entries from ``start``: (row, entry position, row offsets)."""
    first = np.cumsum(count) - count
    row = np.repeat(np.arange(count.size, dtype=np.int64), count)
    pos = np.repeat(start - first, count) + np.arange(row.size, dtype=np.int64)
    return row, pos, first


@dataclass
class GridIndex:
    """Arrays of the two-level grid; see the module docstring.

    ``labels0`` has one int32 per level-0 cell: a class id (>= 0) or
    ``-(block + 1)``; ``labels1`` has ``SUB * SUB`` int32 per block: a class id
    or ``-(k + 1)`` for boundary cell ``k``, whose edges are
    ``cell_edges[cell_start[k]:cell_start[k + 1]]`` and whose reference point
    ``(ref_x[k], ref_y[k])`` has item-set key ``ref_key[k]``.
    """

    labels0: Int32Array
    labels1: Int32Array
    cell_start: IntArray
    cell_edges: Int32Array
    ref_x: FloatArray
    ref_y: FloatArray
    ref_key: KeyArray
    edges: Edges
    classes: ClassTable
    exact_sets: ExactSets

    @classmethod
    def build(cls, geoms: npt.NDArray[np.object_], exact_sets: ExactSets) -> GridIndex:
        """Index valid (Multi)Polygons with longitudes in [-180, 180].

        ``exact_sets(x, y)`` must return, per point, the sorted indices of the
        geometries that contain it (shapely); it settles the rare ambiguous
        cells here and ambiguous points at query time.
        """
        edges = ring_edges(geoms)
        keys = item_keys(len(geoms))
        table = ClassTable(keys)
        cell_ids, cell_edges = edge_cells(edges, RES1, NCOL1, NROW1)
        first = np.flatnonzero(np.diff(cell_ids, prepend=np.int64(-1)))
        bcells = cell_ids[first]
        cell_start = np.append(first, cell_ids.size).astype(np.int64)
        blocks = sorted_unique((bcells // NCOL1 // SUB) * NCOL0 + (bcells % NCOL1) // SUB)

        # level 0: every cell that is not a block gets the key of its centre
        is_block = np.zeros(NROW0 * NCOL0, bool)
        is_block[blocks] = True
        scan0 = Scanline.build(edges, keys, RES0, NROW0)
        # a row no edge crosses lies outside every polygon: only the others are scanned
        crossed = np.zeros(NROW0, bool)
        crossed[(scan0.sort_key // ROW_STRIDE).astype(np.int64)] = True
        is_block |= ~np.repeat(crossed, NCOL0)
        inner0 = np.flatnonzero(~is_block)
        x0 = np.asarray(-180.0 + (inner0 % NCOL0 + 0.5) * RES0, dtype=np.float64)
        y0 = -90.0 + (inner0 // NCOL0 + 0.5) * RES0
        key0, amb0 = scan0.status(inner0 // NCOL0, x0)
        del scan0

        # level 1: every cell of every block
        sub = np.arange(SUB, dtype=np.int64)
        rows1 = ((blocks // NCOL0)[:, None, None] * SUB + sub[None, :, None]).repeat(SUB, 2)
        cols1 = ((blocks % NCOL0)[:, None, None] * SUB + sub[None, None, :]).repeat(SUB, 1)
        rows1, cols1 = rows1.ravel(), cols1.ravel()
        ids1 = rows1 * NCOL1 + cols1
        x1 = np.asarray(-180.0 + (cols1 + 0.5) * RES1, dtype=np.float64)
        y1 = -90.0 + (rows1 + 0.5) * RES1
        scan1 = Scanline.build(edges, keys, RES1, NROW1)
        key1, amb1 = scan1.status(rows1, x1)
        del scan1
        k1 = np.minimum(np.searchsorted(bcells, ids1), bcells.size - 1)
        is_b = bcells[k1] == ids1

        # reference points of boundary cells: the centre unless it is on an edge
        bk = k1[is_b]
        ref_x, ref_y = np.empty(bcells.size), np.empty(bcells.size)
        ref_x[bk], ref_y[bk] = x1[is_b], y1[is_b]
        ref_key = np.zeros(bcells.size, np.uint64)
        ref_key[bk] = key1[is_b]
        need = np.zeros(bcells.size, bool)
        need[bk] = amb1[is_b]
        cx0 = -180.0 + (bcells % NCOL1 + 0.5) * RES1
        cy0 = -90.0 + (bcells // NCOL1 + 0.5) * RES1
        moved = np.ones(bcells.size, bool)
        for dx, dy in _REF_OFFSETS:
            idx = np.flatnonzero(moved)
            if idx.size == 0:
                break
            ref_x[idx] = cx0[idx] + dx * RES1
            ref_y[idx] = cy0[idx] + dy * RES1
            on_edge = _on_edge(edges, cell_start, cell_edges, idx, ref_x[idx], ref_y[idx])
            if dx or dy:
                need[idx] = True
            moved[:] = False
            moved[idx[on_edge]] = True
        if moved.any():
            raise RuntimeError(f"no reference point off the edges in {int(moved.sum())} cells")
        nidx = np.flatnonzero(need)
        for i, items in zip(nidx, exact_sets(ref_x[nidx], ref_y[nidx]), strict=True):
            ref_key[i] = np.uint64(table.key_of(items))

        # decode every key met into an item set, once, at a representative point
        amb_x = np.concatenate([x0[amb0], x1[~is_b & amb1]])
        amb_y = np.concatenate([y0[amb0], y1[~is_b & amb1]])
        amb_keys = np.array([table.key_of(s) for s in exact_sets(amb_x, amb_y)], np.uint64)
        key0[amb0] = amb_keys[: int(amb0.sum())]
        key1[~is_b & amb1] = amb_keys[int(amb0.sum()) :]
        all_keys = np.concatenate([key0, key1[~is_b], ref_key])
        all_x = np.concatenate([x0, x1[~is_b], ref_x])
        all_y = np.concatenate([y0, y1[~is_b], ref_y])
        order = np.argsort(all_keys, kind="stable")
        rep = order[np.flatnonzero(np.diff(all_keys[order], prepend=all_keys[order[:1]] + 1))]
        uniq = all_keys[rep]
        for key, items in zip(uniq, exact_sets(all_x[rep], all_y[rep]), strict=True):
            if table.key_of(items) != int(key):
                raise RuntimeError("scanline item set disagrees with shapely; index not built")
            table.add(items)

        labels0 = np.full(NROW0 * NCOL0, table.add(()), np.int32)
        labels0[inner0] = table.ids(key0)
        labels0[blocks] = -(np.arange(blocks.size, dtype=np.int32) + 1)
        labels1 = np.where(is_b, -(k1 + 1), table.ids(key1)).astype(np.int32)
        return cls(
            labels0,
            labels1,
            cell_start,
            cell_edges,
            ref_x,
            ref_y,
            ref_key,
            edges,
            table,
            exact_sets,
        )

    def classify(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> Int32Array:
        """Class id per point (-1 where a coordinate is missing or out of range).

        Examples
        --------
        >>> import shapely
        >>> geoms = np.array([shapely.box(-10, -10, 10, 10)])
        >>> def exact(x, y):
        ...     return [(0,) if shapely.contains_xy(geoms[0], a, b) else () for a, b in zip(x, y)]
        >>> idx = GridIndex.build(geoms, exact)
        >>> [idx.classes.sets[c] for c in idx.classify([0.0, 10.0, 170.0], [0.0, 5.0, 0.0])]
        [(0,), (), ()]
        """
        x = np.asarray(lon, dtype=np.float64).ravel()
        y = np.asarray(lat, dtype=np.float64).ravel()
        if x.size == 0:
            return np.zeros(0, np.int32)
        lo, hi, ylo, yhi = x.min(), x.max(), y.min(), y.max()  # NaN propagates
        bad: BoolArray | None = None
        if not (np.isfinite(lo + hi + ylo + yhi) and ylo >= -90.0 and yhi <= 90.0):
            bad = ~(np.isfinite(x) & np.isfinite(y) & (np.abs(y) <= 90.0))
            x, y = np.where(bad, 0.0, x), np.where(bad, 0.0, y)
            lo, hi = x.min(), x.max()
        if lo < -180.0 or hi >= 180.0:  # wrap only the points out of range
            out = (x < -180.0) | (x >= 180.0)
            x = np.where(out, (x + 180.0) % 360.0 - 180.0, x)
        # in-place arithmetic: this is the hot path for millions of points
        u0 = x + 180.0
        u0 *= 1.0 / RES0
        i0 = u0.astype(np.int32)
        np.minimum(i0, NCOL0 - 1, out=i0)
        v0 = y + 90.0
        v0 *= 1.0 / RES0
        j0 = v0.astype(np.int32)
        np.minimum(j0, NROW0 - 1, out=j0)
        cell0 = j0 * NCOL0
        cell0 += i0
        lab = self.labels0.take(cell0)
        sel = np.flatnonzero(lab < 0)
        if sel.size:
            block = (-1 - lab[sel]).astype(np.int64)
            il = np.clip(np.floor(u0[sel] * SUB).astype(np.int64) - i0[sel] * SUB, 0, SUB - 1)
            jl = np.clip(np.floor(v0[sel] * SUB).astype(np.int64) - j0[sel] * SUB, 0, SUB - 1)
            lab1 = self.labels1[block * (SUB * SUB) + jl * SUB + il]
            lab[sel] = lab1
            hard = lab1 < 0
            if hard.any():
                pts = sel[hard]
                lab[pts] = self._exact(x[pts], y[pts], (-1 - lab1[hard]).astype(np.int64))
        if bad is not None:
            lab[bad] = -1
        return lab

    def _exact(self, x: FloatArray, y: FloatArray, cell: IntArray) -> Int32Array:
        out = np.empty(x.size, np.int32)
        for lo in range(0, x.size, _POINT_CHUNK):
            s = slice(lo, lo + _POINT_CHUNK)
            out[s] = self._exact_chunk(x[s], y[s], cell[s])
        return out

    def _exact_chunk(self, px: FloatArray, py: FloatArray, cell: IntArray) -> Int32Array:
        if px.size == 0:
            return np.zeros(0, np.int32)
        key, unsure = crossing_keys(
            px,
            py,
            cell,
            self.cell_start,
            self.cell_edges,
            self.edges,
            self.classes.item_key,
            self.ref_x,
            self.ref_y,
            self.ref_key,
        )
        ids = self.classes.ids(key)
        redo = unsure | (ids < 0)
        if redo.any():
            idx = np.flatnonzero(redo)
            sets = self.exact_sets(px[idx], py[idx])
            ids[idx] = [self.classes.add(s) for s in sets]
        return ids

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The arrays to persist, by name (see :data:`ARRAY_NAMES`)."""
        e = self.edges
        values = (
            self.labels0,
            self.labels1,
            self.cell_start,
            self.cell_edges,
            self.ref_x,
            self.ref_y,
            self.ref_key,
            e.ax,
            e.ay,
            e.bx,
            e.by,
            e.item,
            self.classes.item_key,
        )
        return dict(zip(ARRAY_NAMES, values, strict=True))

    @classmethod
    def from_arrays(
        cls,
        arrays: dict[str, npt.NDArray[np.generic]],
        sets: list[tuple[int, ...]],
        exact_sets: ExactSets,
    ) -> GridIndex:
        """Rebuild from :meth:`arrays` and the class item sets (e.g. after a cache load)."""
        a = arrays
        table = ClassTable(np.asarray(a["item_key"], np.uint64))
        for s in sets:
            table.add(s)
        edges = Edges(a["edge_ax"], a["edge_ay"], a["edge_bx"], a["edge_by"], a["edge_item"])  # type: ignore[arg-type]
        return cls(
            a["labels0"],  # type: ignore[arg-type]
            a["labels1"],  # type: ignore[arg-type]
            a["cell_start"],  # type: ignore[arg-type]
            a["cell_edges"],  # type: ignore[arg-type]
            a["ref_x"],  # type: ignore[arg-type]
            a["ref_y"],  # type: ignore[arg-type]
            a["ref_key"],  # type: ignore[arg-type]
            edges,
            table,
            exact_sets,
        )


def _on_edge(
    edges: Edges,
    cell_start: IntArray,
    cell_edges: Int32Array,
    cells: IntArray,
    x: FloatArray,
    y: FloatArray,
) -> BoolArray:
    """Whether each point may lie on one of the edges of its cell."""
    if cells.size == 0:
        return np.zeros(0, bool)
    start = cell_start[cells]
    pt, pos, first = _csr_pairs(start, cell_start[cells + 1] - start)
    e = cell_edges[pos]
    ax, ay, bx, by = edges.ax[e], edges.ay[e], edges.bx[e], edges.by[e]
    px, py = x[pt], y[pt]
    _, unsure = orient(ax, ay, bx, by, px, py)
    near = (
        unsure
        & (px >= np.minimum(ax, bx))
        & (px <= np.maximum(ax, bx))
        & (py >= np.minimum(ay, by))
        & (py <= np.maximum(ay, by))
    )
    return np.asarray(np.logical_or.reduceat(near, first), dtype=bool)
