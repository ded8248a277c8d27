"""Reference search for the distance to national-airspace boundaries (slow, kept for tests).

This is the original implementation that :mod:`overflight.airspace.distance`
replaced; the tests compare the fast index against it.  Edges are found through
STRtrees of chunks of 16 consecutive edges and of groups of 16 chunks: the
nearest chunk gives an upper bound, then every chunk whose metric lower bound
(distance to its box minus its diagonal) is below it is searched.  Distances
saturate at ``max_distance_m``.  See :mod:`overflight.airspace.distance` for
the definition of the boundary and of the distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from overflight.airspace.arcs import arc_distance_m, arc_frames, degree_radius, unit_vectors
from overflight.airspace.boundaries import Boundaries
from overflight.airspace.grid import FloatArray, IntArray, sorted_unique
from overflight.geodesy import haversine_m

CHUNK = 16
DEFAULT_MAX_DISTANCE_M = 500_000.0
_BATCH = 20_000
_EARLY_GROUPS = 2
_EARLY_CHUNKS = 4


@dataclass(frozen=True)
class EdgeSet:
    """Edges grouped into chunks of :data:`CHUNK`, with an STRtree of chunk boxes.

    ``frames`` holds, per chunk and edge, the vectors of :func:`arc_frames`
    as shape (5, 3, chunks, CHUNK) (NaN for padding); float64 throughout,
    since end-point distances come from ``1 - p . a`` and need every digit.
    """

    frames: FloatArray
    boxes: FloatArray
    tree: shapely.STRtree
    super_boxes: FloatArray
    super_tree: shapely.STRtree

    @classmethod
    def build(cls, b: Boundaries, eids: IntArray) -> EdgeSet:
        """Chunks of the given edge ids (kept in ring order)."""
        e = b.index.edges
        # a chunk never spans two rings: break where an edge does not start at the last end
        brk = np.ones(eids.size, bool)
        brk[1:] = (e.ax[eids[1:]] != e.bx[eids[:-1]]) | (e.ay[eids[1:]] != e.by[eids[:-1]])
        run_start = np.flatnonzero(brk)
        run_len = np.diff(np.append(run_start, eids.size))
        run_chunks = -(-run_len // CHUNK)
        pos = np.arange(eids.size) - np.repeat(run_start, run_len)
        chunk_of = np.repeat(np.cumsum(run_chunks) - run_chunks, run_len) + pos // CHUNK
        n = int(run_chunks.sum()) * CHUNK
        pad = np.full(n, -1, np.int64)
        pad[chunk_of * CHUNK + pos % CHUNK] = eids
        ok = pad >= 0
        take = np.where(ok, pad, 0)

        def col(v: FloatArray) -> FloatArray:
            return np.where(ok, v[take], np.nan).reshape(-1, CHUNK)

        ax, ay, bx, by = col(e.ax), col(e.ay), col(e.bx), col(e.by)
        if n:
            boxes = np.column_stack(
                [
                    np.fmin(np.nanmin(ax, 1), np.nanmin(bx, 1)),
                    np.fmin(np.nanmin(ay, 1), np.nanmin(by, 1)),
                    np.fmax(np.nanmax(ax, 1), np.nanmax(bx, 1)),
                    np.fmax(np.nanmax(ay, 1), np.nanmax(by, 1)),
                ]
            )
        else:
            boxes = np.zeros((0, 4))
        frames = arc_frames(unit_vectors(ay, ax), unit_vectors(by, bx))
        frames = np.ascontiguousarray(np.moveaxis(frames, -1, 1))
        nsup = -(-boxes.shape[0] // CHUNK)
        sb = np.full((nsup * CHUNK, 4), np.nan)
        sb[: boxes.shape[0]] = boxes
        sb = sb.reshape(nsup, CHUNK, 4)
        sup = (
            np.column_stack(
                [
                    np.nanmin(sb[:, :, 0], 1),
                    np.nanmin(sb[:, :, 1], 1),
                    np.nanmax(sb[:, :, 2], 1),
                    np.nanmax(sb[:, :, 3], 1),
                ]
            )
            if nsup
            else np.zeros((0, 4))
        )
        return cls(frames, boxes, _tree(boxes), sup, _tree(sup))

    def _edge_dist(
        self, pt: IntArray, chunk: IntArray, lat: FloatArray, lon: FloatArray
    ) -> FloatArray:
        """Minimum distance per (point, chunk) pair over the chunk's edges."""
        p = unit_vectors(lat[pt], lon[pt])[:, None, :]
        f = np.moveaxis(self.frames[:, :, chunk], 1, -1)
        d = arc_distance_m(p, f)
        return np.asarray(np.where(np.isnan(d), np.inf, d).min(axis=1), dtype=np.float64)

    def distance(self, lon: FloatArray, lat: FloatArray, max_distance_m: float) -> FloatArray:
        """Unsigned distance (m) from each point to the nearest edge, capped."""
        out = np.full(lon.size, max_distance_m)
        if self.boxes.shape[0] == 0:
            return out
        for lo in range(0, lon.size, _BATCH):
            s = slice(lo, lo + _BATCH)
            out[s] = self._distance(lon[s], lat[s], max_distance_m)
        return out

    def _chunks(
        self, pt: IntArray, sup: IntArray, lat: FloatArray, lon: FloatArray
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """The chunks of the given (point, group) pairs with their lower bounds."""
        pt = np.repeat(pt, CHUNK)
        chunk = np.repeat(sup, CHUNK) * CHUNK + np.tile(np.arange(CHUNK), sup.size)
        ok = chunk < self.boxes.shape[0]
        pt, chunk = pt[ok], chunk[ok]
        return pt, chunk, _lower_bound(lat[pt], lon[pt], self.boxes[chunk])

    def _distance(self, lon: FloatArray, lat: FloatArray, cap: float) -> FloatArray:
        n = lon.size
        pi, ci = self.tree.query_nearest(shapely.points(lon, lat), all_matches=False)
        best = np.full(n, np.inf)
        np.minimum.at(best, pi, self._edge_dist(pi, ci, lat, lon))
        best = np.minimum(best, cap)
        dlat, dlon = degree_radius(best, lat)
        radius = np.hypot(dlat, dlon)
        qx, qy, qr, qi = [lon], [lat], [radius], [np.arange(n)]
        for shift, side in ((360.0, lon - dlon < -180.0), (-360.0, lon + dlon > 180.0)):
            qx.append(lon[side] + shift)
            qy.append(lat[side])
            qr.append(radius[side])
            qi.append(np.flatnonzero(side))
        pts = shapely.points(np.concatenate(qx), np.concatenate(qy))
        qpt, sup = self.super_tree.query(pts, predicate="dwithin", distance=np.concatenate(qr))
        pt = np.concatenate(qi)[qpt]
        lower = _lower_bound(lat[pt], lon[pt], self.super_boxes[sup])
        keep = lower <= best[pt]
        pt, sup, lower = pt[keep], sup[keep], lower[keep]
        # best first: the nearest groups' nearest chunks tighten the bound, then the rest
        near = _first_k(pt, lower, _EARLY_GROUPS)
        cpt, chunk, clow = self._chunks(pt[near], sup[near], lat, lon)
        early = _first_k(cpt, clow, _EARLY_CHUNKS)
        np.minimum.at(best, cpt[early], self._edge_dist(cpt[early], chunk[early], lat, lon))
        late = ~early & (clow <= best[cpt])
        rest = ~near & (lower <= best[pt])
        rpt, rchunk, rlow = self._chunks(pt[rest], sup[rest], lat, lon)
        late_pt = np.concatenate([cpt[late], rpt[rlow <= best[rpt]]])
        late_chunk = np.concatenate([chunk[late], rchunk[rlow <= best[rpt]]])
        if late_pt.size:
            np.minimum.at(best, late_pt, self._edge_dist(late_pt, late_chunk, lat, lon))
        out: FloatArray = np.minimum(best, cap)
        return out


def _first_k(group: IntArray, value: FloatArray, k: int) -> npt.NDArray[np.bool_]:
    """Mask of the ``k`` smallest values of each group."""
    order = np.lexsort((value, group))
    g = group[order]
    first = np.flatnonzero(np.diff(g, prepend=-1))
    rank = np.arange(g.size) - np.repeat(first, np.diff(np.append(first, g.size)))
    mask = np.zeros(group.size, bool)
    mask[order[rank < k]] = True
    return mask


def _tree(boxes: FloatArray) -> shapely.STRtree:
    return shapely.STRtree(shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]))


def _lower_bound(lat: FloatArray, lon: FloatArray, boxes: FloatArray) -> FloatArray:
    """Great-circle distance (m) from points to lon/lat boxes (+inf for NaN boxes).

    Inside the box's longitude range the nearest point is on the same
    meridian; outside it, it lies on the nearer side meridian (distance along
    a parallel grows with the longitude gap), at the clamped latitude of the
    foot of the perpendicular to that meridian.  Gaps over 90 deg give 0.
    """
    d0 = (boxes[:, 0] - lon + 180.0) % 360.0 - 180.0
    d1 = (boxes[:, 2] - lon + 180.0) % 360.0 - 180.0
    within = (d0 <= 0.0) & (d1 >= 0.0) & (boxes[:, 2] - boxes[:, 0] < 180.0)
    gap = np.where(np.abs(d0) < np.abs(d1), d0, d1)
    p = np.radians(lat)
    foot = np.degrees(np.arctan2(np.sin(p), np.cos(p) * np.cos(np.radians(gap))))
    cy = np.clip(np.where(within, lat, foot), boxes[:, 1], boxes[:, 3])
    cx = np.where(within, lon, lon + gap)
    dist = haversine_m(lat, lon, cy, cx)
    out: FloatArray = np.where(np.isnan(dist), np.inf, np.where(np.abs(gap) > 90.0, 0.0, dist))
    return out


class BorderDistance:
    """Lazily built edge sets: each country's border edges (and each zone's edges)."""

    def __init__(self, b: Boundaries) -> None:
        self.b = b
        self._country: dict[str, EdgeSet] = {}
        national = np.flatnonzero(b.item_kind < 2)
        parts, part_of = shapely.get_parts(b.item_geoms[national], return_index=True)
        self._part_item = national[part_of]
        self._part_tree = shapely.STRtree(shapely.envelope(parts))

    def outside(self, lon: FloatArray, lat: FloatArray, cap: float) -> FloatArray:
        """Distance (m) from points outside every country to the nearest national airspace."""
        best = np.full(lon.size, cap)
        dlat, dlon = degree_radius(best, lat)
        pts = [shapely.points(lon + s, lat) for s in (0.0, 360.0, -360.0)]
        codes: set[str] = set()
        for q in pts:
            _, part = self._part_tree.query(q, predicate="dwithin", distance=np.hypot(dlat, dlon))
            for item in np.unique(self._part_item[part]).tolist():
                codes.update(self.b.item_codes[item])
        for code in sorted(codes):
            best = np.minimum(best, self.border_edges(code).distance(lon, lat, cap))
        return best

    def border_edges(self, code: str) -> EdgeSet:
        """Edges of ``code``'s polygons that are not inside another of its polygons."""
        if code not in self._country:
            b = self.b
            items = [i for i, c in enumerate(b.item_codes) if code in c and b.item_kind[i] < 2]
            e = b.index.edges
            eids = np.flatnonzero(np.isin(e.item, items))
            keep = np.ones(eids.size, bool)
            mx = 0.5 * (e.ax[eids] + e.bx[eids])
            my = 0.5 * (e.ay[eids] + e.by[eids])
            own = e.item[eids]
            for j in items:
                other = own != j
                if other.any():
                    shapely.prepare(b.item_geoms[j])
                    inside = shapely.contains_xy(b.item_geoms[j], mx[other], my[other])
                    keep[np.flatnonzero(other)[inside]] = False
            self._country[code] = EdgeSet.build(b, eids[keep])
        return self._country[code]

    def zone_edges(self, name: str) -> EdgeSet:
        """Edges of the user zones called ``name``."""
        key = "zone:" + name
        if key not in self._country:
            b = self.b
            items = [i for i, n in enumerate(b.item_names) if n == name and b.item_kind[i] == 2]
            self._country[key] = EdgeSet.build(
                b, np.flatnonzero(np.isin(b.index.edges.item, items))
            )
        return self._country[key]


def _border(b: Boundaries) -> BorderDistance:
    cached = b.extras.get("border_distance_reference")
    if not isinstance(cached, BorderDistance):
        cached = BorderDistance(b)
        b.extras["border_distance_reference"] = cached
    return cached


def border_distance_reference(
    b: Boundaries, kind: str, name: str, lon: FloatArray, lat: FloatArray, max_distance_m: float
) -> FloatArray:
    """Unsigned distance (m) to the border of country ``name`` (kind ``airspace_entry``)
    or to the boundary of zone ``name`` (kind ``zone_entry``), capped."""
    border = _border(b)
    edges = border.border_edges(name) if kind == "airspace_entry" else border.zone_edges(name)
    return edges.distance(np.asarray(lon, np.float64), np.asarray(lat, np.float64), max_distance_m)


def boundary_distance_m_reference(
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
    >>> d = boundary_distance_m_reference(b, [0.5, 2.0], [0.5, 0.5], [0, 1], [("AAA",), ()])
    >>> [round(float(v) / 1000, 1) for v in d]
    [55.6, -111.2]
    """
    x = np.asarray(lon, dtype=np.float64).ravel()
    y = np.asarray(lat, dtype=np.float64).ravel()
    g = np.asarray(group, dtype=np.int64).ravel()
    out = np.full(x.size, np.nan)
    g = np.where(np.isfinite(x) & np.isfinite(y), g, -1)
    border = _border(b)
    for k in sorted_unique(g[g >= 0]).tolist():
        idx = np.flatnonzero(g == k)
        codes = tuple(group_countries[k])
        if not codes:
            out[idx] = -border.outside(x[idx], y[idx], max_distance_m)
            continue
        d = np.full(idx.size, max_distance_m)
        for code in codes:
            d = np.minimum(d, border.border_edges(code).distance(x[idx], y[idx], max_distance_m))
        out[idx] = d
    return out
