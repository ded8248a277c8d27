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

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from overflight.identify.envelope_stats import group_stats, is_sorted
from overflight.identify.flightcodes import FlightCodes, flight_codes

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
IntArray = npt.NDArray[np.int64]


def _float(points: pa.Table, name: str) -> FloatArray:
    if name not in points.column_names:
        return np.full(points.num_rows, np.nan)
    col = pc.cast(points[name], pa.float64())
    return np.asarray(pc.fill_null(col, np.nan).to_numpy(), dtype=np.float64)


def _seconds(points: pa.Table) -> FloatArray:
    """Timestamps as float seconds (NaN where null)."""
    tcol = points["timestamp"]
    per_s = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[getattr(tcol.type, "unit", "ns")]
    ts_int = pc.cast(tcol, pa.int64()).combine_chunks()
    ts = ts_int.to_numpy(zero_copy_only=False).astype(np.float64) / per_s
    if ts_int.null_count:
        ts[ts_int.is_null().to_numpy(zero_copy_only=False)] = np.nan
    return np.asarray(ts, dtype=np.float64)


def _rows(points: pa.Table, fc: FlightCodes, ts: FloatArray) -> IntArray:
    """Usable points (a flight, a finite time, valid), sorted by flight then time."""
    keep = (fc.code >= 0) & np.isfinite(ts)
    if "valid" in points.column_names:
        keep &= np.asarray(pc.fill_null(points["valid"], False).to_numpy(), dtype=bool)
    rows = np.flatnonzero(keep)
    if not is_sorted(rows, fc.code, ts):
        rows = rows[np.lexsort((ts[rows], fc.code[rows]))]
    return rows


def _limits(th: EnvelopeThresholds) -> FloatArray:
    return np.array(
        [
            th.max_gap_s,
            th.level_fpm,
            *th.male_speed_kt,
            *th.male_altitude_ft,
            *th.tactical_speed_kt,
            *th.tactical_altitude_ft,
            th.hale_min_altitude_ft,
        ],
        dtype=np.float64,
    )


def flight_envelope(
    points: pa.Table,
    thresholds: EnvelopeThresholds | None = None,
    codes: FlightCodes | None = None,
) -> pa.Table:
    """Per flight, the numbers of the drone-like envelope test and its verdict.

    Parameters
    ----------
    points
        The points table: ``flight_id``, ``timestamp``, ``altitude`` (ft),
        ``groundspeed`` (kt), optionally ``vertical_rate`` (ft/min) and
        ``valid`` (rows where it is False are ignored).
    thresholds
        :class:`EnvelopeThresholds`; the defaults are documented above.
    codes
        ``flight_codes(points)`` when the caller has it already.

    Returns
    -------
    pyarrow.Table
        :data:`ENVELOPE_SCHEMA`, one row per flight_id, in order of first
        appearance.
    """
    th = thresholds or EnvelopeThresholds()
    fc = codes if codes is not None else flight_codes(points)
    ts = _seconds(points)
    rows = _rows(points, fc, ts)
    if rows.size == 0:
        return ENVELOPE_SCHEMA.empty_table()
    alt, gs = _float(points, "altitude"), _float(points, "groundspeed")
    vr = _float(points, "vertical_rate")
    groups, s = group_stats(rows, fc.code, ts, alt, gs, vr, _limits(th))
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = {
            "male": s.male_s / s.tracked_s,
            "tactical": s.tactical_s / s.tracked_s,
            "hale": s.hale_s / s.tracked_s,
        }
        level_fraction = s.level_s / s.has_vr_s
    base = (
        (s.duration_h >= th.min_duration_h)
        & (s.n_points >= th.min_points)
        & (np.nan_to_num(level_fraction) >= th.min_level_fraction)
    )
    envelope = np.full(groups.size, None, dtype=object)
    for name in ("tactical", "male", "hale"):  # later ones win: higher is rarer
        hit = base & (np.nan_to_num(frac[name]) >= th.min_band_fraction)
        envelope[hit] = name
    out = {
        "flight_id": fc.names.take(pa.array(groups)),
        "n_points": s.n_points,
        "duration_h": s.duration_h,
        "median_groundspeed_kt": s.median_gs,
        "median_altitude_ft": s.median_alt,
        "male_fraction": frac["male"],
        "tactical_fraction": frac["tactical"],
        "hale_fraction": frac["hale"],
        "level_fraction": level_fraction,
        "vertical_rate_std_fpm": s.vr_std,
        "envelope": envelope,
        "drone_envelope": pd.notna(envelope),
    }
    arrays = {name: pa.array(v, from_pandas=True) for name, v in out.items()}
    return pa.Table.from_pydict(arrays).cast(ENVELOPE_SCHEMA)
