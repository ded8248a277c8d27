"""Daily and weekly activity near the focus country's airspace."""

from __future__ import annotations

import json
from collections.abc import Collection

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from overflight.schema import TIMESTAMP
from overflight.trends._common import (
    COUNT_COLUMNS,
    HOUR_COLUMNS,
    NS_PER_DAY,
    STATS_KEY,
    DistanceInput,
    FloatArray,
)


def _column(table: pa.Table, name: str) -> pa.ChunkedArray | None:
    return table.column(name) if name in table.column_names else None


def _strings(table: pa.Table, name: str) -> pd.Series:
    col = _column(table, name)
    if col is None:
        return pd.Series([None] * table.num_rows, dtype=object)
    return pd.Series(col.cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object)


def _ns(col: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Timestamps as int64 ns since the epoch (UTC) and a validity mask."""
    ts = col.cast(TIMESTAMP).cast(pa.int64())
    ok = pc.is_valid(ts).to_numpy(zero_copy_only=False)
    return pc.fill_null(ts, 0).to_numpy(zero_copy_only=False).astype(np.int64), ok


def focus_distance_m(
    points: pa.Table, focus: str, distance_to_focus_m: DistanceInput
) -> FloatArray:
    """Metres from each point to the focus airspace: 0 inside, NaN when unknown.

    ``distance_to_focus_m`` is an array aligned with ``points`` (negative values
    count as inside), or a function ``f(latitude, longitude) -> metres``, or
    None: then only points whose ``country`` column equals ``focus`` count
    (distance 0) and every other point is treated as far away.

    Examples
    --------
    >>> t = pa.table({"latitude": [0.0, 1.0], "longitude": [0.0, 0.0], "country": ["FRA", None]})
    >>> focus_distance_m(t, "FRA", None).tolist()
    [0.0, inf]
    >>> focus_distance_m(t, "FRA", [-5.0, float("nan")]).tolist()
    [0.0, nan]
    """
    if distance_to_focus_m is None:
        country = _strings(points, "country").str.upper()
        d = np.where(country.eq(focus.upper()).to_numpy(dtype=bool), 0.0, np.inf)
    elif callable(distance_to_focus_m):
        lat = _column(points, "latitude")
        lon = _column(points, "longitude")
        if lat is None or lon is None:
            raise ValueError("a distance function needs latitude and longitude columns")
        lat_a = lat.cast(pa.float64()).to_numpy(zero_copy_only=False)
        lon_a = lon.cast(pa.float64()).to_numpy(zero_copy_only=False)
        d = np.asarray(distance_to_focus_m(lat_a, lon_a), dtype=np.float64)
    else:
        src = distance_to_focus_m
        if isinstance(src, pa.ChunkedArray | pa.Array):
            src = src.cast(pa.float64()).to_numpy(zero_copy_only=False)
        d = np.asarray(src, dtype=np.float64)
    if d.shape != (points.num_rows,):
        raise ValueError(
            f"expected one focus distance per point ({points.num_rows}), got {d.shape}"
        )
    return np.where(d < 0.0, 0.0, d)


def daily_activity(
    points: pa.Table,
    flights: pa.Table,
    events: pa.Table,
    focus: str,
    near_km: float,
    distance_to_focus_m: DistanceInput = None,
    *,
    max_gap_s: float = 600.0,
    surveillance_missions: Collection[str] = ("surveillance",),
) -> pa.Table:
    """Per UTC day: flights, flight hours and airspace entries near ``focus``.

    Parameters
    ----------
    points
        Points table (``flight_id``, ``timestamp``, ``latitude``, ``longitude``,
        optional ``valid``; rows with ``valid`` false or no ``flight_id`` are
        skipped and counted in the stats).
    flights
        ``flight_id``, ``mission`` and ``registry_country`` (missing columns
        count as unknown).
    events
        Event table; rows of kind ``airspace_entry`` whose ``country`` is
        ``focus`` are entries, dated by ``start``.
    focus
        ISO 3166-1 alpha-3 code of the country, compared case-insensitively.
    near_km
        Width of the band around the focus airspace (0: inside only).
    distance_to_focus_m
        See :func:`focus_distance_m`.
    max_gap_s
        Two consecutive valid fixes of a flight, both within the band, add
        the time between them to the flight hours unless they are further
        apart than this (a gap in coverage, not time spent near); at most a day.
    surveillance_missions
        Values of ``flights.mission`` that count as surveillance.

    Returns
    -------
    pyarrow.Table
        ``day`` (date32, UTC) for every day from the first to the last day of
        the data (points or entries), without holes; ``flights_near`` and
        ``surveillance_flights_near`` (distinct flights with a fix within the
        band that day), ``flight_hours_near`` and ``surveillance_hours_near``
        (intervals crossing midnight are split between the two days),
        ``entries`` and ``foreign_entries`` (registry country known and not
        ``focus``).  Stats (inputs, skipped rows) are JSON in the schema
        metadata under ``b"overflight:stats"``.
    """
    if not near_km >= 0.0:
        raise ValueError(f"near_km must be >= 0, got {near_km}")
    if not 0.0 < max_gap_s <= 86_400.0:
        raise ValueError(f"max_gap_s must be in (0, 86400], got {max_gap_s}")
    focus = focus.strip().upper()
    dist = focus_distance_m(points, focus, distance_to_focus_m)
    t, t_ok = _ns(points.column("timestamp"))
    fid = _strings(points, "flight_id")
    valid_col = _column(points, "valid")
    valid = t_ok & fid.notna().to_numpy()
    if valid_col is not None:
        valid &= pc.fill_null(valid_col, False).to_numpy(zero_copy_only=False)
    near = valid & (dist <= near_km * 1000.0)

    missions = {m.lower() for m in surveillance_missions}
    fl_id = _strings(flights, "flight_id")
    surv_ids = set(fl_id[_strings(flights, "mission").str.lower().isin(missions).to_numpy()])
    registry = dict(zip(fl_id, _strings(flights, "registry_country").str.upper(), strict=True))

    pts = pd.DataFrame({"fid": fid[valid].to_numpy(), "t": t[valid], "near": near[valid]})
    pts["surv"] = pts["fid"].isin(surv_ids)
    pts = pts.sort_values(["fid", "t"], kind="stable", ignore_index=True)
    day = pts["t"].to_numpy() // NS_PER_DAY

    seen = pts.loc[pts["near"], ["fid", "surv"]].assign(day=day[pts["near"].to_numpy()])
    seen = seen.drop_duplicates(["day", "fid"])
    counts = pd.DataFrame(
        {
            "flights_near": seen.groupby("day").size(),
            "surveillance_flights_near": seen.groupby("day")["surv"].sum(),
        }
    )

    # Hours: pairs of consecutive fixes of one flight, both in the band.
    tv, nv, fv = pts["t"].to_numpy(), pts["near"].to_numpy(), pts["fid"].to_numpy()
    dt = np.diff(tv)
    pair = (fv[1:] == fv[:-1]) & nv[1:] & nv[:-1] & (dt > 0) & (dt <= max_gap_s * 1e9)
    t0, t1 = tv[:-1][pair], tv[1:][pair]
    psurv = pts["surv"].to_numpy()[:-1][pair]
    d0 = t0 // NS_PER_DAY
    cut = np.minimum(t1, (d0 + 1) * NS_PER_DAY)  # a pair is shorter than a day
    spans = pd.DataFrame(
        {
            "day": np.concatenate([d0, d0 + 1]),
            "h": np.concatenate([cut - t0, t1 - cut]) / 3.6e12,
            "surv": np.concatenate([psurv, psurv]),
        }
    )
    spans["sh"] = spans["h"].where(spans["surv"], 0.0)
    hours = spans.groupby("day")[["h", "sh"]].sum()
    hours.columns = pd.Index(list(HOUR_COLUMNS))

    ev_kind = _strings(events, "kind")
    ev_country = _strings(events, "country").str.upper()
    es, es_ok = (
        _ns(events.column("start"))
        if "start" in events.column_names
        else (np.zeros(events.num_rows, np.int64), np.zeros(events.num_rows, bool))
    )
    is_entry = (ev_kind.eq("airspace_entry") & ev_country.eq(focus)).to_numpy(dtype=bool)
    ent = pd.DataFrame(
        {
            "day": es[is_entry & es_ok] // NS_PER_DAY,
            "fid": _strings(events, "flight_id")[is_entry & es_ok],
        }
    )
    reg = ent["fid"].map(registry)
    ent["foreign"] = reg.notna() & reg.ne(focus)
    entries = ent.groupby("day").agg(entries=("fid", "size"), foreign_entries=("foreign", "sum"))

    all_days = np.concatenate([day, ent["day"].to_numpy()])
    table = pd.concat([counts, hours, entries], axis=1)
    cal = np.arange(all_days.min(), all_days.max() + 1) if all_days.size else all_days
    table = (
        table.reindex(index=cal)
        .reindex(columns=[*COUNT_COLUMNS[:2], *HOUR_COLUMNS, *COUNT_COLUMNS[2:]])
        .fillna(0)
    )
    stats = {
        "focus": focus,
        "near_km": near_km,
        "max_gap_s": max_gap_s,
        "distance": "country column (inside only)"
        if distance_to_focus_m is None
        else "given by caller",
        "points": points.num_rows,
        "points_skipped": int((~valid).sum()),
        "points_near": int(near.sum()),
        "entries_without_start": int((is_entry & ~es_ok).sum()),
    }
    arrays = [pa.array(cal.astype("datetime64[D]"), pa.date32())]
    arrays += [
        pa.array(table[c].to_numpy(dtype=np.float64 if c in HOUR_COLUMNS else np.int64))
        for c in table.columns
    ]
    return pa.Table.from_arrays(
        arrays, names=["day", *table.columns], metadata={STATS_KEY: json.dumps(stats)}
    )


def weekly_activity(daily: pa.Table) -> pa.Table:
    """Sum a :func:`daily_activity` table per ISO week (weeks start on Monday).

    Columns: ``week`` (date of the Monday), ``iso_week`` (``"2024-W05"``),
    ``days`` (days of that week present in ``daily``: less than 7 at the
    ends), then the daily columns summed.  ``flights_near`` is then a count of
    flight-days: a flight seen on two days of the week counts twice.

    Examples
    --------
    >>> from datetime import date
    >>> d = pa.table({"day": pa.array([date(2024, 1, 7), date(2024, 1, 8)]), "entries": [2, 3]})
    >>> weekly_activity(d).to_pydict()["iso_week"]
    ['2024-W01', '2024-W02']
    """
    days = daily.column("day").cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False)
    monday = days - (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    frame = daily.drop_columns(["day"]).to_pandas().assign(days=1)
    weeks = frame.groupby(monday).sum()
    dates = weeks.index.to_numpy().astype("datetime64[D]")
    labels = [f"{y}-W{w:02d}" for y, w, _ in (d.isocalendar() for d in dates.tolist())]
    cols = ["days", *(c for c in daily.column_names if c != "day")]
    arrays = [pa.array(dates, pa.date32()), pa.array(labels, pa.string())]
    arrays += [pa.array(weeks[c].to_numpy()) for c in cols]
    return pa.Table.from_arrays(arrays, names=["week", "iso_week", *cols])


def daily_series(daily: pa.Table, column: str) -> pd.Series:
    """One column of a daily table as a float Series indexed by ``day``."""
    index = pd.DatetimeIndex(pd.to_datetime(daily.column("day").to_pandas()), name="day")
    return pd.Series(daily.column(column).to_numpy(zero_copy_only=False), index=index, dtype=float)
