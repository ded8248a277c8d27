"""Airspace benchmark: overflight's grid classifier against geopandas ``sjoin``.

Classifies N random points (default 5,000,000, uniform in lon -168..-52,
lat 7..72: North America and its seas) against the default boundaries (npm
``@geo-maps/countries-maritime-10m`` and ``countries-coastline-10m``, as
loaded and repaired by ``overflight.airspace.load_boundaries``).

* overflight: ``Boundaries.classify`` (country set and zone of every point,
  both layers at once). Median of 3 runs; the load / precompute time is
  reported separately (it is cached on disk after the first run).
* geopandas 1.2: ``geopandas.sjoin(points, layer, predicate="within")`` on the
  same repaired polygons, once for the maritime layer (the country) and once
  for the coastline layer (land or territorial sea). One run each.

Disagreements: points whose set of maritime claimants or set of land
claimants differs between the two (must be 0).

Distance section: ``boundary_distance_m`` (signed great-circle distance to
the nearest national-airspace boundary, as ``classify_points`` computes it)
on the positions of the demo's real traffic samples (when the traffic package
is installed) and on 200,000 of the random points; "cold" works out every
cell list and tree in an empty cache folder, "stored" is a new process-like
start that reads the lists back, "warm" a repeat in the same process.  It is
compared with the reference search it replaced
(``overflight.airspace.distance_reference``) on 2,000 track points.

The last line is
``ratio_vs_geopandas: X``: overflight's points/s (both layers) over
geopandas' points/s for the maritime layer alone, the lower of the two ratios
printed.

Run: ``.venv/bin/python bench/airspace.py [N]``
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from overflight.airspace import Boundaries, load_boundaries
from overflight.airspace.borders import CACHE_NAME
from overflight.airspace.distance import boundary_distance_m
from overflight.airspace.distance_reference import boundary_distance_m_reference

BBOX = (-168.0, 7.0, -52.0, 72.0)


def main(n: int) -> None:
    import geopandas as gpd

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = load_boundaries()
    print(f"boundaries: {b}")
    load_s = time.perf_counter() - t0
    print(f"load_s (includes the precompute when the cache is cold): {load_s:.2f}")
    rng = np.random.default_rng(20240601)
    lon = rng.uniform(BBOX[0], BBOX[2], n)
    lat = rng.uniform(BBOX[1], BBOX[3], n)
    print(f"points: {n:,} uniform in lon {BBOX[0]}..{BBOX[2]}, lat {BBOX[1]}..{BBOX[3]}")

    times = []
    for _ in range(3):
        t = time.perf_counter()
        ids = b.classify(lon, lat)
        times.append(time.perf_counter() - t)
    ours_s = float(np.median(times))
    ours = n / ours_s
    print(f"overflight_pts_per_s: {ours:,.0f} (median of {[round(x, 3) for x in times]} s)")

    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    # sets compared through XOR of random 64-bit item keys (Zobrist hashing)
    keys = np.random.default_rng(7).integers(1, 2**63, size=b.item_kind.size, dtype=np.uint64)
    rates = {}
    disagree = np.zeros(n, bool)
    classes = b.index.classes.sets
    for li, layer in enumerate(b.layers):
        offset = sum(la.geoms.size for la in b.layers[:li])
        polys = gpd.GeoDataFrame(
            {"item": np.arange(layer.geoms.size) + offset},
            geometry=list(layer.geoms),
            crs="EPSG:4326",
        )
        t = time.perf_counter()
        joined = gpd.sjoin(points, polys, predicate="within", how="inner")
        dt = time.perf_counter() - t
        rates[layer.kind] = n / dt
        print(f"geopandas_sjoin_{layer.kind}_pts_per_s: {n / dt:,.0f} ({dt:.1f} s)")
        theirs = np.zeros(n, np.uint64)
        np.bitwise_xor.at(theirs, joined.index.to_numpy(), keys[joined["item"].to_numpy()])
        class_key = np.zeros(len(classes), np.uint64)
        for c, items in enumerate(classes):
            for j in items:
                if b.item_kind[j] == li:
                    class_key[c] ^= keys[j]
        disagree |= class_key[ids] != theirs
        del joined, polys
    disagree_n = int(disagree.sum())
    both = n / sum(n / r for r in rates.values())
    print(f"geopandas_sjoin_both_layers_pts_per_s: {both:,.0f}")
    print(f"disagreements: {disagree_n}")
    print(f"ratio_vs_geopandas_both_layers: {ours / both:.1f}")
    distance_section(b, lon[:200_000], lat[:200_000])
    print(f"ratio_vs_geopandas: {ours / rates['maritime']:.1f}")


def _track_points() -> tuple[np.ndarray, np.ndarray] | None:
    """Positions of the demo's real traffic samples (None without the traffic package)."""
    import importlib.util

    from overflight.cli import DEMO_SAMPLES
    from overflight.ingest import read

    spec = importlib.util.find_spec("traffic")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent / "data" / "samples"
    lons, lats = [], []
    for name in DEMO_SAMPLES:
        t = read(root / name)
        lons.append(t.column("longitude").to_numpy(zero_copy_only=False).astype(float))
        lats.append(t.column("latitude").to_numpy(zero_copy_only=False).astype(float))
    lon, lat = np.concatenate(lons), np.concatenate(lats)
    ok = np.isfinite(lon) & np.isfinite(lat)
    return lon[ok], lat[ok]


def _timed(b: Boundaries, lon: np.ndarray, lat: np.ndarray) -> tuple[float, np.ndarray]:
    ids = b.classify(lon, lat)
    t = time.perf_counter()
    d = boundary_distance_m(b, lon, lat, ids, b.info().countries)
    return time.perf_counter() - t, d


def distance_section(b: Boundaries, rand_lon: np.ndarray, rand_lat: np.ndarray) -> None:
    """Speed of the signed boundary distance, cold, from stored lists and warm."""
    print("distance: signed arc distance to the nearest national-airspace boundary")
    tracks = _track_points()
    sets = [("random", rand_lon, rand_lat)]
    if tracks is not None:
        sets.insert(0, ("tracks", *tracks))
    else:
        print("distance_tracks: skipped (pip install --no-deps traffic==2.13 for the samples)")
    real_folder = b.extras.get("cache_folder")
    folder = Path(tempfile.mkdtemp(prefix="overflight-bench-"))
    try:
        if isinstance(real_folder, Path) and (real_folder / f"{CACHE_NAME}.npz").is_file():
            shutil.copy(real_folder / f"{CACHE_NAME}.npz", folder)
        b.extras["cache_folder"] = folder
        for name, x, y in sets:
            b.extras.pop("border_index", None)
            cold, d = _timed(b, x, y)
            b.extras.pop("border_index", None)
            stored, _ = _timed(b, x, y)
            warm = min(_timed(b, x, y)[0] for _ in range(3))
            n = x.size
            print(f"distance_{name}_points: {n:,}")
            print(f"distance_{name}_cold_pts_per_s: {n / cold:,.0f} ({cold:.2f} s)")
            print(f"distance_{name}_stored_pts_per_s: {n / stored:,.0f} ({stored:.2f} s)")
            print(f"distance_{name}_warm_pts_per_s: {n / warm:,.0f} ({warm:.2f} s)")
            if name == "tracks":
                sub = np.linspace(0, n - 1, 2000).astype(int)
                ids = b.classify(x[sub], y[sub])
                t = time.perf_counter()
                ref = boundary_distance_m_reference(b, x[sub], y[sub], ids, b.info().countries)
                ref_s = time.perf_counter() - t
                diff = np.nanmax(np.abs(ref - d[sub]))
                print(f"distance_reference_pts_per_s: {sub.size / ref_s:,.0f} (2,000 track points)")
                print(f"distance_max_abs_diff_vs_reference_m: {diff:.3g}")
    finally:
        b.extras["cache_folder"] = real_folder
        b.extras.pop("border_index", None)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000)
