"""A first run with several workers on a machine without the boundary cache.

Every worker loads the boundaries; without a cache each would build it at
once, and print the same repair warnings.  The run builds it once first
(overflight.engine._prepare_boundaries), so the workers find it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from overflight import engine
from overflight.airspace import BoundaryWarning, boundaries_cached

CALIBRATION = ("ajaccio", "bornholm", "cardiff", "funchal")


def _geojson(path: Path, features: list[tuple[str, shapely.Geometry]]) -> Path:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"ISO_A3": code},
                "geometry": json.loads(shapely.to_geojson(g)),
            }
            for code, g in features
        ],
    }
    path.write_text(json.dumps(doc))
    return path


def test_workers_find_the_boundary_cache_built_once(
    traffic_samples: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OVERFLIGHT_CACHE", str(tmp_path / "cache"))  # workers inherit it
    # around Corsica (the ajaccio calibration flight); one polygon crosses itself
    bowtie = shapely.Polygon([(8, 41), (10, 43), (10, 41), (8, 43)])
    maritime = _geojson(tmp_path / "sea.geojson", [("FRA", bowtie)])
    land = _geojson(tmp_path / "land.geojson", [("FRA", shapely.box(8.5, 41.5, 9.5, 42.5))])
    spec = engine.ContextSpec(boundaries=str(maritime), land=str(land))
    assert not boundaries_cached(maritime, land)
    # four aircraft in two partitions: one for each worker
    flights = [traffic_samples / "calibration" / f"{f}.json.gz" for f in CALIBRATION]
    with pytest.warns(BoundaryWarning, match="sea.geojson"):
        res = engine.run(flights, tmp_path / "out", context=spec, workers=2, partitions=2)
    assert len(json.loads((tmp_path / "out" / "run.json").read_text())["partition_seconds"]) >= 2
    assert boundaries_cached(maritime, land)
    assert res.points > 0
    # the workers (their stderr is this process's) warned of nothing
    err = capfd.readouterr().err
    assert "sea.geojson" not in err and "Self-intersection" not in err
    # and the points were placed with those boundaries
    countries = engine.read_dataset(res.points_dir, columns=["country"])["country"].to_pylist()
    assert set(countries) - {None} == {"FRA"}
