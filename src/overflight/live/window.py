"""Per-aircraft state between ticks: what the clean stage needs to see again.

Each tick the watcher cleans the new messages together with *context rows*
of the same aircraft, kept here:

* ``carry``: for every aircraft and every field the clean stage carries
  onto positions (callsign, squawk, altitude, speed, track...), the latest
  message that had it.  :func:`overflight.clean.to_positions` then fills a
  new position exactly as it would with the whole history.
* ``recent``: the last ``recent_positions`` position messages of every
  aircraft, so that rejections (speed, jumps, duplicates) compare a new fix
  with the track before it.

Flight ids: the clean stage names a flight after its first valid fix in the
table it sees; a tick's table starts mid-flight, so :class:`Tracker` keeps
each aircraft's current live flight and continues it unless the clean stage
split the flight inside the tick's table or the gap since the aircraft's last
stored point exceeds ``gap_s``.  The points of the last ``history_s`` are kept
for pattern detection.  Context rows older than the identity carry (30 min)
are dropped, and live flights of aircraft not seen for ``gap_s``.  After a
restart, points at or before the last stored time of their (source,
aircraft) are used as context but not emitted again.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from overflight.clean.flights import GAP_S
from overflight.clean.positions import IDENT_MAX_AGE_S
from overflight.pipeline import Analysis
from overflight.schema import EVENT_SCHEMA, MESSAGE_SCHEMA, TIMESTAMP, conform

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

CARRIED = (
    "callsign",
    "squawk",
    "altitude",
    "geoaltitude",
    "groundspeed",
    "track",
    "vertical_rate",
    "onground",
)
#: Identity columns of the flights table that rules use.
IDENTITY = ("callsign", "military", "isr_type", "registry_country", "typecode", "registration")


def _sorted(table: pa.Table) -> pa.Table:
    return table.take(pc.sort_indices(table, [("icao24", "ascending"), ("timestamp", "ascending")]))


def _group_ends(icao: pa.ChunkedArray | pa.Array) -> tuple[B, I64]:
    """For a table sorted by icao24: whether each row is its aircraft's last, and rank from end."""
    codes = pc.dictionary_encode(icao).combine_chunks().indices.to_numpy(zero_copy_only=False)
    n = codes.size
    last = np.r_[codes[1:] != codes[:-1], True] if n else np.zeros(0, bool)
    idx = np.arange(n, dtype=np.int64)
    end = np.minimum.accumulate(np.where(last, idx, n)[::-1])[::-1] if n else idx
    return last, end - idx


def latest_per_field(messages: pa.Table) -> pa.Table:
    """For each aircraft and carried field, the latest row that has the field."""
    if messages.num_rows == 0:
        return messages
    t = _sorted(messages)
    codes = (
        pc.dictionary_encode(t["icao24"]).combine_chunks().indices.to_numpy(zero_copy_only=False)
    )
    keep = np.zeros(t.num_rows, bool)
    for name in CARRIED:
        has = np.flatnonzero(t[name].is_valid().to_numpy(zero_copy_only=False))
        if has.size:
            c = codes[has]
            keep[has[np.r_[c[1:] != c[:-1], True]]] = True
    return t.filter(pa.array(keep))


def last_positions(messages: pa.Table, n: int) -> pa.Table:
    """The last ``n`` position rows of each aircraft."""
    pos = messages.filter(pc.is_valid(messages["latitude"]))
    if pos.num_rows == 0:
        return pos
    pos = _sorted(pos)
    _, from_end = _group_ends(pos["icao24"])
    return pos.filter(pa.array(from_end < n))


class Tracker:
    """Context rows, live flights and point history (see the module docstring).

    Parameters
    ----------
    analyse
        Messages to :class:`overflight.pipeline.Analysis` (the tick stages).
    recent_positions
        Position messages kept per aircraft as context for rejections.
    history_s
        Seconds of emitted points kept for pattern detection.
    gap_s
        A longer gap since an aircraft's last point starts a new flight.
    """

    def __init__(
        self,
        analyse: Callable[[pa.Table], Analysis],
        *,
        recent_positions: int = 8,
        history_s: float = 1800.0,
        gap_s: float = GAP_S,
    ) -> None:
        self.analyse = analyse
        self.recent_positions = recent_positions
        self.history_ns = int(history_s * 1e9)
        self.gap_ns = int(gap_s * 1e9)
        self.carry = conform(MESSAGE_SCHEMA.empty_table())
        self.recent = conform(MESSAGE_SCHEMA.empty_table())
        self._live: dict[str, tuple[str, int]] = {}
        self._history: list[pa.Table] = []
        self._stored: pd.DataFrame | None = None

    def seed_stored(self, hwm: pa.Table) -> None:
        """Last stored time per (source, icao24) and each aircraft's live flight (restart)."""
        if hwm.num_rows == 0:
            return
        ns = hwm["timestamp"].cast(pa.timestamp("ns", "UTC")).cast(pa.int64()).to_numpy()
        df = hwm.drop_columns(["timestamp"]).to_pandas()
        df["hwm_ns"] = ns
        self._stored = df.set_index(["source", "icao24"])[["hwm_ns"]]
        per = df.sort_values("hwm_ns").groupby("icao24").last()
        self._live = {
            str(a): (str(f), int(t))
            for a, f, t in zip(per.index, per["flight_id"], per["hwm_ns"], strict=True)
        }

    def step(self, messages: pa.Table) -> tuple[Analysis, pa.Table]:
        """Analyse one tick's messages; return the new points' analysis and their context.

        The returned analysis holds only new points (live flight ids), the
        flights they belong to (identity columns) and the tick's events.
        """
        messages = conform(messages.replace_schema_metadata(None))
        if messages.num_rows == 0:
            return Analysis(
                conform(pa.table({}), MESSAGE_SCHEMA), pa.table({}), EVENT_SCHEMA.empty_table()
            ), messages
        aircraft = pc.unique(messages["icao24"])
        ctx = pa.concat_tables([self.carry, self.recent])
        ctx = ctx.filter(pc.is_in(ctx["icao24"], value_set=aircraft))
        tail = pa.concat_tables([ctx, messages])
        result = self.analyse(tail)
        keys = messages.filter(pc.is_valid(messages["latitude"])).select(["icao24", "timestamp"])
        # the points of this tick's messages (joined on keys only: list columns
        # such as ``countries`` cannot ride through an Arrow join)
        rows = result.points.select(["icao24", "timestamp"]).append_column(
            "_row", pa.array(np.arange(result.points.num_rows))
        )
        hit = rows.join(
            keys.group_by(["icao24", "timestamp"]).aggregate([]),
            keys=["icao24", "timestamp"],
            join_type="left semi",
        )
        new = result.points.take(pa.array(np.sort(hit["_row"].to_numpy())))
        new = self._not_stored(_sorted(new))
        mapping = self._live_flights(new, result.flights)
        points = _rename(new, mapping)
        flights = _rename(
            result.flights.filter(
                pc.is_in(
                    result.flights["flight_id"], value_set=pa.array(list(mapping), pa.string())
                )
            ),
            mapping,
        )
        events = _rename(result.events, mapping)
        # context older than the longest carry (identity, 30 min) is of no use any more
        newest = int(pc.max(messages["timestamp"]).cast(pa.int64()).as_py())
        horizon = pa.scalar(newest - int(IDENT_MAX_AGE_S * 1e9), pa.int64()).cast(TIMESTAMP)
        carry = latest_per_field(pa.concat_tables([self.carry, messages]))
        self.carry = carry.filter(pc.greater_equal(carry["timestamp"], horizon))
        recent = last_positions(pa.concat_tables([self.recent, messages]), self.recent_positions)
        self.recent = recent.filter(pc.greater_equal(recent["timestamp"], horizon))
        self._remember(points)
        return Analysis(points, flights, events), tail

    def _not_stored(self, points: pa.Table) -> pa.Table:
        if self._stored is None or points.num_rows == 0:
            return points
        idx = pd.MultiIndex.from_arrays(
            [points["source"].to_pandas(), points["icao24"].to_pandas()]
        )
        # stored times are whole microseconds (floor of the ns)
        hwm = self._stored["hwm_ns"].reindex(idx).to_numpy(dtype="float64", na_value=-np.inf)
        t_us = points["timestamp"].cast(pa.int64()).to_numpy() // 1000
        return points.filter(pa.array(t_us.astype("float64") * 1000 > hwm))

    def _live_flights(self, points: pa.Table, flights: pa.Table) -> dict[str, str]:
        """Tick flight id -> live flight id, updating each aircraft's live flight."""
        if points.num_rows == 0:
            return {}
        icao = np.asarray(points["icao24"].to_pylist(), dtype=object)
        fid = np.asarray(points["flight_id"].to_pylist(), dtype=object)
        t = points["timestamp"].cast(pa.int64()).to_numpy()
        n = t.size
        # points are sorted by aircraft and time, so each (aircraft, flight) is one run
        new_group = np.ones(n, bool)
        new_group[1:] = (icao[1:] != icao[:-1]) | (fid[1:] != fid[:-1])
        first = np.flatnonzero(new_group)
        last = np.r_[first[1:] - 1, n - 1]
        g_icao, g_fid, g_max = icao[first], fid[first], t[last]
        starts = dict(
            zip(
                flights["flight_id"].to_pylist(),
                flights["start"].cast(pa.int64()).to_pylist(),
                strict=True,
            )
        )
        earliest: dict[str, int] = {}
        for a, st in zip(flights["icao24"].to_pylist(), starts.values(), strict=True):
            earliest[a] = min(st, earliest.get(a, st))
        g_start = np.array([starts[f] for f in g_fid], np.int64)
        state = [self._live.get(a) for a in g_icao]
        known = np.array([x is not None for x in state], bool)
        last_ns = np.array([x[1] if x else 0 for x in state], np.int64)
        split_in_tick = g_start > np.array([earliest[a] for a in g_icao], np.int64)
        cont = known & (
            (g_start <= last_ns) | (~split_in_tick & (g_start - last_ns <= self.gap_ns))
        )
        live = [x[0] if c and x else f for x, c, f in zip(state, cont, g_fid, strict=True)]
        mapping = dict(zip(g_fid.tolist(), live, strict=True))
        end_of_aircraft = np.r_[g_icao[1:] != g_icao[:-1], True]
        for k in np.flatnonzero(end_of_aircraft).tolist():
            self._live[g_icao[k]] = (live[k], int(g_max[k]))
        if len(self._live) > 2 * len(g_icao) + 1000:  # forget aircraft gone for good
            cutoff = int(g_max.max()) - self.gap_ns
            self._live = {a: v for a, v in self._live.items() if v[1] >= cutoff}
        return mapping

    def _remember(self, points: pa.Table) -> None:
        if points.num_rows == 0:
            return
        self._history.append(points)
        newest = max(
            int(pc.max(h["timestamp"]).cast(pa.int64()).as_py()) for h in self._history[-2:]
        )
        horizon = newest - self.history_ns
        self._history = [
            h
            for h in self._history
            if int(pc.max(h["timestamp"]).cast(pa.int64()).as_py()) >= horizon
        ]

    def history(self, aircraft: pa.Array | None = None) -> pa.Table:
        """Emitted points of the last ``history_s`` (of ``aircraft`` only, when given)."""
        if not self._history:
            return pa.table({})
        pts = pa.concat_tables(self._history, promote_options="permissive")
        if aircraft is not None:
            pts = pts.filter(pc.is_in(pts["icao24"], value_set=aircraft))
        return pts


def _rename(table: pa.Table, mapping: dict[str, str]) -> pa.Table:
    """``table`` with its ``flight_id`` values replaced through ``mapping``."""
    if table.num_rows == 0 or "flight_id" not in table.column_names or not mapping:
        return table
    old = pa.array(list(mapping), pa.string())
    new = pa.array(list(mapping.values()), pa.string())
    fid = table["flight_id"]
    idx = pc.index_in(fid, value_set=old)
    renamed = pc.coalesce(new.take(idx), fid)
    return table.set_column(table.schema.get_field_index("flight_id"), "flight_id", renamed)


def with_identity(points: pa.Table, flights: pa.Table) -> pa.Table:
    """``points`` with the flights' identity columns (for rules), in the same order."""
    cols = [c for c in IDENTITY if c in flights.column_names and c != "callsign"]
    if not cols or flights.num_rows == 0:
        return points
    ident = flights.select(["flight_id", *cols])
    idx = pc.index_in(points["flight_id"], value_set=ident["flight_id"])
    out = points
    for c in cols:
        out = out.append_column(c, ident[c].take(idx))
    return out
