"""Receiver timestamps of a live feed to UTC nanoseconds.

A Beast or AVR-MLAT receiver stamps each frame with a 48-bit counter
(:mod:`overflight.ingest.modes.clock`).  For a file the reader knows the whole
capture; a live feed only knows what it has seen so far, so
:class:`FeedClock` anchors the counter once:

``12mhz``
    the first frame of the feed is placed at ``start_ns`` (a recording's
    known start, e.g. for a replay) or else at the wall clock when it
    arrived; later frames at ``anchor + (counter - counter0) / 12 MHz``.
    Differences between frames are then exactly the receiver's, as in a
    file.  When the counter goes back by more than :data:`RESET_S` (the
    receiver restarted, or the 48-bit counter wrapped), a feed anchored to
    the wall clock is re-anchored; one anchored to ``start_ns`` keeps its
    anchor, so a recording replayed again from its start gets the same
    times (and is recognised as already seen).
``utc_ns_of_day``
    GPS receivers: the counter is the UTC time of day, the date is taken
    from the wall clock.
``arrival``
    ignore the counter and stamp frames with their arrival time.

Frames without a counter (AVR ``*`` lines) get their arrival time plus
1 ns per frame, which keeps them in order and distinct.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from overflight.ingest.modes import clock

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

CLOCK_MODES = ("12mhz", "utc_ns_of_day", "arrival")
#: A backward step of the counter longer than this is a receiver restart.
RESET_S = 10.0
_TICKS_PER_S = 12_000_000


class FeedClock:
    """Anchor of one feed's receiver counter (see the module docstring).

    Examples
    --------
    >>> c = FeedClock("12mhz", start_ns=1_000_000_000)
    >>> c.to_ns(np.array([120, 12_000_120], np.uint64), np.ones(2, bool), 5).tolist()
    [1000000000, 2000000000]
    """

    def __init__(self, mode: str = "12mhz", start_ns: int | None = None) -> None:
        if mode not in CLOCK_MODES:
            raise ValueError(f"clock mode {mode!r}: expected one of {CLOCK_MODES}")
        self.mode = mode
        self.start_ns = start_ns
        self._anchor_ns: int | None = None
        self._anchor_counter = 0
        self._last_counter: int | None = None
        self._last_untimed = 0

    def to_ns(self, counter: U64, timed: B, arrival_ns: int) -> I64:
        """UTC ns of each frame of one chunk, in stream order."""
        out = np.zeros(counter.size, np.int64)
        untimed = ~timed if self.mode != "arrival" else np.ones(counter.size, bool)
        k = np.flatnonzero(untimed)
        if k.size:
            base = max(arrival_ns, self._last_untimed + 1)
            out[k] = base + np.arange(k.size, dtype=np.int64)
            self._last_untimed = int(out[k[-1]])
        sel = np.flatnonzero(~untimed)
        if sel.size:
            out[sel] = self._counter_ns(counter[sel], arrival_ns)
        return out

    def _counter_ns(self, c: U64, arrival_ns: int) -> I64:
        if self.mode == "utc_ns_of_day":
            return clock.counter_to_ns(c, "utc_ns_of_day", arrival_ns, None)[0]
        ci = c.astype(np.int64)
        if self._anchor_ns is None:
            self._anchor_ns = self.start_ns if self.start_ns is not None else arrival_ns
            self._anchor_counter = int(ci[0])
        prev = np.r_[self._last_counter if self._last_counter is not None else ci[0], ci[:-1]]
        resets = np.flatnonzero(ci - prev < -int(RESET_S * _TICKS_PER_S)).tolist()
        out = np.zeros(ci.size, np.int64)
        bounds = [0, *resets, ci.size]
        for a, b in itertools.pairwise(bounds):
            if a in resets and self.start_ns is None:  # receiver restarted: new anchor
                self._anchor_ns, self._anchor_counter = arrival_ns, int(ci[a])
            out[a:b] = self._anchor_ns + (ci[a:b] - self._anchor_counter) * 1000 // 12
        self._last_counter = int(ci[-1])
        return out
