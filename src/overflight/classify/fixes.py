"""Histograms over a flight's raw fixes, in the manner of BuzzFeed News (2017).

BuzzFeed's spy-plane finder described each aircraft by the share of its
transponder detections in bins of *steer* (the change of track between
consecutive detections), speed and altitude, plus flight duration and the
area of its bounding box.  These features are computed the same way here, per
flight, from the raw fixes of the points table (valid and airborne only).
Track and ground speed come from positions where the feed gives none: the
BuzzFeed RNC extract carries no ground speed at all, and an empty speed
histogram would otherwise become a fingerprint of that one source.

The mission model uses them next to the resampled features of
:mod:`overflight.classify.features`; ``bench/missions.py`` uses them alone as
its baseline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from overflight.geodesy import NM_M, bearing_deg, haversine_m

STEER_BINS = (-180.0, -25.0, -10.0, -4.0, -1.0, 1.0, 4.0, 10.0, 25.0, 180.01)
SPEED_BINS = (0.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 400.0, 500.0, 1e9)
ALT_BINS = (-1e9, 1000.0, 2500.0, 5000.0, 7500.0, 10000.0, 15000.0, 20000.0, 30000.0, 1e9)

FIX_FEATURES: tuple[str, ...] = (
    *(f"fix_steer_{i}" for i in range(len(STEER_BINS) - 1)),
    *(f"fix_speed_{i}" for i in range(len(SPEED_BINS) - 1)),
    *(f"fix_alt_{i}" for i in range(len(ALT_BINS) - 1)),
    "fix_duration_h",
    "fix_bbox_area_deg2",
)


def _shares(
    key: np.ndarray, values: np.ndarray, bins: tuple[float, ...], name: str
) -> pd.DataFrame:
    ok = np.isfinite(values)
    b = np.clip(np.digitize(values[ok], bins) - 1, 0, len(bins) - 2)
    tab = pd.crosstab(key[ok], b, normalize="index")
    tab = tab.reindex(columns=range(len(bins) - 1), fill_value=0.0)
    tab.columns = [f"fix_{name}_{i}" for i in range(len(bins) - 1)]
    return tab


def _column(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.full(len(df), np.nan)
    return np.asarray(pd.to_numeric(df[name], errors="coerce"), dtype=np.float64)


def fix_histograms(points: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """Steer, speed and altitude shares, duration and box area, per flight_id.

    Examples
    --------
    >>> df = pd.DataFrame({"flight_id": "a", "timestamp":
    ...     pd.to_datetime([0, 60, 120], unit="s", utc=True),
    ...     "latitude": [0.0, 0.0, 0.0], "longitude": [0.0, 0.05, 0.1]})
    >>> f = fix_histograms(df)
    >>> float(f.loc["a", "fix_speed_3"]), float(f.loc["a", "fix_duration_h"])
    (1.0, 0.03333333333333333)
    """
    df = points.to_pandas() if isinstance(points, pa.Table) else points
    keep = df["latitude"].notna() & df["longitude"].notna() & df["flight_id"].notna()
    if "valid" in df.columns:
        keep &= df["valid"].fillna(False).astype(bool)
    if "onground" in df.columns:
        keep &= ~df["onground"].fillna(False).astype(bool)
    df = df.loc[keep].sort_values(["flight_id", "timestamp"], kind="stable")
    if len(df) == 0:
        return pd.DataFrame(columns=list(FIX_FEATURES), dtype=float)
    key = df["flight_id"].astype(str).to_numpy()
    lat, lon = _column(df, "latitude"), _column(df, "longitude")
    same = np.r_[False, key[1:] == key[:-1]]
    t = (pd.to_datetime(df["timestamp"], utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    dt = np.r_[np.nan, np.diff(t.to_numpy())]
    course = np.r_[np.nan, bearing_deg(lat[:-1], lon[:-1], lat[1:], lon[1:])]
    # a course between two flights' fixes belongs to neither
    course = np.where(same, course, np.nan)
    dist = np.r_[np.nan, haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])]
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.where(same & (dt > 0), dist / NM_M / dt * 3600.0, np.nan)
    gs, trk = _column(df, "groundspeed"), _column(df, "track")
    gs = np.where(np.isfinite(gs), gs, speed)
    trk = np.where(np.isfinite(trk), trk, course)
    steer = np.r_[np.nan, (trk[1:] - trk[:-1] + 180.0) % 360.0 - 180.0]
    steer[~same] = np.nan
    parts = [
        _shares(key, steer, STEER_BINS, "steer"),
        _shares(key, gs, SPEED_BINS, "speed"),
        _shares(key, _column(df, "altitude"), ALT_BINS, "alt"),
    ]
    g = pd.DataFrame({"k": key, "t": t.to_numpy(), "lat": lat, "lon": lon}).groupby("k")
    extent = pd.DataFrame(
        {
            "fix_duration_h": (g["t"].max() - g["t"].min()) / 3600.0,
            "fix_bbox_area_deg2": (g["lat"].max() - g["lat"].min())
            * (g["lon"].max() - g["lon"].min()),
        }
    )
    out = pd.concat([*parts, extent], axis=1).reindex(columns=list(FIX_FEATURES)).fillna(0.0)
    out.index.name = None
    return out
