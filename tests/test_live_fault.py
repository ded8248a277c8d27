"""Faults: bad bytes on the feed, a feed cut and restored, the watcher killed with SIGKILL.

The kill test runs the watcher and the replay server as real processes
(``python -m overflight.live``): a reference run straight through, then a run
whose feed is cut and restored and whose watcher is killed with ``kill -9``
after some batches were acknowledged, then restarted.  Every acknowledged
batch must be in the file, the file must open cleanly, and the final points
must be those of the reference run, each once.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest

from overflight.ingest import avr
from overflight.ingest.modes import clock
from overflight.live.feeds import FeedSpec
from overflight.live.replay import ReplayServer, load_recording
from overflight.live.watcher import WatchConfig, Watcher

BEAST = "raw_modes/beastblackbox_ulss7_20180403.beast"
AVR = "derived/real_frames_combined_avr.txt"
START = "1522782148.136310917"
SPEED = "30"
COMMITTED = re.compile(r"batch (\d+) committed: (\d+) points")


# -- malformed input ------------------------------------------------------------


async def _serve_once(payloads: list[bytes]) -> tuple[asyncio.Server, int]:
    """Send ``payloads`` to the first client only, then stop listening."""
    holder: list[asyncio.Server] = []

    async def client(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        holder[0].close()
        for p in payloads:
            writer.write(p)
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", 0)
    holder.append(server)
    return server, int(server.sockets[0].getsockname()[1])


def test_malformed_and_oversized_input_is_counted(shared_data: Path, tmp_path: Path) -> None:
    text = (shared_data / AVR).read_bytes()[:120_000]
    good_lines = text[: text.rfind(b"\n") + 1].split(b"\n")[:-1]
    rng = np.random.default_rng(7)
    garbage = [b"*ZZZZ;", b"@12;", b"hello world", b"*" + b"8D" * 20 + b";", b"\x00\xff\x13"]
    mixed: list[bytes] = []
    for k, line in enumerate(good_lines):
        mixed.append(line)
        if k % 50 == 0:
            mixed.append(garbage[(k // 50) % len(garbage)])
    n_garbage = len(mixed) - len(good_lines)
    avr_stream = (
        b"\n".join(mixed[:1000])
        + b"\n*"
        + b"A" * 10_000
        + b";\n"
        + b"\n".join(mixed[1000:])
        + b"\n"
    )
    beast = (shared_data / BEAST).read_bytes()[:30_000]
    junk = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes().replace(b"\x1a", b"\x00")
    beast_stream = junk + beast[: beast.find(b"\x1a", 1)] + beast + junk

    def chunks(data: bytes, size: int) -> list[bytes]:
        return [data[i : i + size] for i in range(0, len(data), size)]

    async def go() -> Watcher:
        s1, p1 = await _serve_once(chunks(avr_stream, 5000))
        s2, p2 = await _serve_once(chunks(beast_stream, 3000))
        config = WatchConfig(
            db=tmp_path / "bad.duckdb",
            feeds=[FeedSpec("avr", f"127.0.0.1:{p1}"), FeedSpec("beast", f"127.0.0.1:{p2}")],
            idle_exit_s=1.0,
            tick_s=0.2,
            flush_s=0.3,
            echo=False,
        )
        watcher = Watcher(config)
        await asyncio.wait_for(watcher.run(), 30)
        s1.close()
        s2.close()
        return watcher

    watcher = asyncio.run(go())
    avr_counts = watcher.feeds[0].status.counts
    beast_counts = watcher.feeds[1].status.counts
    assert avr_counts["oversized"] == 1
    assert avr_counts["bad_line"] == n_garbage
    assert beast_counts["junk_bytes"] > 0
    ref = avr.parse(b"\n".join(good_lines) + b"\n", None, start_time=0)
    # every valid frame of both feeds was taken, nothing more
    assert watcher.feeds[0].status.messages == ref["frames"].shape[0]
    con = duckdb.connect(str(tmp_path / "bad.duckdb"), read_only=True)
    status = dict(con.execute("SELECT feed, errors FROM feed_status").fetchall())
    n_points = con.execute("SELECT count(*) FROM points").fetchall()[0][0]
    con.close()
    assert status[watcher.feeds[0].spec.name] >= n_garbage + 1
    assert n_points > 0


# -- kill -9 ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_CHILDREN: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_orphans() -> Iterator[None]:
    """Kill every child a test started, even when it failed half-way."""
    yield
    while _CHILDREN:
        child = _CHILDREN.pop()
        if child.poll() is None:
            child.kill()
            child.wait(10)


class Proc:
    """A child process whose stderr lines are collected by a thread."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.p = subprocess.Popen(
            [sys.executable, "-m", "overflight.live", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        _CHILDREN.append(self.p)
        self.lines: list[str] = []
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self) -> None:
        assert self.p.stderr is not None
        for line in self.p.stderr:
            self.lines.append(line)

    def wait_for(self, pattern: str, count: int = 1, timeout_s: float = 30.0) -> None:
        rx = re.compile(pattern)
        end = time.monotonic() + timeout_s
        while sum(1 for x in self.lines if rx.search(x)) < count:
            if time.monotonic() > end or (self.p.poll() is not None and not self._t.is_alive()):
                raise AssertionError(f"no {pattern!r} x{count} in:\n{''.join(self.lines)}")
            time.sleep(0.02)

    def committed(self) -> dict[int, int]:
        return {int(m[1]): int(m[2]) for x in self.lines if (m := COMMITTED.search(x))}

    def finish(self, timeout_s: float = 30.0) -> int:
        try:
            code = self.p.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise AssertionError("still running:\n" + "".join(self.lines)) from None
        self._t.join(5)
        return code


def replay(path: Path, port: int) -> Proc:
    proc = Proc("replay", str(path), "--port", str(port), "--speed", SPEED)
    proc.wait_for("replaying")
    return proc


def watch(db: Path, port: int, idle_exit_s: float = 1.5) -> Proc:
    return Proc(
        "watch",
        "--db",
        str(db),
        "--beast",
        f"127.0.0.1:{port}",
        "--start-time",
        START,
        "--idle-exit-s",
        str(idle_exit_s),
        "--tick-s",
        "0.25",
        "--flush-s",
        "0.25",
        "--quiet",
    )


def keys(db: Path) -> list[tuple[str, int]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT icao24, epoch_us(timestamp) FROM points ORDER BY 1, 2"
        ).fetchall()
        return [(str(a), int(b)) for a, b in rows]
    finally:
        con.close()


def check_log(db: Path) -> dict[int, int]:
    """ingest_log against the points: every batch complete. Returns batch -> rows."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT l.batch_id, l.n_rows, count(p.batch_id) FROM ingest_log l "
            "LEFT JOIN points p USING (batch_id) GROUP BY ALL"
        ).fetchall()
        orphans = con.execute(
            "SELECT count(*) FROM points WHERE batch_id NOT IN (SELECT batch_id FROM ingest_log)"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert all(n == c for _, n, c in rows), rows
    assert orphans == 0
    return {int(b): int(n) for b, n, _ in rows}


async def _watch_in_process(path: Path, db: Path) -> None:
    server = ReplayServer(load_recording(path), speed=float(SPEED))
    port = await server.start()
    config = WatchConfig(
        db=db,
        feeds=[FeedSpec("beast", f"127.0.0.1:{port}")],
        start_time_ns=clock.to_ns(START),
        idle_exit_s=1.0,
        tick_s=0.25,
        flush_s=0.25,
        echo=False,
    )
    run = asyncio.create_task(Watcher(config).run())
    await asyncio.wait_for(server.wait_done(), 30)
    await server.close()
    await asyncio.wait_for(run, 30)


@pytest.mark.slow
def test_kill_9_and_feed_cut_lose_nothing_acknowledged(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / BEAST
    # before: one run straight through (in this process, the same code)
    ref_db = tmp_path / "ref.duckdb"
    asyncio.run(_watch_in_process(path, ref_db))
    reference = keys(ref_db)
    assert len(reference) > 500

    # after: the feed is cut and restored, the watcher is killed and restarted
    port = _free_port()
    db = tmp_path / "fault.duckdb"
    server = replay(path, port)
    first = watch(db, port, idle_exit_s=10.0)  # killed long before
    first.wait_for(r"batch \d+ committed", count=1)
    server.p.kill()  # cut: the server dies mid-stream
    server.finish()
    first.wait_for(r"dropped", count=1)
    server = replay(path, port)  # restored: served again from the start
    first.wait_for(r"connected", count=2)
    n_before = len(first.committed())
    first.wait_for(r"batch \d+ committed", count=n_before + 1)
    first.p.send_signal(signal.SIGKILL)
    first.finish()
    acknowledged = first.committed()
    assert acknowledged

    stored = check_log(db)  # opens cleanly; every stored batch is whole
    assert all(stored.get(b) == n for b, n in acknowledged.items()), (acknowledged, stored)
    partial = keys(db)
    assert len(partial) < len(reference)

    second = watch(db, port)
    assert second.finish() == 0
    server.finish()
    check_log(db)
    final = keys(db)
    assert final == reference  # the same points, each once
