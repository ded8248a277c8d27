"""Distance from each point to one country's national airspace (for trends)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.airspace.boundaries import Boundaries
from overflight.airspace.distance import border_distance


def distance_to_country_m(
    points: pa.Table, b: Boundaries, iso3: str, max_distance_m: float = 500_000.0
) -> npt.NDArray[np.float64]:
    """Metres from each point to ``iso3``'s national airspace: 0 inside, NaN unknown.

    A point counts as inside when ``iso3`` is one of its claimants (the
    ``countries`` column :func:`~overflight.airspace.classify_points` adds);
    outside, the distance is the arc distance to that country's border,
    capped at ``max_distance_m`` (farther points get ``inf``).
    """
    n = points.num_rows
    out = np.full(n, np.nan)
    if n == 0:
        return out
    lat = points.column("latitude").to_numpy(zero_copy_only=False).astype(np.float64)
    lon = points.column("longitude").to_numpy(zero_copy_only=False).astype(np.float64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if "valid" in points.column_names:
        ok &= points.column("valid").fill_null(False).to_numpy(zero_copy_only=False)
    inside = np.zeros(n, dtype=bool)
    if "countries" in points.column_names:
        claims = points.column("countries").to_pylist()
        inside = np.fromiter((bool(c) and iso3 in c for c in claims), dtype=bool, count=n)
    out[ok & inside] = 0.0
    rest = np.flatnonzero(ok & ~inside)
    if rest.size and iso3 in b.country_codes:
        d = border_distance(b, "airspace_entry", iso3, lon[rest], lat[rest], max_distance_m)
        out[rest] = np.where(d >= max_distance_m, np.inf, d)
    elif rest.size:
        out[rest] = np.inf
    return out
