"""Authorisations: which foreign aircraft may fly in a country's airspace, and when.

A small YAML or CSV file lists rules.  YAML::

    authorisations:
      - country: MEX                 # ISO3 of the airspace (or "*")
        operator: "U.S. Customs and Border Protection"   # glob, case-insensitive
        callsign: ["OMAHA*", "CBP*"] # glob(s)
        icao24: [a1b2c3]             # exact addresses
        registration: [N123*]        # glob(s)
        from: 2024-01-01             # UTC, inclusive (date or datetime)
        until: 2024-12-31            # UTC, inclusive (a date covers the whole day)
        daily: "13:00-23:00"         # UTC time-of-day window (may wrap midnight)
        note: bilateral agreement    # free text, copied to the event

CSV: the same column names, one rule per line, several patterns in a cell
separated by ``|``.  A rule matches an event when the country matches, every
aircraft criterion it gives matches (criteria it omits are ignored) and the
whole stay lies within its validity and daily window.  Each
``airspace_entry`` event is then ``authorized`` (naming the first matching
rule) or ``unauthorized``.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from overflight.errors import FormatError

_DAY_NS = 86_400 * 10**9
_CRITERIA = ("icao24", "callsign", "operator", "registration")


@dataclass(frozen=True)
class Rule:
    """One authorisation: a country, aircraft criteria, a validity and a daily window."""

    country: str
    icao24: tuple[str, ...] = ()
    callsign: tuple[str, ...] = ()
    operator: tuple[str, ...] = ()
    registration: tuple[str, ...] = ()
    start_ns: int | None = None
    stop_ns: int | None = None
    daily_ns: tuple[int, int] | None = None
    note: str = ""
    source: str = ""

    def matches_aircraft(self, aircraft: dict[str, str | None]) -> bool:
        """Whether every criterion this rule gives matches the aircraft."""
        for name in _CRITERIA:
            patterns = getattr(self, name)
            if not patterns:
                continue
            value = (aircraft.get(name) or "").strip().upper()
            if not value or not any(fnmatch.fnmatchcase(value, p) for p in patterns):
                return False
        return True

    def covers(self, start_ns: int, stop_ns: int) -> bool:
        """Whether the interval lies within the validity and the daily window."""
        if self.start_ns is not None and start_ns < self.start_ns:
            return False
        if self.stop_ns is not None and stop_ns > self.stop_ns:
            return False
        if self.daily_ns is None:
            return True
        lo, hi = self.daily_ns
        length = (hi - lo) % _DAY_NS or _DAY_NS
        offset = (start_ns - lo) % _DAY_NS
        return offset + (stop_ns - start_ns) <= length


def _list(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list | tuple) else str(value).split("|")
    return tuple(str(v).strip().upper() for v in items if str(v).strip())


def _time(value: Any, end: bool, where: str, path: Path) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        t = value
    elif isinstance(value, dt.date):
        t = dt.datetime.combine(value, dt.time.max if end else dt.time.min)
    else:
        text = str(value).strip()
        try:
            if len(text) == 10:
                day = dt.date.fromisoformat(text)
                t = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
            else:
                t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise FormatError(
                f"bad date {value!r}: expected YYYY-MM-DD or ISO 8601", path, where
            ) from exc
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp() * 10**6) * 1000


def _daily(value: Any, where: str, path: Path) -> tuple[int, int] | None:
    if value is None or value == "":
        return None
    try:
        lo, hi = (dt.time.fromisoformat(v.strip()) for v in str(value).split("-"))
    except ValueError as exc:
        raise FormatError(
            f"bad daily window {value!r}: expected HH:MM-HH:MM (UTC)", path, where
        ) from exc

    def ns(t: dt.time) -> int:
        return ((t.hour * 60 + t.minute) * 60 + t.second) * 10**9

    return ns(lo), ns(hi)


def _rule(entry: Any, where: str, path: Path) -> Rule:
    if not isinstance(entry, dict):
        raise FormatError("expected a mapping with country, operator, callsign, ...", path, where)
    e = {str(k).lower(): v for k, v in entry.items()}
    country = str(e.get("country") or "").strip().upper()
    if not country or (country != "*" and (len(country) != 3 or not country.isalpha())):
        raise FormatError(f"country {e.get('country')!r}: expected an ISO3 code or *", path, where)
    crit = {name: _list(e.get(name)) for name in _CRITERIA}
    if not any(crit.values()):
        raise FormatError(
            f"no aircraft criterion: expected one of {', '.join(_CRITERIA)}", path, where
        )
    return Rule(
        country,
        start_ns=_time(e.get("from"), False, where, path),
        stop_ns=_time(e.get("until"), True, where, path),
        daily_ns=_daily(e.get("daily"), where, path),
        note=str(e.get("note") or ""),
        source=f"{path.name}:{where}",
        **crit,
    )


def load_authorisations(path: str | os.PathLike[str]) -> list[Rule]:
    """Read a YAML (``.yaml``/``.yml``) or CSV authorisation file.

    Raises
    ------
    overflight.errors.FormatError
        Naming the file and the entry (``rule 3`` or ``line 4``).
    """
    p = Path(path)
    if not p.is_file():
        raise FormatError("file not found", p)
    if p.suffix.lower() == ".csv":
        with open(p, newline="", encoding="utf-8") as fh:
            return [_rule(row, f"line {i + 2}", p) for i, row in enumerate(csv.DictReader(fh))]
    import yaml

    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FormatError(f"not valid YAML: {exc}", p) from exc
    entries = doc.get("authorisations", doc.get("authorizations")) if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        raise FormatError("expected a list of rules under 'authorisations:'", p)
    return [_rule(e, f"rule {i + 1}", p) for i, e in enumerate(entries)]


def _aircraft(flights: pa.Table | None) -> dict[str, dict[str, str | None]]:
    if flights is None:
        return {}
    cols = [c for c in ("callsign", "operator", "registration") if c in flights.column_names]
    data = {c: flights.column(c).to_pylist() for c in cols}
    ids = flights.column("flight_id").to_pylist()
    return {f: {c: data[c][i] for c in cols} for i, f in enumerate(ids)}


def apply_authorisations(events: pa.Table, flights: pa.Table | None, rules: list[Rule]) -> pa.Table:
    """Return ``events`` with ``authorization`` set on every ``airspace_entry`` row.

    The aircraft's callsign, operator and registration come from ``flights``
    (``flight_id`` key), else from the event's details; its address from the
    event.  ``details`` gains ``authorization`` and, when authorised, the
    matching rule (``authorization_rule``, ``authorization_note``).
    """
    aircraft = _aircraft(flights)
    status: list[str | None] = []
    details_out: list[str | None] = []
    cols = {
        c: events.column(c).to_pylist() for c in events.column_names if c not in ("start", "stop")
    }
    for c in ("start", "stop"):
        cols[c] = events.column(c).cast(pa.int64()).to_pylist()
    for i in range(events.num_rows):
        details = json.loads(cols["details"][i]) if cols["details"][i] else {}
        if cols["kind"][i] != "airspace_entry":
            status.append(cols["authorization"][i] if "authorization" in cols else None)
            details_out.append(cols["details"][i])
            continue
        ac: dict[str, str | None] = {"callsign": details.get("callsign")}
        ac.update({k: v for k, v in aircraft.get(cols["flight_id"][i], {}).items() if v})
        ac["icao24"] = cols["icao24"][i]
        start, stop = cols["start"][i], cols["stop"][i]
        rule = next(
            (
                r
                for r in rules
                if r.country in ("*", cols["country"][i])
                and r.matches_aircraft(ac)
                and start is not None
                and stop is not None
                and r.covers(start, stop)
            ),
            None,
        )
        details["authorization"] = "authorized" if rule else "unauthorized"
        if rule is not None:
            details["authorization_rule"] = rule.source
            details["authorization_note"] = rule.note
        status.append(details["authorization"])
        details_out.append(json.dumps(details, sort_keys=True))
    out = events
    for name, values in (("authorization", status), ("details", details_out)):
        col = pa.array(values, pa.string())
        if name in out.column_names:
            out = out.set_column(out.column_names.index(name), name, col)
        else:
            out = out.append_column(name, col)
    return out
