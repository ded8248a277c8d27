"""Live watcher benchmark: sustained messages per second and alert latency on loopback.

Feed
----
A busy receiver hears about 2,000 Mode S messages a second from ~300
aircraft.  The target here is ten times that, at real time: the real Beast
capture ``../shared/data/raw_modes/beastblackbox_ulss7_20180403.beast`` (61 s
near St Petersburg, 11 aircraft, 4,464 distinct Mode S frames after its
duplicated frames are dropped, ~7 frames/s per aircraft) is copied ``COPIES``
times, each copy under other ICAO addresses (address bits XORed with the copy
number; the parity is recomputed so every frame still passes its CRC or
Address/Parity check) and started at a random time in the first 30 s
(aircraft come into coverage over time, so alerts keep firing under load),
then merged in time order into one Beast stream with 12 MHz timestamps.  The
result: ``COPIES x 11`` aircraft (3,300 by default) flying real tracks with
real message mixes and timing, 21,800 frames/s while all copies fly.  It is
written to a temporary file and served by ``python -m overflight.live replay
FILE --speed 1`` (a separate process, as a receiver is) on 127.0.0.1.

Watcher
-------
:class:`overflight.live.watcher.Watcher` runs in this process (pinned to 2
cores when the machine has more) with four alert rules: a watch list of 10 %
of the addresses, a region (the box around the capture's eastern half),
military aircraft, and orbits/racetracks/grids.  Every alert is timed when
the watcher emits it.  Its latency is that time minus the moment the replay
server sent the frame that made the alert's position decodable: the frame
itself, or for the first report of a CPR pair the partner report that
completed it (a position does not exist before).  The server sends frame
``i`` at ``t0 + t_i``, ``t0`` being when the client connected, which it logs.

``msgs_per_s`` is the Mode S frames the watcher decoded and put through the
pipeline per second of wall clock while every copy is flying (from 30 s to
the end of the first copies), read from the end of each tick; the watcher
keeps up when it matches the feed's rate (the lag line says by how much it
trailed).  Pattern detection runs every 15 s in a worker process at lower
priority on flights of at least 120 s; the bench's flights are shorter, so
its cost is measured after the run, over every stored point: its run time
plus the 15 s period bounds the latency of pattern alerts.

The last line reads ``msgs_per_s: X p99_latency_s: Y``.

Run: ``.venv/bin/python bench/live.py [--copies N]``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from overflight.ingest.beast import frame_bytes
from overflight.ingest.modes import crc

ROOT = Path(__file__).resolve().parents[1]
CAPTURE = ROOT.parent / "shared" / "data" / "raw_modes" / "beastblackbox_ulss7_20180403.beast"
AP_DFS = (0, 4, 5, 16, 20, 21)
START = 1_522_782_148_136_310_917  # the capture's start (its original file name)
RAMP_S = 30.0  # copies start at random times in the first RAMP_S seconds


def _parity(frames: np.ndarray, long: np.ndarray, value: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    """Frames with the parity set so that their CRC remainder is ``value``."""
    out = frames.copy()
    end = np.where(long, 14, 7)
    rows = np.arange(frames.shape[0])
    for k in range(3):
        out[rows, end - 3 + k] = 0
    rem = crc.remainder(crc.right_align(out, long)) ^ value.astype(np.uint32)
    for k in range(3):
        out[rows, end - 3 + k] = (rem >> np.uint32(8 * (2 - k))) & np.uint32(0xFF)
    return out


def readdress(frames: np.ndarray, long: np.ndarray, xor: int) -> np.ndarray:  # type: ignore[type-arg]
    """The same frames from aircraft whose address is XORed with ``xor``."""
    df = frames[:, 0] >> 3
    rem = crc.remainder(crc.right_align(frames, long))
    out = frames.copy()
    has_aa = np.isin(df, (11, 17, 18))
    aa = (
        (frames[:, 1].astype(np.uint32) << 16)
        | (frames[:, 2].astype(np.uint32) << 8)
        | frames[:, 3]
    )
    new_aa = aa ^ np.uint32(xor)
    for k in range(3):
        out[has_aa, 1 + k] = ((new_aa >> np.uint32(8 * (2 - k))) & np.uint32(0xFF))[has_aa].astype(
            np.uint8
        )
    # DF11/17/18 keep their remainder (0, or the interrogator code); A/P replies
    # carry the new address in theirs
    ap = np.isin(df, AP_DFS)
    target = np.where(ap, rem ^ np.uint32(xor), rem)
    fixed = _parity(out, long, target)
    keep = has_aa | ap
    return np.where(keep[:, None], fixed, frames)


def beast_bytes(frames: np.ndarray, long: np.ndarray, counter: np.ndarray) -> bytes:  # type: ignore[type-arg]
    """Encode frames as a Beast stream (0x1a doubled inside frames)."""
    n = frames.shape[0]
    body = np.zeros((n, 21), np.uint8)
    c = counter.astype(">u8").view(np.uint8).reshape(n, 8)[:, 2:]
    body[:, :6] = c
    body[:, 6] = 0x80  # signal level
    body[:, 7:] = frames
    size = np.where(long, 21, 14)
    keep = np.arange(21)[None, :] < size[:, None]
    head = np.zeros((n, 2), np.uint8)
    head[:, 0] = 0x1A
    head[:, 1] = np.where(long, ord("3"), ord("2"))
    rows = np.concatenate([head, body], axis=1)
    mask = np.concatenate([np.ones((n, 2), bool), keep], axis=1)
    flat = rows[mask]
    marker = np.concatenate([np.tile([True, False], (n, 1)), np.zeros((n, 21), bool)], axis=1)[mask]
    reps = np.where((flat == 0x1A) & ~marker, 2, 1)
    return bytes(np.repeat(flat, reps))


def build_stream(copies: int, seed: int = 1) -> tuple[bytes, np.ndarray, int, float]:  # type: ignore[type-arg]
    """The bench stream: bytes, each frame's time (s from the first), aircraft, one copy's span."""
    raw = np.frombuffer(CAPTURE.read_bytes(), np.uint8)
    fr = frame_bytes(raw, CAPTURE)
    modes = fr["type"] != 0x31
    frames, long, counter = fr["payload"][modes], fr["type"][modes] == 0x33, fr["counter"][modes]
    rec = np.concatenate([frames, counter.view(np.uint8).reshape(-1, 8)], axis=1)
    _, first = np.unique(np.ascontiguousarray(rec).view(f"V{rec.shape[1]}"), return_index=True)
    first = np.sort(first)  # the capture holds every frame twice
    frames, long, counter = frames[first], long[first], counter[first].astype(np.int64)
    counter = counter - counter[0]
    rng = np.random.default_rng(seed)
    parts_f, parts_l, parts_c = [], [], []
    for k in range(copies):
        xor = (k + 1) << 12 if k < 4095 else (k + 1)
        parts_f.append(readdress(frames, long, xor))
        parts_l.append(long)
        parts_c.append(counter + int(rng.integers(0, int(RAMP_S * 12_000_000))))
    f = np.concatenate(parts_f)
    lg = np.concatenate(parts_l)
    c = np.concatenate(parts_c)
    order = np.argsort(c, kind="stable")
    f, lg, c = f[order], lg[order], c[order]
    aa = (f[:, 1].astype(np.int64) << 16) | (f[:, 2].astype(np.int64) << 8) | f[:, 3]
    n_aircraft = int(np.unique(aa[np.isin(f[:, 0] >> 3, (11, 17))]).size)
    rel_s = (c - c[0]) / 12e6
    global CPR_REPORTS
    CPR_REPORTS = cpr_reports(f, lg, rel_s)
    return beast_bytes(f, lg, c.astype(np.uint64)), rel_s, n_aircraft, float(counter[-1] / 12e6)


CPR_REPORTS: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # type: ignore[type-arg]


def cpr_reports(
    f: np.ndarray, lg: np.ndarray, rel_s: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:  # type: ignore[type-arg]
    """Per aircraft: times (s) and CPR format (odd) of its airborne position squitters."""
    df = f[:, 0] >> 3
    tc = f[:, 4] >> 3
    sel = np.flatnonzero(
        lg & np.isin(df, (17, 18)) & (((tc >= 9) & (tc <= 18)) | ((tc >= 20) & (tc <= 22)))
    )
    aa = (f[sel, 1].astype(np.int64) << 16) | (f[sel, 2].astype(np.int64) << 8) | f[sel, 3]
    odd = ((f[sel, 6] >> 2) & 1).astype(bool)
    out = {}
    order = np.argsort(aa, kind="stable")
    keys, first = np.unique(aa[order], return_index=True)
    bounds = [*first.tolist(), order.size]
    for k, a, b in zip(keys.tolist(), bounds[:-1], bounds[1:], strict=True):
        idx = sel[order[a:b]]
        out[f"{k:06x}"] = (rel_s[idx], odd[order[a:b]])
    return out


def decodable_at(icao: str, t_s: float, window_s: float = 10.0) -> float:
    """When the position reported at ``t_s`` could first be decoded (s from the stream start).

    A CPR position needs a report of the other format within ``window_s``: if
    one came before, the report itself completes the pair; otherwise the next
    one does.  (Positions decoded locally, from an earlier position, count at
    their own time.)
    """
    times, odd = CPR_REPORTS.get(icao, (np.zeros(0), np.zeros(0, bool)))
    k = int(np.argmin(np.abs(times - t_s))) if times.size else -1
    if k < 0 or abs(times[k] - t_s) > 1e-6:
        return t_s
    other = times[odd != odd[k]]
    before = other[(other <= t_s) & (other >= t_s - window_s)]
    if before.size:
        return t_s
    after = other[(other > t_s) & (other <= t_s + window_s)]
    return float(after[0]) if after.size else t_s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=300)
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--no-patterns", action="store_true", help="leave the orbit rule out")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 2:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    logging.basicConfig(filename=os.devnull, level=logging.INFO)  # alerts are logged, not shown
    t0 = time.perf_counter()
    data, rel_s, n_aircraft, copy_s = build_stream(args.copies)
    full = (rel_s >= RAMP_S) & (rel_s <= copy_s)
    full_rate = np.count_nonzero(full) / (copy_s - RAMP_S) * args.speed
    print(
        f"stream: {rel_s.size:,} Mode S frames, {n_aircraft:,} aircraft over {rel_s[-1]:.1f} s; "
        f"all copies flying from {RAMP_S:.0f} s to {copy_s:.1f} s at {full_rate:,.0f} frames/s "
        f"(speed {args.speed:g}); built in {time.perf_counter() - t0:.1f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.beast"
        path.write_bytes(data)
        result = asyncio.run(run(path, Path(tmp) / "live.duckdb", args.speed, not args.no_patterns))
    report(result, rel_s, copy_s)


async def run(path: Path, db: Path, speed: float, patterns: bool) -> dict[str, Any]:
    from overflight.live.feeds import FeedSpec
    from overflight.live.rules import parse_rules
    from overflight.live.watcher import WatchConfig, Watcher

    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "overflight.live",
            "replay",
            str(path),
            "--port",
            str(port),
            "--speed",
            str(speed),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = asyncio.create_task(asyncio.to_thread(_collect, server, lines))
    while not any("replaying" in x for x in lines):
        await asyncio.sleep(0.05)
    rules = [r for r in parse_rules(_rules(path)) if patterns or r.kind != "pattern"]
    config = WatchConfig(
        db=db,
        feeds=[FeedSpec("beast", f"127.0.0.1:{port}")],
        rules=rules,
        start_time_ns=START,
        idle_exit_s=2.0,
        tick_s=0.5,
        flush_s=1.0,
        patterns_every_s=15.0,
        echo=False,
    )
    emitted: list[tuple[float, int, str, str]] = []
    watcher = Watcher(
        config,
        on_alert=lambda a: emitted.append(
            (time.time(), int(a.time.timestamp() * 1e9), a.kind, a.icao24)
        ),
    )
    ticks: list[tuple[float, int]] = []
    orig = watcher._tick_once

    async def timed_tick() -> None:
        before = watcher.stats.frames
        await orig()
        if watcher.stats.frames > before:
            ticks.append((time.time(), watcher.stats.frames))

    watcher._tick_once = timed_tick  # type: ignore[method-assign]
    stats = await watcher.run()
    server.terminate()
    pattern_s = _pattern_cost(db)
    await reader
    starts = [float(m[1]) for x in lines if (m := re.search(r"client start ([0-9.]+)", x))]
    return {
        "stats": stats,
        "ticks": ticks,
        "emitted": emitted,
        "t0": starts[0],
        "speed": speed,
        "pattern_s": pattern_s,
    }


def _pattern_cost(db: Path) -> tuple[int, int, float]:
    """Time one pattern run over every stored point (the pattern task's work)."""
    import duckdb

    from overflight.live.analysis import detect_window_patterns

    con = duckdb.connect(str(db), read_only=True)
    pts = con.sql(
        "SELECT flight_id, icao24, timestamp, latitude, longitude, altitude, valid, onground "
        "FROM points"
    ).to_arrow_table()
    con.close()
    t0 = time.perf_counter()
    detect_window_patterns(pts)
    return pts.num_rows, len(set(pts["flight_id"].to_pylist())), time.perf_counter() - t0


def _collect(proc: subprocess.Popen[str], lines: list[str]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rules(path: Path) -> dict[str, Any]:
    from overflight.ingest import read

    msgs = read(path, fmt="beast", start_time=str(START / 1e9))
    icao = sorted(set(msgs["icao24"].to_pylist()))
    lat = msgs["latitude"].drop_null().to_numpy()
    lon = msgs["longitude"].drop_null().to_numpy()
    mid = float(np.median(lon))
    box = [mid, float(lat.min()), float(lon.max()), float(lat.max())]
    return {
        "rules": [
            {"name": "watchlist", "kind": "watchlist", "icao24": icao[::10]},
            {"name": "east", "kind": "region", "region": {"bbox": box}},
            {"name": "military", "kind": "military"},
            {"name": "orbits", "kind": "pattern", "patterns": ["orbit", "racetrack", "grid"]},
        ]
    }


def report(r: dict[str, Any], rel_s: np.ndarray, copy_s: float) -> None:  # type: ignore[type-arg]
    stats, speed, t0 = r["stats"], r["speed"], r["t0"]
    tick_wall = np.array([w for w, _ in r["ticks"]])
    tick_done = np.array([n for _, n in r["ticks"]])
    sent_at = t0 + rel_s / speed  # when the server sent each frame
    # lag: how long the oldest frame not yet through the pipeline had been waiting
    oldest = np.minimum(tick_done, rel_s.size - 1)
    lag = tick_wall - sent_at[oldest]
    # sustained rate: frames through the pipeline while every copy was flying
    w0, w1 = t0 + RAMP_S / speed, t0 + copy_s / speed
    n0, n1 = np.interp([w0, w1], tick_wall, tick_done)
    rate = (n1 - n0) / (w1 - w0)
    tick_s = np.array(stats.tick_seconds)
    emitted = r["emitted"]
    # the alert's point was decodable once its CPR partner had arrived
    ready = np.array([decodable_at(a, (t - START) / 1e9) for _, t, _, a in emitted])
    point = np.array([(t - START) / 1e9 for _, t, _, _ in emitted])
    latency = np.array([w for w, _, _, _ in emitted]) - (t0 + ready / speed)
    in_full = ready >= RAMP_S
    kinds: dict[str, int] = {}
    for _, _, k, _ in emitted:
        kinds[k] = kinds.get(k, 0) + 1
    waited = ready > point
    wait_p50 = float(np.median((ready - point)[waited])) if waited.any() else 0.0
    print(
        f"alert points decoded late (the first of a CPR pair): {np.count_nonzero(waited)} of "
        f"{waited.size}, waiting p50 {wait_p50:.2f} s for the partner report"
    )
    print(
        f"watcher: {stats.frames:,} frames decoded, {stats.messages:,} messages, "
        f"{stats.points:,} points stored in {stats.batches} batches, {stats.ticks} ticks"
    )
    print(
        f"tick processing: p50 {np.percentile(tick_s, 50):.3f} s, "
        f"p99 {np.percentile(tick_s, 99):.3f} s, max {tick_s.max():.3f} s; "
        f"lag behind the feed: p50 {np.percentile(lag, 50):.2f} s, "
        f"max {lag.max():.2f} s"
    )
    in_window = np.count_nonzero((rel_s >= RAMP_S) & (rel_s <= copy_s))
    feed_rate = in_window / ((copy_s - RAMP_S) / speed)
    print(
        f"full load ({RAMP_S:.0f}-{copy_s:.1f} s): feed {feed_rate:,.0f} frames/s, "
        f"watcher {rate:,.0f} frames/s"
    )
    print(
        f"alerts: {latency.size:,} ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}); "
        f"latency p50 {np.percentile(latency, 50):.3f} s, p99 {np.percentile(latency, 99):.3f} s, "
        f"max {latency.max():.3f} s"
    )
    if in_full.any():
        lf = latency[in_full]
        print(
            f"alerts under full load: {lf.size:,}; latency p50 {np.percentile(lf, 50):.3f} s, "
            f"p99 {np.percentile(lf, 99):.3f} s"
        )
    n_pts, n_fl, cost = r["pattern_s"]
    print(
        f"pattern detection: the run's flights are shorter than a full turn, so the pattern "
        f"task skipped them; one run over all {n_pts:,} stored points ({n_fl:,} flights) takes "
        f"{cost:.2f} s here, so a pattern alert comes at most 15 s + that (scaled to the "
        f"window) after the point that completes the pattern"
    )
    print(f"counts: {dict(stats.counts)}")
    print(f"msgs_per_s: {rate:.0f} p99_latency_s: {np.percentile(latency, 99):.3f}")


if __name__ == "__main__":
    main()
