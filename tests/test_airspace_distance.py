"""The fast boundary distance equals the reference search it replaced.

``overflight.airspace.distance_reference`` is the original, slow but simple
search (STRtrees of edge chunks, exact arc distances); every answer here is
compared with it on real tracks, on random points over the whole globe and
near coasts, and on random synthetic boundaries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.airspace import Boundaries, cells
from overflight.airspace.arcs import arc_distance_m, arc_frames, nearest_listed_m, unit_vectors
from overflight.airspace.boundaries import Layer
from overflight.airspace.cellgeom import cell_ids
from overflight.airspace.cells import cell_lists, fast_distance
from overflight.airspace.classify import coordinates
from overflight.airspace.distance import border_distance, border_index, boundary_distance_m
from overflight.airspace.distance_reference import (
    border_distance_reference,
    boundary_distance_m_reference,
)
from overflight.airspace.lookup import sub_lists
from overflight.airspace.nearest import SampleIndex
from overflight.geodesy import destination
from overflight.ingest import read
from support.borders import fresh_border_index


@pytest.fixture
def every_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work out the candidate list of every cell met, however few points it has
    (by default scattered points go to the k-d tree instead)."""
    monkeypatch.setattr(cells, "MIN_POINTS", 1)


def _same(new: np.ndarray, ref: np.ndarray) -> None:
    """Equal NaN pattern and values within 1e-6 relative (1 cm near zero)."""
    assert new.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(new), np.isnan(ref))
    np.testing.assert_allclose(new, ref, rtol=1e-6, atol=0.01)


def _brute_m(b: Boundaries, lon: float, lat: float, codes: list[str], cap: float) -> float:
    """Distance to every border arc of ``codes`` (of every country when empty), capped."""
    borders = border_index(b).borders
    eids = np.unique(np.concatenate([borders.of(c) for c in (codes or borders.codes)]))
    e = b.index.edges
    a = unit_vectors(e.ay[eids], e.ax[eids])
    p = np.broadcast_to(unit_vectors(lat, lon), a.shape)
    d = arc_distance_m(p, arc_frames(a, unit_vectors(e.by[eids], e.bx[eids])))
    return float(min(d.min(), cap))


def _compare(b: Boundaries, lon: np.ndarray, lat: np.ndarray, cap: float = 500_000.0) -> None:
    """Equal to the reference; where it is not, equal to a search of every border arc.

    The reference bounds arcs by the lon/lat boxes of their end points, which
    a great-circle arc leaves (towards the pole): it misses a few arcs along
    parallels (by centimetres) and Antarctica's long ones (by kilometres).
    """
    ids = b.classify(lon, lat)
    countries = b.info().countries
    new = boundary_distance_m(b, lon, lat, ids, countries, cap)
    ref = boundary_distance_m_reference(b, lon, lat, ids, countries, cap)
    np.testing.assert_array_equal(np.isnan(new), np.isnan(ref))
    off = np.flatnonzero(~np.isclose(new, ref, rtol=1e-6, atol=0.01))
    assert off.size <= max(2, lon.size // 200), off
    for i in off.tolist():
        codes = countries[ids[i]]
        brute = _brute_m(b, float(lon[i]), float(lat[i]), codes, cap) * (1 if codes else -1)
        assert new[i] == pytest.approx(brute, rel=1e-9, abs=1e-6)
        assert abs(new[i]) < abs(ref[i])


def test_dal1812_track(boundaries: Boundaries, shared_data: Path, every_cell: None) -> None:
    # Belize -> USA over Mexico and the Gulf: inside, outside, and near coasts
    track = read(shared_data / "trajectories" / "readsb_trace_full_ac671b_DAL1812.json")
    lon, lat = coordinates(track)
    _compare(boundaries, lon[::2], lat[::2])


def test_quickstart_traffic(boundaries: Boundaries, traffic_samples: Path) -> None:
    # airline traffic over France and its neighbours, every 97th report
    table = read(traffic_samples / "collections" / "quickstart.json.gz")
    lon, lat = coordinates(table)
    _compare(boundaries, lon[::97], lat[::97])


def test_random_points_over_the_globe(boundaries: Boundaries) -> None:
    rng = np.random.default_rng(11)
    n = 120
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    lon = rng.uniform(-180.0, 180.0, n)
    _compare(boundaries, lon, lat)


def test_random_points_near_borders(boundaries: Boundaries) -> None:
    # points within 0-40 km of border vertices of random countries, in every direction
    rng = np.random.default_rng(5)
    borders = border_index(boundaries).borders
    edges = boundaries.index.edges
    eids = borders.eids[rng.integers(0, borders.eids.size, 150)]
    bearing, metres = rng.uniform(0, 360, eids.size), rng.uniform(0, 4e4, eids.size)
    lat, lon = destination(edges.ay[eids], edges.ax[eids], bearing, metres)
    # and some points exactly on vertices and edge midpoints
    on = eids[:40]
    lon = np.concatenate([lon, edges.ax[on], 0.5 * (edges.ax[on] + edges.bx[on])])
    lat = np.concatenate([lat, edges.ay[on], 0.5 * (edges.ay[on] + edges.by[on])])
    _compare(boundaries, lon, lat)
    _compare(boundaries, lon[:300], lat[:300], cap=5_000.0)


def test_border_distance_per_country(boundaries: Boundaries, traffic_samples: Path) -> None:
    table = read(traffic_samples / "collections" / "quickstart.json.gz")
    lon, lat = coordinates(table)
    lon, lat = lon[::331], lat[::331]
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon, lat = lon[ok], lat[ok]
    for code, cap in (("FRA", 101_000.0), ("GBR", 500_000.0), ("CHE", 30_000.0), ("XXX", 1e5)):
        new = border_distance(boundaries, "airspace_entry", code, lon, lat, cap)
        ref = border_distance_reference(boundaries, "airspace_entry", code, lon, lat, cap)
        _same(new, ref)


def test_missing_and_skipped_points(boundaries: Boundaries) -> None:
    lon = np.array([2.35, np.nan, 2.35, 400.0, -30.0])
    lat = np.array([48.85, 48.85, np.nan, 48.85, 40.0])
    ids = boundaries.classify(lon, lat)
    countries = boundaries.info().countries
    groups = np.array([ids[0], 0, 0, ids[0], -1])
    new = boundary_distance_m(boundaries, lon, lat, groups, countries)
    ref = boundary_distance_m_reference(boundaries, lon, lat, groups, countries)
    _same(new, ref)
    assert np.isnan(new[1:3]).all() and np.isnan(new[4])
    empty = boundary_distance_m(boundaries, [], [], [], countries)
    assert empty.shape == (0,)


def test_cell_lists_are_stored_and_reused(
    boundaries: Boundaries, tmp_path: Path, every_cell: None
) -> None:
    idx = border_index(boundaries)
    rows = np.searchsorted(idx._union, idx.borders.of("FRA"))
    e = boundaries.index.edges
    chained = np.zeros(rows.size, bool)
    eids = idx._union[rows]
    chained[:-1] = (e.ax[eids[1:]] == e.bx[eids[:-1]]) & (e.ay[eids[1:]] == e.by[eids[:-1]])
    rng = np.random.default_rng(3)
    # inland (around Orleans) and on the coast of Brittany
    lon = np.concatenate([rng.uniform(1.5, 2.5, 1000), rng.uniform(-4.6, -4.1, 1000)])
    lat = np.concatenate([rng.uniform(47.5, 48.0, 1000), rng.uniform(48.2, 48.6, 1000)])
    first = SampleIndex(idx.store, rows, chained, cache_file=tmp_path / "cells-FRA.npz")
    # the cells get a floor only first, then lists: each replaces its slot
    uniq = np.unique(cell_ids(lon, lat, cells.RES_DEG))
    cell_lists(first).slots(uniq, np.zeros(uniq.size, bool), floors=True)
    d1 = fast_distance(first, lon, lat, 500_000.0)
    assert (tmp_path / "cells-FRA.npz").is_file()
    assert cell_lists(first)._keys.size < cell_lists(first).floor_m.size
    again = SampleIndex(idx.store, rows, chained, cache_file=tmp_path / "cells-FRA.npz")
    assert cell_lists(again).floor_m.size == cell_lists(first).floor_m.size
    lists = cell_lists(again)
    listed = lists.base[lists.slots(np.unique(cell_ids(lon, lat, cells.RES_DEG)))] >= 0
    assert listed.all()
    d2 = fast_distance(again, lon, lat, 500_000.0)
    np.testing.assert_array_equal(d1, d2)
    assert again._tree is None  # answered from the stored lists alone
    ref = border_distance_reference(boundaries, "airspace_entry", "FRA", lon, lat, 500_000.0)
    _same(d1, ref)


def _star(rng: np.random.Generator, x: float, y: float, r: float, n: int) -> shapely.Polygon:
    angles = np.sort(rng.uniform(0.0, 2 * np.pi, n))
    radii = r * rng.uniform(0.3, 1.0, n)
    ring = np.column_stack([x + radii * np.cos(angles), y + radii * np.sin(angles)])
    return shapely.Polygon(ring)


def _synthetic(seed: int) -> Boundaries:
    """Random star polygons: overlapping ones of one country, a disputed one, a zone."""
    rng = np.random.default_rng(seed)
    geoms: list[shapely.Geometry] = []
    codes: list[tuple[str, ...]] = []
    for code in ("AAA", "BBB", "CCC"):
        for _ in range(int(rng.integers(1, 4))):
            cx, cy = rng.uniform(-8, 8), rng.uniform(40, 55)
            geoms.append(_star(rng, cx, cy, rng.uniform(0.2, 4.0), int(rng.integers(5, 300))))
            codes.append((code,))
    geoms.append(_star(rng, 0.0, 47.0, 2.0, 40))
    codes.append(("AAA", "BBB"))
    geoms = [shapely.make_valid(g) for g in geoms]
    geoms = [g if g.geom_type in ("Polygon", "MultiPolygon") else g.buffer(0) for g in geoms]
    maritime = Layer("maritime", "-", np.array(geoms), tuple(codes), ("",) * len(geoms))
    land = Layer(
        "land", "-", np.array([g.buffer(-0.1) for g in geoms]), tuple(codes), ("",) * len(geoms)
    )
    zone = Layer("zones", "-", np.array([_star(rng, 1.0, 48.0, 3.0, 60)]), (("",),), ("Z",))
    keep = [la for la in (maritime, land) if all(not g.is_empty for g in la.geoms)]
    return Boundaries([*keep, zone])


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10_000))
def test_synthetic_boundaries(seed: int) -> None:
    cells.MIN_POINTS, default = 1, cells.MIN_POINTS  # hypothesis runs outside fixtures
    try:
        _synthetic_case(seed)
    finally:
        cells.MIN_POINTS = default


def _synthetic_case(seed: int) -> None:
    b = _synthetic(seed)
    rng = np.random.default_rng(seed + 1)
    lon, lat = rng.uniform(-15, 15, 400), rng.uniform(35, 60, 400)
    _compare(b, lon, lat)
    _compare(b, lon[:100], lat[:100], cap=20_000.0)
    new = border_distance(b, "zone_entry", "Z", lon, lat, 300_000.0)
    ref = border_distance_reference(b, "zone_entry", "Z", lon, lat, 300_000.0)
    _same(new, ref)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), spread_deg=st.sampled_from([0.001, 0.1, 5.0, 90.0]))
def test_compiled_list_minimum_equals_numpy_formula(seed: int, spread_deg: float) -> None:
    """:func:`nearest_listed_m` (compiled) equals the minimum of :func:`arc_distance_m`
    (numpy) over each point's list, degenerate (zero-length) arcs and caps included."""
    rng = np.random.default_rng(seed)
    n_arcs, n_pts = 40, 200
    lon0, lat0 = rng.uniform(-180, 180), rng.uniform(-80, 80)
    ax = lon0 + rng.uniform(-spread_deg, spread_deg, n_arcs)
    ay = np.clip(lat0 + rng.uniform(-spread_deg, spread_deg, n_arcs), -90, 90)
    bx = np.where(rng.random(n_arcs) < 0.1, ax, ax + rng.uniform(-1, 1, n_arcs))
    by = np.where(bx == ax, ay, np.clip(ay + rng.uniform(-1, 1, n_arcs), -90, 90))
    frames = np.moveaxis(arc_frames(unit_vectors(ay, ax), unit_vectors(by, bx)), 0, 1)
    p = unit_vectors(
        np.clip(lat0 + rng.uniform(-spread_deg, spread_deg, n_pts), -90, 90),
        lon0 + rng.uniform(-spread_deg, spread_deg, n_pts),
    )
    count = rng.integers(0, 12, n_pts)
    start = np.cumsum(count) - count
    arcs = rng.integers(0, n_arcs, int(count.sum()))
    cap = rng.choice([np.inf, 1e5, 1e3], n_pts)
    got = nearest_listed_m(p, frames, arcs, start, count, cap)
    for i in range(n_pts):
        mine = arcs[start[i] : start[i] + count[i]]
        d = arc_distance_m(p[i][None], np.moveaxis(frames[mine], 1, 0)) if mine.size else []
        want = min([cap[i], *np.asarray(d).tolist()])
        assert got[i] == pytest.approx(want, rel=1e-12, abs=1e-6)


def test_sparse_cells_get_lists_over_several_calls(boundaries: Boundaries) -> None:
    """A cell crossed by a few points per call is worked out once MIN_POINTS have
    come in all (a month streamed in partitions); answers are the same before and after."""
    index = fresh_border_index(boundaries, "FRA")  # no cache file: starts empty
    rng = np.random.default_rng(5)
    per_call = 10
    calls = -(-cells.MIN_POINTS // per_call)
    lon = rng.uniform(2.01, 2.11, (calls, per_call))  # one 0.125-degree cell near Paris
    lat = rng.uniform(48.76, 48.86, (calls, per_call))
    cell = np.unique(cell_ids(lon.ravel(), lat.ravel(), cells.RES_DEG))
    assert cell.size == 1
    got = []
    for i in range(calls):
        assert cell_lists(index)._find(cell)[0] < 0  # not yet: the k-d tree answers
        got.append(fast_distance(index, lon[i], lat[i], 500_000.0))
    lists = cell_lists(index)
    assert lists.base[lists._find(cell)[0]] >= 0  # worked out on the call that made MIN_POINTS
    again = fast_distance(index, lon.ravel(), lat.ravel(), 500_000.0)
    np.testing.assert_array_equal(np.concatenate(got), again)
    ref = border_distance_reference(
        boundaries, "airspace_entry", "FRA", lon.ravel(), lat.ravel(), 500_000.0
    )
    _same(again, ref)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    where=st.sampled_from([(0.0, 45.0), (179.99, 10.0), (-180.0, -89.99), (7.0, 89.999)]),
)
def test_compiled_lookup_equals_cell_arithmetic(seed: int, where: tuple[float, float]) -> None:
    """:func:`sub_lists` picks the sub-cell that :func:`cell_ids` on the fine grid
    gives, and the -1 / -2 cases of its definition, with runs of repeated cells."""
    rng = np.random.default_rng(seed)
    n = 300
    lon = np.repeat(where[0] + rng.uniform(-0.3, 0.3, n // 3), 3)
    lat = np.clip(np.repeat(where[1] + rng.uniform(-0.3, 0.3, n // 3), 3), -90, 90)
    lon = np.where(lon >= 180, lon - 360, lon)
    cell = cell_ids(lon, lat, cells.RES_DEG)
    keys = np.unique(cell)[::2]  # every other cell has a slot
    slot = rng.permutation(keys.size)
    floor = rng.choice([0.0, 1e3, 1e6], keys.size)
    base = np.where(rng.random(keys.size) < 0.2, -1, np.arange(keys.size) * cells.SUB**2)
    counts = rng.integers(0, 3, keys.size * cells.SUB**2)
    start = np.concatenate([[0], np.cumsum(counts)])
    cap = rng.choice([5e5, 10.0], lon.size)
    got = sub_lists(lon, lat, cell, keys, slot, floor, base, start, cap, cells.RES_DEG, cells.SUB)
    fine = cell_ids(lon, lat, cells.RES_DEG / cells.SUB)
    ncol = round(360 / (cells.RES_DEG / cells.SUB))
    for i in range(lon.size):
        k = np.searchsorted(keys, cell[i])
        s = slot[k] if k < keys.size and keys[k] == cell[i] else -1
        if (floor[s] if s >= 0 else 0.0) >= cap[i]:
            want = -2
        elif s < 0 or base[s] < 0:
            want = -1
        else:
            sc = base[s] + (fine[i] // ncol % cells.SUB) * cells.SUB + fine[i] % ncol % cells.SUB
            want = sc if counts[sc] > 0 else -1
        assert got[i] == want
