"""The replay server: records and times of each format, pacing, bytes served as recorded."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from overflight.ingest import sbs
from overflight.ingest.beast import frame_bytes
from overflight.ingest.modes import clock
from overflight.live.replay import ReplayServer, load_recording

BEAST = "raw_modes/beastblackbox_ulss7_20180403.beast"
SBS = "raw_modes/beastblackbox_ulss7_20180403_decoded.sbs"
AVR = "derived/real_frames_combined_avr.txt"


def test_beast_records_are_frames_timed_by_their_counter(shared_data: Path) -> None:
    path = shared_data / BEAST
    rec = load_recording(path)
    fr = frame_bytes(np.frombuffer(path.read_bytes(), np.uint8), path)
    t, _ = clock.counter_to_ns(fr["counter"], "12mhz", 0, None)
    assert rec.fmt == "beast" and rec.size == fr["type"].size
    assert np.allclose(rec.t_s, np.maximum.accumulate((t - t[0]) / 1e9))
    assert (
        b"".join(rec.data[a:b] for a, b in zip(rec.cuts[:-1], rec.cuts[1:], strict=True))
        == path.read_bytes()
    )


def test_sbs_and_untimed_avr_times(shared_data: Path, tmp_path: Path) -> None:
    rec = load_recording(shared_data / SBS)
    msgs = sbs.read(shared_data / SBS)
    span = (pc.max(msgs["timestamp"]).value - pc.min(msgs["timestamp"]).value) / 1e9
    assert rec.fmt == "sbs" and abs(rec.t_s[-1] - span) < 1.0
    lines = (shared_data / AVR).read_bytes().split(b"\n")[:500]
    f = tmp_path / "x.avr"
    f.write_bytes(b"\n".join(lines) + b"\n")
    avr = load_recording(f, untimed_rate_hz=100.0)
    assert avr.fmt == "avr" and avr.size == 500 and avr.t_s[-1] == 4.99


def test_paced_and_every_byte_in_order(shared_data: Path) -> None:
    path = shared_data / BEAST
    rec = load_recording(path)
    speed = 30.0

    async def go() -> tuple[bytes, float]:
        server = ReplayServer(rec, speed=speed)
        port = await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        t0 = time.perf_counter()
        data = await reader.read()
        elapsed = time.perf_counter() - t0
        writer.close()
        await server.wait_done()
        await server.close()
        return data, elapsed

    data, elapsed = asyncio.run(go())
    assert data == path.read_bytes()
    expected = rec.t_s[-1] / speed
    assert 0.9 * expected <= elapsed <= expected + 1.5


def test_compressed_recordings_replay_like_the_original(shared_data: Path, tmp_path: Path) -> None:
    """A recording is decompressed as the file readers do it (gzip, xz, bzip2)."""
    import bz2
    import gzip
    import lzma

    path = shared_data / BEAST
    plain = load_recording(path)
    for suffix, compress in (("gz", gzip.compress), ("xz", lzma.compress), ("bz2", bz2.compress)):
        copy = tmp_path / f"capture.beast.{suffix}"
        copy.write_bytes(compress(path.read_bytes()))
        got = load_recording(copy)
        assert got.fmt == plain.fmt == "beast"
        assert got.data == plain.data
        assert np.array_equal(got.cuts, plain.cuts) and np.array_equal(got.t_s, plain.t_s)
