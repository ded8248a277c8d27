"""Building blocks of the two-level grid index (see :mod:`overflight.airspace.index`).

Exact point-in-polygon classification on a two-level lon/lat grid.

Every polygon (an *item*: one feature of a boundary layer) receives a random
64-bit key; the set of items that contain a point is represented by the XOR of
their keys (Zobrist hashing), so sets of overlapping claims cost one integer.

Level 0 is a global grid of :data:`RES0` degree cells.  A cell that no polygon
edge touches lies entirely inside the same item set, so its label is the class
of that set and points falling in it need no geometry test at all.  Every
level-0 cell that an edge touches is split into ``SUB x SUB`` level-1 cells of
:data:`RES1` degrees, labelled the same way.  A point in a level-1 cell that an
edge touches is settled exactly: the cell stores a reference point of known item
set and the edges that touch the cell; the parity of crossings between those
edges and an axis-parallel path from the point to the reference point (first
along the point's latitude, then along the reference longitude) tells, item by
item, whether the point is on the same side as the reference point
(:func:`crossing_keys`, a compiled loop over each point's cell edges: see
:mod:`overflight.jit`).

Orientation signs use Shewchuk's static error bound: when a sign cannot be
certified in double precision (a point on or within ~1e-16 relative of an edge),
the point is handed to shapely's exact ``contains_xy`` instead, so results
equal shapely's ``contains`` (points on a boundary are outside) for every input.

Cell statuses are computed once by a scanline: for each row of cell centres,
the crossings of the centre line by polygon edges are sorted by longitude, and
a prefix XOR of item keys gives the item set at any centre.  Cell membership of
edges is conservative (every edge is listed in every cell it touches, plus a
margin of :data:`EPS_CELL` cell widths), so a cell marked interior truly is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely

from overflight.jit import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
KeyArray = npt.NDArray[np.uint64]
BoolArray = npt.NDArray[np.bool_]

RES0 = 0.125
SUB = 8
RES1 = RES0 / SUB
NCOL0, NROW0 = 2880, 1440
NCOL1, NROW1 = NCOL0 * SUB, NROW0 * SUB
EPS_CELL = 1e-6
#: Shewchuk's ccwerrboundA, (3 + 16 eps) eps for IEEE double.
CCW_ERRBOUND = 3.3306690738754716e-16
#: Longitude gap (deg) under which a scanline crossing counts as ambiguous.
AMBIGUOUS_DEG = 1e-7
ROW_STRIDE = 512.0
_KEY_SEED = 0x0F1E2D3C
_CHUNK = 1 << 20

#: ``exact_sets(x, y) -> item tuples``: shapely's answer for points.
ExactSets = Callable[[FloatArray, FloatArray], list[tuple[int, ...]]]


@dataclass(frozen=True)
class Edges:
    """Polygon ring edges ``(ax, ay) -> (bx, by)`` with the item they belong to."""

    ax: FloatArray
    ay: FloatArray
    bx: FloatArray
    by: FloatArray
    item: Int32Array

    def __len__(self) -> int:
        return int(self.ax.size)


def sorted_unique(values: IntArray) -> IntArray:
    """Sorted distinct values (``np.unique`` is very slow on large int64 arrays in numpy 2.4).

    Examples
    --------
    >>> sorted_unique(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    s = np.sort(values, kind="stable")
    if s.size == 0:
        return s
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def ring_edges(geoms: npt.NDArray[np.object_]) -> Edges:
    """Every non-degenerate ring edge of ``geoms``, tagged by geometry index.

    Examples
    --------
    >>> e = ring_edges(np.array([shapely.box(0, 0, 1, 1)]))
    >>> len(e), int(e.item.max())
    (4, 0)
    """
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy, vert_of = shapely.get_coordinates(rings, return_index=True)
    same = vert_of[1:] == vert_of[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    item = part_of[ring_of[vert_of[:-1][same]]].astype(np.int32)
    keep = (a[:, 0] != b[:, 0]) | (a[:, 1] != b[:, 1])
    return Edges(
        np.ascontiguousarray(a[keep, 0]),
        np.ascontiguousarray(a[keep, 1]),
        np.ascontiguousarray(b[keep, 0]),
        np.ascontiguousarray(b[keep, 1]),
        item[keep],
    )


def item_keys(n_items: int) -> KeyArray:
    """Reproducible random 64-bit keys, one per item."""
    rng = np.random.default_rng(_KEY_SEED)
    return rng.integers(1, np.iinfo(np.uint64).max, size=n_items, dtype=np.uint64, endpoint=True)


def orient(
    ax: FloatArray, ay: FloatArray, bx: FloatArray, by: FloatArray, cx: FloatArray, cy: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """Orientation determinant of (a, b, c) and whether its sign is uncertain.

    Positive when ``c`` lies left of the directed line ``a -> b``.  The sign is
    exact unless the second array is True (Shewchuk's orient2d static filter).

    Examples
    --------
    >>> d, unsure = orient(*(np.array([v]) for v in (0.0, 0.0, 1.0, 0.0, 0.5, 1.0)))
    >>> bool(d[0] > 0), bool(unsure[0])
    (True, False)
    """
    left = (ax - cx) * (by - cy)
    right = (ay - cy) * (bx - cx)
    det = left - right
    return det, np.abs(det) <= CCW_ERRBOUND * (np.abs(left) + np.abs(right))


def edge_cells(edges: Edges, res: float, ncol: int, nrow: int) -> tuple[IntArray, Int32Array]:
    """Conservative (cell id, edge id) pairs: every cell an edge touches.

    Long edges are cut into pieces shorter than a cell; each piece lists every
    cell of its bounding box widened by :data:`EPS_CELL` cell widths.
    """
    cells_out: list[IntArray] = []
    edges_out: list[Int32Array] = []
    du = np.abs(edges.bx - edges.ax) / res
    dv = np.abs(edges.by - edges.ay) / res
    npiece = np.maximum(1, np.ceil(np.maximum(du, dv))).astype(np.int64)
    piece_edge = np.repeat(np.arange(len(edges), dtype=np.int64), npiece)
    first = np.cumsum(npiece) - npiece
    k = np.arange(piece_edge.size, dtype=np.int64) - np.repeat(first, npiece)
    for lo in range(0, piece_edge.size, _CHUNK):
        pe = piece_edge[lo : lo + _CHUNK]
        n = npiece[pe].astype(np.float64)
        t0 = k[lo : lo + _CHUNK] / n
        t1 = (k[lo : lo + _CHUNK] + 1) / n
        ax, ay, bx, by = edges.ax[pe], edges.ay[pe], edges.bx[pe], edges.by[pe]
        x0, x1 = ax + t0 * (bx - ax), ax + t1 * (bx - ax)
        y0, y1 = ay + t0 * (by - ay), ay + t1 * (by - ay)
        x1 = np.where(t1 == 1.0, bx, x1)
        y1 = np.where(t1 == 1.0, by, y1)
        u_lo = np.floor((np.minimum(x0, x1) + 180.0) / res - EPS_CELL).astype(np.int64)
        u_hi = np.floor((np.maximum(x0, x1) + 180.0) / res + EPS_CELL).astype(np.int64)
        v_lo = np.floor((np.minimum(y0, y1) + 90.0) / res - EPS_CELL).astype(np.int64)
        v_hi = np.floor((np.maximum(y0, y1) + 90.0) / res + EPS_CELL).astype(np.int64)
        for di in range(3):
            for dj in range(3):
                ok = (u_lo + di <= u_hi) & (v_lo + dj <= v_hi)
                ci = np.clip(u_lo[ok] + di, 0, ncol - 1)
                cj = np.clip(v_lo[ok] + dj, 0, nrow - 1)
                cells_out.append(cj * ncol + ci)
                edges_out.append(pe[ok].astype(np.int32))
    cells = np.concatenate(cells_out)
    eids = np.concatenate(edges_out)
    combined = sorted_unique(cells * np.int64(max(len(edges), 1)) + eids)
    return combined // max(len(edges), 1), (combined % max(len(edges), 1)).astype(np.int32)


@dataclass(frozen=True)
class Scanline:
    """Crossings of row centre lines by edges, sorted, with a prefix XOR of keys."""

    res: float
    sort_key: FloatArray
    prefix: KeyArray

    @classmethod
    def build(cls, edges: Edges, keys: KeyArray, res: float, nrow: int) -> Scanline:
        """Crossings of every row centre line ``-90 + (j + 0.5) res`` (half-open in y)."""
        ylo = np.minimum(edges.ay, edges.by)
        yhi = np.maximum(edges.ay, edges.by)
        # rounding of y + 90 is monotonic: the first row is exact, the last may be one short
        jlo = np.ceil((ylo + 90.0) / res - 0.5).astype(np.int64)
        jhi = np.ceil((yhi + 90.0) / res - 0.5).astype(np.int64)
        jlo = np.clip(jlo, 0, nrow)
        jhi = np.clip(jhi, 0, nrow - 1)
        n = np.maximum(jhi - jlo + 1, 0)
        eid = np.repeat(np.arange(len(edges), dtype=np.int64), n)
        row = np.repeat(jlo, n) + (np.arange(eid.size) - np.repeat(np.cumsum(n) - n, n))
        y = -90.0 + (row + 0.5) * res
        ok = (ylo[eid] <= y) & (y < yhi[eid])
        eid, row, y = eid[ok], row[ok], y[ok]
        ax, ay, bx, by = edges.ax[eid], edges.ay[eid], edges.bx[eid], edges.by[eid]
        x = ax + (y - ay) * ((bx - ax) / (by - ay))
        sort_key = row * ROW_STRIDE + (np.clip(x, -180.0, 180.0) + 180.0)
        order = np.argsort(sort_key, kind="stable")
        prefix = np.zeros(order.size + 1, dtype=np.uint64)
        np.bitwise_xor.accumulate(keys[edges.item[eid[order]]], out=prefix[1:])
        return cls(res, sort_key[order], prefix)

    def status(self, row: IntArray, x: FloatArray) -> tuple[KeyArray, BoolArray]:
        """Item-set key at ``(x, centre of row)`` and whether a crossing is too close."""
        q = row * ROW_STRIDE + (x + 180.0)
        start = np.searchsorted(self.sort_key, row * ROW_STRIDE)
        pos = np.searchsorted(self.sort_key, q)
        key = self.prefix[pos] ^ self.prefix[start]
        n = self.sort_key.size
        before = np.where(pos > 0, self.sort_key[np.maximum(pos - 1, 0)], -np.inf)
        after = np.where(pos < n, self.sort_key[np.minimum(pos, n - 1)], np.inf)
        ambiguous = (q - before <= AMBIGUOUS_DEG) | (after - q <= AMBIGUOUS_DEG)
        return key, ambiguous


@dataclass
class ClassTable:
    """The distinct item sets seen so far; a class id is a position in ``sets``.

    Mutable: :meth:`overflight.airspace.index.GridIndex.classify` appends the
    sets first met at query time.  Not thread-safe.
    """

    item_key: KeyArray
    sets: list[tuple[int, ...]] = field(default_factory=list)
    _sorted_keys: KeyArray = field(default_factory=lambda: np.zeros(0, np.uint64))
    _sorted_ids: Int32Array = field(default_factory=lambda: np.zeros(0, np.int32))

    def key_of(self, items: Sequence[int]) -> int:
        """XOR of the keys of ``items``."""
        k = np.uint64(0)
        for i in items:
            k ^= self.item_key[i]
        return int(k)

    def add(self, items: Sequence[int]) -> int:
        """Class id of ``items`` (sorted, unique), appended when new."""
        key = np.uint64(self.key_of(items))
        pos = int(np.searchsorted(self._sorted_keys, key))
        if pos < self._sorted_keys.size and self._sorted_keys[pos] == key:
            return int(self._sorted_ids[pos])
        self.sets.append(tuple(sorted(items)))
        self._sorted_keys = np.insert(self._sorted_keys, pos, key)
        self._sorted_ids = np.insert(self._sorted_ids, pos, np.int32(len(self.sets) - 1))
        return len(self.sets) - 1

    def ids(self, keys: KeyArray) -> Int32Array:
        """Class id per key, -1 when the key is not a known class."""
        if self._sorted_keys.size == 0:
            return np.full(keys.size, -1, np.int32)
        pos = np.minimum(np.searchsorted(self._sorted_keys, keys), self._sorted_keys.size - 1)
        found = self._sorted_keys[pos] == keys
        return np.where(found, self._sorted_ids[pos], -1).astype(np.int32)


@njit
def _crossing_keys(
    px: FloatArray,
    py: FloatArray,
    cell: IntArray,
    cell_start: IntArray,
    cell_edges: Int32Array,
    ax: FloatArray,
    ay: FloatArray,
    bx: FloatArray,
    by: FloatArray,
    item: Int32Array,
    item_key: KeyArray,
    ref_x: FloatArray,
    ref_y: FloatArray,
    ref_key: KeyArray,
    key: KeyArray,
    unsure: BoolArray,
) -> None:
    for i in range(px.size):
        c = cell[i]
        x, y, rx, ry = px[i], py[i], ref_x[c], ref_y[c]
        k = ref_key[c]
        doubt = False
        for p in range(cell_start[c], cell_start[c + 1]):
            e = cell_edges[p]
            eax, eay, ebx, eby = ax[e], ay[e], bx[e], by[e]
            # orient() of the edge with p = (x, y), q = (rx, y) and r = (rx, ry)
            left, right = (eax - x) * (eby - y), (eay - y) * (ebx - x)
            o_p = left - right
            u_p = abs(o_p) <= CCW_ERRBOUND * (abs(left) + abs(right))
            left, right = (eax - rx) * (eby - y), (eay - y) * (ebx - rx)
            o_q = left - right
            u_q = abs(o_q) <= CCW_ERRBOUND * (abs(left) + abs(right))
            left, right = (eax - rx) * (eby - ry), (eay - ry) * (ebx - rx)
            o_r = left - right
            u_r = abs(o_r) <= CCW_ERRBOUND * (abs(left) + abs(right))
            s1 = (eay > y) != (eby > y)
            s2 = (eax > rx) != (ebx > rx)
            if (s1 and ((o_p > 0) != (o_q > 0))) != (s2 and ((o_q > 0) != (o_r > 0))):
                k ^= item_key[item[e]]
            in_box = min(eax, ebx) <= x <= max(eax, ebx) and min(eay, eby) <= y <= max(eay, eby)
            if (u_p and in_box) or ((s1 or s2) and (u_p or u_q or u_r)):
                doubt = True
        key[i] = k
        unsure[i] = doubt


def crossing_keys(
    px: FloatArray,
    py: FloatArray,
    cell: IntArray,
    cell_start: IntArray,
    cell_edges: Int32Array,
    edges: Edges,
    item_key: KeyArray,
    ref_x: FloatArray,
    ref_y: FloatArray,
    ref_key: KeyArray,
) -> tuple[KeyArray, BoolArray]:
    """Item-set key of each point of a level-1 cell that edges touch, and whether
    an orientation sign on its path was uncertain (see the module docstring).

    The path from ``(px, py)`` runs along the point's latitude to the cell's
    reference longitude, then along it to the reference point; every edge of
    the cell crossed on the way toggles its item's key (``item_key``).  A
    compiled loop (:mod:`overflight.jit`) with :func:`orient`'s arithmetic;
    every cell must list at least one edge.
    """
    key = np.empty(px.size, np.uint64)
    unsure = np.empty(px.size, np.bool_)
    _crossing_keys(
        np.ascontiguousarray(px, np.float64),
        np.ascontiguousarray(py, np.float64),
        np.ascontiguousarray(cell, np.int64),
        np.ascontiguousarray(cell_start, np.int64),  # plain arrays, not memory maps
        np.ascontiguousarray(cell_edges, np.int32),
        np.ascontiguousarray(edges.ax, np.float64),
        np.ascontiguousarray(edges.ay, np.float64),
        np.ascontiguousarray(edges.bx, np.float64),
        np.ascontiguousarray(edges.by, np.float64),
        np.ascontiguousarray(edges.item, np.int32),
        np.ascontiguousarray(item_key, np.uint64),
        np.ascontiguousarray(ref_x, np.float64),
        np.ascontiguousarray(ref_y, np.float64),
        np.ascontiguousarray(ref_key, np.uint64),
        key,
        unsure,
    )
    return key, unsure
