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
claimants differs between the two (must be 0).  The last line is
``ratio_vs_geopandas: X``: overflight's points/s (both layers) over
geopandas' points/s for the maritime layer alone, the lower of the two ratios
printed.

Run: ``.venv/bin/python bench/airspace.py [N]``
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from overflight.airspace import load_boundaries

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
    print(f"ratio_vs_geopandas: {ours / rates['maritime']:.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000)
