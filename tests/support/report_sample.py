"""Real-data tables for the report tests (the ``report_sample`` fixture in conftest.py).

Everything is computed here from real inputs, never made up:

* positions: three real flights shipped with the traffic package (a US Navy
  flight off San Diego, a UK border-patrol flight over the Channel, a French
  Air Force tanker over France);
* boundaries: land (``@geo-maps/countries-coastline-10m``) and land plus
  territorial sea (``@geo-maps/countries-maritime-10m``) from node_modules;
* zone and country of each position: point-in-polygon against those;
* airspace entries: runs of positions inside a country's airspace that follow
  positions outside it; the depth is the largest distance to that country's
  airspace boundary, measured in a local azimuthal equidistant projection;
* orbits: the 30-minute window with the largest cumulative turn, when it
  turns at least twice; its radius is the median distance to the window's
  centre;
* observation reach: each flight's convex hull, buffered by 0.1 degree and
  cut to the land of the countries it flew over;
* registry country and military flag: the ICAO 24-bit allocation and the
  military ranges in ../shared/data (omitted when absent).

``tests/test_report_sample.py`` checks that the tables are what they claim.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from pyproj import Geod, Transformer

from overflight.report import write_report
from support.samples import read_sample

ROOT = Path(__file__).resolve().parents[2]
GEO_MAPS = ROOT / "node_modules" / "@geo-maps"
SAMPLES = (
    "military/aircraft_carrier.json.gz",
    "surveillance/border_control.json.gz",
    "military/inflight_refuelling.json.gz",
)
COUNTRIES = ("USA", "MEX", "GBR", "FRA", "BEL", "ESP", "AND", "CHE", "ITA", "MCO", "JEY", "GGY")
ISO2_TO_3 = {"us": "USA", "gb": "GBR", "fr": "FRA"}  # only the three registries sampled
NM_M = 1852.0
FOCUS = "FRA"


@dataclass
class Sample:
    """The tables ``overflight.report.write_report`` takes, and the frame they came from."""

    points: pa.Table
    flights: pa.Table
    events: pa.Table
    reach: pa.Table
    features: list[dict[str, Any]]
    frame: pd.DataFrame


def read_tracks(samples: Path) -> pd.DataFrame:
    """The :data:`SAMPLES` as one points frame: ``source``, ``flight_id``, all valid."""
    frames = []
    for rel in SAMPLES:
        df = read_sample(samples, rel)
        df["source"] = rel
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    first = df.groupby("icao24")["timestamp"].transform("min")
    df["flight_id"] = df["icao24"] + "_" + first.dt.strftime("%Y%m%dT%H%M%SZ")
    df["valid"] = True
    df["reject_reason"] = None
    return df.sort_values(["flight_id", "timestamp"], ignore_index=True)


def regions(df: pd.DataFrame, margin_deg: float = 3.0) -> list[tuple[float, float, float, float]]:
    """A box around each sample's positions (the boundaries are cut to these, for speed)."""
    box = df.groupby("source").agg(
        w=("longitude", "min"), s=("latitude", "min"), e=("longitude", "max"), n=("latitude", "max")
    )
    return [
        (r.w - margin_deg, r.s - margin_deg, r.e + margin_deg, r.n + margin_deg)
        for r in box.itertuples()
    ]


def read_boundaries(
    boxes: list[tuple[float, float, float, float]], countries: tuple[str, ...] = COUNTRIES
) -> dict[tuple[str, str], Any]:
    """(iso3, 'land' | 'airspace') -> geometry within ``boxes``, read one feature a line."""
    out: dict[tuple[str, str], Any] = {}
    for package, kind in (
        ("countries-coastline-10m", "land"),
        ("countries-maritime-10m", "airspace"),
    ):
        path = GEO_MAPS / package / "map.geo.json"
        if not path.is_file():
            pytest.skip(f"needs {path} (run npm install)")
        with open(path, "rb") as fh:
            for line in fh:
                i = line.rfind(b'"A3":"')
                if i < 0 or line[i + 6 : i + 9].decode() not in countries:
                    continue
                feat = json.loads(line.rstrip().rstrip(b","))
                geom = shapely.from_geojson(json.dumps(feat["geometry"]))
                parts = [shapely.clip_by_rect(geom, *box) for box in boxes]
                polys = [
                    p for p in shapely.get_parts(parts) if p.geom_type == "Polygon" and p.area > 0
                ]
                out[(feat["properties"]["A3"], kind)] = _polygonal(
                    shapely.make_valid(shapely.MultiPolygon(polys))
                )
    return out


def _polygonal(geom: Any) -> Any:
    parts = shapely.get_parts(shapely.get_parts(geom))
    return shapely.MultiPolygon([p for p in parts if p.geom_type == "Polygon"])


def boundary_features(polys: dict[tuple[str, str], Any]) -> list[dict[str, Any]]:
    zone = {"land": "land", "airspace": "territorial_sea"}
    return [
        {
            "type": "Feature",
            "properties": {"iso3": iso, "zone": zone[kind]},
            "geometry": json.loads(shapely.to_geojson(geom)),
        }
        for (iso, kind), geom in polys.items()
    ]


def add_zones(df: pd.DataFrame, polys: dict[tuple[str, str], Any]) -> pd.DataFrame:
    df = df.copy()
    lon, lat = df["longitude"].to_numpy(), df["latitude"].to_numpy()
    ok = np.isfinite(lon) & np.isfinite(lat)
    box = (np.nanmin(lon) - 1, np.nanmin(lat) - 1, np.nanmax(lon) + 1, np.nanmax(lat) + 1)
    country = np.full(len(df), None, dtype=object)
    zone = np.where(ok, "international", None).astype(object)
    for (iso, kind), geom in polys.items():
        if kind != "airspace":
            continue
        inside = ok & shapely.contains_xy(shapely.clip_by_rect(geom, *box), lon, lat)
        land = ok & shapely.contains_xy(shapely.clip_by_rect(polys[(iso, "land")], *box), lon, lat)
        country[inside] = iso
        zone[inside] = np.where(land[inside], "land", "territorial_sea")
    df["country"], df["zone"] = country, zone
    return df


def _depth_m(lat: np.ndarray, lon: np.ndarray, airspace: Any) -> float:
    lat0, lon0 = float(np.mean(lat)), float(np.mean(lon))
    aeqd = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m"
    fwd = Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
    box = (lon0 - 3, lat0 - 3, lon0 + 3, lat0 + 3)
    edge = shapely.boundary(shapely.clip_by_rect(airspace, *box))
    edge_m = shapely.transform(edge, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))
    x, y = fwd.transform(lon, lat)
    return float(shapely.distance(shapely.points(x, y), edge_m).max())


def entry_events(df: pd.DataFrame, polys: dict[tuple[str, str], Any]) -> list[dict[str, Any]]:
    rows = []
    for fid, g in df[df["latitude"].notna()].groupby("flight_id", sort=True):
        country = g["country"].fillna("").to_numpy()
        run_id = np.cumsum(np.r_[True, country[1:] != country[:-1]])
        for rid in np.unique(run_id):
            sel = run_id == rid
            iso = country[sel][0]
            if not iso or rid == 1:  # outside, or already inside when first seen
                continue
            run = g[sel]
            nxt = g.iloc[min(np.flatnonzero(sel)[-1] + 1, len(g) - 1)]
            details = {
                "max_depth_m": _depth_m(
                    run["latitude"].to_numpy(),
                    run["longitude"].to_numpy(),
                    polys[(iso, "airspace")],
                ),
                "over_land": bool((run["zone"] == "land").any()),
                "exit_latitude": float(nxt["latitude"]),
                "exit_longitude": float(nxt["longitude"]),
                "authorized": None,
            }
            start, stop = run["timestamp"].iloc[0], nxt["timestamp"]
            rows.append(
                {
                    "flight_id": fid,
                    "icao24": run["icao24"].iloc[0],
                    "kind": "airspace_entry",
                    "start": start,
                    "stop": stop,
                    "latitude": float(run["latitude"].iloc[0]),
                    "longitude": float(run["longitude"].iloc[0]),
                    "duration_s": (stop - start).total_seconds(),
                    "country": iso,
                    "details": json.dumps(details),
                }
            )
    return rows


def turn_events(df: pd.DataFrame, window_s: float = 1800.0) -> list[dict[str, Any]]:
    geod = Geod(ellps="WGS84")
    rows = []
    for fid, g in df[df["latitude"].notna() & df["track"].notna()].groupby("flight_id", sort=True):
        t = g["timestamp"].astype("int64").to_numpy() / 1e9
        turn = np.r_[0.0, np.cumsum(np.diff(np.unwrap(np.radians(g["track"].to_numpy()))))]
        end = np.searchsorted(t, t + window_s, side="right") - 1
        total = np.abs(turn[end] - turn)
        i = int(np.argmax(total))
        if total[i] < 4 * np.pi:
            continue
        w = g.iloc[i : end[i] + 1]
        lat0, lon0 = float(w["latitude"].mean()), float(w["longitude"].mean())
        _, _, dist = geod.inv(
            np.full(len(w), lon0),
            np.full(len(w), lat0),
            w["longitude"].to_numpy(),
            w["latitude"].to_numpy(),
        )
        radius_nm = float(np.median(dist)) / NM_M
        kind = "orbit" if radius_nm < 10 else "racetrack"
        details: dict[str, Any] = {"n_turns": round(float(total[i]) / (2 * np.pi), 1)}
        if kind == "orbit":
            details["radius_nm"] = radius_nm
        else:
            details["leg_length_nm"] = float(np.max(dist)) * 2 / NM_M
        start, stop = w["timestamp"].iloc[0], w["timestamp"].iloc[-1]
        rows.append(
            {
                "flight_id": fid,
                "icao24": w["icao24"].iloc[0],
                "kind": kind,
                "start": start,
                "stop": stop,
                "latitude": lat0,
                "longitude": lon0,
                "duration_s": (stop - start).total_seconds(),
                "country": None,
                "details": json.dumps(details),
            }
        )
    return rows


def _registry(icao: pd.Series, shared: Path | None) -> dict[str, Any]:
    if shared is None:
        return {}
    alloc = pd.read_csv(shared / "icao_allocation" / "icao24_allocation_tar1090.csv", dtype=str)
    mil = json.loads((shared / "icao_allocation" / "tar1090db_military_ranges.json").read_text())
    code = icao.map(lambda h: int(h, 16))
    lo, hi = (
        alloc["start_hex"].map(lambda h: int(h, 16)),
        alloc["end_hex"].map(lambda h: int(h, 16)),
    )

    def country(c: int) -> Any:
        hit = alloc[(lo <= c) & (c <= hi)]
        return (
            ISO2_TO_3.get(str(hit["iso2"].iloc[-1]), str(hit["iso2"].iloc[-1]).upper())
            if len(hit)
            else None
        )

    ranges = [(int(a, 16), int(b, 16)) for a, b in mil["military"]]
    return {
        "registry_country": code.map(country),
        "military": code.map(lambda c: any(a <= c <= b for a, b in ranges)),
    }


def flights_frame(df: pd.DataFrame, events: pd.DataFrame, shared: Path | None) -> pd.DataFrame:
    fl = (
        df.groupby("flight_id", sort=True)
        .agg(
            icao24=("icao24", "first"),
            callsign=("callsign", "first"),
            start=("timestamp", "min"),
            stop=("timestamp", "max"),
            n_points=("timestamp", "size"),
        )
        .reset_index()
    )
    for key, values in _registry(fl["icao24"], shared).items():
        fl[key] = values
    pat = events[events["kind"].isin(["orbit", "racetrack"])]
    share = pat.groupby("flight_id")["duration_s"].sum() / (
        (fl.set_index("flight_id")["stop"] - fl.set_index("flight_id")["start"]).dt.total_seconds()
    )
    fl["mission"] = fl["flight_id"].map(
        lambda f: "patrol" if f in set(pat["flight_id"]) else "transit"
    )
    fl["mission_confidence"] = fl["flight_id"].map(share).fillna(0.5).astype(float)
    fl["mission_reason"] = fl["flight_id"].map(
        lambda f: (
            "; ".join(
                f"{r.kind}, {r.duration_s / 60:.0f} min"
                for r in pat[pat.flight_id == f].itertuples()
            )
            or "no pattern found"
        )
    )
    return fl


def reach_frame(df: pd.DataFrame, polys: dict[tuple[str, str], Any]) -> pd.DataFrame:
    geod = Geod(ellps="WGS84")
    rows = []
    for fid, g in df[df["latitude"].notna()].groupby("flight_id", sort=True):
        hull = shapely.convex_hull(
            shapely.multipoints(g[["longitude", "latitude"]].to_numpy())
        ).buffer(0.1)
        for iso in sorted(set(g["country"].dropna())):
            part = shapely.intersection(hull, polys[(iso, "land")])
            if part.is_empty:
                continue
            area = abs(geod.geometry_area_perimeter(part)[0]) / 1e6
            rows.append(
                {
                    "flight_id": fid,
                    "country": iso,
                    "area_km2": area,
                    "geometry": shapely.to_geojson(part),
                }
            )
    return pd.DataFrame(rows)


def build(samples: Path, shared: Path | None) -> Sample:
    """The report tables of :data:`SAMPLES` (registry columns only when ``shared`` is given)."""
    tracks = read_tracks(samples)
    polys = read_boundaries(regions(tracks))
    df = add_zones(tracks, polys)
    ev = pd.DataFrame(entry_events(df, polys) + turn_events(df))
    for col in ("start", "stop"):
        ev[col] = pd.to_datetime(ev[col], utc=True).astype("datetime64[ns, UTC]")
    fl = flights_frame(df, ev, shared)
    cols = [c for c in df.columns if c not in ("origin", "destination", "roll", "TAS")]
    points = pa.Table.from_pandas(df[cols], preserve_index=False)
    flights = pa.Table.from_pandas(fl, preserve_index=False)
    events = pa.Table.from_pandas(ev, preserve_index=False)
    reach = pa.Table.from_pandas(reach_frame(df, polys), preserve_index=False)
    return Sample(points, flights, events, reach, boundary_features(polys), df)


def shared_or_none() -> Path | None:
    """../shared/data when present (the registry columns need it), else None."""
    p = ROOT.parent / "shared" / "data"
    return p if p.is_dir() else None


def write_sample_report(
    folder: Path, sample: Sample, params: Mapping[str, Any], *, boundaries: bool = True
) -> dict[str, Path]:
    """``overflight.report.write_report`` of all of ``sample``'s tables into ``folder``.

    ``boundaries=False`` leaves the boundary features out (the report draws none).
    """
    return write_report(
        folder,
        sample.points,
        sample.flights,
        sample.events,
        sample.reach,
        boundary_features=sample.features if boundaries else None,
        params=params,
    )
