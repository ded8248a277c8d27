"""The compiled cell-list construction equals the numpy original it replaced.

:func:`~overflight.airspace.cellgeom.undominated` and
:func:`~overflight.airspace.cellgeom.sub_arcs` are compiled loops; the
references below are the numpy code they replaced (whole-array passes, one
dominator at a time, a lexsort to deduplicate the arcs).  Both are run on the
pairs a real build produces (French border: inland, coast, Alps), and the
answers must be identical, not close: the lists are stored on disk and shared.
Also: repeated positions are measured once by
:func:`~overflight.airspace.distance.boundary_distance_m` without changing any
value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from overflight.airspace import Boundaries, cells
from overflight.airspace.cellgeom import cell_ids
from overflight.airspace.cellgeom import sub_arcs as compiled_sub_arcs
from overflight.airspace.cellgeom import undominated as compiled_undominated
from overflight.airspace.cells import CellLists
from overflight.airspace.distance import boundary_distance_m
from overflight.airspace.distance_reference import boundary_distance_m_reference
from overflight.airspace.nearest import MARGIN_M, SampleIndex
from overflight.geodesy import EARTH_RADIUS_M
from support.borders import fresh_border_index

_MU = MARGIN_M / EARTH_RADIUS_M


def _undominated_numpy(
    idx: SampleIndex, c: Any, r: Any, dom: Any, region: Any, samples: Any
) -> np.ndarray:
    """The numpy original: every live pair against dominator j, for j in turn."""
    alive = np.ones(samples.size, bool)
    live = np.arange(samples.size)
    cos_r, sin_r = np.cos(r), np.sin(r)
    xyz = idx.xyz
    for j in range(dom.shape[1]):
        reg, smp = region[live], samples[live]
        cos_h = np.cos(idx.sample_h[smp])
        k = cos_h * np.cos(_MU)
        d = dom[reg, j]
        w = [k * xyz[d, i] - xyz[smp, i] for i in range(3)]
        cc = [c[reg, i] for i in range(3)]
        a = w[0] * cc[0] + w[1] * cc[1] + w[2] * cc[2]
        perp = [w[i] - a * cc[i] for i in range(3)]
        b = np.sqrt(perp[0] * perp[0] + perp[1] * perp[1] + perp[2] * perp[2])
        beaten = a * cos_r[reg] - b * sin_r[reg] > cos_h * np.sin(_MU) + 1e-15
        alive[live[beaten]] = False
        live = live[~beaten]
    return alive


def _sub_arcs_numpy(
    idx: SampleIndex,
    c: Any,
    r: Any,
    dom: Any,
    first: Any,
    per_cell: Any,
    samples: Any,
    nsub: int,
    max_arcs: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The numpy original: every (sub-cell, sample) pair expanded, sorted, deduplicated."""
    ncell = first.size
    sub_of = np.repeat(np.arange(ncell), nsub)
    length = per_cell[sub_of]
    region = np.repeat(np.arange(ncell * nsub), length)
    offset = np.arange(region.size) - np.repeat(np.cumsum(length) - length, length)
    cand = samples[first[sub_of[region]] + offset]
    alive = _undominated_numpy(idx, c, r, dom, region, cand)
    region, cand = region[alive], cand[alive]
    arcs = idx.touch[cand].ravel()
    region = np.repeat(region, 2)
    order = np.lexsort((arcs, region))
    region, arcs = region[order], arcs[order]
    keep = arcs >= 0
    keep[1:] &= (arcs[1:] != arcs[:-1]) | (region[1:] != region[:-1])
    region, arcs = region[keep], arcs[keep]
    count = np.bincount(region, minlength=ncell * nsub)
    crowded = count > max_arcs
    count[crowded] = 0
    return count, arcs[~crowded[region]]


def test_compiled_lists_equal_numpy(boundaries: Boundaries, monkeypatch: Any) -> None:
    index = fresh_border_index(boundaries, "FRA")  # no cache file: every cell is built here
    calls = {"undominated": 0, "sub_arcs": 0}

    def undominated(*args: Any) -> np.ndarray:
        got = compiled_undominated(*args)
        np.testing.assert_array_equal(got, _undominated_numpy(*args))
        calls["undominated"] += int(got.size > 0 and not got.all() and got.any())
        return got

    def sub_arcs(*args: Any) -> tuple[np.ndarray, np.ndarray]:
        got = compiled_sub_arcs(*args)
        want = _sub_arcs_numpy(*args)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        calls["sub_arcs"] += int(got[1].size > 0)
        return got

    monkeypatch.setattr("overflight.airspace.cells.undominated", undominated)
    monkeypatch.setattr("overflight.airspace.cells.sub_arcs", sub_arcs)
    rng = np.random.default_rng(11)
    # inland (Orleans), the coast of Brittany, the Swiss border by Geneva
    lon = np.concatenate([rng.uniform(1.5, 2.5, 300), rng.uniform(-4.6, -4.1, 300)])
    lat = np.concatenate([rng.uniform(47.5, 48.0, 300), rng.uniform(48.2, 48.6, 300)])
    lon = np.concatenate([lon, rng.uniform(5.9, 6.3, 300)])
    lat = np.concatenate([lat, rng.uniform(46.1, 46.4, 300)])
    uniq = np.unique(cell_ids(lon, lat, cells.RES_DEG))
    lists = CellLists(index)
    lists.slots(uniq[::2])
    lists.slots(uniq[1::2])  # appended after the first lists
    assert calls["undominated"] >= 2 and calls["sub_arcs"] >= 2  # some pruned, some kept
    assert (lists.base[lists.slots(uniq)] >= 0).any()


def test_repeated_positions_are_measured_once(boundaries: Boundaries) -> None:
    """Consecutive repeats of a position (an aircraft reporting the same fix) get
    the value of their first occurrence, which is the value measured alone."""
    rng = np.random.default_rng(4)
    lon = np.concatenate([rng.uniform(-5, 10, 300), [np.nan], rng.uniform(-80, -70, 100)])
    lat = np.concatenate([rng.uniform(42, 52, 300), [np.nan], rng.uniform(35, 45, 100)])
    times = rng.integers(1, 4, lon.size)
    ids = boundaries.classify(lon, lat)
    countries = boundaries.info().countries
    once = boundary_distance_m(boundaries, lon, lat, ids, countries)
    rep_lon, rep_lat, rep_ids = (np.repeat(v, times) for v in (lon, lat, ids))
    again = boundary_distance_m(boundaries, rep_lon, rep_lat, rep_ids, countries)
    np.testing.assert_array_equal(again, np.repeat(once, times))
    # a repeat in another class (a skipped point) is not taken for the previous one
    skip = rep_ids.copy()
    skip[1::2] = -1
    masked = boundary_distance_m(boundaries, rep_lon, rep_lat, skip, countries)
    assert np.isnan(masked[1::2]).all()
    np.testing.assert_array_equal(masked[::2], again[::2])
    ref = boundary_distance_m_reference(boundaries, lon[:60], lat[:60], ids[:60], countries)
    np.testing.assert_allclose(once[:60], ref, rtol=1e-6, atol=0.01)
