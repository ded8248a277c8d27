"""Field tests of the live side on loopback: watch, serve, replay as a user runs them.

Each test starts the real components (replay servers, watchers, the web
server, the ``overflight`` command) on 127.0.0.1 and checks one failure a
user met: two watchers sharing one store, the store locked at the end, a
port in use or out of range, the 503 hint, the track point cap.
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from overflight.live import sink as sink_mod
from overflight.live.feeds import FeedSpec
from overflight.live.replay import ReplayServer, load_recording
from overflight.live.watcher import WatchConfig, Watcher
from support.live_watch import watch_recording
from support.web_store import get

BEAST = "raw_modes/beastblackbox_ulss7_20180403.beast"
SBS = "raw_modes/sbs_recording_AFR_20161209_paris.sbs"
RUN_CLI = "import sys; from overflight.cli import app; sys.argv[0] = 'overflight'; app()"
HOLD = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
    "time.sleep(float(sys.argv[2]))"
)


def overflight(*args: str, timeout_s: float = 40.0) -> subprocess.CompletedProcess[str]:
    """Run the ``overflight`` command line in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", RUN_CLI, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def hold(db: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process that holds ``db`` for writing for ``seconds``."""
    p = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert p.stdout is not None and p.stdout.readline().strip() == "held"
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def stopped_points(stderr: str) -> int:
    """The points a watcher says it stored (its last log line)."""
    m = re.search(r"stopped: \d+ frames, \d+ messages, (\d+) points", stderr)
    assert m, stderr[-2000:]
    return int(m.group(1))


# -- two watchers on one store ------------------------------------------------------


def test_two_shared_watchers_store_everything(shared_data: Path, tmp_path: Path) -> None:
    """Two ``watch --share-db`` on one file (one per receiver): both store every batch.

    Before: both numbered their batches from 1, so the second one's batches
    all failed on ``ingest_log``'s key and its positions were never stored;
    and a watcher starting while the other held the file failed at once.
    """
    db = tmp_path / "shared.duckdb"
    ports = [free_port(), free_port()]
    replays = [
        spawn("replay", str(shared_data / BEAST), "--port", str(ports[0]), "--speed", "20"),
        spawn("replay", str(shared_data / SBS), "--port", str(ports[1]), "--speed", "300"),
    ]
    common = ["--db", str(db), "--share-db", "--idle-exit-s", "1.5", "--quiet"]
    try:
        time.sleep(1.5)  # the replays listen
        watchers = [
            spawn("watch", "--beast", f"127.0.0.1:{ports[0]}", *common),
            spawn("watch", "--sbs", f"127.0.0.1:{ports[1]}", *common),
        ]
        outs = [w.communicate(timeout=45) for w in watchers]
    finally:
        for r in replays:
            r.kill()
            r.wait()
    for w, (_, err) in zip(watchers, outs, strict=True):
        assert w.returncode == 0, err[-2000:]
        assert "Traceback" not in err
    said = [stopped_points(err) for _, err in outs]
    assert min(said) > 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        by_source = dict(con.execute("SELECT source, count(*) FROM points GROUP BY 1").fetchall())
        logged = con.execute("SELECT sum(n_rows), count(DISTINCT batch_id) FROM ingest_log")
        total, batches = logged.fetchall()[0]
        n_batches = con.execute("SELECT count(*) FROM ingest_log").fetchall()[0][0]
    finally:
        con.close()
    assert by_source == {
        f"beast:127.0.0.1:{ports[0]}": said[0],
        f"sbs:127.0.0.1:{ports[1]}": said[1],
    }
    assert total == sum(said) and batches == n_batches


def test_shared_sink_waits_for_another_writer(tmp_path: Path) -> None:
    """A ``--share-db`` sink opening while another process holds the file waits for it."""
    db = tmp_path / "busy.duckdb"
    holder = hold(db, 1.0)
    try:
        t0 = time.monotonic()
        s = sink_mod.Sink(db, hold_connection=False)
        assert time.monotonic() - t0 < sink_mod.SHARED_LOCK_WAIT_S
        s.close()
    finally:
        holder.kill()
        holder.wait()


# -- nothing lost silently at the end -------------------------------------------------


def test_unstored_last_batch_is_counted_and_fails_the_command(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store locked by another process when the watcher stops: it says what was lost.

    Before: the last batch failed once, was dropped, and ``watch`` exited 0.
    """
    monkeypatch.setattr(sink_mod, "SHARED_LOCK_WAIT_S", 0.2)
    db = tmp_path / "locked.duckdb"
    holder: list[subprocess.Popen[str]] = []

    async def scenario() -> tuple[Watcher, int]:
        server = ReplayServer(load_recording(shared_data / BEAST), speed=10.0)
        port = await server.start()
        config = WatchConfig(
            db=db,
            feeds=[FeedSpec("beast", f"127.0.0.1:{port}")],
            tick_s=0.25,
            flush_s=0.5,
            echo=False,
            hold_connection=False,
            final_flush_s=0.5,
        )
        watcher = Watcher(config)
        run = asyncio.create_task(watcher.run())
        while watcher.stats.batches < 1:
            await asyncio.sleep(0.05)
        holder.append(await asyncio.to_thread(hold, db, 30.0))
        stored_before = watcher.stats.points
        await asyncio.sleep(1.5)  # more positions arrive, none can be written
        watcher.request_stop()
        await asyncio.wait_for(run, 30)
        await server.close()
        return watcher, stored_before

    try:
        watcher, stored_before = asyncio.run(scenario())
    finally:
        for h in holder:
            h.kill()
            h.wait()
    stats = watcher.stats
    assert stats.unstored_points > 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = con.execute("SELECT count(*) FROM points").fetchall()[0][0]
    finally:
        con.close()
    assert stored == stats.points >= stored_before

    # and the command turns that into a one-line error and exit code 1
    from typer.testing import CliRunner

    from overflight.cli import app
    from overflight.live import commands

    async def fake(config: WatchConfig) -> Any:
        return stats

    monkeypatch.setattr(commands, "_watch", fake)
    result = CliRunner().invoke(app, ["watch", "--db", str(db), "--beast", "127.0.0.1:30005"])
    assert result.exit_code == 1
    text = result.output + (result.stderr if result.stderr_bytes else "")
    assert f"{stats.unstored_points} points" in text and "not stored" in text


# -- ports ------------------------------------------------------------------------------


def test_serve_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    from overflight.web import create_token

    db = tmp_path / "live.duckdb"
    create_token(tmp_path / "live.duckdb.tokens.json", "read")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = overflight("serve", "--db", str(db), "--port", str(port))
    assert r.returncode == 1, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"overflight serve: error: cannot listen on 127.0.0.1:{port}: ")
    assert "in use" in lines[0].lower()


def test_ports_out_of_range_are_refused() -> None:
    from typer.testing import CliRunner

    from overflight.cli import app
    from overflight.errors import InputError
    from overflight.live import commands

    bad = 65536
    with pytest.raises(InputError, match=str(bad)):
        commands.build_config(Path("x.duckdb"), beast=[f"127.0.0.1:{bad}"])
    result = CliRunner().invoke(app, ["replay", __file__, "--port", str(bad), "--format", "sbs"])
    assert result.exit_code == 1
    assert not isinstance(result.exception, OverflowError)
    text = result.output + (result.stderr if result.stderr_bytes else "")
    assert f"overflight replay: error: --port {bad}" in text


def test_watch_start_time_dates_a_replayed_recording(shared_data: Path, tmp_path: Path) -> None:
    """``--start-time`` reaches the Beast clock: the stored points start at that time."""
    import duckdb

    port, db = free_port(), tmp_path / "dated.duckdb"
    replay = spawn("replay", str(shared_data / BEAST), "--port", str(port), "--speed", "0")
    try:
        time.sleep(1.5)  # the replay listens
        args = ["--db", str(db), "--beast", f"127.0.0.1:{port}", "--idle-exit-s", "1.5"]
        done = overflight("watch", *args, "--start-time", "2018-04-03T10:00:00Z", "--quiet")
        assert done.returncode == 0, done.stderr
    finally:
        replay.kill()
        replay.wait()
    con = duckdb.connect(str(db), read_only=True)
    span = con.sql("SELECT min(timestamp) AS a, max(timestamp) AS b FROM points").to_arrow_table()
    con.close()
    first, last = span["a"][0].as_py(), span["b"][0].as_py()
    start = datetime(2018, 4, 3, 10, tzinfo=UTC)
    # the first stamped frame is the anchor; positions come within the recording's span
    assert start <= first <= last < start + timedelta(hours=2)
    bad = overflight("watch", *args, "--start-time", "yesterday")
    assert bad.returncode == 1 and "yesterday" in bad.stderr


# -- the web side over a watched store ------------------------------------------------------


@pytest.fixture(scope="module")
def watched(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store written by a real watcher from the Beast recording replayed on loopback."""
    db = tmp_path_factory.mktemp("qa-live") / "live.duckdb"
    watch_recording(shared_data / BEAST, db)
    return db


@pytest.fixture
def served(watched: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    from overflight.web import create_app, create_token
    from overflight.web.server import ServerThread

    token = create_token(tmp_path / "tokens.json", "read")
    app = create_app(watched, tmp_path / "tokens.json", land_boundaries=False, busy_timeout_s=0.3)
    srv = ServerThread(app, log_level="warning").start()
    yield srv.url, token
    srv.stop()


def test_track_max_points_is_a_cap(watched: Path, served: tuple[str, str]) -> None:
    url, token = served
    con = duckdb.connect(str(watched), read_only=True)
    try:
        icao, _n = con.execute(
            "SELECT icao24, count(*) FROM points WHERE valid GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        ).fetchall()[0]
    finally:
        con.close()
    status, full = get(f"{url}/api/tracks/{icao}?max_points=100000", token)
    assert status == 200 and full["count"] == full["total"] > 10
    for cap in (2, 3, full["total"] // 4, full["total"] - 1):
        status, body = get(f"{url}/api/tracks/{icao}?max_points={cap}", token)
        assert status == 200
        assert body["count"] <= cap, (cap, body["count"])
        # thinning keeps both ends of the track
        assert body["points"][0]["time"] == full["points"][0]["time"]
        assert body["points"][-1]["time"] == full["points"][-1]["time"]


def test_locked_store_503_names_an_option_that_exists(
    watched: Path, served: tuple[str, str]
) -> None:
    """A store held by a watcher without ``--share-db``: the 503 says how to run them together."""
    import typer

    from overflight.cli import app

    url, token = served
    holder = hold(watched, 30.0)
    try:
        status, body = get(f"{url}/api/aircraft", token)
    finally:
        holder.kill()
        holder.wait()
    assert status == 503
    suggested = re.findall(r"overflight (\w+)((?: --[\w-]+)+)", body["error"])
    assert suggested, body["error"]
    commands = getattr(typer.main.get_command(app), "commands", {})
    for command, options in suggested:
        cmd = commands.get(command)
        assert cmd is not None, command
        known = {o for p in cmd.params for o in p.opts}
        assert set(options.split()) <= known, (command, options)


@pytest.mark.parametrize("url", ["notaurl", "ftp://example.org/x", "http://"])
def test_a_webhook_that_is_no_url_is_refused_at_start(tmp_path: Path, url: str) -> None:
    from overflight.errors import InputError
    from overflight.live.commands import build_config

    with pytest.raises(InputError, match="--webhook"):
        build_config(tmp_path / "w.duckdb", beast=["127.0.0.1:30005"], webhook=[url])
    ok = build_config(
        tmp_path / "w.duckdb", beast=["127.0.0.1:30005"], webhook=["http://127.0.0.1:9/x"]
    )
    assert ok.webhooks == ["http://127.0.0.1:9/x"]


def test_idle_exit_stops_a_watch_whose_feed_never_delivers(tmp_path: Path) -> None:
    """``--idle-exit-s`` counts from the start when nothing ever arrives (it waited forever)."""
    port = free_port()  # nothing listens there: the feed keeps reconnecting
    config = WatchConfig(
        db=tmp_path / "idle.duckdb",
        feeds=[FeedSpec("beast", f"127.0.0.1:{port}")],
        idle_exit_s=1.0,
        tick_s=0.25,
        flush_s=0.5,
        echo=False,
    )
    t0 = time.monotonic()
    stats = asyncio.run(asyncio.wait_for(Watcher(config).run(), 20))
    assert stats.points == 0 and time.monotonic() - t0 < 15
