"""SBS-1 BaseStation CSV (dump1090/readsb port 30003) and the stratux replay log.

One message per line, 22 comma-separated fields::

     0 message type (MSG; also SEL, ID, AIR, STA, CLK, which carry no state)
     1 transmission type 1..8     2 session id      3 aircraft id
     4 hex ident (ICAO address)   5 flight id
     6 date generated  7 time generated  8 date logged  9 time logged
    10 callsign  11 altitude (ft)  12 ground speed (kt)  13 track (deg)
    14 latitude  15 longitude  16 vertical rate (ft/min)  17 squawk
    18 alert  19 emergency  20 SPI  21 is on ground (-1 or 1 true, 0 false)

The timestamp is the *generated* date and time (``2016/12/09`` and
``09:13:34.625``), read as UTC unless ``tz`` says otherwise; the logged date and
time stand in when the generated ones are empty.

Stratux replay logs (``stratux-es.log``) prefix every SBS line with the
nanoseconds elapsed since the program started and open each run with
``START,Wed Sep 2 04:23:37 +0000 UTC 2015`` (Go layout
``Mon Jan 2 15:04:05 -0700 MST 2006``, the start time). A row's time is the
last START plus its counter. When the counter goes back without a START line
(the recorder restarted and the START line was lost) the start is unknown and
those rows are rejected as ``clock_reset``; rows before any START are rejected
as ``no_start``. The logged START is the device clock, which on a Raspberry Pi
without a real-time clock may be a stale restored time: consecutive runs can
carry the same START.

A file is read as stratux when its first line is a START or a counter-prefixed
MSG line; a START line cut into a message line (power loss) still starts a run.
In the sample ``stratux_es_20150902_michigan.log`` three runs carry START times
and a fourth, after a block of NUL bytes, has none: its 749 rows are rejected.

Rejection reasons: ``fields`` (not 22 fields, or 23 with the stratux counter),
``msg_type`` (not MSG,1..8), ``timestamp``, ``number`` (a numeric field that
does not parse), ``icao24``, ``no_start``, ``start_time`` (a START that does
not parse), ``clock_reset``. Blank lines and START lines are not records.
The file is parsed by ``pyarrow.csv`` with all 22 fields as text, single
threaded so that rejected lines keep their line numbers.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overflight.errors import FormatError
from overflight.ingest._columns import (
    BoolArray,
    IntArray,
    Rejections,
    as_array,
    callsign,
    finish,
    iso_to_ns,
    kept_lines,
    mask,
    open_bytes,
    squawk,
    to_bool,
    to_float,
    utf8,
)

N_FIELDS = 22
_LINE = re.compile(rb"^(\d{1,18},)?(MSG,[1-8]|SEL,|ID,|AIR,|STA,|CLK,)[^\n]*$")
_START = re.compile(r"(?:^|,)START,(.*)$")
_NUMERIC = {
    11: "altitude",
    12: "groundspeed",
    13: "track",
    14: "latitude",
    15: "longitude",
    16: "vertical_rate",
}


def sniff(head: bytes, path: Path) -> bool:
    """True when most of the first non-blank lines are SBS-1 (or a stratux START).

    Examples
    --------
    >>> sniff(b"MSG,8,1,1,400159,1,2018/04/03,19:02:28.136,,,,,,,,,,,,,,\\n", Path("x"))
    True
    >>> sniff(b"*8d4840d6202cc371c32ce0576098;\\n", Path("x"))
    False
    """
    lines = [ln.strip() for ln in head.split(b"\n")[:40] if ln.strip()]
    if len(head) >= 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    if not lines:
        return False
    if lines[0].startswith(b"START,") and len(lines) > 1:
        lines = lines[1:]
    hits = sum(1 for ln in lines if _LINE.match(ln) and ln.count(b",") >= 10)
    return hits >= max(1, len(lines) // 2 + 1)


def _start_ns(text: str) -> int | None:
    """Nanoseconds of a stratux START text, or None when it does not parse.

    Examples
    --------
    >>> _start_ns("Wed Sep 2 04:23:37 +0000 UTC 2015")
    1441167817000000000
    """
    for part in reversed(text.split(",")):
        words = part.split()
        if len(words) < 5:
            continue
        day_time = " ".join(words[1:4])
        year = words[-1]
        zone = words[4:-1]
        offset = next((w for w in zone if re.fullmatch(r"[+-]\d{4}", w)), None)
        if offset is None and any(w in ("UTC", "GMT", "Z") for w in zone):
            offset = "+0000"
        if offset is None:
            continue
        try:
            when = datetime.strptime(f"{day_time} {year} {offset}", "%b %d %H:%M:%S %Y %z")
        except ValueError:
            continue
        return int(when.timestamp()) * 10**9
    return None


def _stratux_times(
    lines: IntArray, counter: IntArray, starts: list[tuple[int, str]], rej: Rejections
) -> IntArray:
    """Times of the rows on ``lines`` from the START lines (see the module docstring)."""
    start_lines = np.array([n for n, _ in starts], np.int64)
    start_ns = np.array([_start_ns(t) or -1 for _, t in starts], np.int64)
    seg = np.searchsorted(start_lines, lines) - 1  # the START in force, -1 when none
    new_segment = np.r_[True, seg[1:] != seg[:-1]] if seg.size else np.zeros(0, bool)
    reset = np.r_[False, (counter[1:] < counter[:-1]) & ~new_segment[1:]][: seg.size]
    # once the counter resets inside a segment, the rest of it has no known start
    broken = _broken_after_reset(new_segment, reset) if seg.size else reset
    no_start = seg < 0
    origin = start_ns[np.maximum(seg, 0)] if start_ns.size else np.full(seg.size, -1)
    rej.reject(no_start, "no_start")
    rej.reject(origin < 0, "start_time")
    rej.reject(broken, "clock_reset")
    return np.asarray(origin + counter, np.int64)


def _broken_after_reset(new_segment: BoolArray, reset: BoolArray) -> BoolArray:
    """True from the first reset of each segment to the segment's end.

    Examples
    --------
    >>> _broken_after_reset(np.array([1, 0, 0, 1, 0], bool), np.array([0, 0, 1, 0, 0], bool))
    array([False, False,  True, False, False])
    """
    resets_so_far = np.cumsum(reset)
    at_segment_start: IntArray = resets_so_far[np.flatnonzero(new_segment)] - reset[new_segment]
    base: IntArray = np.repeat(
        at_segment_start, np.diff(np.r_[np.flatnonzero(new_segment), reset.size])
    )
    return np.asarray(resets_so_far - base > 0, bool)


def _parse(data: bytes, n_cols: int, path: Path) -> tuple[pa.Table, list[tuple[int, str]]]:
    """The rows with ``n_cols`` fields as strings, and (line, text) of the other lines."""
    import pyarrow.csv as pcsv

    invalid: list[tuple[int, str]] = []

    def on_invalid(row: Any) -> str:
        invalid.append((-1 if row.number is None else int(row.number), str(row.text)))
        return "skip"

    names = [f"f{k}" for k in range(n_cols)]
    try:
        table = pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pcsv.ParseOptions(
                quote_char=False, invalid_row_handler=on_invalid, ignore_empty_lines=False
            ),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True
            ),
        )
    except pa.ArrowException as exc:
        raise FormatError(f"not SBS-1 text ({exc})", path, "line 1") from exc
    return table, invalid


def read(path: Path, tz: str = "UTC", non_icao: str = "keep", **_: Any) -> pa.Table:
    """Read an SBS-1 file (or stratux log) into the message table.

    Parameters
    ----------
    path
        The file, optionally gzip, xz or bzip2 compressed.
    tz
        Time zone of the date/time fields (IANA name); UTC by default.
    non_icao
        ``keep`` (default), ``strip`` or ``drop`` the ``~`` non-ICAO addresses.
    """
    data = utf8(open_bytes(path))
    first = next((ln.strip() for ln in data[:4096].split(b"\n") if ln.strip()), b"")
    stratux = first.startswith(b"START,") or re.match(rb"\d{1,18},MSG,", first) is not None
    table, invalid = _parse(data, N_FIELDS + stratux, path)
    n = table.num_rows
    lines = kept_lines(n, [k for k, _ in invalid])
    rej = Rejections(lines, "line")
    blank = np.ones(n, bool)
    for col in table.columns:
        blank &= np.asarray(col.is_null().to_numpy(zero_copy_only=False), bool)
    rej.ignore(blank)
    starts = [(k, m.group(1)) for k, t in invalid if (m := _START.search(t))]
    headers = {k for k, t in invalid if t.startswith("START,")}  # not records
    rej.reject_outside([k for k, _ in invalid if k not in headers], "fields")

    def field(k: int) -> pa.Array:
        return as_array(table.column(k + stratux))

    is_msg = pc.and_(pc.equal(field(0), "MSG"), pc.is_in(field(1), pa.array(list("12345678"))))
    rej.reject(~mask(is_msg), "msg_type")
    cols: dict[str, Any] = {"icao24": field(4), "callsign": callsign(field(10))}
    number_bad = np.zeros(n, bool)
    for k, name in _NUMERIC.items():
        cols[name], bad = to_float(field(k))
        number_bad |= bad
    cols["squawk"] = squawk(field(17))
    cols["onground"] = to_bool(field(21))
    if stratux:
        text = as_array(table.column(0))
        ok = mask(pc.match_substring_regex(text, r"^\d{1,18}$"))
        rej.reject(~ok, "fields")
        counter = pc.fill_null(pc.if_else(pa.array(ok), text, "0").cast(pa.int64()), 0)
        ns = _stratux_times(lines, np.asarray(counter.to_numpy(), np.int64), starts, rej)
    else:
        date, time = field(6), field(7)
        use_logged = pc.or_(pc.is_null(date), pc.is_null(time))
        date = pc.if_else(use_logged, field(8), date)
        time = pc.if_else(use_logged, field(9), time)
        stamp = pc.binary_join_element_wise(pc.replace_substring(date, "/", "-"), time, " ")
        ns, bad_time = iso_to_ns(stamp, tz)
        rej.reject(bad_time, "timestamp")
    rej.reject(number_bad, "number")
    cols["timestamp"] = ns
    return finish(cols, rej, path, "sbs", non_icao=non_icao)
