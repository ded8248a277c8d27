"""Serve a recording on a TCP port, paced like the original, for tests and demos.

``overflight replay FILE --port P [--speed FACTOR] [--loop]`` listens on
loopback and sends every client that connects the file's original bytes, in
recorded order, from the start:

=========  ==================================  ==============================
format     records                             time of each record
=========  ==================================  ==============================
beast      Beast frames (Mode A/C included)    48-bit receiver timestamp
                                               (12 MHz counter, or GPS time
                                               of day, detected as the file
                                               reader does)
avr        lines (``*``, ``@``, ``<``, hex)    ``@``/``<`` 12 MHz timestamp;
                                               untimed lines at
                                               ``untimed_rate_hz``
sbs        SBS-1 lines                         generated date and time
=========  ==================================  ==============================

A record is sent when ``(its time - first time) / speed`` seconds have
passed since the client connected (records due together go in one write);
``speed=0`` sends as fast as the client reads.  The server stops by itself
once every client has received the whole file (with ``loop``, it starts
again from the beginning instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight import ingest
from overflight.errors import FormatError
from overflight.ingest._columns import iso_to_ns
from overflight.ingest._compress import read_all
from overflight.ingest.beast import frame_bytes
from overflight.ingest.modes import clock, hexio

log = logging.getLogger("overflight.live")

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
REPLAY_FORMATS = ("beast", "avr", "sbs")


@dataclass(frozen=True)
class Recording:
    """A file cut into records: ``data[cuts[i]:cuts[i + 1]]`` is record ``i``, at ``t_s[i]``."""

    data: bytes
    fmt: str
    cuts: I64
    t_s: F64

    @property
    def size(self) -> int:
        """Number of records."""
        return int(self.t_s.size)


def _line_cuts(data: bytes) -> I64:
    buf = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(buf == 10) + 1
    if ends.size == 0 or ends[-1] != len(data):
        ends = np.r_[ends, len(data)]
    cuts: I64 = np.r_[0, ends].astype(np.int64)
    return cuts


def _relative(t_ns: I64, valid: npt.NDArray[np.bool_]) -> F64:
    """Seconds since the first valid time; invalid ones take the previous valid time."""
    if not valid.any():
        return np.zeros(t_ns.size)
    idx = np.maximum.accumulate(np.where(valid, np.arange(t_ns.size), -1))
    first = int(np.flatnonzero(valid)[0])
    filled = np.where(idx >= 0, t_ns[np.maximum(idx, 0)], t_ns[first])
    rel = (filled - t_ns[first]) / 1e9
    out: F64 = np.maximum.accumulate(np.maximum(rel, 0.0))  # never send back in time
    return out


def load_recording(
    path: str | Path, fmt: str | None = None, untimed_rate_hz: float = 1000.0
) -> Recording:
    """Cut ``path`` into timed records (see the module docstring)."""
    p = Path(path)
    data = read_all(p)  # decompressed like every reader does (gzip, xz, bzip2)
    fmt = fmt or ingest.detect_format(p)
    if fmt not in REPLAY_FORMATS:
        raise FormatError(f"cannot replay {fmt!r} data; expected one of {REPLAY_FORMATS}", p)
    if fmt == "beast":
        fr = frame_bytes(np.frombuffer(data, np.uint8), p, allow_truncated=True)
        starts = fr["offset"].astype(np.int64)
        if starts.size == 0:
            raise FormatError("no Beast frame to replay", p, "byte 0")
        cuts = np.r_[0, starts[1:], len(data)].astype(np.int64)
        t_ns, _ = clock.counter_to_ns(fr["counter"], "auto", 0, None)
        return Recording(data, fmt, cuts, _relative(t_ns, np.ones(t_ns.size, bool)))
    cuts = _line_cuts(data)
    buf = np.frombuffer(data, np.uint8)
    starts = cuts[:-1]
    n = starts.size
    if fmt == "avr":
        first = buf[np.minimum(starts, buf.size - 1)] if buf.size else np.zeros(n, np.uint8)
        timed = (first == ord("@")) | (first == ord("%")) | (first == ord("<"))
        counter, ok = hexio.hex_counter(buf, starts + 1, 12)
        timed &= ok
        t_ns = np.zeros(n, np.int64)
        if timed.any():
            t_ns[timed], _ = clock.counter_to_ns(counter[timed], "12mhz", 0, None)
            return Recording(data, fmt, cuts, _relative(t_ns, timed))
        return Recording(data, fmt, cuts, np.arange(n) / untimed_rate_hz)
    lines = pa.array(data.decode("utf-8", "replace").split("\n")[:n], pa.string())
    m = pc.extract_regex(lines, r"^(?:[^,]*,){6}(?P<date>[^,]*),(?P<time>[^,]*)")
    stamp = pc.binary_join_element_wise(
        pc.replace_substring(pc.struct_field(m, "date"), "/", "-"), pc.struct_field(m, "time"), " "
    )
    ns, bad = iso_to_ns(pc.fill_null(stamp, ""))
    return Recording(data, fmt, cuts, _relative(np.asarray(ns, np.int64), ~np.asarray(bad, bool)))


class ReplayServer:
    """Serve a :class:`Recording` to every client (see the module docstring)."""

    def __init__(
        self,
        recording: Recording,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        loop: bool = False,
    ) -> None:
        self.recording = recording
        self.host = host
        self.port = port
        self.speed = speed
        self.loop = loop
        self.records_sent = 0
        self.client_starts: list[float] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._done = asyncio.Event()
        self._finished = 0

    async def start(self) -> int:
        """Start listening; return the port."""
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info(
            "replaying %d %s records on %s:%d",
            self.recording.size,
            self.recording.fmt,
            self.host,
            self.port,
        )
        return self.port

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                await self._send_all(writer)
                if not self.loop:
                    break
            self._finished += 1
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            if self._finished and not self._writers and not self.loop:
                self._done.set()

    async def _send_all(self, writer: asyncio.StreamWriter) -> None:
        rec = self.recording
        clk = asyncio.get_running_loop()
        t0 = clk.time()
        self.client_starts.append(t0)
        log.info("client start %.6f: sending %d records", time.time(), rec.size)
        due = rec.t_s / self.speed if self.speed > 0 else np.zeros(rec.size)
        i = 0
        while i < rec.size:
            now = clk.time() - t0
            j = int(np.searchsorted(due, now, side="right"))
            if self.speed <= 0:
                j = min(
                    rec.size, i + max(1, int(np.searchsorted(rec.cuts, rec.cuts[i] + 65536) - i))
                )
            if j <= i:
                await asyncio.sleep(max(0.001, min(float(due[i]) - now, 0.05)))
                continue
            writer.write(rec.data[rec.cuts[i] : rec.cuts[j]])
            await writer.drain()
            self.records_sent += j - i
            i = j

    async def wait_done(self) -> None:
        """Return once every client has had the whole file (never with ``loop``)."""
        await self._done.wait()

    async def close(self) -> None:
        """Stop listening and cut every client off now."""
        if self._server is not None:
            self._server.close()
        for w in list(self._writers):
            w.transport.abort()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
