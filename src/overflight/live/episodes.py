"""Rules applied to each tick: conditions to episodes to alerts.

:class:`RuleEngine` holds, per rule and aircraft, the open episode (its
start and the last time the condition held) and, per aircraft, the country
of its last valid point (for entry rules).  An episode that has not seen its
condition for the rule's ``episode_gap_s`` is over; the next hit starts a
new one and raises a new alert.  Times are data times (the points'), so a
replay at any speed gives the same alerts.  The state can be saved and
loaded (:meth:`RuleEngine.episode_rows`, :meth:`RuleEngine.load_episodes`)
so that a restarted watcher does not alert again on an ongoing episode.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.live.rules import Alert, Rule, alert_id, event_condition, point_condition, utc

I64 = npt.NDArray[np.int64]

_IDENTITY_KEYS = ("military", "isr_type", "typecode", "registration", "registry_country")
_POINT_KEYS = ("altitude", "groundspeed", "track", "squawk", "country", "zone", "source")


def _clean(v: Any) -> Any:
    if isinstance(v, float) and np.isnan(v):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


class RuleEngine:
    """Evaluate rules on points and events; one :class:`Alert` per episode."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._episodes: dict[tuple[str, str], tuple[int, int]] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._country: dict[str, str | None] = {}

    # -- state --------------------------------------------------------------
    def load_episodes(self, rows: pa.Table) -> None:
        """Restore episodes from a table (rule, icao24, start_ns, last_ns)."""
        for r in rows.to_pylist():
            self._episodes[(r["rule"], r["icao24"])] = (int(r["start_ns"]), int(r["last_ns"]))

    def episode_rows(self, only_changed: bool = True) -> pa.Table:
        """Episodes changed since the last call (or all), as a table."""
        keys = sorted(self._dirty) if only_changed else sorted(self._episodes)
        self._dirty.clear()
        vals = [self._episodes[k] for k in keys]
        return pa.table(
            {
                "rule": pa.array([k[0] for k in keys], pa.string()),
                "icao24": pa.array([k[1] for k in keys], pa.string()),
                "start_ns": pa.array([v[0] for v in vals], pa.int64()),
                "last_ns": pa.array([v[1] for v in vals], pa.int64()),
            }
        )

    def prune(self, before_ns: int) -> None:
        """Forget episodes whose condition last held before ``before_ns``."""
        for k in [k for k, v in self._episodes.items() if v[1] < before_ns]:
            del self._episodes[k]
        if len(self._country) > 4 * len(self._episodes) + 10_000:
            self._country.clear()  # only a first crossing after this may go unnoticed

    # -- evaluation ---------------------------------------------------------
    def _episode_starts(self, rule: Rule, icao: list[str], t: I64) -> list[int]:
        """Indexes (into hits sorted by aircraft then time) that open an episode.

        Hits at or before the last time already seen for the rule and
        aircraft (an event detected again, a replay) belong to the past and
        are ignored.
        """
        gap = int(rule.episode_gap_s * 1e9)
        aircraft, codes = np.unique(np.asarray(icao, dtype=object), return_inverse=True)
        names = aircraft.tolist()
        known = [self._episodes.get((rule.name, a)) for a in names]
        prev_start = np.array([k[0] if k else 0 for k in known], np.int64)
        prev_last = np.array([k[1] if k else np.iinfo(np.int64).min for k in known], np.int64)
        has_prev = np.array([k is not None for k in known], bool)
        fresh = np.flatnonzero(t > prev_last[codes])
        if fresh.size == 0:
            return []
        c, tf = codes[fresh], t[fresh]
        first = np.ones(fresh.size, bool)
        first[1:] = c[1:] != c[:-1]
        step = np.zeros(fresh.size, bool)
        step[1:] = (tf[1:] - tf[:-1]) > gap
        opens = np.where(first, ~has_prev[c] | (tf - prev_last[c] > gap), step)
        last = np.ones(fresh.size, bool)
        last[:-1] = first[1:]
        # start of the episode in force at each group's last hit: its latest opening
        idx = np.arange(fresh.size)
        opening = np.maximum.accumulate(np.where(opens | first, idx, 0))
        start = np.where(opens[opening], tf[opening], prev_start[c])
        keys = [(rule.name, names[k]) for k in c[last].tolist()]
        self._episodes.update(
            zip(keys, zip(start[last].tolist(), tf[last].tolist(), strict=True), strict=True)
        )
        self._dirty.update(keys)
        out: list[int] = fresh[opens].tolist()
        return out

    def _prev_country(self, points: pa.Table) -> pa.Array:
        """Country of each point's previous valid point of the same aircraft."""
        n = points.num_rows
        enc = pc.dictionary_encode(points["icao24"]).combine_chunks()
        codes = enc.indices.to_numpy(zero_copy_only=False)
        aircraft = enc.dictionary.to_pylist()
        country = (
            points["country"].cast(pa.string()).combine_chunks()
            if "country" in points.column_names
            else pa.nulls(n, pa.string())
        )
        valid = np.asarray(
            pc.fill_null(points["valid"], False).to_numpy(zero_copy_only=False), bool
        )
        idx = np.arange(n)
        before = np.r_[-1, np.maximum.accumulate(np.where(valid, idx, -1))[:-1]]
        same = (before >= 0) & (codes[np.maximum(before, 0)] == codes)
        known = pa.array([self._country.get(a) for a in aircraft], pa.string()).take(
            pa.array(codes)
        )
        prev = pc.if_else(pa.array(same), country.take(pa.array(np.maximum(before, 0))), known)
        last_valid = np.flatnonzero(valid)
        if last_valid.size:
            c = codes[last_valid]
            ends = last_valid[np.r_[c[1:] != c[:-1], True]]
            for i, value in zip(
                ends.tolist(), country.take(pa.array(ends)).to_pylist(), strict=True
            ):
                self._country[aircraft[codes[i]]] = value
        return prev

    def on_points(self, points: pa.Table) -> list[Alert]:
        """Alerts raised by a tick's new points (sorted by aircraft and time)."""
        if points.num_rows == 0 or not self.rules:
            return []
        prev = self._prev_country(points) if any(r.kind == "entry" for r in self.rules) else None
        alerts: list[Alert] = []
        for rule in self.rules:
            hit = np.flatnonzero(point_condition(rule, points, prev))
            if hit.size == 0:
                continue
            sub = points.take(pa.array(hit))
            icao = sub["icao24"].to_pylist()
            t = sub["timestamp"].cast(pa.int64()).to_numpy()
            starts = self._episode_starts(rule, icao, t)
            if starts:
                rows = sub.take(pa.array(starts)).to_pylist()
                alerts += [
                    self._point_alert(rule, r, int(t[k])) for r, k in zip(rows, starts, strict=True)
                ]
        return alerts

    def on_events(
        self, events: pa.Table, identity: dict[str, dict[str, Any]] | None = None
    ) -> list[Alert]:
        """Alerts raised by events (patterns, airspace entries); time is the event's stop."""
        if events.num_rows == 0 or not self.rules:
            return []
        alerts: list[Alert] = []
        for rule in self.rules:
            hit = np.flatnonzero(event_condition(rule, events))
            if hit.size == 0:
                continue
            sub = events.take(pa.array(hit))
            when = "start" if rule.kind == "unauthorized_entry" else "stop"
            t_all = pc.fill_null(sub[when], sub["start"]).cast(pa.int64()).to_numpy()
            order = np.lexsort((t_all, np.asarray(sub["icao24"].to_pylist())))
            sub = sub.take(pa.array(order))
            icao = sub["icao24"].to_pylist()
            t = t_all[order]
            for k in self._episode_starts(rule, icao, t):
                row = sub.slice(k, 1).to_pylist()[0]
                alerts.append(
                    self._event_alert(rule, row, int(t[k]), (identity or {}).get(icao[k], {}))
                )
        return alerts

    # -- alert records ------------------------------------------------------
    def _point_alert(self, rule: Rule, row: dict[str, Any], t_ns: int) -> Alert:
        details = {k: _clean(row.get(k)) for k in (*_POINT_KEYS, *_IDENTITY_KEYS) if k in row}
        what = {
            "region": "inside region",
            "military": "military aircraft",
            "isr": "ISR aircraft",
            "watchlist": "watch-listed aircraft",
            "entry": f"entered {row.get('country')} airspace",
        }[rule.kind]
        if rule.kind in ("military", "isr", "watchlist") and rule.region is not None:
            what += " inside region"
        return Alert(
            alert_id=alert_id(rule.name, row["icao24"], t_ns),
            rule=rule.name,
            kind=rule.kind,
            icao24=row["icao24"],
            flight_id=row.get("flight_id"),
            callsign=row.get("callsign"),
            time=utc(t_ns),
            latitude=_clean(row.get("latitude")),
            longitude=_clean(row.get("longitude")),
            message=_message(rule, row, what),
            details=details,
        )

    def _event_alert(
        self, rule: Rule, row: dict[str, Any], t_ns: int, ident: dict[str, Any]
    ) -> Alert:
        try:
            extra = json.loads(row.get("details") or "{}")
        except ValueError:
            extra = {}
        details: dict[str, Any] = {
            "event": row["kind"],
            "start": _clean(row.get("start")),
            "stop": _clean(row.get("stop")),
            "country": row.get("country"),
            **({"details": extra} if extra else {}),
            **{k: ident.get(k) for k in _IDENTITY_KEYS if k in ident},
        }
        what = (
            f"{row['kind']} detected"
            if rule.kind == "pattern"
            else (f"unauthorised entry into {row.get('country')}")
        )
        ident_row = {"icao24": row["icao24"], "callsign": ident.get("callsign")}
        return Alert(
            alert_id=alert_id(rule.name, row["icao24"], t_ns),
            rule=rule.name,
            kind=rule.kind,
            icao24=row["icao24"],
            flight_id=row.get("flight_id"),
            callsign=ident.get("callsign"),
            time=utc(t_ns),
            latitude=_clean(row.get("latitude")),
            longitude=_clean(row.get("longitude")),
            message=_message(rule, ident_row, what),
            details=details,
        )


def _message(rule: Rule, row: dict[str, Any], what: str) -> str:
    who = row["icao24"] + (f" ({row['callsign']})" if row.get("callsign") else "")
    return f"{rule.name}: {who} {what}"
