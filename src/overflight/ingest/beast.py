"""Beast binary captures (dump1090 / readsb port 30005) to the message table.

Layout
------
Each frame is ``0x1a``, a type byte, a 48-bit big-endian receiver timestamp,
one signal-level byte, then the payload:

====  ===================  ============
type  payload              payload size
====  ===================  ============
'1'   Mode A/C reply       2 bytes
'2'   Mode S short (56)    7 bytes
'3'   Mode S long (112)    14 bytes
====  ===================  ============

Every ``0x1a`` after the type byte (timestamp, signal or payload) is sent
twice. A run of ``0x1a`` bytes of odd length therefore ends with a frame
marker and one of even length is all data; the stream is un-escaped and
framed with numpy over the whole file. Frames whose length does not reach the
next marker exactly are counted (``bad_frame``), as are bytes between frames
(``junk_bytes``); a final frame cut short raises :class:`DecodeError` naming
its byte offset. Mode A/C frames are counted (``mode_ac``) and not decoded.
Exact repeats (same timestamp and bytes; some capture scripts write the
stream twice) are dropped and counted (``duplicate``).

The timestamp is a 12 MHz counter or, on GPS receivers, UTC time of day:
see :mod:`overflight.ingest.modes.clock`. Example: beastblackbox's capture
``ulss7-beast-bin-utc--1522782148.136310917--.log`` (St Petersburg, 2018)
holds a 12 MHz counter: 1,088 of its 13,954 timestamps have a "nanosecond"
part of 10^9 or more, so they are not time of day. The "utc" of its name is
the Unix time of the first frame written into the name, which the reader
picks up; with it, every position time matches dump1090's decode of the
file to the millisecond. That capture also holds every frame twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.errors import DecodeError, FormatError
from overflight.ingest._compress import read_all
from overflight.ingest.modes import clock
from overflight.ingest.modes.decode import decode_frames
from overflight.ingest.modes.positions import CprOptions

ESC = 0x1A
PAYLOAD = {0x31: 2, 0x32: 7, 0x33: 14}
HEADER = 9  # marker, type, 6 timestamp bytes, signal
_PAYLOAD_LUT = np.zeros(256, dtype=np.int64)
for _t, _n in PAYLOAD.items():
    _PAYLOAD_LUT[_t] = _n

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


def _unescape(buf: U8) -> tuple[U8, I64, npt.NDArray[np.bool_]]:
    """Un-escaped bytes, their offsets in the file and which are frame markers."""
    n = buf.size
    idx = np.arange(n, dtype=np.int64)
    esc = buf == ESC
    before = np.r_[False, esc[:-1]]
    after = np.r_[esc[1:], False]
    run_start = np.maximum.accumulate(np.where(esc & ~before, idx, 0))
    run_end = np.minimum.accumulate(np.where(esc & ~after, idx, n)[::-1])[::-1]
    within = idx - run_start
    run_len = run_end - run_start + 1
    marker = esc & (within == run_len - 1) & (run_len % 2 == 1)
    keep = ~esc | (within % 2 == 0)
    return buf[keep], idx[keep], marker[keep]


def frame_bytes(buf: U8, path: Path | None, *, allow_truncated: bool = False) -> dict[str, Any]:
    """Split a Beast byte stream into frames.

    Returns a dict of numpy arrays: ``type`` (ord of '1'/'2'/'3'), ``offset``
    (byte offset of each marker in the file), ``counter`` (48-bit timestamp),
    ``signal`` and ``payload`` (``(n, 14)`` left-aligned), plus counts
    ``bad_frame`` and ``junk_bytes``.

    Raises
    ------
    DecodeError
        When the last frame is cut short (unless ``allow_truncated``).
    """
    u, offset, marker = _unescape(buf)
    m = np.flatnonzero(marker)
    size = u.size
    kind = u[np.minimum(m + 1, size - 1)] if size else np.zeros(0, np.uint8)
    plen = _PAYLOAD_LUT[kind]
    end = m + HEADER + plen
    nxt = np.r_[m[1:], size]
    typed = plen > 0
    fits = typed & (end <= nxt)
    truncated = typed & (nxt == size) & (end > size)
    if truncated.any() and not allow_truncated:
        k = int(np.flatnonzero(truncated)[0])
        raise DecodeError(
            f"Beast frame type {chr(kind[k])!r} cut short: expected {HEADER + int(plen[k])} "
            f"bytes after un-escaping, the file ends after {size - int(m[k])} (a capture "
            "stopped mid-frame: --on-invalid skip reads the frames before it)",
            path,
            f"byte {int(offset[m[k]])}",
        )
    good = m[fits]
    covered = int(np.sum(end[fits] - good)) + int(np.sum(nxt[~fits] - m[~fits]))
    cols = np.arange(14, dtype=np.int64)
    take = np.minimum(good[:, None] + HEADER + cols[None, :], max(size - 1, 0))
    payload = np.where(cols[None, :] < plen[fits][:, None], u[take], 0).astype(np.uint8)
    ts_idx = good[:, None] + 2 + np.arange(6)[None, :]
    ts_bytes = np.zeros((good.size, 8), dtype=np.uint8)
    ts_bytes[:, 2:] = u[ts_idx]
    return {
        "type": kind[fits],
        "offset": offset[good],
        "counter": ts_bytes.view(">u8")[:, 0].astype(np.uint64),
        "signal": u[good + 8],
        "payload": payload,
        "bad_frame": int(np.count_nonzero(~fits & ~truncated)),
        "truncated": int(np.count_nonzero(truncated)),
        "junk_bytes": size - covered,
    }


def sniff(head: bytes, path: Path) -> bool:
    """True when ``head`` starts with Beast frames that chain marker to marker."""
    if len(head) < HEADER + 2 or head[0] != ESC or head[1] not in PAYLOAD:
        return False
    fr = frame_bytes(np.frombuffer(head, dtype=np.uint8), path, allow_truncated=True)
    n = int(fr["type"].size)
    return bool(n >= 1 and fr["bad_frame"] <= n // 10 and fr["junk_bytes"] < 64)


def read(
    path: Path,
    *,
    start_time: Any = None,
    timestamp_mode: str = "auto",
    reference: tuple[float, float] | None = None,
    source: str | None = None,
    drop_duplicates: bool = True,
    on_invalid: str = "error",
    **_options: Any,
) -> pa.Table:
    """Read a Beast capture into the canonical message table.

    Parameters
    ----------
    path
        The capture (``nc host 30005 > file``), optionally gzip, xz or bzip2 compressed.
    start_time
        UTC time of the first frame (Unix seconds, ISO text or datetime):
        exact for 12 MHz timestamps; for ``utc_ns_of_day`` only the date is
        taken (the first frame is placed within 12 hours of it). Defaults to
        a Unix time in the file name, else the modification time minus the
        capture's span.
    timestamp_mode
        ``auto``, ``12mhz`` or ``utc_ns_of_day``.
    reference
        Receiver (lat, lon), used to resolve surface positions.
    source
        Value of the ``source`` column; the file name by default.
    drop_duplicates
        Drop frames repeated with the same timestamp and bytes.
    on_invalid
        ``"error"``: a last frame cut short (a capture stopped mid-write)
        raises :class:`DecodeError`; ``"skip"``: it is counted (``truncated``)
        and the frames before it are read.

    Returns
    -------
    pyarrow.Table
        The message table; statistics as JSON in the schema metadata under
        ``overflight:stats``.

    Raises
    ------
    FormatError
        No Beast frame in the file.
    DecodeError
        The last frame is cut short.
    """
    p = Path(path)
    raw = _read_bytes(p)
    if on_invalid not in ("error", "skip"):
        raise ValueError(f"on_invalid={on_invalid!r}, expected 'error' or 'skip'")
    fr = frame_bytes(np.frombuffer(raw, dtype=np.uint8), p, allow_truncated=on_invalid == "skip")
    if fr["type"].size == 0:
        raise FormatError(
            "no Beast frame found: expected 0x1a followed by '1', '2' or '3', a 6-byte "
            "timestamp, a signal byte and 2, 7 or 14 payload bytes",
            p,
            "byte 0",
        )
    start_ns = None if start_time is None else clock.to_ns(start_time)
    t_ns, clock_info = clock.counter_to_ns(fr["counter"], timestamp_mode, start_ns, p)

    modes = fr["type"] != 0x31
    keep = modes.copy()
    n_dup = 0
    if drop_duplicates:
        rec = np.concatenate(
            [fr["counter"].view(np.uint8).reshape(-1, 8), fr["payload"], fr["type"][:, None]],
            axis=1,
        )
        _, first = np.unique(np.ascontiguousarray(rec).view(f"V{rec.shape[1]}"), return_index=True)
        unique = np.zeros(rec.shape[0], dtype=bool)
        unique[first] = True
        n_dup = int(np.count_nonzero(modes & ~unique))
        keep &= unique
    sel = np.flatnonzero(keep)
    table, stats = decode_frames(
        fr["payload"][sel],
        fr["type"][sel] == 0x33,
        t_ns[sel],
        source=source or p.name,
        cpr_options=CprOptions(reference=reference),
    )
    extra = {
        "mode_ac": int(np.count_nonzero(~modes)),
        "duplicate": n_dup,
        "bad_frame": fr["bad_frame"],
        "truncated": fr["truncated"],
    }
    reasons = stats["reasons"]
    for k, v in extra.items():
        if v:
            reasons[k] = v
    stats["records"] = int(fr["type"].size + fr["bad_frame"] + fr["truncated"])
    stats["rejected"] += fr["bad_frame"] + fr["truncated"]
    stats["skipped"] += extra["mode_ac"] + n_dup
    stats["junk_bytes"] = fr["junk_bytes"]
    stats.update(clock_info)
    return table.replace_schema_metadata({b"overflight:stats": json.dumps(stats).encode()})


def _read_bytes(path: Path) -> bytes:
    return read_all(path)
