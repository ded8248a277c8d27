"""Boundary files: bad files get clear errors, invalid polygons are repaired, the cache works."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import pytest
import shapely
from pyogrio.raw import write

from overflight.airspace import BoundaryWarning, load_boundaries, sources
from overflight.errors import BoundaryError


def _geojson(
    path: Path, features: list[tuple[dict[str, Any], Any]], crs: str | None = None
) -> Path:
    doc: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(g))}
            for props, g in features
        ],
    }
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc))
    return path


def _load(maritime: Path, **kw: Any) -> Any:
    return load_boundaries(maritime, land=False, cache_dir=False, **kw)


def _countries(b: Any, x: list[float], y: list[float]) -> list[list[str]]:
    info = b.info()
    return [info.countries[i] if i >= 0 else None for i in b.classify(x, y)]


def test_self_intersecting_polygon_is_repaired_with_a_warning(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    assert not shapely.is_valid(bowtie)
    f = _geojson(
        tmp_path / "b.geojson", [({"A3": "ABC"}, shapely.box(5, 5, 6, 6)), ({"A3": "AAA"}, bowtie)]
    )
    with pytest.warns(BoundaryWarning, match=r"feature 1 \(AAA\): Self-intersection"):
        b = _load(f)
    assert shapely.is_valid(b.item_geoms).all()
    assert _countries(b, [1.5, 0.5, 1.0, 5.5], [1.0, 1.0, 0.5, 5.5]) == [
        ["AAA"],
        ["AAA"],
        [],
        ["ABC"],
    ]


def test_nested_shell_is_an_enclave_only_when_another_feature_covers_it(tmp_path: Path) -> None:
    outer = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(4, 4, 6, 6)])
    dup = shapely.MultiPolygon([shapely.box(20, 0, 30, 10), shapely.box(24, 4, 26, 6)])
    f = _geojson(
        tmp_path / "n.geojson",
        [({"A3": "ZAF"}, outer), ({"A3": "LSO"}, shapely.box(4, 4, 6, 6)), ({"A3": "VNM"}, dup)],
    )
    with pytest.warns(BoundaryWarning, match=r"feature 0 \(ZAF\).*1 enclaves made holes"):
        b = _load(f)
    assert _countries(b, [5.0, 2.0, 25.0, 21.0], [5.0, 2.0, 5.0, 1.0]) == [
        ["LSO"],
        ["ZAF"],
        ["VNM"],
        ["VNM"],
    ]


def test_missing_iso_property_names_file_and_feature(tmp_path: Path) -> None:
    f = _geojson(tmp_path / "noiso.geojson", [({"name": "somewhere"}, shapely.box(0, 0, 1, 1))])
    with pytest.raises(BoundaryError, match="no ISO 3166-1 alpha-3") as err:
        _load(f)
    assert err.value.path == str(f) and err.value.record == "feature 0"
    assert "['name']" in str(err.value)


def test_bad_iso_value_names_the_feature(tmp_path: Path) -> None:
    f = _geojson(
        tmp_path / "bad.geojson",
        [
            ({"ISO_A3": "FRA"}, shapely.box(0, 0, 1, 1)),
            ({"ISO_A3": "-99"}, shapely.box(2, 0, 3, 1)),
        ],
    )
    with pytest.raises(BoundaryError, match="'-99'; expected a three-letter") as err:
        _load(f)
    assert err.value.record == "feature 1"


def test_a_fallback_code_property_fills_a_bad_value(tmp_path: Path) -> None:
    f = _geojson(
        tmp_path / "ne.geojson", [({"ISO_A3": "-99", "ADM0_A3": "KOS"}, shapely.box(0, 0, 1, 1))]
    )
    assert _countries(_load(f), [0.5], [0.5]) == [["KOS"]]


def test_projected_geojson_is_reprojected(tmp_path: Path) -> None:
    to_merc = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    box = shapely.transform(
        shapely.box(1, 1, 2, 2), lambda xy: np.column_stack(to_merc.transform(*xy.T))
    )
    f = _geojson(
        tmp_path / "merc.geojson", [({"A3": "AAA"}, box)], crs="urn:ogc:def:crs:EPSG::3857"
    )
    with pytest.warns(BoundaryWarning, match="reprojected from EPSG:3857"):
        b = _load(f)
    assert _countries(b, [1.5, 2.5], [1.5, 1.5]) == [["AAA"], []]


def _shapefile(path: Path, geom: Any, crs: str | None) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyogrio warns when writing without a CRS
        write(
            path,
            np.array([shapely.to_wkb(geom)], dtype=object),
            [np.array(["AAA"], dtype=object)],
            ["ISO_A3"],
            driver="ESRI Shapefile",
            geometry_type="Polygon",
            crs=crs,
        )
    return path


def test_projected_shapefile_is_reprojected_and_without_prj_is_refused(tmp_path: Path) -> None:
    to_merc = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    box = shapely.transform(
        shapely.box(10, 40, 11, 41), lambda xy: np.column_stack(to_merc.transform(*xy.T))
    )
    with pytest.warns(BoundaryWarning, match="reprojected"):
        b = _load(_shapefile(tmp_path / "merc.shp", box, "EPSG:3857"))
    assert _countries(b, [10.5], [40.5]) == [["AAA"]]
    bare = _shapefile(tmp_path / "bare.shp", box, None)
    bare.with_suffix(".prj").unlink(missing_ok=True)
    with pytest.raises(
        BoundaryError, match=r"not longitude/latitude degrees.*declares no CRS"
    ) as err:
        _load(bare)
    assert err.value.record == "feature 0 (AAA)"


def test_non_polygon_unreadable_and_missing_files(tmp_path: Path) -> None:
    line = _geojson(
        tmp_path / "line.geojson", [({"A3": "AAA"}, shapely.LineString([(0, 0), (1, 1)]))]
    )
    with pytest.raises(BoundaryError, match="LineString; expected Polygon or MultiPolygon"):
        _load(line)
    junk = tmp_path / "junk.geojson"
    junk.write_bytes(b"\x00\x01 not a vector file")
    with pytest.raises(BoundaryError, match="cannot read as a vector file"):
        _load(junk)
    with pytest.raises(BoundaryError, match="file not found"):
        _load(tmp_path / "absent.geojson")


def test_missing_default_data_says_how_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVERFLIGHT_NODE_MODULES", str(tmp_path))
    monkeypatch.setattr(sources, "__file__", str(tmp_path / "pkg" / "sources.py"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        BoundaryError, match=r"run `npm install` in the project, or pass --boundaries"
    ):
        load_boundaries(cache_dir=False)


def test_antimeridian_polygons_are_cut_and_work_on_both_sides(tmp_path: Path) -> None:
    beyond = shapely.box(179.0, -18.0, 181.0, -16.0)  # 0..360 style longitudes
    jumping = shapely.Polygon([(179.0, 60.0), (-179.0, 60.0), (-179.0, 62.0), (179.0, 62.0)])
    f = _geojson(tmp_path / "am.geojson", [({"A3": "FJI"}, beyond), ({"A3": "RUS"}, jumping)])
    with pytest.warns(BoundaryWarning, match="cut at the antimeridian"):
        b = _load(f)
    assert (np.abs(shapely.bounds(b.item_geoms)) <= 180.0).all()
    got = _countries(
        b, [179.5, -179.5, 178.5, 179.5, -179.5, 0.0], [-17.0, -17.0, -17.0, 61.0, 61.0, 61.0]
    )
    assert got == [["FJI"], ["FJI"], [], ["RUS"], ["RUS"], []]


def test_joint_claims_from_marine_regions_style_properties(tmp_path: Path) -> None:
    props = {"ISO_TER1": "SDN", "ISO_TER2": "EGY", "ISO_TER3": None, "GEONAME": "Halaib"}
    f = _geojson(tmp_path / "mr.geojson", [(props, shapely.box(35, 22, 36, 23))])
    b = _load(f)
    assert _countries(b, [35.5], [22.5]) == [["EGY", "SDN"]]
    assert b.info().country[b.classify([35.5], [22.5])[0]] == "EGY/SDN"


def test_cache_round_trip(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    f = _geojson(
        tmp_path / "c.geojson", [({"A3": "AAA"}, bowtie), ({"A3": "BBB"}, shapely.box(5, 5, 6, 6))]
    )
    zones = _geojson(tmp_path / "z.geojson", [({"name": "ADIZ"}, shapely.box(4, 4, 7, 7))])
    with pytest.warns(BoundaryWarning):
        first = load_boundaries(f, land=False, zones=[zones], cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache" / "airspace").iterdir())
    second = load_boundaries(f, land=False, zones=zones, cache_dir=tmp_path / "cache")
    assert [la.kind for la in second.layers] == ["maritime", "zones"]
    assert second.layers[0].notes == first.layers[0].notes and second.layers[0].notes
    x, y = [1.5, 5.5, 4.5, 9.0], [1.0, 5.5, 4.5, 9.0]
    for b in (first, second):
        info = b.info()
        ids = b.classify(x, y)
        assert [info.countries[i] for i in ids] == [["AAA"], ["BBB"], [], []]
        assert [info.zones[i] for i in ids] == [[], ["ADIZ"], ["ADIZ"], []]


def test_old_boundary_caches_are_pruned_when_a_new_one_is_written(tmp_path: Path) -> None:
    """Five boundary files, each its own cache folder: after the writes, the
    three most recently used folders remain, plus any used within the grace period."""
    import os

    from overflight.airspace import cache

    root = tmp_path / "cache"
    files = [
        _geojson(tmp_path / f"c{i}.geojson", [({"A3": "AAA"}, shapely.box(i, 0, i + 1, 1))])
        for i in range(5)
    ]
    folders = []
    for i, f in enumerate(files[:4]):
        b = load_boundaries(f, land=False, cache_dir=root)
        folder = b.extras["cache_folder"]
        folders.append(folder)
        # pretend each was last used i + 1 days ago, the first the longest ago
        old = 1_000_000_000 - (4 - i) * 86_400 * 2
        os.utime(folder / "meta.json", (old, old))
    leftover = root / "airspace" / ".tmp-interrupted"
    leftover.mkdir()
    os.utime(leftover, (1_000_000_000, 1_000_000_000))
    # loading the second again marks it used now: it stays
    load_boundaries(files[1], land=False, cache_dir=root)
    newest = load_boundaries(files[4], land=False, cache_dir=root).extras["cache_folder"]
    left = sorted(p.name for p in (root / "airspace").iterdir())
    # kept: the new one, the second (used just now), the fourth (the most recent of the rest)
    assert left == sorted([newest.name, folders[1].name, folders[3].name])
    # a pruned set loads again (rebuilt), and nothing in use is removed
    again = load_boundaries(files[0], land=False, cache_dir=root)
    assert (
        again.classify([0.5], [0.5]).tolist()
        == load_boundaries(files[0], land=False, cache_dir=False).classify([0.5], [0.5]).tolist()
    )
    assert cache.prune(root / "airspace") == []  # all used within the grace period now
