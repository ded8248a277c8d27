"""Live sources as asyncio tasks that keep connecting.

=========  ===================  ==============================================
kind       address              what one item holds
=========  ===================  ==============================================
beast      HOST:PORT (30005)    Beast frames, timestamped by :class:`FeedClock`
avr        HOST:PORT (30002)    AVR frames (``*``, ``@``, ``<`` lines)
sbs        HOST:PORT (30003)    complete SBS-1 lines, parsed each tick
readsb     http(s)://.../aircraft.json or a file path that readsb rewrites,
           polled every ``poll_s`` (files: when their mtime changes)
=========  ===================  ==============================================

When a connection drops (or cannot be made) the feed logs ``feed NAME
dropped: REASON; reconnecting in Ns`` and retries after an exponential
backoff (0.5 s doubling to 30 s, with +-20 % jitter); on success it logs
``feed NAME connected`` and the backoff starts over.  Everything received
before the drop has already been handed on.  After a reconnect, frames up to
the last time already taken from the feed are dropped (``replayed``): a
recording served again from its start adds nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from overflight.errors import InputError
from overflight.live.framing import MAX_LINE_BYTES, BeastFramer, FrameChunk, LineFramer, parse_avr
from overflight.live.sink import FeedState
from overflight.live.timebase import FeedClock

log = logging.getLogger("overflight.live")

FEED_KINDS = ("beast", "avr", "sbs", "readsb")
DEFAULT_PORTS = {"beast": 30005, "avr": 30002, "sbs": 30003}
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
ERROR_KEYS = ("bad_frame", "junk_bytes", "truncated", "oversized", "bad_line", "rejected")


@dataclass(frozen=True)
class FeedSpec:
    """A source: its kind, address and the name stored in ``source``."""

    kind: str
    address: str

    @property
    def name(self) -> str:
        """``kind:address``, the value of the ``source`` column."""
        return f"{self.kind}:{self.address}"

    def host_port(self) -> tuple[str, int]:
        """Host and port of a TCP feed."""
        host, sep, port = self.address.rpartition(":")
        if not sep:
            return self.address, DEFAULT_PORTS[self.kind]
        return host.strip("[]") or "127.0.0.1", int(port)


def parse_feed(kind: str, value: str) -> FeedSpec:
    """Validate a ``--beast/--avr/--sbs HOST:PORT`` or ``--readsb URL|PATH`` option.

    Examples
    --------
    >>> parse_feed("beast", "127.0.0.1:30005").host_port()
    ('127.0.0.1', 30005)
    """
    if kind not in FEED_KINDS:
        raise InputError(f"feed kind {kind!r}: expected one of {FEED_KINDS}")
    if kind != "readsb":
        _, sep, port = value.rpartition(":")
        if sep and not (port.isdigit() and 0 < int(port) < 65536):
            raise InputError(f"--{kind} {value!r}: expected HOST:PORT, PORT from 1 to 65535")
    return FeedSpec(kind, value)


@dataclass
class FrameItem:
    """Timestamped frames from one read."""

    feed: str
    frames: npt.NDArray[np.uint8]
    long: npt.NDArray[np.bool_]
    t_ns: npt.NDArray[np.int64]


@dataclass
class TextItem:
    """SBS lines or a readsb document, parsed during the tick."""

    feed: str
    kind: str
    payload: bytes
    generation: int


Item = FrameItem | TextItem


@dataclass
class FeedStatus:
    """Counters and state of one feed (updated by the feed task and the tick)."""

    spec: FeedSpec
    state: str = "connecting"
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    messages: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    changed: bool = True

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state, self.since, self.changed = state, datetime.now(UTC), True

    def snapshot(self) -> FeedState:
        errors = sum(v for k, v in self.counts.items() if k in ERROR_KEYS)
        return FeedState(
            self.spec.name,
            self.spec.kind,
            self.spec.address,
            self.state,
            self.since,
            self.messages,
            errors,
            dict(self.counts),
        )


class Feed:
    """One source, run as an asyncio task by :meth:`run` until cancelled."""

    def __init__(
        self,
        spec: FeedSpec,
        deliver: Callable[[Item], None],
        *,
        clock_mode: str = "12mhz",
        start_ns: int | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        poll_s: float = 1.0,
    ) -> None:
        self.spec = spec
        self.deliver = deliver
        self.status = FeedStatus(spec)
        self.clock = FeedClock(clock_mode, start_ns)
        self.max_line_bytes = max_line_bytes
        self.poll_s = poll_s
        self.generation = 0
        self.last_data = 0.0
        self.stopping = False
        self._last_t: int | None = None
        self._catch_up_to: int | None = None
        self._beast = BeastFramer()
        self._lines = LineFramer(max_line_bytes)

    # -- bytes to items -----------------------------------------------------
    def handle(self, data: bytes) -> None:
        """Frame or split one read and hand the result on."""
        self.last_data = time.monotonic()
        if self.spec.kind == "beast":
            self._frames(self._beast.feed(data))
            self._merge_counts(self._beast.counts)
        elif self.spec.kind == "avr":
            blob = self._lines.feed(data)
            chunk, bad = parse_avr(blob)
            if bad:
                self.status.counts["bad_line"] += bad
            self._frames(chunk)
            self._merge_counts(self._lines.counts)
        else:
            blob = self._lines.feed(data)
            self._merge_counts(self._lines.counts)
            if blob:
                self.status.messages += blob.count(b"\n")
                self.deliver(TextItem(self.spec.name, "sbs", blob, self.generation))

    def _merge_counts(self, counts: Counter[str]) -> None:
        if counts:
            self.status.counts.update(counts)
            self.status.changed = True
            counts.clear()

    def _frames(self, chunk: FrameChunk) -> None:
        if chunk.size == 0:
            return
        t = self.clock.to_ns(chunk.counter, chunk.timed, time.time_ns())
        keep = np.ones(t.size, bool)
        if self._catch_up_to is not None:
            keep = t > self._catch_up_to
            self.status.counts["replayed"] += int(np.count_nonzero(~keep))
            if keep.any():
                self._catch_up_to = None
        self.status.messages += int(chunk.size)
        self.status.changed = True
        if not keep.any():
            return
        t = t[keep]
        self._last_t = max(self._last_t or int(t.max()), int(t.max()))
        self.deliver(FrameItem(self.spec.name, chunk.frames[keep], chunk.long[keep], t))

    def stop(self) -> None:
        """Ask :meth:`run` to return (the task should also be cancelled)."""
        self.stopping = True

    # -- connection loop ----------------------------------------------------
    async def run(self) -> None:
        """Connect, read, and reconnect with backoff, until cancelled."""
        backoff = BACKOFF_START_S
        while not self.stopping:
            try:
                reason, had_data = await self._session()
            except (ValueError, ArithmeticError) as exc:  # e.g. an address Python refuses
                log.error("feed %s: %s", self.spec.name, exc)
                reason, had_data = f"{exc.__class__.__name__}: {exc}", False
            if self.stopping:
                return
            if had_data:
                backoff = BACKOFF_START_S
            delay = min(backoff, BACKOFF_MAX_S) * random.uniform(0.8, 1.2)
            log.warning("feed %s dropped: %s; reconnecting in %.1fs", self.spec.name, reason, delay)
            self.status.set_state("reconnecting")
            self.status.counts["reconnects"] += 1
            await asyncio.sleep(delay)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _session(self) -> tuple[str, bool]:
        """One connection (or one polling run for readsb); returns why it ended."""
        if self.spec.kind == "readsb":
            return await self._poll()
        host, port = self.spec.host_port()
        try:
            async with asyncio.timeout(10.0):
                reader, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError) as exc:
            return f"cannot connect ({exc.__class__.__name__}: {exc})", False
        self.generation += 1
        self._catch_up_to = self._last_t
        self.status.set_state("connected")
        log.info("feed %s connected", self.spec.name)
        got = False
        try:
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    return "connection closed by the server", got
                got = True
                self.handle(data)
        except (OSError, asyncio.IncompleteReadError) as exc:
            return f"{exc.__class__.__name__}: {exc}", got
        finally:
            self._beast.reset()
            self._lines.reset()
            self._merge_counts(self._beast.counts)
            self._merge_counts(self._lines.counts)
            writer.close()

    async def _poll(self) -> tuple[str, bool]:
        """Poll a readsb URL or file; returns only on an error."""
        address = self.spec.address
        is_url = address.startswith(("http://", "https://"))
        last_mtime = -1
        got = False
        self.generation += 1
        while not self.stopping:
            try:
                if is_url:
                    body = await asyncio.to_thread(_http_get, address)
                else:
                    st = Path(address).stat()
                    if st.st_mtime_ns == last_mtime:
                        await asyncio.sleep(self.poll_s)
                        continue
                    last_mtime = st.st_mtime_ns
                    body = await asyncio.to_thread(Path(address).read_bytes)
            except (OSError, ValueError) as exc:
                return f"{exc.__class__.__name__}: {exc}", got
            if not got:
                self.status.set_state("connected")
                log.info("feed %s connected", self.spec.name)
            got = True
            self.last_data = time.monotonic()
            self.status.messages += 1
            self.status.changed = True
            self.deliver(TextItem(self.spec.name, "readsb", body, self.generation))
            await asyncio.sleep(self.poll_s)
        return "stopped", got


def _http_get(url: str, timeout_s: float = 10.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout_s) as resp:
        body: bytes = resp.read(64 << 20)
        return body
