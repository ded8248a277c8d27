"""The grid classifier gives shapely's exact answers, including on and near edges."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.airspace.boundaries import Boundaries, Layer
from overflight.airspace.grid import orient, sorted_unique
from overflight.airspace.index import GridIndex


def _layer(kind: str, geoms: list[shapely.Geometry], codes: list[str]) -> Layer:
    return Layer(
        kind, "-", np.array(geoms, dtype=object), tuple((c,) for c in codes), ("",) * len(codes)
    )


def _shapely_sets(geoms: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[tuple[int, ...]]:
    inside = np.stack([shapely.contains_xy(g, x, y) for g in geoms])
    return [tuple(np.flatnonzero(inside[:, i]).tolist()) for i in range(x.size)]


@pytest.fixture(scope="module")
def synthetic() -> Boundaries:
    """Overlapping, holed, concave and antimeridian polygons at grid-aligned and odd coordinates."""
    star = shapely.Polygon(
        [
            (10 + 3 * np.cos(a) * (1 + (k % 2)), 45 + 3 * np.sin(a) * (1 + (k % 2)))
            for k, a in enumerate(np.linspace(0, 2 * np.pi, 23)[:-1])
        ]
    )
    holed = shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (3, 1), (3, 3), (1, 3)]])
    maritime = [
        shapely.box(-1.0, -1.0, 2.5, 2.5),  # overlaps the holed square
        holed,
        star,
        shapely.MultiPolygon(
            [shapely.box(179.5, -17.0, 180.0, -16.0), shapely.box(-180.0, -17.0, -179.5, -16.0)]
        ),
        shapely.box(-0.125, 50.0, 0.125, 50.125),  # edges on grid lines
    ]
    land = [shapely.box(-0.5, -0.5, 1.0, 1.0), star.buffer(-1.0)]
    return Boundaries(
        [
            _layer("maritime", maritime, ["AAA", "BBB", "CCC", "FJI", "GRD"]),
            _layer("land", land, ["AAA", "CCC"]),
        ]
    )


def _check(b: Boundaries, x: np.ndarray, y: np.ndarray) -> None:
    got = [b.index.classes.sets[c] for c in b.classify(x, y)]
    assert got == _shapely_sets(b.item_geoms, x, y)


def test_random_points_match_shapely(synthetic: Boundaries) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-3, 16, 20_000)
    y = rng.uniform(-3, 52, 20_000)
    _check(synthetic, x, y)


def test_points_on_and_near_edges_match_shapely(synthetic: Boundaries) -> None:
    e = synthetic.index.edges
    rng = np.random.default_rng(2)
    t = rng.uniform(0, 1, len(e))
    on_x, on_y = e.ax + t * (e.bx - e.ax), e.ay + t * (e.by - e.ay)
    for x, y in (
        (e.ax, e.ay),  # vertices
        (on_x, on_y),  # on edges (up to rounding)
        (on_x + rng.normal(0, 1e-13, len(e)), on_y + rng.normal(0, 1e-13, len(e))),
        (on_x + rng.normal(0, 1e-9, len(e)), on_y + rng.normal(0, 1e-9, len(e))),
        (np.round(on_x * 64) / 64, np.round(on_y * 64) / 64),  # on grid lines
    ):
        # the classifier wraps longitudes to [-180, 180) first
        x = np.where((x < -180.0) | (x >= 180.0), (x + 180.0) % 360.0 - 180.0, x)
        _check(synthetic, x, y)


def test_antimeridian_both_sides(synthetic: Boundaries) -> None:
    ids = synthetic.classify([179.75, -179.75, 179.75, 180.25], [-16.5, -16.5, -17.5, -16.5])
    sets = [synthetic.index.classes.sets[i] for i in ids]
    assert sets == [(3,), (3,), (), (3,)]  # 180.25 wraps to -179.75


def test_missing_coordinates_and_empty_input(synthetic: Boundaries) -> None:
    ids = synthetic.classify([np.nan, 0.5, 10.0], [0.5, np.nan, 95.0])
    assert ids.tolist() == [-1, -1, -1]
    assert synthetic.classify([], []).size == 0


def test_classes_describe_countries_and_zones(synthetic: Boundaries) -> None:
    info = synthetic.info()
    ids = synthetic.classify([0.5, 2.0, 3.5, 10.0, 30.0], [0.5, 2.0, 3.5, 45.0, 30.0])
    assert [info.countries[i] for i in ids] == [["AAA", "BBB"], ["AAA"], ["BBB"], ["CCC"], []]
    assert [info.country[i] for i in ids] == ["AAA/BBB", "AAA", "BBB", "CCC", None]
    assert [int(info.zone[i]) for i in ids] == [2, 1, 1, 2, 0]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-20, 20), st.floats(-20, 20)), min_size=3, max_size=9, unique=True
    ),
    st.integers(0, 2**32 - 1),
)
def test_random_polygons_match_shapely(vertices: list[tuple[float, float]], seed: int) -> None:
    poly = shapely.make_valid(shapely.Polygon(vertices))
    poly = shapely.multipolygons(
        shapely.get_parts(poly)[shapely.get_type_id(shapely.get_parts(poly)) == 3]
    )
    if shapely.is_empty(poly):
        return
    geoms = np.array([poly, shapely.box(-5, -5, 5, 5)], dtype=object)
    idx = GridIndex.build(geoms, lambda x, y: _shapely_sets(geoms, np.asarray(x), np.asarray(y)))
    rng = np.random.default_rng(seed)
    xy = shapely.get_coordinates(poly)
    x = np.concatenate([rng.uniform(-21, 21, 300), xy[:, 0], (xy[:-1, 0] + xy[1:, 0]) / 2])
    y = np.concatenate([rng.uniform(-21, 21, 300), xy[:, 1], (xy[:-1, 1] + xy[1:, 1]) / 2])
    got = [idx.classes.sets[c] for c in idx.classify(x, y)]
    assert got == _shapely_sets(geoms, x, y)


def test_orient_filter_flags_collinear_points() -> None:
    a = np.array([0.1, 0.1, 0.1])
    det, unsure = orient(a, a, a * 3, a * 3, np.array([0.2, 0.2, 0.25]), np.array([0.2, 0.3, 0.25]))
    assert unsure.tolist() == [True, False, True]
    assert det[1] > 0


def test_sorted_unique_matches_numpy() -> None:
    v = np.random.default_rng(3).integers(0, 50, 1000)
    assert sorted_unique(v).tolist() == np.unique(v).tolist()
