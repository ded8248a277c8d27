"""Exact distance from points to a set of great-circle arcs through a k-d tree of samples.

Every arc is cut into ``m`` equal sub-arcs no longer than ``max_arc`` radians
(``m = 1`` for the usual short edge); the cut points ("samples", the arc's
start vertex first, and the end vertex where the next arc does not start
there) go into a k-d tree on the unit sphere.  Each sample names the arc that
starts at it and the arc that ends at it.

Certificate.  Let ``2h`` be the longest sub-arc.  By spherical Pythagoras, a
sub-arc whose nearer end is at angle ``d`` from a point ``p`` is at angle at
least ``y`` with ``cos y = cos d / cos h`` from ``p``.  So after a query of the
``k`` nearest samples, every arc none of whose samples is among them is at
least ``y(d_k)`` away (``d_k``: the k-th sample's distance), and the exact
distance is the minimum over the arcs of the found samples as soon as that
minimum is below ``y(d_k)``.  Points where it is not (many samples within
``h`` of a tie) get a second query with more neighbours, then a ball query
of radius ``y^-1(minimum)``, which is always enough.  Samples beyond
``y^-1(cap)`` are never looked at: the distance saturates there.

Distances per (point, arc) come from :func:`~overflight.airspace.arcs.nearest_listed_m`
on the same frames as the reference search, the formula of its
:func:`~overflight.airspace.arcs.arc_distance_m` to rounding (about 1e-9 m),
so the result is the reference's minimum, not an approximation of it.  A margin of :data:`MARGIN_M`
(well above the ~0.1 m rounding of that formula near an end point) keeps
rounding from deciding which arc is nearest.
"""

from __future__ import annotations

import hashlib
import platform
import sys
from pathlib import Path

import numpy as np
import scipy
from scipy.spatial import cKDTree

from overflight.airspace import cache
from overflight.airspace.arcs import arc_frames, nearest_listed_m, unit_vectors
from overflight.airspace.grid import BoolArray, FloatArray, IntArray, sorted_unique
from overflight.geodesy import EARTH_RADIUS_M

#: Longest sub-arc between consecutive samples (m).
MAX_SUBARC_M = 1000.0
#: Extra distance (m) a certificate must clear.
MARGIN_M = 1.0
#: Neighbours asked for first, and in the second round for the uncertified points.
FIRST_K = 4
SECOND_K = 24
_CHUNK = 1 << 16
#: Indices of this many arcs or more keep their samples and k-d tree on disk
#: (making them costs about a second per million arcs; reading them a tenth of that).
STORED_MIN_ARCS = 50_000
#: Names the stored samples; change it with their layout or the sampling.
SAMPLES_FORMAT = "samples-v1"
#: Queries of fewer points than this run in the calling thread (starting the
#: tree's worker threads costs more than they save).
THREADED_MIN = 1 << 14


def tree_workers(n: int) -> int:
    """``workers`` for a k-d tree query of ``n`` points: all cores for big ones."""
    return -1 if n >= THREADED_MIN else 1


class ArcStore:
    """Arcs from ``(ax, ay)`` to ``(bx, by)`` (lon/lat degrees) with their frames
    (:func:`arc_frames`, as rows of shape (5, 3)) computed on first need.

    With ``eids`` the arcs are rows ``eids`` of the given columns (the
    memory-mapped edge columns of the boundary cache), read only where asked
    for: a process whose samples come from the cache reads just the
    coordinates of the arcs it measures.
    """

    def __init__(
        self,
        ax: FloatArray,
        ay: FloatArray,
        bx: FloatArray,
        by: FloatArray,
        eids: IntArray | None = None,
    ) -> None:
        self._src = (ax, ay, bx, by)
        self._eids = None if eids is None else np.asarray(eids, np.int64)
        self._cols: list[FloatArray | None] = [None] * 4
        if self._eids is None:
            self._cols = [np.asarray(c, np.float64) for c in self._src]
        n = int(self._eids.size if self._eids is not None else np.shape(ax)[0])
        self._frames = np.empty((n, 5, 3))  # pages are only touched when filled
        self._done = np.zeros(n, bool)
        self._digest: str | None = None

    def __len__(self) -> int:
        return int(self._done.size)

    def coords(self, rows: IntArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """``ax, ay, bx, by`` of arcs ``rows``."""
        out = []
        for k in range(4):
            col = self._cols[k]
            if col is not None:
                out.append(col[rows])
            else:
                assert self._eids is not None
                out.append(np.asarray(self._src[k][self._eids[rows]], np.float64))
        return out[0], out[1], out[2], out[3]

    def digest(self) -> str:
        """SHA-256 of which arcs these are: of ``eids`` when given (the columns
        are then those of one boundary cache folder), else of the coordinates."""
        if self._digest is None:
            h = hashlib.sha256()
            for part in (self._eids,) if self._eids is not None else self._cols:
                h.update(np.ascontiguousarray(part).tobytes())
            self._digest = h.hexdigest()
        return self._digest

    def chained(self, rows: IntArray) -> BoolArray:
        """Whether arc ``rows[i + 1]`` starts where arc ``rows[i]`` ends."""
        ax, ay, bx, by = self.coords(rows)
        out = np.zeros(rows.size, bool)
        out[:-1] = (ax[1:] == bx[:-1]) & (ay[1:] == by[:-1])
        return out

    def fill(self, rows: IntArray) -> None:
        """Work out the frames of arcs ``rows`` that are not yet (see :attr:`all_frames`)."""
        need = rows[~self._done[rows]]
        if need.size:
            need = sorted_unique(need)
            ax, ay, bx, by = self.coords(need)
            a = unit_vectors(ay, ax)
            b = unit_vectors(by, bx)
            self._frames[need] = np.moveaxis(arc_frames(a, b), 0, 1)
            self._done[need] = True

    @property
    def all_frames(self) -> FloatArray:
        """Every arc's frame row, shape (n, 5, 3); only rows filled by :meth:`fill` are set."""
        return self._frames


def sample_arcs(
    store: ArcStore, rows: IntArray, chained: BoolArray, max_arc: float
) -> tuple[FloatArray, IntArray, IntArray, FloatArray]:
    """Samples along arcs ``rows`` of ``store``, in order.

    ``chained[i]`` says arc ``rows[i + 1]`` starts where arc ``rows[i]`` ends.
    Returns the samples (m, 3); per sample the position in ``rows`` of the arc
    starting at it and of the arc ending at it (-1 for none); and per sample
    half the longer of its sub-arcs (radians).

    Examples
    --------
    >>> s = ArcStore(np.array([0.0]), np.array([0.0]), np.array([0.02]), np.array([0.0]))
    >>> xyz, start, end, h = sample_arcs(s, np.array([0]), np.array([False]), 0.0001)
    >>> len(xyz), start.tolist(), end.tolist(), round(float(h.max()), 6)
    (5, [0, 0, 0, 0, -1], [-1, 0, 0, 0, 0], 4.4e-05)
    """
    n = rows.size
    nxt = np.zeros(n, bool)
    nxt[:-1] = chained[:-1]
    prv = np.zeros(n, bool)
    prv[1:] = chained[:-1]
    loose = np.flatnonzero(~nxt)
    ax, ay, bx, by = store.coords(rows)
    a = unit_vectors(ay, ax)
    b = np.empty_like(a)
    b[:-1] = a[1:]  # a chained arc ends where the next starts: same lon/lat, same vector
    b[loose] = unit_vectors(by[loose], bx[loose])
    angle = 2.0 * np.arcsin(np.minimum(np.linalg.norm(a - b, axis=1) / 2.0, 1.0))
    m = np.maximum(1, np.ceil(angle / max_arc)).astype(np.int64)
    half = angle / m / 2.0
    # layout: each arc's m samples, then its end vertex when the next arc does not start there
    count = m + ~nxt
    first = np.cumsum(count) - count
    arc = np.repeat(np.arange(n, dtype=np.int64), count)
    j = np.arange(arc.size, dtype=np.int64) - first[arc]
    xyz = np.empty((arc.size, 3))
    xyz[first] = a
    xyz[first[loose] + m[loose]] = b[loose]
    cut = np.flatnonzero((j > 0) & (j < m[arc]))
    if cut.size:
        w = angle[arc[cut]]
        t = j[cut] / m[arc[cut]]
        xyz[cut] = (
            np.sin((1.0 - t) * w)[:, None] * a[arc[cut]] + np.sin(t * w)[:, None] * b[arc[cut]]
        ) / np.sin(w)[:, None]
    end_vertex = j == m[arc]
    start = np.where(end_vertex, -1, arc)
    end = np.where(j > 0, arc, np.where(prv[arc], arc - 1, -1))
    h = np.maximum(
        np.where(start >= 0, half[np.maximum(start, 0)], 0.0),
        np.where(end >= 0, half[np.maximum(end, 0)], 0.0),
    )
    return xyz, start, end, h


def _new_tree(xyz: FloatArray) -> cKDTree:
    return cKDTree(xyz, leafsize=16, balanced_tree=False, compact_nodes=False)


class SampleIndex:
    """Arcs ``rows`` of an :class:`ArcStore` with the k-d tree of their samples.

    Examples
    --------
    >>> s = ArcStore(np.array([1.0]), np.array([-1.0]), np.array([1.0]), np.array([1.0]))
    >>> idx = SampleIndex(s, np.array([0]), np.array([False]))
    >>> [round(float(d)) for d in idx.distance(unit_vectors([0.0, 0.0], [0.0, 3.0]), 500_000.0)]
    [111195, 222390]
    """

    def __init__(
        self,
        store: ArcStore,
        rows: IntArray,
        chained: BoolArray | None = None,
        max_subarc_m: float = MAX_SUBARC_M,
        cache_file: Path | None = None,
        samples_file: Path | None = None,
    ) -> None:
        self.store = store
        self.rows = np.asarray(rows, np.int64)
        self._chained = None if chained is None else np.asarray(chained, bool)
        self._chained_given = chained is not None
        self._max_arc = max_subarc_m / EARTH_RADIUS_M
        #: where :mod:`overflight.airspace.cells` keeps this index's cell lists
        self.cache_file = cache_file
        #: where the samples and their tree are kept (indices of
        #: :data:`STORED_MIN_ARCS` arcs or more), None for nowhere
        self.samples_file = samples_file if self.rows.size >= STORED_MIN_ARCS else None
        self._tree: cKDTree | None = None

    @property
    def chained(self) -> BoolArray:
        """Whether arc ``rows[i + 1]`` starts where arc ``rows[i]`` ends (worked
        out from the store when not given)."""
        if self._chained is None:
            self._chained = self.store.chained(self.rows)
        return self._chained

    def _build(self) -> cKDTree:
        """Samples and tree, made on first need (cell lists alone do without them)."""
        if self._tree is None:
            key = self._samples_key()
            got = cache.load_samples(self.samples_file, key, len(self.store), _new_tree)
            if got is None:
                rows = self.rows
                xyz, start, end, h = sample_arcs(self.store, rows, self.chained, self._max_arc)
                touch = np.column_stack(
                    [np.where(start >= 0, rows[start], -1), np.where(end >= 0, rows[end], -1)]
                )
                tree = _new_tree(xyz)
                cache.save_samples(self.samples_file, key, xyz, touch, h, tree)
            else:
                xyz, touch, h, tree = got
            self.xyz, self.sample_h = xyz, h
            #: sample -> the arcs (rows of the store) starting and ending at it, -1 for none
            self.touch = touch
            self.size = int(xyz.shape[0])
            self.h = float(self.sample_h.max())
            self._tree = tree
        return self._tree

    def _samples_key(self) -> str:
        """What the stored samples must have been made from: the store's arcs,
        the rows, how they chain (when given), the sub-arc length, the numpy and
        scipy versions and the machine (the tree is scipy's raw node memory)."""
        if self.samples_file is None:
            return ""
        build = f"{np.__version__} {scipy.__version__} {sys.byteorder} {platform.machine()}"
        head = f"{SAMPLES_FORMAT} {build} {self._max_arc!r} {self.store.digest()}"
        h = hashlib.sha256(head.encode())
        h.update(self.rows.tobytes())
        h.update(self.chained.tobytes() if self._chained_given else b"derived")
        return h.hexdigest()

    @property
    def tree(self) -> cKDTree:
        """The k-d tree of the samples (:attr:`xyz`; :attr:`touch` gives their arcs)."""
        return self._build()

    @property
    def empty(self) -> bool:
        """Whether there is no arc at all."""
        return self.rows.size == 0

    def distance(self, p: FloatArray, cap_m: float) -> FloatArray:
        """Distance (m) from unit vectors ``p`` (n, 3) to the nearest arc, at most ``cap_m``."""
        out = np.full(p.shape[0], float(cap_m))
        if self.empty or p.shape[0] == 0 or cap_m <= 0:
            return out
        self._build()
        for lo in range(0, p.shape[0], _CHUNK):
            out[lo : lo + _CHUNK] = self._distance(p[lo : lo + _CHUNK], float(cap_m))
        return out

    def reach(self, angle: FloatArray) -> FloatArray:
        """Chord within which samples must be looked at so that no arc nearer than
        ``angle`` (radians) is missed: ``y^-1(angle)``, slightly enlarged."""
        half = (
            np.sin(np.minimum(angle, np.pi) / 2.0) ** 2 * np.cos(self.h) + np.sin(self.h / 2) ** 2
        )
        return np.asarray(2.0 * np.sqrt(np.minimum(half, 1.0)) * (1 + 1e-9) + 1e-12)

    def bound(self, chord: FloatArray) -> FloatArray:
        """Lower bound (radians) on the distance to arcs whose samples are all ``chord`` away."""
        half = (chord**2 / 4.0 - np.sin(self.h / 2) ** 2) / np.cos(self.h)
        return np.asarray(2.0 * np.arcsin(np.sqrt(np.clip(half, 0.0, 1.0))))

    def _distance(self, p: FloatArray, cap_m: float) -> FloatArray:
        cap = cap_m / EARTH_RADIUS_M
        margin = MARGIN_M / EARTH_RADIUS_M
        reach = float(self.reach(np.array(cap)))
        best = np.full(p.shape[0], np.inf)
        todo = np.arange(p.shape[0])
        for k in (FIRST_K, SECOND_K):
            k = min(k, self.size)
            dist, idx = self.tree.query(
                p[todo], k=k, distance_upper_bound=reach, workers=tree_workers(todo.size)
            )
            dist, idx = dist.reshape(todo.size, k), idx.reshape(todo.size, k)
            best[todo] = np.minimum(best[todo], self.nearest(p[todo], idx))
            target = np.minimum(best[todo] / EARTH_RADIUS_M + margin, cap)
            done = (idx[:, -1] >= self.size) | (self.bound(dist[:, -1]) >= target)
            todo = todo[~done]
            if todo.size == 0 or k == self.size:
                break
        if todo.size:
            target = np.minimum(best[todo] / EARTH_RADIUS_M + margin, cap)
            found = self.tree.query_ball_point(
                p[todo], self.reach(target), workers=tree_workers(todo.size)
            )
            counts = np.array([len(f) for f in found], np.int64)
            flat = np.fromiter((i for f in found for i in f), np.int64, int(counts.sum()))
            best[todo] = np.minimum(best[todo], self.pairs(p[todo], counts, flat))
        out: FloatArray = np.minimum(best, cap_m)
        return out

    def nearest(self, p: FloatArray, idx: IntArray) -> FloatArray:
        """Minimum distance (m) per row over the arcs touching samples ``idx`` (n, k);
        indices ``>= size`` (none found) are ignored."""
        ok = idx < self.size
        arcs = self.touch[np.where(ok, idx, 0)]  # (n, k, 2)
        arcs[~ok] = -1
        return self._list_min(p, arcs.reshape(idx.shape[0], -1))

    def pairs(self, p: FloatArray, counts: IntArray, samples: IntArray) -> FloatArray:
        """Minimum distance (m) per point over the arcs touching its ``counts[i]``
        samples (listed point after point in ``samples``)."""
        arcs = self.touch[samples].ravel()  # point after point, two arcs per sample
        pt = np.repeat(np.arange(p.shape[0]), 2 * counts)
        keep = arcs >= 0
        per_point = np.bincount(pt[keep], minlength=p.shape[0])
        return self._lists_min(p, arcs[keep], per_point)

    def _list_min(self, p: FloatArray, arcs: IntArray) -> FloatArray:
        """Minimum distance (m) per row over the arcs of ``arcs`` (n, w; -1 = none)."""
        keep = arcs >= 0
        return self._lists_min(p, arcs[keep], keep.sum(axis=1))

    def _lists_min(self, p: FloatArray, arcs: IntArray, count: IntArray) -> FloatArray:
        """Minimum distance (m) from ``p[i]`` to its ``count[i]`` arcs (given point
        after point in ``arcs``); inf for a point without arcs."""
        if arcs.size:
            self.store.fill(arcs)
        start = np.cumsum(count) - count
        inf = np.full(p.shape[0], np.inf)
        return nearest_listed_m(p, self.store.all_frames, arcs, start, count, inf)
