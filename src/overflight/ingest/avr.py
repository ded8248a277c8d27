"""AVR text and plain hex frames, one per line, to the message table.

Layout
------
=====================================  =========================================
line                                   meaning
=====================================  =========================================
``*8D4840D6202CC371C32CE0576098;``     AVR: frame in hex, no timestamp
``@0012AB34CD568D4840D6...;``          AVR-MLAT: 12 hex digits of 48-bit
                                       receiver timestamp, then the frame
``%0012AB34CD568D4840D6...;``          the same (some dump1090 forks)
``<0012AB34CD56F28D4840D6...;``        12 timestamp digits, 2 signal digits,
                                       then the frame
``8D4840D6202CC371C32CE0576098``       plain hex (``;`` optional)
``2015-03-03T16:12:24.84 5D4840...``   time then hex: ISO 8601 (UTC unless an
``1457996400,"8D406B90...",...``       offset is given) or Unix seconds, then
``1495353600,4D010D,A00015B7C2...``    the frame (after at most one short
                                       column such as the address), then
                                       anything (CSV columns)
=====================================  =========================================

A frame is 14 or 28 hex digits. Receiver timestamps follow
:mod:`overflight.ingest.modes.clock`. Lines without any time get
``start_time`` (else a Unix time in the file name, else the file's
modification time) plus their line number in nanoseconds, which keeps their
order: CPR pairs are then formed in line order. Lines that fit none of these
are counted (``bad_line``); a file without a single valid line raises
:class:`FormatError`. Parsing is vectorised over the whole file: line
boundaries with ``np.flatnonzero``, hex with a nibble table, and the
time-then-hex form with one Arrow regular expression.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.errors import FormatError
from overflight.ingest._compress import read_all
from overflight.ingest.modes import clock, hexio
from overflight.ingest.modes.decode import decode_frames
from overflight.ingest.modes.positions import CprOptions

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

_TRIM_END = np.array([ord(c) for c in "; \t\r,"], dtype=np.uint8)
_TRIM_START = np.array([ord(c) for c in " \t\r"], dtype=np.uint8)
_ISO = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?"
_TIMED = (
    rf'^\s*"?(?:(?P<iso>{_ISO})(?P<zone>Z|[+-]\d{{2}}:?\d{{2}})?|(?P<num>\d{{9,10}}(?:\.\d+)?))"?'
    r'[\s,;]+(?:"?[0-9A-Za-z]{1,8}"?[\s,;]+)?"?\*?(?P<hex>[0-9A-Fa-f]{28}|[0-9A-Fa-f]{14})"?;?(?:[\s,;][\s\S]*)?$'
)


def _lines(buf: U8) -> tuple[I64, I64]:
    """Start and end (exclusive, trimmed of blanks and ``;``) of every line."""
    if buf.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    nl = np.flatnonzero(buf == 10)
    ends = np.r_[nl, buf.size].astype(np.int64)
    starts = np.r_[0, nl + 1].astype(np.int64)
    if starts.size > 1 and starts[-1] == buf.size:  # file ends with a newline
        starts, ends = starts[:-1], ends[:-1]
    for _ in range(8):
        cut = (ends > starts) & np.isin(buf[np.maximum(ends - 1, 0)], _TRIM_END)
        if not cut.any():
            break
        ends = ends - cut
    for _ in range(8):
        cut = (ends > starts) & np.isin(buf[np.minimum(starts, max(buf.size - 1, 0))], _TRIM_START)
        if not cut.any():
            break
        starts = starts + cut
    return starts, ends


def parse(
    data: bytes, path: Path | None, start_time: Any = None, timestamp_mode: str = "auto"
) -> dict[str, Any]:
    """Frames, times and line numbers of every valid line, and what was rejected.

    Returns a dict with ``frames`` (``(n, 14)`` uint8), ``long``, ``t_ns``,
    ``line`` (1-based), ``records`` (non-blank lines), ``bad_line``,
    ``first_line`` (number of the first non-blank line) and clock details.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    starts, ends = _lines(buf)
    if data.startswith(b"\xef\xbb\xbf") and starts.size:  # UTF-8 byte order mark
        starts[0] = min(3, int(ends[0]))
    line_no = np.arange(1, starts.size + 1, dtype=np.int64)
    blank = ends <= starts
    first = np.where(blank, 0, buf[np.minimum(starts, max(buf.size - 1, 0))])
    star = first == ord("*")
    mlat = (first == ord("@")) | (first == ord("%"))
    sig = first == ord("<")
    hex_start = starts + np.where(star, 1, np.where(mlat, 13, np.where(sig, 15, 0)))
    frames, long, ok = hexio.frames_from_hex(buf, hex_start, ends - hex_start)
    counter, ok_ts = hexio.hex_counter(buf, starts + 1, 12)
    timed = mlat | sig
    ok &= ~blank & (~timed | ok_ts)
    if sig.any():
        _, ok_sig = hexio.hex_counter(buf, starts + 13, 2)
        ok &= ~sig | ok_sig

    start_ns = None if start_time is None else clock.to_ns(start_time)
    t_ns = np.zeros(starts.size, dtype=np.int64)
    info: dict[str, Any] = {}
    c_sel = np.flatnonzero(ok & timed)
    if c_sel.size:
        t_ns[c_sel], info = clock.counter_to_ns(counter[c_sel], timestamp_mode, start_ns, path)
    u_sel = np.flatnonzero(ok & ~timed)
    if u_sel.size:
        origin_info: dict[str, str] = {}
        t_ns[u_sel] = clock.origin_ns(start_ns, path, 0, origin_info) + line_no[u_sel]
        info.setdefault("time_origin", origin_info["time_origin"])
        info["untimed_lines"] = int(u_sel.size)

    rest = np.flatnonzero(~ok & ~blank & ~star & ~timed)
    if rest.size:
        r_ok, r_frames, r_long, r_t = _timed_lines(buf, starts, ends, rest)
        sel = rest[r_ok]
        frames[sel], long[sel], t_ns[sel] = r_frames[r_ok], r_long[r_ok], r_t[r_ok]
        ok[sel] = True
    non_blank = np.flatnonzero(~blank)
    keep = np.flatnonzero(ok)
    return {
        "frames": frames[keep],
        "long": long[keep],
        "t_ns": t_ns[keep],
        "line": line_no[keep],
        "records": int(non_blank.size),
        "bad_line": int(non_blank.size - keep.size),
        "first_line": int(line_no[non_blank[0]]) if non_blank.size else 1,
        **info,
    }


def _timed_lines(
    buf: U8, starts: I64, ends: I64, rows: I64
) -> tuple[npt.NDArray[np.bool_], U8, npt.NDArray[np.bool_], I64]:
    """Parse ``<time> <hex> ...`` lines with one Arrow regex pass."""
    ascii_buf = np.where(buf < 128, buf, ord("?")).astype(np.uint8)
    # Strings alternate line, gap to the next line, line...; the gaps are dropped.
    offsets = np.empty(2 * rows.size + 1, dtype=np.int64)
    offsets[0:-1:2] = starts[rows]
    offsets[1::2] = ends[rows]
    offsets[-1] = ends[rows[-1]]
    texts = pa.LargeStringArray.from_buffers(
        2 * rows.size, pa.py_buffer(offsets), pa.py_buffer(ascii_buf.tobytes())
    )
    texts = texts.take(pa.array(np.arange(0, 2 * rows.size, 2))).cast(pa.string())
    m = pc.extract_regex(texts, _TIMED)
    matched = m.is_valid().to_numpy(zero_copy_only=False)
    hexes = pc.struct_field(m, "hex")
    data, hstart, hlen = hexio.string_slices(hexes)
    frames, long, ok = hexio.frames_from_hex(data, hstart, hlen)
    t_ns = np.zeros(rows.size, dtype=np.int64)
    num = pc.struct_field(m, "num")
    has_num = matched & (pc.utf8_length(num).to_numpy(zero_copy_only=False) > 0)
    if has_num.any():
        secs = pc.cast(pc.if_else(pa.array(has_num), num, "0"), pa.float64()).to_numpy()
        t_ns = np.where(has_num, np.round(secs * 1e9).astype(np.int64), t_ns)
    iso = matched & ~has_num
    if iso.any():
        zone = pc.struct_field(m, "zone")
        zone = pc.if_else(pc.equal(zone, ""), "Z", zone)
        text = pc.binary_join_element_wise(pc.struct_field(m, "iso"), zone, "")
        text = pc.if_else(pa.array(iso), text, "1970-01-01T00:00:00Z")
        stamps, good = _iso_ns(text)
        t_ns = np.where(iso & good, stamps, t_ns)
        matched &= ~iso | good
    return matched & ok, frames, long, t_ns


def _iso_ns(text: pa.Array) -> tuple[I64, npt.NDArray[np.bool_]]:
    """UTC ns of ISO strings carrying a zone; a slow path only for invalid dates."""
    try:
        ns = pc.cast(text, pa.timestamp("ns", tz="UTC")).cast(pa.int64()).to_numpy()
        return ns.astype(np.int64), np.ones(len(text), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    out = np.zeros(len(text), dtype=np.int64)
    good = np.zeros(len(text), dtype=bool)
    for i, s in enumerate(text.to_pylist()):
        try:
            out[i] = clock.to_ns(s)
            good[i] = True
        except ValueError:
            pass
    return out, good


def sniff(head: bytes, path: Path) -> bool:
    """True when most of the first 20 lines are AVR, plain hex or time-then-hex frames."""
    lines = head.splitlines()
    if len(lines) > 1 and not head.endswith(b"\n"):
        lines = lines[:-1]  # cut at the sniff boundary
    lines = [x for x in lines if x.strip()][:20]
    if not lines or any(b"\x00" in x for x in lines):
        return False
    got = parse(b"\n".join(lines), None, start_time=0)
    return bool(got["frames"].shape[0] >= max(1, int(0.8 * len(lines))))


def read(
    path: Path,
    *,
    start_time: Any = None,
    timestamp_mode: str = "auto",
    reference: tuple[float, float] | None = None,
    source: str | None = None,
    **_options: Any,
) -> pa.Table:
    """Read AVR or hex-per-line frames into the canonical message table.

    Parameters
    ----------
    path
        The text file, optionally gzip, xz or bzip2 compressed.
    start_time
        UTC time of the first receiver timestamp (``@``/``%``/``<`` lines) and
        of untimed lines; Unix seconds, ISO text or datetime.
    timestamp_mode
        ``auto``, ``12mhz`` or ``utc_ns_of_day`` for receiver timestamps.
    reference
        Receiver (lat, lon), used to resolve surface positions.
    source
        Value of the ``source`` column; the file name by default.

    Raises
    ------
    FormatError
        When no line holds a frame.
    """
    p = Path(path)
    data = read_all(p)
    got = parse(data, p, start_time, timestamp_mode)
    if got["frames"].shape[0] == 0:
        raise FormatError(
            "no Mode S frame on any line: expected '*<hex>;', '@<12 hex time><hex>;', "
            "plain hex of 14 or 28 digits, or a time followed by such hex",
            p,
            f"line {got['first_line']}",
        )
    table, stats = decode_frames(
        got["frames"],
        got["long"],
        got["t_ns"],
        source=source or p.name,
        cpr_options=CprOptions(reference=reference),
    )
    stats["records"] = got["records"]
    if got["bad_line"]:
        stats["reasons"]["bad_line"] = got["bad_line"]
        stats["rejected"] += got["bad_line"]
    for key in ("timestamp_mode", "time_origin", "untimed_lines"):
        if key in got:
            stats[key] = got[key]
    return table.replace_schema_metadata({b"overflight:stats": json.dumps(stats).encode()})
