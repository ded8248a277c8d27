"""``overflight watch`` and ``overflight replay``: plain functions the CLI wraps.

Both run an asyncio loop until done (or Ctrl-C / SIGTERM, after which the
watcher writes its last batch) and return a process exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from overflight import pipeline
from overflight.errors import InputError, StoreError
from overflight.ingest.modes import clock
from overflight.live.feeds import parse_feed
from overflight.live.replay import ReplayServer, load_recording
from overflight.live.rules import load_rules
from overflight.live.sink import export_days
from overflight.live.timebase import CLOCK_MODES
from overflight.live.watcher import WatchConfig, Watcher, WatchStats

log = logging.getLogger("overflight.live")


def _install_stop(loop: asyncio.AbstractEventLoop, stop: Any) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop)


def _reference(value: str | None) -> tuple[float, float] | None:
    if not value:
        return None
    try:
        lat, lon = (float(x) for x in value.split(","))
    except ValueError as exc:
        raise InputError(f"--reference {value!r}: expected LAT,LON") from exc
    return lat, lon


def build_config(
    db: Path,
    *,
    beast: Sequence[str] = (),
    sbs: Sequence[str] = (),
    avr: Sequence[str] = (),
    readsb: Sequence[str] = (),
    rules: Path | None = None,
    webhook: Sequence[str] = (),
    tick_s: float = 0.5,
    flush_s: float = 1.0,
    patterns_every_s: float = 15.0,
    window_s: float = 1800.0,
    reference: str | None = None,
    clock_mode: str = "12mhz",
    start_time: str | None = None,
    idle_exit_s: float | None = None,
    max_line_bytes: int = 4096,
    poll_s: float = 1.0,
    quiet: bool = False,
    share_db: bool = False,
    focus: str | None = None,
    boundaries: Path | None = None,
    aircraft_db: Sequence[Path] = (),
    authorisations: Path | None = None,
) -> WatchConfig:
    """Validate the ``watch`` options into a :class:`WatchConfig`."""
    feeds = [
        parse_feed(kind, v)
        for kind, values in (("beast", beast), ("sbs", sbs), ("avr", avr), ("readsb", readsb))
        for v in values
    ]
    if not feeds:
        raise InputError("no source: give at least one of --beast, --sbs, --avr, --readsb")
    if clock_mode not in CLOCK_MODES:
        raise InputError(f"--clock {clock_mode!r}: expected one of {CLOCK_MODES}")
    for url in webhook:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"--webhook {url!r}: expected an http:// or https:// URL")
    context = None
    if focus or boundaries or aircraft_db or authorisations:
        context = pipeline.Context.load(
            focus=focus,
            boundaries=boundaries,
            aircraft_db=list(aircraft_db),
            authorisations=authorisations,
            airspace_enabled=bool(focus or boundaries),
        )
        pipeline.warm_up(context)  # the first tick as quick as the next ones
    try:
        start_ns = clock.to_ns(start_time) if start_time else None
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    return WatchConfig(
        db=Path(db),
        feeds=feeds,
        rules=load_rules(rules) if rules else (),
        webhooks=list(webhook),
        context=context,
        tick_s=tick_s,
        flush_s=flush_s,
        patterns_every_s=patterns_every_s,
        window_s=window_s,
        reference=_reference(reference),
        clock=clock_mode,
        start_time_ns=start_ns,
        idle_exit_s=idle_exit_s,
        max_line_bytes=max_line_bytes,
        poll_s=poll_s,
        echo=not quiet,
        hold_connection=not share_db,
    )


async def _watch(config: WatchConfig) -> WatchStats:
    watcher = Watcher(config)
    _install_stop(asyncio.get_running_loop(), watcher.request_stop)
    return await watcher.run()


def watch_command(db: Path, *, export_dir: Path | None = None, **options: Any) -> int:
    """Run ``overflight watch``; return the exit code.

    ``options`` are those of :func:`build_config`; with ``export_dir`` the
    stored points are also written as Parquet by day once the watcher stops
    (:func:`overflight.live.sink.export_days`).
    """
    config = build_config(db, **options)
    stats = asyncio.run(_watch(config))
    log.info(
        "stopped: %d frames, %d messages, %d points, %d alerts in %d batches",
        stats.frames,
        stats.messages,
        stats.points,
        stats.alerts,
        stats.batches,
    )
    if export_dir is not None:
        files = export_days(db, export_dir)
        log.info("exported %d day(s) of points to %s", len(files), export_dir)
    if stats.unstored_points or stats.unstored_alerts:
        raise StoreError(
            f"{db}: {stats.unstored_points} points and {stats.unstored_alerts} alerts "
            "received at the end were not stored (see the log above)"
        )
    return 0


async def _replay(server: ReplayServer) -> None:
    await server.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    _install_stop(loop, stop.set)
    done = asyncio.create_task(server.wait_done())
    halt = asyncio.create_task(stop.wait())
    await asyncio.wait({done, halt}, return_when=asyncio.FIRST_COMPLETED)
    done.cancel()
    halt.cancel()
    await server.close()


def replay_command(
    file: Path,
    port: int,
    *,
    host: str = "127.0.0.1",
    speed: float = 1.0,
    loop: bool = False,
    fmt: str | None = None,
) -> int:
    """Run ``overflight replay`` until the file has been served (or forever with ``loop``)."""
    if speed < 0:
        raise InputError(f"--speed {speed}: expected 0 (as fast as possible) or more")
    if not 0 <= port < 65536:
        raise InputError(f"--port {port}: expected 0 to 65535")
    recording = load_recording(file, fmt)
    server = ReplayServer(recording, host=host, port=port, speed=speed, loop=loop)
    asyncio.run(_replay(server))
    return 0


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr with times (alerts go to stdout as JSON lines)."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
