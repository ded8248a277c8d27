"""Make boundary polygons valid and keep their longitudes within [-180, 180].

Invalid features are repaired where the intent is clear, with one
:class:`BoundaryWarning` per file naming every repaired feature:

* an invalid part (self-intersecting ring, hole outside its shell) goes through
  ``shapely.make_valid(method="structure")``, which keeps the union of what the
  rings enclose;
* parts that overlap are merged;
* a part nested inside another part of the same feature is an enclave (made a
  hole, as for Lesotho inside South Africa) when it is nested an odd number of
  times *and* another feature of the file covers it; otherwise it is a duplicate
  and merged.

Rings that jump across the antimeridian (179.9 -> -179.9) are unwrapped, and
polygons extending beyond +/-180 (for example 0..360 longitudes) are cut at the
antimeridian and shifted back, so every polygon lies within [-180, 180].
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import shapely

from overflight.airspace.sources import RawLayer
from overflight.errors import BoundaryError

GeomArray = npt.NDArray[np.object_]
_POLYGON = 3


class BoundaryWarning(UserWarning):
    """A boundary file was usable only after a repair or a reprojection."""


def _polygons(geom: shapely.Geometry) -> GeomArray:
    parts: GeomArray = shapely.get_parts(geom)
    out: GeomArray = parts[shapely.get_type_id(parts) == _POLYGON]
    return out


def _unwrap_ring(xy: npt.NDArray[np.float64], ref_x: float) -> npt.NDArray[np.float64]:
    dx = np.diff(xy[:, 0])
    shift = np.where(np.abs(dx) > 180.0, -360.0 * np.round(dx / 360.0), 0.0)
    out = xy.copy()
    out[1:, 0] += np.cumsum(shift)
    out[:, 0] += 360.0 * np.round((ref_x - out[0, 0]) / 360.0)
    return out


def _features_with_jumps(geoms: GeomArray) -> npt.NDArray[np.int64]:
    """Indices of features with a ring edge longer than 180 deg of longitude."""
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy, vert_of = shapely.get_coordinates(rings, return_index=True)
    same = vert_of[1:] == vert_of[:-1]
    a, b = xy[:-1, 0], xy[1:, 0]
    seam = (np.abs(a) == 180.0) & (np.abs(b) == 180.0)  # planar edge along a polar cap
    jump = same & ~seam & (np.abs(b - a) > 180.0)
    return np.unique(part_of[ring_of[vert_of[:-1][jump]]])


def _has_jump(geom: shapely.Geometry) -> bool:
    return _features_with_jumps(np.array([geom], dtype=object)).size > 0


def unwrap_antimeridian(geom: shapely.Geometry) -> shapely.Geometry:
    """Unwrap rings that jump across the antimeridian into continuous longitudes.

    Examples
    --------
    >>> g = shapely.Polygon([(179, 0), (-179, 0), (-179, 1), (179, 1)])
    >>> unwrap_antimeridian(g).bounds
    (179.0, 0.0, 181.0, 1.0)
    """
    if not _has_jump(geom):
        return geom
    polys = []
    for part in _polygons(geom):
        shell = _unwrap_ring(shapely.get_coordinates(part.exterior), 0.0)
        ref = float(shell[0, 0])
        holes = [_unwrap_ring(shapely.get_coordinates(r), ref) for r in part.interiors]
        polys.append(shapely.Polygon(shell, holes))
    return shapely.MultiPolygon(polys)


def split_antimeridian(geom: shapely.Geometry) -> shapely.Geometry:
    """Cut a valid polygon at +/-180 and shift the outer pieces back into range.

    Examples
    --------
    >>> g = split_antimeridian(shapely.box(179, 0, 181, 1))
    >>> sorted(p.bounds for p in g.geoms)
    [(-180.0, 0.0, -179.0, 1.0), (179.0, 0.0, 180.0, 1.0)]
    """
    xmin, _, xmax, _ = shapely.bounds(geom)
    if xmin >= -180.0 and xmax <= 180.0:
        return geom
    pieces = []
    for k in (-1, 0, 1):
        clip = shapely.intersection(geom, shapely.box(-180 + 360 * k, -90, 180 + 360 * k, 90))
        if not shapely.is_empty(clip):
            pieces.append(_polygons(shapely.transform(clip, lambda xy, k=k: xy - [360.0 * k, 0])))
    return shapely.multipolygons(np.concatenate(pieces))


def _fix_parts(parts: GeomArray) -> GeomArray:
    ok = shapely.is_valid(parts)
    if ok.all():
        return parts
    fixed = shapely.make_valid(parts[~ok], method="structure", keep_collapsed=False)
    return np.concatenate([parts[ok], *(_polygons(g) for g in fixed)])


def repair_feature(
    geom: shapely.Geometry, covered_elsewhere: Callable[[GeomArray], npt.NDArray[np.bool_]]
) -> tuple[shapely.Geometry, str]:
    """Valid version of ``geom`` and a one-line account of what changed.

    ``covered_elsewhere(points)`` tells whether another feature of the same
    file covers each point (that makes a nested part an enclave, not a duplicate).
    """
    parts = _fix_parts(_polygons(geom))
    result = shapely.multipolygons(parts)
    merged = holes_made = duplicates = 0
    if not shapely.is_valid(result):
        tree = shapely.STRtree(parts)
        a, b = tree.query(parts)
        a, b = a[a < b], b[a < b]
        nv = shapely.get_num_coordinates(parts)
        big = np.where(nv[a] >= nv[b], a, b)
        small = np.where(nv[a] >= nv[b], b, a)
        shapely.prepare(parts)
        hit = shapely.intersects(parts[big], parts[small]) & ~shapely.touches(
            parts[big], parts[small]
        )
        big, small = big[hit], small[hit]
        nested = shapely.contains_properly(parts[big], parts[small])
        depth = np.bincount(small[nested], minlength=parts.size)
        hole = np.zeros(parts.size, bool)
        odd = np.flatnonzero(depth % 2 == 1)
        if odd.size:
            hole[odd] = covered_elsewhere(shapely.point_on_surface(parts[odd]))
        involved = np.zeros(parts.size, bool)
        involved[big] = involved[small] = True
        acc: shapely.Geometry = shapely.Polygon()
        for d in np.unique(depth[involved]):
            level = involved & (depth == d)
            acc = shapely.union(acc, shapely.union_all(parts[level & ~hole]))
            if (level & hole).any():
                acc = shapely.difference(acc, shapely.union_all(parts[level & hole]))
        merged = int((~nested).sum())
        holes_made = int(hole.sum())
        duplicates = int(odd.size - holes_made + (depth[depth > 0] % 2 == 0).sum())
        result = shapely.multipolygons(np.concatenate([parts[~involved], _polygons(acc)]))
        if not shapely.is_valid(result):
            result = shapely.multipolygons(
                _polygons(shapely.make_valid(result, method="structure", keep_collapsed=False))
            )
    if shapely.is_empty(result) or not shapely.is_valid(result):
        raise ValueError("no valid polygon could be made")
    a0, a1 = float(shapely.area(geom)), float(shapely.area(result))
    change = 100.0 * (a1 - a0) / a0 if a0 else 0.0
    what = f"{merged} overlapping parts merged, " if merged else ""
    what += f"{duplicates} nested duplicates merged, " if duplicates else ""
    what += f"{holes_made} enclaves made holes, " if holes_made else ""
    return result, f"{what}area {change:+.3f}%"


def repair_layer(layer: RawLayer) -> tuple[GeomArray, list[str]]:
    """Unwrapped, valid, in-range polygons for every feature, and notes on repairs.

    Emits one :class:`BoundaryWarning` naming each repaired feature.

    Raises
    ------
    BoundaryError
        A feature that no repair makes a valid polygon.
    """
    geoms = layer.geoms.copy()
    for i in _features_with_jumps(geoms):
        geoms[i] = unwrap_antimeridian(geoms[i])
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    notes: list[str] = []
    if invalid.size:
        tree = shapely.STRtree(layer.geoms)

        def covered_by_other(points: GeomArray, me: int = -1) -> npt.NDArray[np.bool_]:
            pi, gi = tree.query(points)
            keep = gi != me
            inside = shapely.contains_xy(
                layer.geoms[gi[keep]],
                shapely.get_x(points[pi[keep]]),
                shapely.get_y(points[pi[keep]]),
            )
            return np.bincount(pi[keep][inside], minlength=points.size) > 0

        for i in invalid:
            reason = shapely.is_valid_reason(geoms[i])

            def covered(points: GeomArray, me: int = int(i)) -> npt.NDArray[np.bool_]:
                return covered_by_other(points, me)

            try:
                geoms[i], what = repair_feature(geoms[i], covered)
            except (ValueError, shapely.errors.GEOSException) as exc:
                raise BoundaryError(
                    f"invalid geometry ({reason}) that cannot be repaired: {exc}",
                    layer.path,
                    layer.label(int(i)),
                ) from exc
            notes.append(f"{layer.label(int(i))}: {reason}; repaired with make_valid: {what}")
    for i in np.flatnonzero(np.abs(shapely.bounds(geoms)[:, [0, 2]]).max(axis=1) > 180.0):
        geoms[i] = split_antimeridian(geoms[i])
        notes.append(f"{layer.label(int(i))}: cut at the antimeridian")
    if notes:
        warnings.warn(
            BoundaryWarning(f"{layer.path}: {len(notes)} features changed: " + "; ".join(notes)),
            stacklevel=3,
        )
    return geoms, notes
