"""A recording replayed on loopback into a real watcher, as the live tests need it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from overflight.live.feeds import FeedSpec
from overflight.live.replay import ReplayServer, load_recording
from overflight.live.watcher import WatchConfig, Watcher


def watch_recording(
    recording: Path,
    db: Path,
    *,
    speed: float = 0.0,
    hold: bool = True,
    start_time_ns: int | None = None,
    during: Callable[[], Any] | None = None,
) -> list[Any]:
    """Serve ``recording`` (Beast) at ``speed`` and watch it into ``db`` until it ends.

    ``during()`` is called every 0.3 s while the recording plays (in a
    thread, so it may block on I/O); its results are returned.  The server
    closes before the watcher stops, so a reconnect never replays it twice.
    """
    seen: list[Any] = []

    async def run() -> None:
        server = ReplayServer(load_recording(recording), speed=speed)
        port = await server.start()
        config = WatchConfig(
            db=db,
            feeds=[FeedSpec("beast", f"127.0.0.1:{port}")],
            idle_exit_s=1.0,
            tick_s=0.25,
            flush_s=0.5,
            echo=False,
            hold_connection=hold,
            start_time_ns=start_time_ns,
        )
        task = asyncio.create_task(Watcher(config).run())
        done = asyncio.create_task(server.wait_done())
        while not done.done():
            if during is not None:
                seen.append(await asyncio.to_thread(during))
            await asyncio.sleep(0.3)
        await server.close()
        await asyncio.wait_for(task, 30)

    asyncio.run(run())
    return seen
