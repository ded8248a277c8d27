"""Table helpers shared by the report writers.

Every column beyond the base ones may be absent (a stage did not run), so the
writers read columns through :func:`column`, which returns ``None`` for a
missing column, and format times through :func:`iso_utc`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

NS_PER_S = 1_000_000_000


def column(table: pa.Table | None, name: str) -> npt.NDArray[Any] | None:
    """Return column ``name`` as a numpy array, or ``None`` when it is absent.

    Timestamps come back as ``datetime64[ns]`` (UTC, NaT for null), numbers as
    float64 with NaN for null, everything else as an object array with None.

    Examples
    --------
    >>> t = pa.table({"a": [1, None]})
    >>> column(t, "a").tolist(), column(t, "b") is None
    ([1.0, nan], True)
    """
    if table is None or name not in table.column_names:
        return None
    col = table.column(name)
    if pa.types.is_timestamp(col.type):
        return np.asarray(col.cast(pa.timestamp("ns", tz="UTC")).to_numpy(), dtype="datetime64[ns]")
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        return np.asarray(col.cast(pa.float64()).fill_null(np.nan).to_numpy(), dtype=np.float64)
    return np.asarray(col.to_pylist(), dtype=object)


def epoch_s(values: npt.NDArray[np.datetime64]) -> npt.NDArray[np.float64]:
    """Seconds since 1970 as float64, NaN for NaT.

    Examples
    --------
    >>> epoch_s(np.array(["1970-01-01T00:01", "NaT"], dtype="datetime64[ns]")).tolist()
    [60.0, nan]
    """
    ns = values.astype("datetime64[ns]")
    out = ns.astype(np.int64).astype(np.float64) / NS_PER_S
    out[np.isnat(ns)] = np.nan
    return out


def iso_utc(values: npt.NDArray[np.datetime64]) -> list[str | None]:
    """ISO 8601 UTC strings with a ``Z``; milliseconds only when some value has them.

    Examples
    --------
    >>> iso_utc(np.array(["2020-09-14T21:47:51", "NaT"], dtype="datetime64[ns]"))
    ['2020-09-14T21:47:51Z', None]
    """
    ns = values.astype("datetime64[ns]")
    nat = np.isnat(ns)
    whole = bool(np.all(ns[~nat].astype(np.int64) % NS_PER_S == 0))
    text = np.datetime_as_string(ns, unit="s" if whole else "ms")
    return [None if bad else f"{s}Z" for s, bad in zip(text.tolist(), nat.tolist(), strict=True)]


#: Schema metadata key marking a table that :func:`valid_positions` returned.
VALID_POSITIONS = b"overflight:valid_positions"


def valid_positions(points: pa.Table) -> pa.Table:
    """Rows that are valid and have a position, sorted by flight then time.

    A missing ``valid`` column counts as all valid; a missing ``flight_id``
    falls back to ``icao24``.  The result is marked in its schema metadata,
    so a table that already went through here is returned as it is: the
    report's writers each call this, and the report hands them one result.

    Examples
    --------
    >>> t = pa.table({"icao24": ["a", "a", "b"], "timestamp": [2, 1, 0],
    ...               "latitude": [1.0, 2.0, None], "longitude": [3.0, 4.0, 5.0]})
    >>> v = valid_positions(t)
    >>> v.column("timestamp").to_pylist(), valid_positions(v) is v
    ([1, 2], True)
    """
    if VALID_POSITIONS in (points.schema.metadata or {}):
        return points
    mask = pc.and_(pc.is_valid(points.column("latitude")), pc.is_valid(points.column("longitude")))
    if "valid" in points.column_names:
        mask = pc.and_(mask, pc.fill_null(points.column("valid"), False))
    kept = points.filter(mask)
    if "flight_id" not in kept.column_names:
        kept = kept.append_column("flight_id", kept.column("icao24"))
    else:
        fid = pc.coalesce(kept.column("flight_id"), kept.column("icao24"))
        kept = kept.set_column(kept.column_names.index("flight_id"), "flight_id", fid)
    order = pc.sort_indices(kept, [("flight_id", "ascending"), ("timestamp", "ascending")])
    kept = kept.take(order)
    meta = dict(kept.schema.metadata or {})
    meta[VALID_POSITIONS] = b"1"
    return kept.replace_schema_metadata(meta)


def group_bounds(keys: npt.NDArray[Any]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Start and stop indices of runs of equal consecutive values in ``keys``.

    Examples
    --------
    >>> s, e = group_bounds(np.array(["a", "a", "b"], dtype=object))
    >>> s.tolist(), e.tolist()
    ([0, 2], [2, 3])
    """
    n = len(keys)
    if n == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    change = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate([[0], change]).astype(np.intp)
    stops = np.concatenate([change, [n]]).astype(np.intp)
    return starts, stops


def stride_mask(
    starts: npt.NDArray[np.intp], stops: npt.NDArray[np.intp], max_per_group: int
) -> npt.NDArray[np.bool_]:
    """Keep at most about ``max_per_group`` rows of each group by a time stride.

    The first and last row of every group are always kept.

    Examples
    --------
    >>> stride_mask(np.array([0]), np.array([10]), 4).nonzero()[0].tolist()
    [0, 4, 8, 9]
    """
    sizes = stops - starts
    n = int(sizes.sum())
    stride = np.maximum(1, np.ceil(sizes / max(1, max_per_group - 1)).astype(np.intp))
    rank = np.arange(n) - np.repeat(starts, sizes)
    mask = (rank % np.repeat(stride, sizes)) == 0
    mask[stops[sizes > 0] - 1] = True
    return np.asarray(mask, dtype=np.bool_)


def parse_details(text: Any) -> dict[str, Any]:
    """The ``details`` JSON of an event as a dict (empty when null or not an object).

    Examples
    --------
    >>> parse_details('{"radius_nm": 5, "d": NaN}'), parse_details(None), parse_details("[1]")
    ({'radius_nm': 5, 'd': None}, {}, {})
    """
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text, parse_constant=lambda _: None)  # NaN, Infinity -> null
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def finite_or_none(value: Any) -> Any:
    """Return ``value`` with NaN/NaT and numpy scalars turned into JSON-friendly Python.

    Examples
    --------
    >>> finite_or_none(float("nan")), finite_or_none(np.float64(2.5)), finite_or_none("x")
    (None, 2.5, 'x')
    """
    if value is None:
        return None
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else iso_utc(np.array([value]))[0]
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if np.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def records(table: pa.Table | None) -> list[dict[str, Any]]:
    """Rows of ``table`` as dicts of JSON-friendly values (times as ISO 8601 UTC).

    Integer columns stay integers (a count is ``1360``, not ``1360.0``).

    Examples
    --------
    >>> records(pa.table({"n": pa.array([3, None], pa.int64()), "x": [0.5, float("nan")]}))
    [{'n': 3, 'x': 0.5}, {'n': None, 'x': None}]
    """
    if table is None or table.num_rows == 0:
        return []
    cols: dict[str, list[Any]] = {}
    for name in table.column_names:
        if pa.types.is_integer(table.column(name).type):
            cols[name] = table.column(name).to_pylist()
            continue
        values = column(table, name)
        assert values is not None
        if values.dtype.kind == "M":
            cols[name] = list(iso_utc(values))
        else:
            cols[name] = [finite_or_none(v) for v in values.tolist()]
    return [dict(zip(cols, row, strict=True)) for row in zip(*cols.values(), strict=True)]


def format_duration(seconds: float | None) -> str:
    """Human duration: ``"5 h 12 min"``, ``"14 min"``, ``"40 s"``; ``"–"`` for none.

    Examples
    --------
    >>> format_duration(18720.0), format_duration(840), format_duration(40), format_duration(None)
    ('5 h 12 min', '14 min', '40 s', '–')
    """
    if seconds is None or not np.isfinite(seconds):
        return "–"
    s = round(float(seconds))
    if s < 60:
        return f"{s} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def reach_table(reach: pa.Table | None) -> pa.Table | None:
    """The reach table with its polygon as GeoJSON text in ``geometry``.

    The airspace stage writes both ``geometry_wkb`` (for Parquet readers) and
    ``geometry_geojson``; the writers here want one JSON-friendly column.
    """
    if reach is None:
        return None
    if "geometry" not in reach.column_names and "geometry_geojson" in reach.column_names:
        i = reach.column_names.index("geometry_geojson")
        reach = reach.rename_columns(
            [("geometry" if j == i else n) for j, n in enumerate(reach.column_names)]
        )
    binary = [f.name for f in reach.schema if pa.types.is_binary(f.type)]
    return reach.drop_columns(binary)
