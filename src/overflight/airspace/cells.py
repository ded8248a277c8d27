"""Per-cell candidate arcs: the fast path of :class:`~overflight.airspace.nearest.SampleIndex`.

Most tracked points are tens or hundreds of kilometres from the nearest
boundary, where a k-d tree search visits many leaves.  For such points the
answer depends on very few samples, shared by a whole grid cell: this module
finds, once per cell met, every sample that can matter for some point of the
cell, and then answers each point from a short list of arcs.

Which samples can matter.  Let ``m(p)`` be the largest ``p . s`` over the
samples (the nearest sample).  Every arc within ``mu`` (:data:`MARGIN_M`) of
the nearest one has a sample ``s`` with ``p . s >= cos(h_s) cos(d + mu)``
(``d``: the nearest sample's angle, ``h_s``: half the longer sub-arc at ``s``;
spherical Pythagoras as in :mod:`~overflight.airspace.nearest`), so a sample
is never needed in a region where some other sample ``s'`` satisfies
``p . w > cos(h_s) sin(mu)`` with ``w = cos(h_s) cos(mu) s' - s`` at every
point ``p``; over a cap of centre ``c`` and radius ``r`` the left side is at
least ``(c . w) cos r - |w - (c . w) c| sin r``.

Two levels.  A cell of :data:`RES_DEG` degrees tests the samples of the ball
around its centre that holds every needed sample of every point of the cell
against the nearest samples of a 3 x 3 lattice of its points; the survivors
form its list.  Each of its ``SUB x SUB`` sub-cells then tests that list the
same way against the nearest samples of its centre and corners, and keeps the
distinct arcs of its survivors (both tests are compiled loops,
:func:`~overflight.airspace.cellgeom.undominated` and
:func:`~overflight.airspace.cellgeom.sub_arcs`; the k-d tree queries for the
dominators are most of what working out a cell costs): a point is answered by
computing its distance to those few arcs (a compiled loop,
:func:`~overflight.airspace.arcs.nearest_listed_m`), whose frames are worked
out the first time a point of the process uses the sub-cell.  A cell is worked out
once :data:`MIN_POINTS` points have come into it (over the calls of a
process); the k-d tree answers points of the other cells, of sub-cells with
more than :data:`MAX_ARCS` arcs (on a crowded coast) and of cells whose list
would be too long.  Cells whose nearest possible
distance exceeds the cap get the cap.  Lists are kept on the index and stored
next to the boundary cache (``cells-*.npz``), so a cell is worked out once.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from overflight.airspace import cache
from overflight.airspace.arcs import nearest_listed_m, unit_vectors
from overflight.airspace.cellgeom import caps, cell_ids, corner, lattice, sub_arcs, undominated
from overflight.airspace.grid import BoolArray, FloatArray, IntArray, sorted_unique
from overflight.airspace.lookup import distinct_counts, sub_lists
from overflight.airspace.nearest import MARGIN_M, SampleIndex, tree_workers
from overflight.geodesy import EARTH_RADIUS_M

RES_DEG = 0.125
SUB = 8
NCOL, NROW = 2880, 1440
#: Longest cell list kept; a cell with a longer one uses the k-d tree.
MAX_LIST = 1024
#: Most arcs per sub-cell; a sub-cell with more uses the k-d tree.
MAX_ARCS = 256
#: Cells surely farther than this from every arc get no list (any cap up to it answers them).
SKIP_BEYOND_M = 500_000.0
#: Points in a cell (over the calls of a process) before its list is worked out
#: (working out a cell costs about as much as a hundred k-d tree queries).
MIN_POINTS = 64
#: Largest ball of samples examined for one cell.
MAX_BALL = 40_000
_BUILD_CHUNK = 128
_MU = MARGIN_M / EARTH_RADIUS_M
#: Names the cell lists stored next to the boundary cache; change it with the method.
CACHE_TAG = "cells-v4"
#: ``base`` of a cell whose floor alone is known (its list was never worked out).
LIGHT = -2


class CellLists:
    """Candidate arcs of an index per sub-cell, built for the cells met so far.

    Per cell (by slot): ``floor_m`` (no point of the cell is nearer to an arc)
    and ``base`` (its first sub-cell, or -1 when the k-d tree answers it); per
    sub-cell, the arcs ``arcs[start[k]:start[k + 1]]``.
    """

    def __init__(self, index: SampleIndex) -> None:
        self.index = index
        self._keys = np.zeros(0, np.int64)  # sorted cell ids
        self._slot = np.zeros(0, np.int64)  # their slots
        self.floor_m = np.zeros(0)
        self.base = np.zeros(0, np.int64)
        # sub-cell offsets and arcs, in buffers with room to append (see _append)
        self._start, self._nsub = np.zeros(1, np.int64), 0
        self._arcs, self._narcs = np.zeros(0, np.int64), 0
        self.added = 0  # cells built since the last save
        # points met so far in cells without a list (this process only)
        self._met_keys = np.zeros(0, np.int64)
        self._met = np.zeros(0, np.int64)
        self._ready = np.zeros(0, bool)  # per sub-cell: the frames of its arcs are filled
        self._load()

    def _load(self) -> None:
        f = self.index.cache_file
        hit = None if f is None else cache.load_arrays(f.parent, f.stem)
        if hit is None:
            return
        try:
            keys, slot, floor = hit["keys"], hit["slot"], hit["floor_m"]
            base, start, arcs = hit["base"], hit["start"], hit["arcs"]
            nsub = start.size - 1
            # a cell worked out again leaves its old slot behind: slots <= floors
            sound = (
                keys.size == slot.size <= floor.size == base.size
                and (slot.size == 0 or 0 <= slot.min() <= slot.max() < floor.size)
                and start.size >= 1
                and start[0] == 0
                and start[-1] == arcs.size
                and bool(np.all(np.diff(start) >= 0) and np.all(np.diff(keys) > 0))
                and bool(np.all((base < 0) | (base + SUB * SUB <= nsub)))
                and (arcs.size == 0 or 0 <= arcs.min() <= arcs.max() < len(self.index.store))
            )
        except KeyError:
            sound = False
        if sound:
            self._keys, self._slot = keys.astype(np.int64), slot.astype(np.int64)
            self.floor_m, self.base = floor.astype(np.float64), base.astype(np.int64)
            self._start, self._nsub = start.astype(np.int64), nsub
            self._arcs, self._narcs = arcs.astype(np.int64), arcs.size

    @property
    def start(self) -> IntArray:
        """CSR offsets of the sub-cells' arcs (one more than the sub-cells)."""
        return self._start[: self._nsub + 1]

    @property
    def arcs(self) -> IntArray:
        """The sub-cells' arcs (rows of the index's store), sub-cell after sub-cell."""
        return self._arcs[: self._narcs]

    def save(self) -> None:
        """Write the lists to the index's cache file, when it has one and they grew
        by a twentieth (a stream of small batches does not rewrite it every time)."""
        f = self.index.cache_file
        if f is None or self.added == 0 or self.added * 20 < self.floor_m.size:
            return
        arrays: dict[str, npt.NDArray[np.generic]] = {
            "keys": self._keys,
            "slot": self._slot.astype(np.int32),
            "floor_m": self.floor_m,
            "base": self.base.astype(np.int32),
            "start": self.start.astype(np.int32),
            "arcs": self.arcs.astype(np.int32),
        }
        cache.save_arrays(f.parent, f.stem, arrays)
        self.added = 0

    def slots(
        self, cells: IntArray, full: BoolArray | None = None, floors: bool = False
    ) -> IntArray:
        """Slot of each (sorted, distinct) cell, -1 for an unknown one.  The cells
        flagged in ``full`` (all when None) get their lists worked out unless they
        had them; with ``floors``, every other new cell gets its floor (one tree
        query) and no list."""
        slot = self._find(cells)
        known = slot >= 0
        want = np.ones(cells.size, bool) if full is None else full
        light = np.zeros(cells.size, bool)
        light[known] = self.base[slot[known]] == LIGHT
        todo = cells[(~known | light) & want]
        for lo in range(0, todo.size, _BUILD_CHUNK):
            self._add(todo[lo : lo + _BUILD_CHUNK], full=True)
        floor_only = cells[~known & ~want] if floors else cells[:0]
        for lo in range(0, floor_only.size, 8 * _BUILD_CHUNK):
            self._add(floor_only[lo : lo + 8 * _BUILD_CHUNK], full=False)
        return self._find(cells) if todo.size or floor_only.size else slot

    def wanted(self, cells: IntArray, counts: IntArray) -> BoolArray:
        """Which of ``cells`` (sorted, distinct; ``counts`` points in each now) have
        brought :data:`MIN_POINTS` points in all over this process's calls, so that
        their lists are worth working out.  The others' points are remembered: a
        cell crossed by a few points per call gets its list in the end."""
        met = np.zeros(cells.size, np.int64)
        old_keys, old = self._met_keys, self._met
        if old_keys.size:
            pos = np.minimum(np.searchsorted(old_keys, cells), old_keys.size - 1)
            hit = old_keys[pos] == cells
            met[hit] = old[pos[hit]]
            gone = np.zeros(old_keys.size, bool)
            gone[pos[hit]] = True
            old_keys, old = old_keys[~gone], old[~gone]
        total = met + counts
        want = total >= MIN_POINTS
        slot = self._find(cells)
        listed = slot >= 0
        listed[listed] = self.base[slot[listed]] != LIGHT
        keep = ~want & ~listed
        keys = np.concatenate([old_keys, cells[keep]])
        order = np.argsort(keys, kind="stable")
        self._met_keys, self._met = keys[order], np.concatenate([old, total[keep]])[order]
        return want

    def fill(self, subs: IntArray) -> None:
        """Work out the frames (:meth:`ArcStore.fill`) of the arcs of sub-cells
        ``subs`` that have not had them (each sub-cell once per process)."""
        nsub = self.start.size - 1
        if self._ready.size < nsub:
            self._ready = np.concatenate([self._ready, np.zeros(nsub - self._ready.size, bool)])
        new = subs[~self._ready[subs]]
        if new.size == 0:
            return
        new = sorted_unique(new)
        n = self.start[new + 1] - self.start[new]
        within = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        self.index.store.fill(self.arcs[np.repeat(self.start[new], n) + within])
        self._ready[new] = True

    def lookup_arrays(self) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
        """Sorted cell keys, their slots, and per slot the floor and base."""
        return self._keys, self._slot, self.floor_m, self.base

    def _find(self, cells: IntArray) -> IntArray:
        if self._keys.size == 0:
            return np.full(cells.size, -1, np.int64)
        pos = np.minimum(np.searchsorted(self._keys, cells), self._keys.size - 1)
        return np.where(self._keys[pos] == cells, self._slot[pos], -1)

    def _add(self, cells: IntArray, full: bool) -> None:
        if full:
            floor, cell_of, samples = self._cells(cells)
            base = np.full(cells.size, -1, np.int64)
        else:
            floor = self._floor(cells)[0]
            cell_of = samples = np.zeros(0, np.int64)
            base = np.full(cells.size, LIGHT, np.int64)
        listed = sorted_unique(cell_of)
        if listed.size:
            start, arcs = self._subcells(cells[listed], np.searchsorted(listed, cell_of), samples)
            base[listed] = self._nsub + SUB * SUB * np.arange(listed.size)
            self._start = _append(self._start, self._nsub + 1, self._narcs + start[1:])
            self._arcs = _append(self._arcs, self._narcs, arcs)
            self._nsub, self._narcs = self._nsub + start.size - 1, self._narcs + arcs.size
        first = self.floor_m.size
        self.floor_m = np.concatenate([self.floor_m, floor])
        self.base = np.concatenate([self.base, base])
        # a cell worked out again (it had only its floor) replaces its old slot
        stale = np.isin(self._keys, cells)
        keys = np.concatenate([self._keys[~stale], cells])
        slot = np.concatenate([self._slot[~stale], np.arange(first, first + cells.size)])
        order = np.argsort(keys, kind="stable")
        self._keys, self._slot = keys[order], slot[order]
        self.added += cells.size

    def _floor(self, cells: IntArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Distance floor (m) of each cell; and its cap (centre, radius) and the angle
        from the centre to the nearest sample."""
        idx = self.index
        c, r = caps(cells, RES_DEG)
        d_c, _ = idx.tree.query(c, k=1, workers=tree_workers(cells.size))
        d_c = 2.0 * np.arcsin(np.minimum(d_c / 2.0, 1.0))
        floor = idx.bound(2.0 * np.sin(np.maximum(d_c - r, 0.0) / 2.0)) * EARTH_RADIUS_M
        return floor, c, r, d_c

    def _cells(self, cells: IntArray) -> tuple[FloatArray, IntArray, IntArray]:
        """Distance floor (m) of each cell, and the lists of the cells that get
        sub-cells as (cell, sample) pairs sorted by cell."""
        idx = self.index
        floor, c, r, d_c = self._floor(cells)
        todo = np.flatnonzero(floor < SKIP_BEYOND_M)
        if todo.size == 0:
            return floor, np.zeros(0, np.int64), np.zeros(0, np.int64)
        radius = idx.reach(d_c[todo] + r[todo] + _MU) + 2.0 * np.sin(r[todo] / 2.0)
        balls = idx.tree.query_ball_point(
            c[todo], radius, workers=tree_workers(todo.size), return_sorted=False
        )
        counts = np.array([len(x) if len(x) <= MAX_BALL else 0 for x in balls], np.int64)
        flat = np.fromiter(
            itertools.chain.from_iterable(x for x in balls if len(x) <= MAX_BALL),
            np.int64,
            int(counts.sum()),
        )
        cell_of = np.repeat(todo, counts)
        probes = lattice(cells, RES_DEG).reshape(-1, 3)
        _, dom = idx.tree.query(probes, k=1, workers=tree_workers(probes.shape[0]))
        alive = undominated(idx, c, r, dom.reshape(cells.size, -1), cell_of, flat)
        cell_of, flat = cell_of[alive], flat[alive]
        kept = np.bincount(cell_of, minlength=cells.size)
        good = ((kept > 0) & (kept <= MAX_LIST))[cell_of]
        return floor, cell_of[good], flat[good]

    def _subcells(
        self, cells: IntArray, cell_of: IntArray, samples: IntArray
    ) -> tuple[IntArray, IntArray]:
        """CSR offsets and arcs of the sub-cells of ``cells`` (their lists given
        as (position in ``cells``, sample) pairs, sorted); a sub-cell that would
        have more than :data:`MAX_ARCS` arcs gets none (the k-d tree answers it)."""
        idx = self.index
        nsub = SUB * SUB
        res = RES_DEG / SUB
        ci, cj = cells % NCOL, cells // NCOL
        local = np.arange(nsub)
        row, col = np.divmod(local, SUB)
        fine = ((cj[:, None] * SUB + row) * (NCOL * SUB) + ci[:, None] * SUB + col).ravel()
        c, r = caps(fine, res)
        # dominators: nearest samples of each sub-cell's centre and corners
        x0, y0 = corner(cells, RES_DEG)
        node, mid = np.arange(SUB + 1) * res, (np.arange(SUB) + 0.5) * res
        nx, ny = np.meshgrid(node, node)
        mx, my = np.meshgrid(mid, mid)
        gx = np.concatenate([nx.ravel(), mx.ravel()])
        gy = np.concatenate([ny.ravel(), my.ravel()])
        probes = unit_vectors(y0[:, None] + gy[None, :], x0[:, None] + gx[None, :])
        flat = probes.reshape(-1, 3)
        _, near = idx.tree.query(flat, k=1, workers=tree_workers(flat.shape[0]))
        near = near.reshape(cells.size, -1)
        corners = [(row + dy) * (SUB + 1) + col + dx for dy in (0, 1) for dx in (0, 1)]
        pick = np.stack([(SUB + 1) ** 2 + local, *corners], axis=1)  # (nsub, 5)
        dom = near[:, pick].reshape(fine.size, -1)
        per_cell = np.bincount(cell_of, minlength=cells.size)
        first = np.cumsum(per_cell) - per_cell
        count, arcs = sub_arcs(idx, c, r, dom, first, per_cell, samples, nsub, MAX_ARCS)
        start = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)
        return start, arcs


def _append(buf: IntArray, used: int, values: IntArray) -> IntArray:
    """``buf`` with ``values`` written after its first ``used`` entries; a full
    buffer is replaced by one twice as long, so appending stays linear."""
    if used + values.size > buf.size:
        bigger = np.empty(max(2 * buf.size, used + values.size), buf.dtype)
        bigger[:used] = buf[:used]
        buf = bigger
    buf[used : used + values.size] = values
    return buf


def cell_lists(index: SampleIndex) -> CellLists:
    """The :class:`CellLists` of ``index`` (made on first use, kept on the index)."""
    found = getattr(index, "_cell_lists", None)
    if not isinstance(found, CellLists):
        found = CellLists(index)
        index._cell_lists = found  # type: ignore[attr-defined]
    return found


def fast_distance(
    index: SampleIndex, lon: FloatArray, lat: FloatArray, cap_m: float | FloatArray
) -> FloatArray:
    """Distance (m) from (finite) points to ``index``'s nearest arc, at most ``cap_m``
    (one cap, or one per point)."""
    cap = np.broadcast_to(np.asarray(cap_m, np.float64), lon.shape)
    out = np.array(cap, dtype=np.float64)
    if index.empty or lon.size == 0 or not (cap > 0).any():
        return out
    cells = cell_ids(lon, lat, RES_DEG)
    uniq, met = distinct_counts(cells)
    lists = cell_lists(index)
    # lists are worked out for cells with enough points (else the k-d tree is cheaper)
    lists.slots(uniq, lists.wanted(uniq, met))
    lists.save()
    sub = sub_lists(
        lon, lat, cells, *lists.lookup_arrays(), lists.start, cap, res_deg=RES_DEG, sub=SUB
    )
    kd = np.flatnonzero(sub == -1)
    if kd.size:
        p = unit_vectors(lat[kd], lon[kd])
        out[kd] = np.minimum(index.distance(p, float(cap[kd].max())), cap[kd])
    listed = np.flatnonzero(sub >= 0)
    if listed.size:
        # fill the frames of every arc used, then walk each point's list once
        s = sub[listed]
        lists.fill(s)
        start = lists.start[s]
        out[listed] = nearest_listed_m(
            unit_vectors(lat[listed], lon[listed]),
            index.store.all_frames,
            lists.arcs,
            start,
            lists.start[s + 1] - start,
            cap[listed],
        )
    return out
