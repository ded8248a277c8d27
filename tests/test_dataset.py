"""The partitioned GeoParquet layout: written by the engines and ``store export``, read back.

Expected values come from independent readers: GeoPandas (GeoParquet
metadata and WKB), shapely (WKB bytes), pyarrow.dataset (hive partitions),
pandas (UTC dates).
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight import clean, ingest, store
from overflight.errors import StoreError
from overflight.schema import MESSAGE_SCHEMA, TIMESTAMP, conform
from overflight.store.dataset import (
    dataset_files,
    is_dataset,
    iter_batches,
    read_dataset,
    wkb_points,
    write_dataset,
)
from overflight.store.export import export
from overflight.store.layout import LAYOUT_FILE, key_path, partition_keys, split_by_key


@pytest.fixture(scope="module")
def messages(traffic_samples: Path) -> pa.Table:
    t = ingest.read(traffic_samples / "military" / "inflight_refuelling.json.gz")
    u = ingest.read(traffic_samples / "surveys" / "texas.json.gz")
    return pa.concat_tables([conform(t), conform(u)]).replace_schema_metadata(None)


def test_wkb_matches_shapely() -> None:
    lon = np.array([2.35, -122.4, 179.99])
    lat = np.array([48.85, 37.7, -45.0])
    ours = wkb_points(lon, lat).to_pylist()
    theirs = [bytes(b) for b in shapely.to_wkb(shapely.points(lon, lat), byte_order=1)]
    assert ours == theirs


def test_days_geometry_and_geo_metadata(messages: pa.Table, tmp_path: Path) -> None:
    import geopandas

    files = write_dataset(messages, tmp_path)
    assert is_dataset(tmp_path)
    expected_days = set(pd.Series(messages.column("timestamp").to_pandas()).dt.strftime("%Y-%m-%d"))
    assert {f.parent.name[4:] for f in files} == expected_days
    for f in files:
        gdf = geopandas.read_parquet(f)
        ok = gdf["latitude"].notna() & gdf["longitude"].notna()
        assert np.allclose(gdf.geometry[ok].x, gdf["longitude"][ok])
        assert np.allclose(gdf.geometry[ok].y, gdf["latitude"][ok])
        assert gdf.crs is not None and gdf.crs.to_string() == "OGC:CRS84"  # the default
        geo = json.loads(pq.read_metadata(f).metadata[b"geo"])
        lo, hi = gdf.geometry[ok].total_bounds[:2], gdf.geometry[ok].total_bounds[2:]
        assert geo["columns"]["geometry"]["bbox"] == [*map(float, lo), *map(float, hi)]
        day = f.parent.name[4:]
        assert set(gdf["timestamp"].dt.strftime("%Y-%m-%d")) == {day}


def test_hive_readers_see_the_day_column(messages: pa.Table, tmp_path: Path) -> None:
    write_dataset(messages, tmp_path, region_deg=10)
    ds = pads.dataset(tmp_path, format="parquet", partitioning="hive", exclude_invalid_files=True)
    t = ds.to_table(columns=["timestamp", "latitude", "longitude", "day", "region"]).to_pandas()
    assert (t["timestamp"].dt.strftime("%Y-%m-%d") == t["day"].astype(str)).all()
    ok = t["latitude"].notna()
    lat0 = (np.floor(t.loc[ok, "latitude"] / 10) * 10).astype(int)
    lon0 = (np.floor(t.loc[ok, "longitude"] / 10) * 10).astype(int)
    names = [
        f"{'N' if a >= 0 else 'S'}{abs(a):02d}{'E' if o >= 0 else 'W'}{abs(o):03d}"
        for a, o in zip(lat0, lon0, strict=True)
    ]
    assert list(t.loc[ok, "region"].astype(str)) == names


def test_read_back_and_day_filter(messages: pa.Table, tmp_path: Path) -> None:
    write_dataset(messages, tmp_path)
    back = read_dataset(tmp_path, columns=MESSAGE_SCHEMA.names)
    key = [("icao24", "ascending"), ("timestamp", "ascending"), ("latitude", "ascending")]
    assert back.sort_by(key).equals(messages.sort_by(key))
    days = sorted({f.parent.name[4:] for f in dataset_files(tmp_path)})
    one = read_dataset(tmp_path, days=(days[0], days[0]))
    dates = pd.Series(one.column("timestamp").to_pandas()).dt.strftime("%Y-%m-%d")
    assert set(dates) == {days[0]}
    batches = list(iter_batches(dataset_files(tmp_path), ["icao24"], batch_rows=500))
    assert max(b.num_rows for b in batches) <= 500
    assert sum(b.num_rows for b in batches) == messages.num_rows


def test_store_export_streams_points(messages: pa.Table, tmp_path: Path) -> None:
    points, flights = clean.run(messages)
    db = tmp_path / "store.duckdb"
    aid = store.append(db, {"points": points, "flights": flights}, label="t")
    store.append(db, {"points": points.slice(0, 10)}, label="other")
    res = export(db, tmp_path / "out", analysis_id=aid, batch_rows=3000)
    assert res.rows == points.num_rows
    info = json.loads((tmp_path / "out" / LAYOUT_FILE).read_text())
    assert info["rows"] == points.num_rows and "analysis_id" in info["columns"]
    back = read_dataset(tmp_path / "out").drop_columns(["analysis_id"])
    assert back.column("timestamp").type == TIMESTAMP
    key = [("icao24", "ascending"), ("timestamp", "ascending"), ("latitude", "ascending")]
    assert back.select(points.column_names).sort_by(key).equals(points.sort_by(key))
    with pytest.raises(StoreError, match="not empty"):
        export(db, tmp_path / "out")
    with pytest.raises(StoreError, match="no table"):
        export(db, tmp_path / "other", table="nope")


def coords(limit: float) -> st.SearchStrategy[float]:
    return st.one_of(st.just(float("nan")), st.floats(-limit, limit, allow_nan=False))


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(-(2**40), 2**40).map(lambda s: s * 10**6),
            st.sampled_from(["abc123", "4ca7b5", "000001"]),
            coords(90.0),
            coords(180.0),
        ),
        min_size=1,
        max_size=40,
    ),
    region=st.sampled_from([None, 1, 30]),
)
def test_any_rows_round_trip(
    rows: list[tuple[int, str, float, float]],
    region: int | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    t, icao, lat, lon = zip(*rows, strict=True)
    table = conform(
        pa.table(
            {
                "timestamp": pa.array(t, pa.int64()).cast(TIMESTAMP),
                "icao24": list(icao),
                "latitude": pa.array(lat, pa.float64(), from_pandas=True),
                "longitude": pa.array(lon, pa.float64(), from_pandas=True),
            }
        )
    )
    root = tmp_path_factory.mktemp("rt")
    write_dataset(table, root, region_deg=region)
    back = read_dataset(root, columns=MESSAGE_SCHEMA.names)
    key = [(c, "ascending") for c in ("timestamp", "icao24", "latitude", "longitude")]
    assert back.sort_by(key).equals(table.sort_by(key))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 400)), min_size=1, max_size=12))
def test_split_by_key_is_a_stable_sort(runs: list[tuple[int, int]]) -> None:
    """Both paths (block copies of long runs, one take for short runs) vs numpy's stable sort."""
    keys = np.repeat([k for k, _ in runs], [n for _, n in runs]).astype(np.int64)
    table = pa.table({"row": np.arange(len(keys)), "s": [f"r{i}" for i in range(len(keys))]})
    got = list(split_by_key(table, keys))
    order = np.argsort(keys, kind="stable")
    assert [k for k, _ in got] == sorted(set(keys.tolist()))
    assert pa.concat_tables([t for _, t in got]).equals(table.take(order))


def test_encodings_keep_what_readers_read(messages: pa.Table, tmp_path: Path) -> None:
    """Dictionaries only for strings, no geometry statistics; DuckDB reads the same values."""
    import duckdb

    files = write_dataset(messages, tmp_path)
    meta = pq.read_metadata(files[0])
    chunks = {
        meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i)
        for i in range(meta.num_columns)
    }
    assert "RLE_DICTIONARY" in chunks["icao24"].encodings
    assert "RLE_DICTIONARY" not in chunks["latitude"].encodings
    assert not chunks["geometry"].is_stats_set and chunks["timestamp"].is_stats_set
    for f in files:
        ours = pq.read_table(f)
        rel = duckdb.sql(f"SELECT * FROM read_parquet('{f}')")
        assert rel is not None
        theirs = rel.to_arrow_table()
        for name in ("icao24", "callsign", "latitude", "altitude", "geometry"):
            assert ours.column(name).to_pylist() == theirs.column(name).to_pylist()
        assert (
            ours.column("timestamp")
            .cast(pa.int64())
            .equals(theirs.column("timestamp").cast(TIMESTAMP).cast(pa.int64()))
        )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-(10**18), 4 * 10**18)),
            st.one_of(st.none(), st.floats(-90, 90)),
            st.floats(-180, 180),
            st.text("0123456789abcdef", min_size=6, max_size=6),
        ),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from([None, 1, 10, 90]),
    st.one_of(st.none(), st.integers(1, 65_535)),
)
def test_partition_folders_match_their_rows(
    rows: list[tuple[int | None, float | None, float, str]],
    region: int | None,
    buckets: int | None,
) -> None:
    """Each row's folders (day, region, bucket), from independent computations of each level."""
    t = pa.table(
        {
            "timestamp": pa.array([r[0] for r in rows], TIMESTAMP),
            "latitude": pa.array([r[1] for r in rows], pa.float64()),
            "longitude": [r[2] for r in rows],
            "icao24": [r[3] for r in rows],
        }
    )
    got = [key_path(int(k), region, buckets) for k in partition_keys(t, region, buckets)]
    for (ns, lat, lon, icao), path in zip(rows, got, strict=True):
        levels = dict(p.split("=", 1) for p in path.split("/"))
        day = "__HIVE_DEFAULT_PARTITION__" if ns is None else str(pd.Timestamp(ns, tz="UTC").date())
        assert levels["day"] == day
        if region is not None and lat is None:
            assert levels["region"] == "none"
        elif region is not None:
            south = int(min(lat, 89.999999) // region) * region
            west = int((((lon + 180.0) % 360.0) - 180.0) // region) * region
            ns_, ew = ("N" if south >= 0 else "S"), ("E" if west >= 0 else "W")
            assert levels["region"] == f"{ns_}{abs(south):02d}{ew}{abs(west):03d}"
        if buckets is not None:
            assert int(levels["bucket"]) == zlib.crc32(icao.encode()) % buckets
        assert ("bucket" in levels) == (buckets is not None)
