"""Incremental stream parsers: any cut of a real stream gives the file reader's frames;
random bytes never crash them and bad input is counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.ingest import avr
from overflight.ingest.beast import frame_bytes
from overflight.live.decoder import StreamDecoder
from overflight.live.framing import BeastFramer, LineFramer, beast_split, parse_avr
from overflight.live.timebase import FeedClock

BEAST = "raw_modes/beastblackbox_ulss7_20180403.beast"
AVR = "derived/real_frames_combined_avr.txt"


class _Bytes(bytes):
    """The capture, with a short repr for hypothesis reports."""

    def __repr__(self) -> str:
        return f"<{len(self)} bytes of {BEAST}>"


@pytest.fixture(scope="module")
def beast_bytes(shared_data: Path) -> bytes:
    return _Bytes((shared_data / BEAST).read_bytes())


def feed_in_pieces(
    framer: BeastFramer, data: bytes, cuts: list[int]
) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    frames, counters = [], []
    for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
        ch = framer.feed(data[a:b])
        frames.append(ch.frames)
        counters.append(ch.counter)
    return np.concatenate(frames), np.concatenate(counters)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_beast_any_cut_gives_the_file_frames(beast_bytes: bytes, data: st.DataObject) -> None:
    part = beast_bytes[:20_000]
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(part) - 1), max_size=60))))
    whole = frame_bytes(np.frombuffer(part, np.uint8), None, allow_truncated=True)
    modes = whole["type"] != 0x31
    framer = BeastFramer()
    frames, counters = feed_in_pieces(framer, part, cuts)
    assert np.array_equal(frames, whole["payload"][modes])  # the last, cut-off frame is held
    assert np.array_equal(counters, whole["counter"][modes])
    assert framer.counts["bad_frame"] == 0 and framer.counts["junk_bytes"] == 0


def test_beast_one_byte_at_a_time(beast_bytes: bytes) -> None:
    part = beast_bytes[:3000]
    frames, _ = feed_in_pieces(BeastFramer(), part, list(range(1, len(part))))
    whole = frame_bytes(np.frombuffer(part, np.uint8), None, allow_truncated=True)
    modes = whole["type"] != 0x31
    assert np.array_equal(frames, whole["payload"][modes])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=12))
def test_beast_random_bytes_never_crash(chunks: list[bytes]) -> None:
    framer = BeastFramer()
    total = 0
    for c in chunks:
        ch = framer.feed(c)
        assert ch.frames.shape == (ch.size, 14)
        total += ch.size
    framer.reset()
    assert all(v >= 0 for v in framer.counts.values())
    assert beast_split(b"".join(chunks)) <= len(b"".join(chunks))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=400), max_size=12), st.integers(8, 200))
def test_line_parsers_random_bytes_never_crash(chunks: list[bytes], limit: int) -> None:
    lines = LineFramer(limit)
    for c in chunks:
        blob = lines.feed(c)
        assert all(len(x) <= limit for x in blob.split(b"\n"))
        ch, bad = parse_avr(blob)
        assert bad >= 0 and ch.frames.shape == (ch.size, 14)
    lines.reset()


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=200))
def test_random_frames_through_the_decoder(raw: bytes) -> None:
    """Random frames (valid framing, nonsense content) decode without error."""
    n = len(raw) // 14
    frames = np.frombuffer(raw[: n * 14], np.uint8).reshape(n, 14).copy()
    dec = StreamDecoder()
    out = dec.decode(
        frames, np.ones(n, bool), np.arange(n, dtype=np.int64) * 1000, np.zeros(n, np.int64)
    )
    assert out.messages.num_rows <= n


def test_oversized_lines_are_counted_and_skipped(shared_data: Path) -> None:
    good = (shared_data / AVR).read_bytes()[:40_000]
    good = good[: good.rfind(b"\n") + 1]
    long_line = b"*" + b"8D" * 5000 + b";\n"
    cut = good.rfind(b"\n", 0, 10_000) + 1
    stream = good[:cut] + long_line + good[cut:] + b"X" * 9000  # the last never ends
    framer = LineFramer(4096)
    out = b"".join(framer.feed(stream[i : i + 1000]) for i in range(0, len(stream), 1000))
    out += framer.feed(b"\n")  # ends the long unterminated line, which is skipped too
    assert framer.counts["oversized"] == 2
    kept, _ = parse_avr(out)
    ref = avr.parse(good, None, start_time=0)
    assert kept.size == ref["frames"].shape[0]
    assert np.array_equal(kept.frames, ref["frames"])


def test_avr_stream_matches_the_file_reader(shared_data: Path) -> None:
    text = (shared_data / AVR).read_bytes()[:200_000]
    text = text[: text.rfind(b"\n") + 1]
    framer = LineFramer()
    chunks = [parse_avr(framer.feed(text[i : i + 777]))[0] for i in range(0, len(text), 777)]
    frames = np.concatenate([c.frames for c in chunks])
    ref = avr.parse(text, None, start_time=0)
    assert np.array_equal(frames, ref["frames"])


def test_feed_clock_follows_the_counter_and_survives_a_restart() -> None:
    c = FeedClock("12mhz", start_ns=None)
    c0, c1 = 1000, 1000 + 12_000_000 * 60  # a minute of receiver time
    t1 = c.to_ns(np.array([c0, c1], np.uint64), np.ones(2, bool), 5_000_000_000)
    assert t1.tolist() == [5_000_000_000, 5_000_000_000 + 60_000_000_000]
    # the receiver restarts: its counter starts again near 0, the clock re-anchors at arrival
    t2 = c.to_ns(np.array([10], np.uint64), np.ones(1, bool), 9_000_000_000)
    assert t2.tolist() == [9_000_000_000]
    # a recording replayed from its start keeps the recorded times
    r = FeedClock("12mhz", start_ns=0)
    a = r.to_ns(np.array([600, 600 + 12_000_000 * 100], np.uint64), np.ones(2, bool), 7)
    b = r.to_ns(np.array([600], np.uint64), np.ones(1, bool), 8)
    assert a.tolist() == [0, 100_000_000_000] and b.tolist() == [0]
