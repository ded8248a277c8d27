"""Incremental stream parsers: bytes as they arrive from a socket to frames or lines.

A TCP read returns an arbitrary slice of the stream, so each parser keeps the
unfinished end of the previous read and prepends it to the next one.  Whole
chunks are handled with numpy through the same functions the file readers use
(:func:`overflight.ingest.beast.frame_bytes`, :mod:`overflight.ingest.modes.hexio`);
the only Python loops look at the last few dozen bytes of a chunk.

What is counted instead of raised
---------------------------------
==============  ==============================================================
name            meaning
==============  ==============================================================
``bad_frame``   Beast frame cut short by the next marker, or of unknown type
``junk_bytes``  Beast bytes between frames
``mode_ac``     Beast Mode A/C frames (type '1'), not decoded
``truncated``   a partial frame dropped when the connection closed
``oversized``   a text line longer than ``max_line_bytes``, skipped up to
                the next newline
``bad_line``    a text line that holds no Mode S frame (AVR)
==============  ==============================================================
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.ingest.beast import ESC, HEADER, PAYLOAD, frame_bytes
from overflight.ingest.modes import hexio

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

#: Longest escaped Beast frame: marker, type, then 21 bytes that may all be doubled.
MAX_BEAST_FRAME = 2 + 2 * (HEADER - 2 + 14)
#: Default bound on a text line (AVR, SBS).
MAX_LINE_BYTES = 4096


@dataclass(frozen=True)
class FrameChunk:
    """Mode S frames cut from one read.

    ``frames`` is ``(n, 14)`` uint8 (left-aligned), ``long`` marks 112-bit
    frames, ``counter`` holds the 48-bit receiver timestamp and ``timed``
    says whether the frame had one (AVR ``*`` lines do not).
    """

    frames: U8
    long: B
    counter: U64
    timed: B

    @property
    def size(self) -> int:
        """Number of frames."""
        return int(self.frames.shape[0])

    @staticmethod
    def empty() -> FrameChunk:
        """A chunk without frames."""
        return FrameChunk(
            np.zeros((0, 14), np.uint8),
            np.zeros(0, bool),
            np.zeros(0, np.uint64),
            np.zeros(0, bool),
        )


def _last_marker(buf: bytes, stop: int) -> int:
    """Offset of the last frame marker before ``stop`` (within a bounded look-back), or -1.

    A marker is the last 0x1a of an odd-length run of 0x1a followed by a type byte.
    """
    lo = max(0, stop - 2 * MAX_BEAST_FRAME)
    i = stop - 1
    while i >= lo:
        if buf[i] != ESC:
            i -= 1
            continue
        end = i
        while i >= lo and buf[i] == ESC:
            i -= 1
        if (end - i) % 2 == 1 and buf[end + 1] in PAYLOAD:
            return end
    return -1


def beast_split(buf: bytes) -> int:
    """Where to cut ``buf`` so that everything before the cut is whole frames.

    Returns ``len(buf)`` when the stream ends on a complete frame (or on junk),
    else the offset where the unfinished frame (or a trailing run of 0x1a that
    may be the next marker) starts.

    Examples
    --------
    >>> frame = bytes([0x1A, 0x32]) + bytes(6) + bytes([0x20]) + bytes(7)
    >>> beast_split(frame), beast_split(frame + frame[:5]), beast_split(frame + frame[:1])
    (16, 16, 16)
    """
    n = len(buf)
    trailing = n - len(buf.rstrip(bytes([ESC])))
    if trailing > MAX_BEAST_FRAME:
        return n
    body_end = n - trailing
    m = _last_marker(buf, body_end) if body_end > 0 else -1
    if m < 0:
        return body_end if trailing else n
    need = HEADER - 2 + PAYLOAD[buf[m + 1]]
    middle = buf[m + 2 : body_end]
    have = len(middle) - middle.count(ESC) // 2
    if have >= need:  # the frame ended before the trailing run
        return body_end if trailing else n
    pairs = need - have
    if 2 * pairs > trailing:
        return m
    rest = trailing - 2 * pairs  # 0x1a left after the frame: the next marker, maybe
    return n - rest if rest else n


class BeastFramer:
    """Beast binary stream (port 30005) to frame chunks.

    Holds the bytes of an unfinished frame between reads (at most
    :data:`MAX_BEAST_FRAME`) and the counts listed in the module docstring.
    Not thread-safe: one framer per connection.
    """

    def __init__(self) -> None:
        self._rest = b""
        self.counts: Counter[str] = Counter()

    def feed(self, data: bytes) -> FrameChunk:
        """Frames completed by ``data`` (which may end mid-frame)."""
        buf = self._rest + data
        cut = beast_split(buf)
        head, self._rest = buf[:cut], buf[cut:]
        if not head:
            return FrameChunk.empty()
        fr = frame_bytes(np.frombuffer(head, np.uint8), None, allow_truncated=True)
        for key in ("bad_frame", "junk_bytes", "truncated"):
            if fr[key]:
                self.counts["bad_frame" if key == "truncated" else key] += int(fr[key])
        kind = fr["type"]
        modes = kind != 0x31
        if not modes.all():
            self.counts["mode_ac"] += int(np.count_nonzero(~modes))
        n = int(np.count_nonzero(modes))
        return FrameChunk(
            fr["payload"][modes], kind[modes] == 0x33, fr["counter"][modes], np.ones(n, bool)
        )

    def reset(self) -> None:
        """Forget a partial frame (the connection closed); count it."""
        if self._rest:
            self.counts["truncated"] += 1
        self._rest = b""


class LineFramer:
    """Text stream to complete lines, each at most ``max_line_bytes`` long.

    A longer line is counted (``oversized``) and skipped up to the next
    newline, even when it spans many reads, so memory stays bounded.
    """

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self._rest = b""
        self._skipping = False
        self.counts: Counter[str] = Counter()

    def feed(self, data: bytes) -> bytes:
        """The complete lines in ``data`` (with what was held), newline-terminated."""
        if self._skipping:
            nl = data.find(b"\n")
            if nl < 0:
                return b""
            data, self._skipping = data[nl + 1 :], False
        buf = self._rest + data
        last = buf.rfind(b"\n")
        complete, rest = (b"", buf) if last < 0 else (buf[: last + 1], buf[last + 1 :])
        self._rest = rest
        if len(rest) > self.max_line_bytes:
            self.counts["oversized"] += 1
            self._rest, self._skipping = b"", True
        return self._drop_long(complete)

    def _drop_long(self, complete: bytes) -> bytes:
        if len(complete) <= self.max_line_bytes:
            return complete
        arr = np.frombuffer(complete, np.uint8)
        nl = np.flatnonzero(arr == 10)
        starts = np.r_[0, nl[:-1] + 1]
        lengths = nl - starts  # without the newline
        long = lengths > self.max_line_bytes
        if not long.any():
            return complete
        self.counts["oversized"] += int(np.count_nonzero(long))
        keep = np.repeat(~long, lengths + 1)
        kept: bytes = arr[keep].tobytes()
        return kept

    def reset(self) -> None:
        """Forget a partial line (the connection closed)."""
        if self._rest:
            self.counts["truncated"] += 1
        self._rest, self._skipping = b"", False


_TRIM = np.zeros(256, bool)
_TRIM[[ord(c) for c in "; \t\r\x00"]] = True


def _line_bounds(buf: U8) -> tuple[I64, I64]:
    """Start and end (exclusive, trimmed of blanks and ``;``) of every line."""
    nl = np.flatnonzero(buf == 10)
    ends = np.r_[nl, buf.size].astype(np.int64)
    starts = np.r_[0, nl + 1].astype(np.int64)
    for _ in range(4):
        cut = (ends > starts) & _TRIM[buf[np.maximum(ends - 1, 0)]]
        if not cut.any():
            break
        ends = ends - cut
    for _ in range(4):
        cut = (ends > starts) & _TRIM[buf[np.minimum(starts, buf.size - 1)]]
        if not cut.any():
            break
        starts = starts + cut
    return starts, ends


def parse_avr(blob: bytes) -> tuple[FrameChunk, int]:
    """AVR lines as a receiver streams them (port 30002) to frames.

    Accepted: ``*HEX;`` (no time), ``@``/``%`` + 12 hex digits of 12 MHz
    timestamp + HEX, ``<`` + 12 timestamp digits + 2 signal digits + HEX,
    and bare HEX.  Returns the frames and the number of non-blank lines that
    held none (``bad_line``).

    Examples
    --------
    >>> hexa = b"8D406B902015A678D4D220AA4BDA"
    >>> ch, bad = parse_avr(b"*" + hexa + b";\\n@000000001234" + hexa + b";\\nxyz\\n")
    >>> ch.size, ch.timed.tolist(), int(ch.counter[1]), bad
    (2, [False, True], 4660, 1)
    """
    if not blob:
        return FrameChunk.empty(), 0
    buf = np.frombuffer(blob, np.uint8)
    starts, ends = _line_bounds(buf)
    blank = ends <= starts
    first = buf[np.minimum(starts, buf.size - 1)]
    star = first == ord("*")
    mlat = (first == ord("@")) | (first == ord("%"))
    sig = first == ord("<")
    skip = np.where(star, 1, np.where(mlat, 13, np.where(sig, 15, 0)))
    hex_start = starts + skip
    frames, long, ok = hexio.frames_from_hex(buf, hex_start, np.maximum(ends - hex_start, 0))
    counter, ok_ts = hexio.hex_counter(buf, starts + 1, 12)
    timed = mlat | sig
    ok &= ~blank & (~timed | ok_ts)
    keep = np.flatnonzero(ok)
    bad = int(np.count_nonzero(~blank) - keep.size)
    chunk = FrameChunk(
        frames[keep], long[keep], np.where(timed, counter, 0)[keep].astype(np.uint64), timed[keep]
    )
    return chunk, bad
