"""The watcher: feeds in, ticks of the pipeline, alerts out, batches into DuckDB.

Tasks on one asyncio loop
-------------------------
* one task per feed (:class:`overflight.live.feeds.Feed`), which frames what
  it reads and appends it to the inbox;
* the tick task: every ``tick_s`` it takes the inbox and, in a worker
  thread, decodes it (:class:`~.decoder.StreamDecoder`,
  :class:`~.decoded.TextDecoder`), runs the tick stages on the new messages
  with their context (:class:`~.window.Tracker`) and evaluates the rules
  (:class:`~.episodes.RuleEngine`); alerts go out at once (log, stdout,
  webhooks), points and alerts wait for the next batch;
* the pattern task: every ``patterns_every_s`` it runs pattern detection on
  the last ``window_s`` of points of the aircraft that moved, in a worker
  process at lower priority (it is pure Python per flight and would
  otherwise hold the interpreter lock against the ticks), and evaluates
  pattern rules on the events;
* the flush task: every ``flush_s`` it writes what is pending as one
  transaction (:class:`~.sink.Sink`): the points with the identity rows of
  their flights (``flights``: registry country, military, type...), the
  alerts and episodes, logging ``batch N committed``.  A
  batch that fails stays pending and is retried.

The worker threads share the decoding and rule state under one lock, so a
tick never overlaps the rule evaluation of the pattern task.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overflight import pipeline
from overflight.errors import StoreError
from overflight.ingest.modes import CprOptions
from overflight.live.analysis import (
    detect_window_patterns,
    lower_priority,
    pattern_input,
    ready,
    tail_analyser,
)
from overflight.live.decoded import TextDecoder
from overflight.live.decoder import StreamDecoder
from overflight.live.episodes import RuleEngine
from overflight.live.feeds import Feed, FeedSpec, FrameItem, Item, TextItem
from overflight.live.outputs import AlertOutputs
from overflight.live.rules import Alert, Rule
from overflight.live.sink import Sink
from overflight.live.window import IDENTITY, Tracker, with_identity

log = logging.getLogger("overflight.live")


@dataclass
class WatchConfig:
    """Everything :class:`Watcher` needs; the CLI options map onto these fields."""

    db: Path
    feeds: Sequence[FeedSpec]
    rules: Sequence[Rule] = ()
    webhooks: Sequence[str] = ()
    context: pipeline.Context | None = None
    tick_s: float = 0.5
    flush_s: float = 1.0
    patterns_every_s: float = 15.0
    window_s: float = 1800.0
    reference: tuple[float, float] | None = None
    clock: str = "12mhz"
    start_time_ns: int | None = None
    idle_exit_s: float | None = None
    max_line_bytes: int = 4096
    poll_s: float = 1.0
    echo: bool = True
    hold_connection: bool = True
    final_flush_s: float = 10.0


@dataclass
class WatchStats:
    """Running totals (read them any time; updated by the watcher)."""

    frames: int = 0
    messages: int = 0
    points: int = 0
    alerts: int = 0
    batches: int = 0
    ticks: int = 0
    tick_seconds: list[float] = field(default_factory=list)
    pattern_seconds: list[float] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    unstored_points: int = 0
    unstored_alerts: int = 0


@dataclass
class _TickResult:
    points: pa.Table
    alerts: list[Alert]
    episodes: pa.Table
    flights: pa.Table
    frames: int
    messages: int


class Watcher:
    """Run the live pipeline described in the module docstring.

    Parameters
    ----------
    config
        Sources, rules, store and timings.
    on_alert
        Called on the event loop with each alert right after it is emitted
        (benchmarks measure latency with it).
    stream
        Where alerts are printed as JSON lines (stdout by default).
    """

    def __init__(
        self,
        config: WatchConfig,
        on_alert: Callable[[Alert], None] | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.config = config
        self.on_alert = on_alert
        self.stats = WatchStats()
        self.outputs = AlertOutputs(config.webhooks, stream=stream, echo=config.echo)
        self.decoder = StreamDecoder(CprOptions(reference=config.reference))
        self.text = TextDecoder()
        self.tracker = Tracker(tail_analyser(config.context), history_s=config.window_s)
        self.engine = RuleEngine(list(config.rules))
        self.feeds = [
            Feed(
                spec,
                self._deliver,
                clock_mode=config.clock,
                start_ns=config.start_time_ns,
                max_line_bytes=config.max_line_bytes,
                poll_s=config.poll_s,
            )
            for spec in config.feeds
        ]
        self._inbox: list[Item] = []
        self._lock = threading.Lock()
        self._stop = asyncio.Event()
        self._pending_points: list[pa.Table] = []
        self._pending_alerts: list[Alert] = []
        self._pending_episodes: list[pa.Table] = []
        self._pending_flights: list[pa.Table] = []
        self._identity: dict[str, dict[str, Any]] = {}
        self._moved: set[str] = set()
        self._sink_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sink")
        self._patterns_pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.sink: Sink | None = None

    # -- plumbing -----------------------------------------------------------
    def _deliver(self, item: Item) -> None:
        self._inbox.append(item)

    def request_stop(self) -> None:
        """Stop after a last tick and a last batch (safe from a signal handler)."""
        self._stop.set()

    def _feed_counts(self) -> dict[str, Counter[str]]:
        return {f.spec.name: f.status.counts for f in self.feeds}

    # -- one tick (worker thread) ---------------------------------------------
    def _process(self, items: list[Item]) -> _TickResult:
        with self._lock:
            return self._process_locked(items)

    def _process_locked(self, items: list[Item]) -> _TickResult:
        frames = [i for i in items if isinstance(i, FrameItem)]
        texts = [i for i in items if isinstance(i, TextItem)]
        parts: list[pa.Table] = []
        n_frames = 0
        if frames:
            ids = np.concatenate(
                [np.full(i.t_ns.size, self.decoder.feed_id(i.feed), np.int64) for i in frames]
            )
            res = self.decoder.decode(
                np.concatenate([i.frames for i in frames]),
                np.concatenate([i.long for i in frames]),
                np.concatenate([i.t_ns for i in frames]),
                ids,
            )
            n_frames = int(ids.size)
            self.stats.counts.update(res.counts)
            parts.append(res.messages)
        if texts:
            parts.append(self.text.decode(texts, self._feed_counts()))
        messages = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        analysis, _ = self.tracker.step(messages)
        points = analysis.points
        alerts: list[Alert] = []
        flights = analysis.flights if points.num_rows else pa.table({})
        if points.num_rows:
            self._moved.update(pc.unique(points["icao24"]).to_pylist())
            with_id = with_identity(points, analysis.flights)
            self._remember_identity(analysis.flights)
            alerts = self.engine.on_points(with_id)
        if analysis.events.num_rows:
            alerts += self.engine.on_events(analysis.events, self._identity)
        if points.num_rows and self.stats.ticks % 200 == 199:
            # episodes and identities of aircraft gone longer than the window and any gap
            newest = int(pc.max(points["timestamp"]).cast(pa.int64()).as_py())
            gap = max((r.episode_gap_s for r in self.engine.rules), default=0.0)
            self.engine.prune(newest - int((self.config.window_s + gap) * 1e9))
            keep = set(pc.unique(self.tracker.carry["icao24"]).to_pylist())
            self._identity = {k: v for k, v in self._identity.items() if k in keep}
        episodes = self.engine.episode_rows()
        return _TickResult(points, alerts, episodes, flights, n_frames, messages.num_rows)

    def _remember_identity(self, flights: pa.Table) -> None:
        cols = [c for c in ("icao24", *IDENTITY) if c in flights.column_names]
        for row in flights.select(cols).to_pylist():  # one row per flight of the tick
            self._identity[row["icao24"]] = row

    def _history(self, aircraft: list[str]) -> pa.Table:
        with self._lock:
            pts = self.tracker.history(pa.array(aircraft, pa.string()))
        return pattern_input(pts)

    def _pattern_alerts(self, events: pa.Table) -> list[Alert]:
        with self._lock:
            alerts = self.engine.on_events(events, self._identity)
            self._pending_episodes.append(self.engine.episode_rows())
        return alerts

    def _pattern_pool(self) -> concurrent.futures.Executor:
        """One worker process at lower priority: detection never starves the ticks."""
        if self._patterns_pool is None:
            ctx = multiprocessing.get_context("spawn")
            self._patterns_pool = concurrent.futures.ProcessPoolExecutor(
                1, mp_context=ctx, initializer=lower_priority
            )
        return self._patterns_pool

    # -- tasks ----------------------------------------------------------------
    def _emit(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        self.outputs.emit(alerts)
        self._pending_alerts.extend(alerts)
        self.stats.alerts += len(alerts)
        if self.on_alert is not None:
            for a in alerts:
                self.on_alert(a)

    async def _tick_once(self) -> None:
        items, self._inbox = self._inbox, []
        if not items:
            return
        t0 = time.perf_counter()
        try:
            res = await asyncio.to_thread(self._process, items)
        except Exception:  # a bug must not stop the watcher: say so, count, go on
            log.exception("tick failed; %d items of input dropped", len(items))
            self.stats.counts["tick_errors"] += 1
            return
        self.stats.tick_seconds.append(time.perf_counter() - t0)
        self.stats.ticks += 1
        self.stats.frames += res.frames
        self.stats.messages += res.messages
        if res.points.num_rows:
            self._pending_points.append(res.points)
        if res.episodes.num_rows:
            self._pending_episodes.append(res.episodes)
        if res.flights.num_rows:
            self._pending_flights.append(res.flights)
        self._emit(res.alerts)

    async def _tick_loop(self) -> None:
        while not self._stop.is_set():
            start = time.monotonic()
            await self._tick_once()
            await _sleep_or_stop(self._stop, self.config.tick_s - (time.monotonic() - start))

    async def _pattern_loop(self) -> None:
        while not self._stop.is_set():
            await _sleep_or_stop(self._stop, self.config.patterns_every_s)
            await self._patterns_once()

    async def _patterns_once(self) -> None:
        if not self._moved or not any(r.kind == "pattern" for r in self.engine.rules):
            self._moved.clear()
            return
        aircraft, self._moved = sorted(self._moved), set()
        t0 = time.perf_counter()
        loop = asyncio.get_running_loop()
        try:
            pts = await asyncio.to_thread(self._history, aircraft)
            if pts.num_rows == 0:
                return
            events = await loop.run_in_executor(self._pattern_pool(), detect_window_patterns, pts)
            alerts = await asyncio.to_thread(self._pattern_alerts, events)
        except Exception:  # as for ticks: report, count, go on
            log.exception("pattern detection failed")
            self.stats.counts["pattern_errors"] += 1
            return
        self.stats.pattern_seconds.append(time.perf_counter() - t0)
        self._emit(alerts)

    async def _flush(self) -> None:
        assert self.sink is not None
        points, self._pending_points = self._pending_points, []
        alerts, self._pending_alerts = self._pending_alerts, []
        episodes, self._pending_episodes = self._pending_episodes, []
        flights, self._pending_flights = self._pending_flights, []
        feeds = [f.status.snapshot() for f in self.feeds if f.status.changed]
        for f in self.feeds:
            f.status.changed = False
        table = pa.concat_tables(points, promote_options="permissive") if points else pa.table({})
        eps = pa.concat_tables(episodes) if episodes else None
        if eps is not None and eps.num_rows:
            eps = eps.group_by(["rule", "icao24"]).aggregate(
                [("start_ns", "max"), ("last_ns", "max")]
            )
            eps = eps.rename_columns(["rule", "icao24", "start_ns", "last_ns"])
        # identity rows in tick order: the sink keeps each flight's last one
        ident = pa.concat_tables(flights, promote_options="permissive") if flights else None
        loop = asyncio.get_running_loop()
        try:
            batch = await loop.run_in_executor(
                self._sink_pool, self.sink.write, table, alerts, feeds, eps, ident
            )
        except StoreError as exc:
            log.error("%s", exc)
            self._pending_points[:0] = points
            self._pending_alerts[:0] = alerts
            self._pending_episodes[:0] = episodes
            self._pending_flights[:0] = flights
            for f in self.feeds:  # their states were not stored either
                f.status.changed = True
            return
        if batch is not None:
            self.stats.batches += 1
            self.stats.points += table.num_rows
            log.info("batch %d committed: %d points, %d alerts", batch, table.num_rows, len(alerts))

    def _pending(self) -> bool:
        return bool(
            self._pending_points
            or self._pending_alerts
            or self._pending_episodes
            or self._pending_flights
        )

    async def _final_flush(self) -> None:
        """The last batch, retried for ``final_flush_s`` (another writer may hold the file).

        What still cannot be stored is counted in ``stats.unstored_points`` /
        ``unstored_alerts`` and logged, so that the command can fail loudly.
        """
        await self._flush()
        deadline = time.monotonic() + self.config.final_flush_s
        while self._pending() and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            await self._flush()
        if self._pending():
            self.stats.unstored_points = sum(t.num_rows for t in self._pending_points)
            self.stats.unstored_alerts = len(self._pending_alerts)
            log.error(
                "%d points and %d alerts could not be stored in %s",
                self.stats.unstored_points,
                self.stats.unstored_alerts,
                self.config.db,
            )

    async def _flush_loop(self) -> None:
        while not self._stop.is_set():
            await _sleep_or_stop(self._stop, self.config.flush_s)
            await self._flush()

    async def _idle_loop(self) -> None:
        limit = self.config.idle_exit_s
        if limit is None:
            return
        started = time.monotonic()  # a feed that never delivers counts from the start
        while not self._stop.is_set():
            await _sleep_or_stop(self._stop, min(limit, 1.0) / 2)
            last = max((f.last_data for f in self.feeds), default=0.0) or started
            if time.monotonic() - last > limit and not self._inbox:
                log.info("no data for %.1fs: stopping", limit)
                self._stop.set()

    async def run(self) -> WatchStats:
        """Run until :meth:`request_stop` (or ``idle_exit_s`` without data); return the totals."""
        self.sink = await asyncio.to_thread(Sink, self.config.db, self.config.hold_connection)
        marks = await asyncio.to_thread(self.sink.stored_marks)
        self.tracker.seed_stored(marks)
        self.engine.load_episodes(await asyncio.to_thread(self.sink.episodes))
        if any(r.kind == "pattern" for r in self.engine.rules):  # start its worker now
            await asyncio.get_running_loop().run_in_executor(self._pattern_pool(), ready)
        feed_tasks = [asyncio.create_task(f.run(), name=f.spec.name) for f in self.feeds]
        loops = [
            asyncio.create_task(self._tick_loop()),
            asyncio.create_task(self._flush_loop()),
            asyncio.create_task(self._pattern_loop()),
            asyncio.create_task(self._idle_loop()),
        ]
        try:
            await self._stop.wait()
        finally:
            for f in self.feeds:
                f.stop()
            for t in feed_tasks:
                t.cancel()
            await asyncio.wait(feed_tasks, timeout=5.0)
            await asyncio.gather(*loops, return_exceptions=True)
            for f in self.feeds:
                f.status.set_state("stopped")
            await self._tick_once()
            await self._patterns_once()
            await self._final_flush()
            await asyncio.get_running_loop().run_in_executor(self._sink_pool, self.sink.close)
            self._sink_pool.shutdown()
            if self._patterns_pool is not None:
                self._patterns_pool.shutdown(cancel_futures=True)
            self.text.close()
            self.outputs.close()
        return self.stats


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    if seconds <= 0:
        await asyncio.sleep(0)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
