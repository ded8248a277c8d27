"""Drone-like flight envelope: slow, level and long, from the points of a flight.

Long-endurance unmanned aircraft fly an envelope that few manned aircraft
keep up for hours: slow ground speed at a steady altitude for many hours.
Three envelopes are tested; a flight is ``drone_envelope`` when it stays in
one of them for at least ``min_band_fraction`` of its tracked time, is level
(``|vertical rate| <= level_fpm``) for at least ``min_level_fraction`` of
it, and lasts at least ``min_duration_h``.

================  ==============  =================  ================================
envelope          ground speed    altitude           basis
================  ==============  =================  ================================
``male``          60-200 kt       5,000-30,000 ft    medium-altitude long-endurance
                                                     UAS: USAF fact sheets give the
                                                     MQ-1 a cruise of ~70-90 kt below
                                                     25,000 ft and the MQ-9 a cruise
                                                     of ~200 kt (230 mph); MQ-9s are
                                                     typically tracked at 15-25 kft
``tactical``      25-110 kt       300-15,000 ft      small and tactical UAS on patrol
                                                     (Hermes 450, Heron, Tekever AR5
                                                     class: cruise ~50-100 kt, low
                                                     altitude, > 10 h endurance)
``hale``          any             >= 50,000 ft       high-altitude long-endurance (RQ-4
                                                     at 55-60 kft, U-2): above airline
                                                     ceilings (FL410-FL430) and most
                                                     business jets (up to FL510)
================  ==============  =================  ================================

Level means ``|vertical rate| <= 300 ft/min`` for at least 75 % of the
time.  Measured on the real flights shipped with ``traffic`` (samples
``gliders/``, ``surveys/``, ``tv_relay/``, ``surveillance/``): gliders spend
40-55 % of their time inside that band (thermalling and gliding), powered
aircraft holding an altitude for a survey, a TV relay orbit or a border patrol
(the Tekever AR5 drone of ``border_control``) 82-99 %.

``min_duration_h`` = 4 h: manned light aircraft and helicopters rarely stay
airborne that long at these speeds (typical helicopter endurance is 2-3 h),
while MALE UAS missions last 12-24 h.  Known look-alikes, which the
envelope cannot tell apart from a drone: TV-relay aircraft orbiting a bike
race (``tv_relay/tour_de_france``), survey aircraft on long photo flights
(``surveys/ign_fontainebleau``), aerial-firefighting command aircraft,
airships (30-40 kt at ~1,500 ft for hours).  The envelope is one piece of
evidence, not an identification.

Each point is weighted by the time to the next point of its flight, capped
at ``max_gap_s``, so irregular sampling does not bias the fractions.  Where
``vertical_rate`` is null it is derived from successive altitudes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Columns of the table :func:`flight_envelope` returns.
ENVELOPE_SCHEMA = pa.schema(
    [
        pa.field("flight_id", pa.string()),
        pa.field("n_points", pa.int64()),
        pa.field("duration_h", pa.float64()),
        pa.field("median_groundspeed_kt", pa.float64()),
        pa.field("median_altitude_ft", pa.float64()),
        pa.field("male_fraction", pa.float64()),
        pa.field("tactical_fraction", pa.float64()),
        pa.field("hale_fraction", pa.float64()),
        pa.field("level_fraction", pa.float64()),
        pa.field("vertical_rate_std_fpm", pa.float64()),
        pa.field("envelope", pa.string()),
        pa.field("drone_envelope", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class EnvelopeThresholds:
    """Thresholds of the drone-like envelope; see the module docstring for sources."""

    min_duration_h: float = 4.0
    min_points: int = 20
    min_band_fraction: float = 0.7
    min_level_fraction: float = 0.75
    level_fpm: float = 300.0
    max_gap_s: float = 300.0
    male_speed_kt: tuple[float, float] = (60.0, 200.0)
    male_altitude_ft: tuple[float, float] = (5_000.0, 30_000.0)
    tactical_speed_kt: tuple[float, float] = (25.0, 110.0)
    tactical_altitude_ft: tuple[float, float] = (300.0, 15_000.0)
    hale_min_altitude_ft: float = 50_000.0


FloatArray = npt.NDArray[np.float64]


def _float(points: pa.Table, name: str) -> FloatArray:
    if name not in points.column_names:
        return np.full(points.num_rows, np.nan)
    col = pc.cast(points[name], pa.float64())
    return np.asarray(pc.fill_null(col, np.nan).to_numpy(), dtype=np.float64)


def _columns(points: pa.Table) -> tuple[pa.Array, dict[str, Any]]:
    """Flight dictionary and the sorted numeric columns of the usable points."""
    n = points.num_rows
    enc = pc.dictionary_encode(points["flight_id"].cast(pa.string())).combine_chunks()
    codes = pc.fill_null(enc.indices, -1).to_numpy().astype(np.int64)
    tcol = points["timestamp"]
    per_s = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[getattr(tcol.type, "unit", "ns")]
    ts_int = pc.cast(tcol, pa.int64()).combine_chunks()
    ts = np.where(
        ts_int.is_null().to_numpy(zero_copy_only=False),
        np.nan,
        pc.fill_null(ts_int, 0).to_numpy().astype(np.float64) / per_s,
    )
    valid = np.ones(n, dtype=bool)
    if "valid" in points.column_names:
        valid = np.asarray(pc.fill_null(points["valid"], False).to_numpy(), dtype=bool)
    keep = valid & (codes >= 0) & np.isfinite(ts)
    cols = {
        "code": codes,
        "t": ts,
        "alt": _float(points, "altitude"),
        "gs": _float(points, "groundspeed"),
        "vr": _float(points, "vertical_rate"),
    }
    order = np.flatnonzero(keep)
    order = order[np.lexsort((ts[order], codes[order]))]
    return enc.dictionary, {k: v[order] for k, v in cols.items()}


def flight_envelope(points: pa.Table, thresholds: EnvelopeThresholds | None = None) -> pa.Table:
    """Per flight, the numbers of the drone-like envelope test and its verdict.

    Parameters
    ----------
    points
        The points table: ``flight_id``, ``timestamp``, ``altitude`` (ft),
        ``groundspeed`` (kt), optionally ``vertical_rate`` (ft/min) and
        ``valid`` (rows where it is False are ignored).
    thresholds
        :class:`EnvelopeThresholds`; the defaults are documented above.

    Returns
    -------
    pyarrow.Table
        :data:`ENVELOPE_SCHEMA`, one row per flight_id.
    """
    th = thresholds or EnvelopeThresholds()
    flights, c = _columns(points)
    if len(c["t"]) == 0:
        return ENVELOPE_SCHEMA.empty_table()
    code, t, alt, gs = c["code"], c["t"], c["alt"], c["gs"]
    same_next = np.r_[code[1:] == code[:-1], False]
    dt_next = np.where(same_next, np.r_[np.diff(t), 0.0], 0.0)
    w = np.clip(dt_next, 0.0, th.max_gap_s)
    # vertical rate from the previous altitude where the column has none
    same_prev = np.r_[False, same_next[:-1]]
    dalt = np.r_[np.nan, np.diff(alt)]
    dt_prev = np.r_[np.nan, np.diff(t)]
    ok_prev = same_prev & (dt_prev > 0) & (dt_prev <= th.max_gap_s)
    with np.errstate(invalid="ignore", divide="ignore"):
        derived = np.where(ok_prev, dalt / dt_prev * 60.0, np.nan)
    vr = np.where(np.isnan(c["vr"]), derived, c["vr"])

    def within(x: np.ndarray, band: tuple[float, float]) -> np.ndarray:  # type: ignore[type-arg]
        return (x >= band[0]) & (x <= band[1])

    male = within(gs, th.male_speed_kt) & within(alt, th.male_altitude_ft)
    tactical = within(gs, th.tactical_speed_kt) & within(alt, th.tactical_altitude_ft)
    hale = alt >= th.hale_min_altitude_ft
    level = np.isfinite(vr) & (np.abs(vr) <= th.level_fpm)
    has_vr = np.isfinite(vr)
    groups, inv = np.unique(code, return_inverse=True)
    k = len(groups)

    def total(x: FloatArray) -> FloatArray:
        return np.asarray(np.bincount(inv, weights=x, minlength=k), dtype=np.float64)

    stats = pd.DataFrame({"g": inv, "gs": gs, "alt": alt, "vr": np.where(has_vr, vr, np.nan)})
    by = stats.groupby("g", sort=True)
    medians = by[["gs", "alt"]].median()
    vr_std = by["vr"].std().to_numpy()
    tracked = total(w)
    first = np.r_[0, np.flatnonzero(np.diff(inv)) + 1]
    last = np.r_[first[1:] - 1, len(inv) - 1]
    n_points = np.bincount(inv, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = {
            "male": total(w * male) / tracked,
            "tactical": total(w * tactical) / tracked,
            "hale": total(w * hale) / tracked,
        }
        level_fraction = total(w * level) / total(w * has_vr)
    duration_h = (t[last] - t[first]) / 3600.0
    base = (
        (duration_h >= th.min_duration_h)
        & (n_points >= th.min_points)
        & (np.nan_to_num(level_fraction) >= th.min_level_fraction)
    )
    envelope = np.full(k, None, dtype=object)
    for name in ("tactical", "male", "hale"):  # later ones win: higher is rarer
        hit = base & (np.nan_to_num(frac[name]) >= th.min_band_fraction)
        envelope[hit] = name
    out = {
        "flight_id": flights.take(pa.array(groups)),
        "n_points": n_points,
        "duration_h": duration_h,
        "median_groundspeed_kt": medians["gs"].to_numpy(),
        "median_altitude_ft": medians["alt"].to_numpy(),
        "male_fraction": frac["male"],
        "tactical_fraction": frac["tactical"],
        "hale_fraction": frac["hale"],
        "level_fraction": level_fraction,
        "vertical_rate_std_fpm": vr_std,
        "envelope": envelope,
        "drone_envelope": pd.notna(envelope),
    }
    arrays = {name: pa.array(v, from_pandas=True) for name, v in out.items()}
    return pa.Table.from_pydict(arrays).cast(ENVELOPE_SCHEMA)
