"""Tabular exports: CSV with ISO 8601 UTC times, and GeoParquet 1.1 points.

The GeoParquet file keeps every column of the points table (invalid rows
included: they are part of the evidence) and adds a ``geometry`` column of WKB
points (null where a row has no position), described by the ``geo`` key of the
Parquet metadata as the GeoParquet 1.1 specification asks.  Only pyarrow and
numpy are needed to write it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from overflight.report._frame import column, iso_utc
from overflight.store.layout import wkb_points

GEOPARQUET_VERSION = "1.1.0"


def csv_frame(table: pa.Table | None) -> pd.DataFrame:
    """The table as a DataFrame whose timestamp columns are ISO 8601 UTC strings.

    Examples
    --------
    >>> t = pa.table({"t": pa.array([0], pa.timestamp("ns", tz="UTC")), "n": [1]})
    >>> csv_frame(t).to_dict("records")
    [{'t': '1970-01-01T00:00:00Z', 'n': 1}]
    """
    if table is None:
        return pd.DataFrame()
    data: dict[str, Any] = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_timestamp(col.type):
            values = column(table, name)
            assert values is not None
            data[name] = pd.Series(iso_utc(values), dtype=object)
        elif pa.types.is_nested(col.type):
            data[name] = pd.Series([None if v is None else json.dumps(v) for v in col.to_pylist()])
        else:
            data[name] = col.to_pandas()
    return pd.DataFrame(data)


def write_csv(path: str | Path, table: pa.Table | None) -> Path:
    """Write ``table`` as UTF-8 CSV with a header row; nulls are empty fields."""
    out = Path(path)
    csv_frame(table).to_csv(out, index=False, lineterminator="\n")
    return out


def _crs84() -> dict[str, Any] | None:
    try:
        from pyproj import CRS
    except ImportError:  # pragma: no cover - pyproj is a core dependency
        return None
    projjson: dict[str, Any] = CRS.from_user_input("OGC:CRS84").to_json_dict()
    return projjson


def geo_metadata(lon: np.ndarray[Any, Any], lat: np.ndarray[Any, Any]) -> dict[str, Any]:
    """The GeoParquet ``geo`` metadata for a WKB point column named ``geometry``."""
    ok = np.isfinite(lon) & np.isfinite(lat)
    bbox = (
        [float(lon[ok].min()), float(lat[ok].min()), float(lon[ok].max()), float(lat[ok].max())]
        if ok.any()
        else []
    )
    spec: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": ["Point"],
        "edges": "planar",
    }
    crs = _crs84()
    if crs is not None:
        spec["crs"] = crs
    if bbox:
        spec["bbox"] = bbox
    return {
        "version": GEOPARQUET_VERSION,
        "primary_column": "geometry",
        "columns": {"geometry": spec},
    }


def points_with_geometry(points: pa.Table) -> pa.Table:
    """``points`` plus a WKB ``geometry`` column and the GeoParquet metadata."""
    lon = column(points, "longitude")
    lat = column(points, "latitude")
    assert lon is not None and lat is not None
    table = points.drop_columns([c for c in points.column_names if c == "geometry"])
    table = table.append_column("geometry", wkb_points(lon, lat))
    meta = dict(table.schema.metadata or {})
    meta[b"geo"] = json.dumps(geo_metadata(lon, lat)).encode()
    return table.replace_schema_metadata(meta)


def write_geoparquet(path: str | Path, points: pa.Table) -> Path:
    """Write the points table as GeoParquet 1.1 (zstd-compressed Parquet)."""
    out = Path(path)
    pq.write_table(points_with_geometry(points), out, compression="zstd")
    return out
