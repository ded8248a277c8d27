"""Receiver timestamps of Beast and AVR-MLAT frames to UTC nanoseconds.

Layout
------
A Beast frame (and an AVR ``@``/``%``/``<`` line) carries a 48-bit
receiver timestamp in one of two conventions:

``12mhz``
    a free-running 12 MHz counter (dump1090, readsb, rtl-sdr receivers): only
    differences are meaningful, so absolute time needs the UTC time of the
    first frame (``start_time``).
``utc_ns_of_day``
    GPS-disciplined receivers (Radarcape, some Mode-S Beast firmware): the
    upper 18 bits are the UTC second of the day and the lower 30 bits the
    nanosecond within it (always below 10^9); the date comes from
    ``start_time``: the first frame is placed within 12 hours of it.

``auto`` picks ``utc_ns_of_day`` only when every value has a nanosecond part
below 10^9 and a second of day below 86,400 and the second part steps by one
while the nanosecond part wraps at least once (a 12 MHz counter read that way
would pass through nanosecond values >= 10^9 within 6.1 s of each wrap).
Otherwise it picks ``12mhz``.

``start_time`` defaults, in order, to a Unix time written in the file name
(``...--1522782148.136310917--.log``, as logging scripts for dump1090's
port 30005 do), else the file's modification time minus the span of the
counter (a capture file is last written when the capture ends). The choice
is reported in the reader statistics as ``time_origin``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

TimestampMode = Literal["auto", "12mhz", "utc_ns_of_day"]
TIMESTAMP_MODES: tuple[str, ...] = ("auto", "12mhz", "utc_ns_of_day")

DAY_NS = 86_400 * 1_000_000_000
NS_BITS = 30
_EPOCH_IN_NAME = re.compile(r"(?<![0-9])(1[0-9]{9}|[2-9][0-9]{9})(\.[0-9]{1,9})?(?![0-9])")


def to_ns(value: Any) -> int:
    """UTC nanoseconds since the epoch from seconds, ISO text or a datetime.

    Naive datetimes and ISO strings without an offset are taken as UTC.

    Examples
    --------
    >>> to_ns("1522782148.136310917")
    1522782148136310917
    >>> to_ns("2018-04-03T19:02:28Z")
    1522782148000000000
    """
    if isinstance(value, dt.datetime):
        d = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        delta = d - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, int | float | np.integer | np.floating):
        return int(Decimal(repr(float(value))) * 1_000_000_000)
    text = str(value).strip()
    try:
        return int(Decimal(text) * 1_000_000_000)
    except InvalidOperation:
        pass
    try:
        return to_ns(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        raise ValueError(
            f"start_time {value!r}: expected Unix seconds or an ISO 8601 time"
        ) from exc


def start_from_name(path: Path) -> int | None:
    """Unix time (ns) written in a capture file's name, if any (years 2001-2286)."""
    m = _EPOCH_IN_NAME.search(path.name)
    if m is None:
        return None
    return to_ns(m.group(1) + (m.group(2) or ""))


def looks_like_ns_of_day(counter: npt.NDArray[np.uint64]) -> bool:
    """True when the counters read as (second of day, ns) with at least one second wrap."""
    if counter.size < 2:
        return False
    ns = counter & np.uint64((1 << NS_BITS) - 1)
    sec = counter >> np.uint64(NS_BITS)
    if np.any(ns >= np.uint64(1_000_000_000)) or np.any(sec >= np.uint64(86_400)):
        return False
    s = sec.astype(np.int64)
    n = ns.astype(np.int64)
    wraps = (np.diff(s) == 1) & (np.diff(n) < 0)
    return bool(wraps.any())


def counter_to_ns(
    counter: npt.NDArray[np.uint64],
    mode: str,
    start_ns: int | None,
    path: Path | None,
) -> tuple[npt.NDArray[np.int64], dict[str, str]]:
    """UTC ns for each 48-bit receiver timestamp, with how it was decided.

    Parameters
    ----------
    counter
        The timestamps in file order.
    mode
        ``auto``, ``12mhz`` or ``utc_ns_of_day``.
    start_ns
        UTC time of the first frame (exact for ``12mhz``; within 12 hours
        for ``utc_ns_of_day``, which takes only the date from it); ``None``
        to look at the file name, then its modification time.
    path
        The file, for the defaults of ``start_ns``.

    Examples
    --------
    >>> c = np.array([1000, 13_000_000], dtype=np.uint64)
    >>> counter_to_ns(c, "12mhz", 0, None)[0].tolist()
    [0, 1083250000]
    """
    if mode not in TIMESTAMP_MODES:
        raise ValueError(f"timestamp_mode {mode!r}: expected one of {TIMESTAMP_MODES}")
    if mode == "auto":
        mode = "utc_ns_of_day" if looks_like_ns_of_day(counter) else "12mhz"
    info = {"timestamp_mode": mode}
    if counter.size == 0:
        return np.zeros(0, dtype=np.int64), info
    c = counter.astype(np.int64)
    if mode == "12mhz":
        rel = (c - c[0]) * 1000 // 12
        origin = origin_ns(start_ns, path, int(rel.max()), info)
        return origin + rel, info
    day_ns = (c >> NS_BITS) * 1_000_000_000 + (c & ((1 << NS_BITS) - 1))
    day_ns = day_ns + DAY_NS * np.cumsum(np.r_[0, np.diff(day_ns) < -DAY_NS // 2])
    origin = origin_ns(start_ns, path, int(day_ns[-1] - day_ns[0]), info)
    midnight = origin - origin % DAY_NS
    t = midnight + day_ns
    shift = np.round((origin - t[0]) / DAY_NS)  # the capture's day, near start_time
    return t + np.int64(shift) * DAY_NS, info


def origin_ns(start_ns: int | None, path: Path | None, span_ns: int, info: dict[str, str]) -> int:
    """UTC ns of the first frame: ``start_ns``, else the file name, else mtime - span.

    Records which one was used in ``info["time_origin"]``.
    """
    if start_ns is not None:
        info["time_origin"] = "start_time option"
        return start_ns
    if path is not None:
        named = start_from_name(path)
        if named is not None:
            info["time_origin"] = "file name"
            return named
        info["time_origin"] = "file modification time minus capture span"
        return path.stat().st_mtime_ns - span_ns
    info["time_origin"] = "unknown: Unix epoch"
    return 0
