"""Streaming Mode S decode: each tick's frames through the file decoder, with context.

:func:`overflight.ingest.modes.decode_frames` decodes a whole batch at once:
CPR positions need an even/odd pair (or a nearby decoded position) of the
same aircraft, and Address/Parity replies are trusted only when a
CRC-checked squitter of the same address is in the batch.  A live tick holds
a fraction of a second, so :class:`StreamDecoder` decodes each tick's new
frames together with *context frames* kept from earlier ticks:

* the CPR position squitters of the last ``airborne_context_s`` (surface:
  ``surface_context_s``) seconds, at most ``cpr_per_aircraft`` per aircraft
  (6 s of reports at the usual 2 a second), so a report pairs with a
  partner received in an earlier tick and unpaired reports decode locally
  against recent positions;
* for every address confirmed within ``address_ttl_s`` (60 s, dump1090's
  ICAO filter), its latest confirming DF11/DF17/DF18 frame.

Only rows of new frames leave the decoder, plus *late* positions: a context
report that had no partner when it arrived and now has one gets its
position then, as the file decoder would have given it.  To map rows back
to frames the batch is sorted by time and times are made strictly
increasing (ties moved by 1 ns); the rows keep the frames' original times.

Before decoding, frames are de-duplicated: a frame whose bytes were seen
within ``dedup_window_s`` from another feed (two receivers hearing one
transmission) or from the same feed with the same timestamp (a capture
that repeats frames) is dropped and counted.  After a feed reconnects,
frames up to the last time already taken from it are dropped (``replayed``):
a recording served again from its start adds nothing twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.ingest.modes import CprOptions, decode_frames
from overflight.ingest.modes import crc as modes_crc
from overflight.schema import MESSAGE_SCHEMA, TIMESTAMP, conform

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

_ICAO_CF = (0, 2, 6)
#: Airborne positions whose median stands in for the receiver (surface decoding).
REFERENCE_POSITIONS = 2000


@dataclass
class _Frames:
    """A set of frames with their times, feeds and roles (plain arrays)."""

    frames: U8
    long: B
    t: I64
    feed: I64
    had_pos: B

    @staticmethod
    def empty() -> _Frames:
        return _Frames(
            np.zeros((0, 14), np.uint8),
            np.zeros(0, bool),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, bool),
        )

    def take(self, idx: npt.NDArray[np.intp] | B) -> _Frames:
        return _Frames(
            self.frames[idx], self.long[idx], self.t[idx], self.feed[idx], self.had_pos[idx]
        )

    @staticmethod
    def concat(parts: list[_Frames]) -> _Frames:
        return _Frames(
            np.concatenate([p.frames for p in parts]),
            np.concatenate([p.long for p in parts]),
            np.concatenate([p.t for p in parts]),
            np.concatenate([p.feed for p in parts]),
            np.concatenate([p.had_pos for p in parts]),
        )


def frame_keys(frames: U8, long: B) -> tuple[U64, U64]:
    """Two 64-bit keys that together identify a frame's bytes and length."""
    k1 = np.ascontiguousarray(frames[:, :8]).view(">u8")[:, 0].astype(np.uint64)
    tail = np.zeros((frames.shape[0], 8), np.uint8)
    tail[:, :6] = frames[:, 8:14]
    tail[:, 7] = long
    k2 = tail.view(">u8")[:, 0].astype(np.uint64)
    return k1, k2


def duplicates(
    keys: tuple[U64, U64],
    t: I64,
    feed: I64,
    first_new: int,
    window_ns: int,
    *,
    any_repeat: bool = False,
) -> B:
    """Which rows from ``first_new`` on repeat an earlier row within ``window_ns``.

    A repeat counts when it comes from another feed or has the same time
    (see the module docstring), or always with ``any_repeat``.

    Examples
    --------
    >>> k = (np.array([1, 1, 1], np.uint64), np.zeros(3, np.uint64))
    >>> duplicates(k, np.array([0, 0, 5]), np.zeros(3, np.int64), 0, 10).tolist()
    [False, True, False]
    """
    k1, k2 = keys
    order = np.lexsort((t, k2, k1))
    a, b = order[:-1], order[1:]
    dt = t[b] - t[a]
    same = (k1[b] == k1[a]) & (k2[b] == k2[a]) & (dt <= window_ns)
    dup = np.zeros(t.size, bool)
    dup[b] = same if any_repeat else same & ((feed[b] != feed[a]) | (dt == 0))
    return dup[first_new:]


def strictly_increasing(t_sorted: I64) -> I64:
    """``t_sorted`` with ties and steps back moved forward by the fewest ns.

    Examples
    --------
    >>> strictly_increasing(np.array([5, 5, 5, 9, 9])).tolist()
    [5, 6, 7, 9, 10]
    """
    k = np.arange(t_sorted.size, dtype=np.int64)
    out: I64 = np.maximum.accumulate(t_sorted - k) + k
    return out


def frame_roles(frames: U8, long: B) -> tuple[B, B, B, npt.NDArray[np.uint32]]:
    """Per frame: CPR position squitter, surface report, address-confirming, address."""
    df = (frames[:, 0] >> 3).astype(np.int64)
    rem = modes_crc.remainder(modes_crc.right_align(frames, long))
    es = ((df == 17) | ((df == 18) & np.isin(frames[:, 0] & 7, _ICAO_CF))) & long & (rem == 0)
    confirm: B = es | ((df == 11) & ~long & (rem < 0x80))
    tc = (frames[:, 4] >> 3).astype(np.int64)
    surface: B = es & (tc >= 5) & (tc <= 8)
    cpr: B = surface | (es & (((tc >= 9) & (tc <= 18)) | ((tc >= 20) & (tc <= 22))))
    wide = frames[:, 1:4].astype(np.uint32)
    icao = ((wide[:, 0] << 16) | (wide[:, 1] << 8) | wide[:, 2]).astype(np.uint32)
    return cpr, surface, confirm, icao


@dataclass
class DecodedBatch:
    """What one call of :meth:`StreamDecoder.decode` produced."""

    messages: pa.Table
    counts: Counter[str]


class StreamDecoder:
    """Decode successive batches of frames as one stream (see the module docstring).

    State: context frames and the frames of the last ``dedup_window_s`` for
    de-duplication.  Not thread-safe: call from one thread.
    """

    def __init__(
        self,
        cpr_options: CprOptions | None = None,
        *,
        airborne_context_s: float = 15.0,
        surface_context_s: float = 30.0,
        address_ttl_s: float = 60.0,
        dedup_window_s: float = 1.0,
        cpr_per_aircraft: int = 12,
    ) -> None:
        self.cpr_options = cpr_options or CprOptions()
        self._reference: tuple[float, float] | None = None
        self._air_lat = np.zeros(0)
        self._air_lon = np.zeros(0)
        self.airborne_ns = int(airborne_context_s * 1e9)
        self.surface_ns = int(surface_context_s * 1e9)
        self.address_ns = int(address_ttl_s * 1e9)
        self.dedup_ns = int(dedup_window_s * 1e9)
        self.cpr_per_aircraft = cpr_per_aircraft
        self.names: list[str] = []
        self._cpr = _Frames.empty()
        self._cpr_surface = np.zeros(0, bool)
        self._cpr_icao = np.zeros(0, np.uint32)
        self._addr = _Frames.empty()
        self._addr_icao = np.zeros(0, np.uint32)
        self._recent = _Frames.empty()
        self._newest: dict[int, int] = {}

    def feed_id(self, name: str) -> int:
        """Integer id of a feed (registered on first use)."""
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)

    def decode(self, frames: U8, long: B, t_ns: I64, feed: I64) -> DecodedBatch:
        """Decode one tick's frames; return the new message rows and counts."""
        counts: Counter[str] = Counter(frames=int(t_ns.size))
        new = _Frames(
            frames, long, t_ns.astype(np.int64), feed.astype(np.int64), np.zeros(t_ns.size, bool)
        )
        new = self._dedup(new, counts)
        n_ctx = self._cpr.t.size + self._addr.t.size
        every = _Frames.concat([self._cpr, self._addr, new])
        order = np.argsort(every.t, kind="stable")
        t_sorted = strictly_increasing(every.t[order])
        table, _ = decode_frames(
            every.frames[order],
            every.long[order],
            t_sorted,
            source="",
            cpr_options=self._options(),
        )
        self._learn_reference(table)
        row_t = table["timestamp"].cast(pa.int64()).to_numpy()
        src = order[np.searchsorted(t_sorted, row_t)]
        has_pos = np.asarray(table["latitude"].is_valid().to_numpy(zero_copy_only=False), bool)
        n_cpr = self._cpr.t.size
        ctx_cpr = src < n_cpr
        late = np.zeros(src.size, bool)
        if n_cpr:
            late = ctx_cpr & has_pos & ~self._cpr.had_pos[np.minimum(src, n_cpr - 1)]
        is_new = src >= n_ctx
        take = np.flatnonzero(is_new | late)
        counts["rows"] = int(np.count_nonzero(is_new))
        counts["late_positions"] = int(np.count_nonzero(late))
        counts["no_row"] = int(new.t.size - counts["rows"])
        if n_cpr:
            self._cpr.had_pos[src[ctx_cpr & has_pos]] = True
        new_pos = np.zeros(new.t.size, bool)
        new_pos[src[is_new & has_pos] - n_ctx] = True
        new.had_pos = new_pos
        self._update_context(new)
        out = table.take(pa.array(take))
        s = src[take]
        names = pa.array(self.names or [""], pa.string())
        out = out.set_column(
            out.schema.get_field_index("timestamp"),
            "timestamp",
            pa.array(every.t[s], pa.int64()).cast(TIMESTAMP),
        )
        out = out.set_column(
            out.schema.get_field_index("source"), "source", names.take(pa.array(every.feed[s]))
        )
        return DecodedBatch(conform(out, MESSAGE_SCHEMA), counts)

    def _options(self) -> CprOptions:
        """The CPR options, with the learnt receiver stand-in when none was given."""
        if self.cpr_options.reference is not None or self._reference is None:
            return self.cpr_options
        return replace(self.cpr_options, reference=self._reference)

    def _learn_reference(self, table: pa.Table) -> None:
        """Keep the median of recent airborne positions as the receiver's stand-in.

        The file decoder resolves surface positions of an aircraft never seen
        airborne with the median of the batch's airborne positions; a tick is
        too short for that (an airport can be quiet for minutes), so the
        median of the last :data:`REFERENCE_POSITIONS` airborne positions is
        used, until ``reference`` is given in the options.
        """
        if self.cpr_options.reference is not None:
            return
        air = pc.and_(
            pc.is_valid(table["latitude"]), pc.invert(pc.fill_null(table["onground"], False))
        )
        lat = table["latitude"].filter(air).to_numpy()
        lon = table["longitude"].filter(air).to_numpy()
        if lat.size == 0:
            return
        self._air_lat = np.r_[self._air_lat, lat][-REFERENCE_POSITIONS:]
        self._air_lon = np.r_[self._air_lon, lon][-REFERENCE_POSITIONS:]
        self._reference = (float(np.median(self._air_lat)), float(np.median(self._air_lon)))

    def _dedup(self, new: _Frames, counts: Counter[str]) -> _Frames:
        if new.t.size == 0:
            return new
        both = _Frames.concat([self._recent, new])
        dup = duplicates(
            frame_keys(both.frames, both.long),
            both.t,
            both.feed,
            self._recent.t.size,
            self.dedup_ns,
        )
        counts["duplicate"] += int(np.count_nonzero(dup))
        kept = new.take(~dup)
        recent = _Frames.concat([self._recent, kept])
        for f in np.unique(new.feed).tolist():
            self._newest[f] = max(self._newest.get(f, -(2**62)), int(new.t[new.feed == f].max()))
        # keep a frame until every feed has passed it by the window (a slower feed
        # may still send the same transmission), but never longer than a minute
        top = max(self._newest.values())
        horizon = max(min(self._newest.values()) - self.dedup_ns, top - 60_000_000_000)
        self._recent = recent.take(recent.t >= horizon)
        return kept

    def _update_context(self, new: _Frames) -> None:
        cpr, surface, confirm, icao = frame_roles(new.frames, new.long)
        t_max = max(
            int(new.t.max()) if new.t.size else -(2**62),
            int(self._cpr.t.max()) if self._cpr.t.size else -(2**62),
        )
        both = _Frames.concat([self._cpr, new.take(cpr)])
        srf = np.r_[self._cpr_surface, surface[cpr]]
        cicao = np.r_[self._cpr_icao, icao[cpr]]
        keep = both.t >= t_max - np.where(srf, self.surface_ns, self.airborne_ns)
        # and at most the last `cpr_per_aircraft` reports of each aircraft
        order = np.lexsort((both.t, cicao))
        grp = cicao[order]
        end = np.r_[grp[1:] != grp[:-1], True] if order.size else np.zeros(0, bool)
        pos = np.arange(order.size)
        last_of = np.minimum.accumulate(np.where(end, pos, order.size)[::-1])[::-1]
        recent = np.zeros(order.size, bool)
        recent[order] = last_of - pos < self.cpr_per_aircraft
        keep &= recent
        self._cpr, self._cpr_surface, self._cpr_icao = both.take(keep), srf[keep], cicao[keep]
        # one confirming frame per address (not a CPR report: those are context already)
        sel = confirm & ~cpr
        addr = _Frames.concat([self._addr, new.take(sel)])
        aicao = np.r_[self._addr_icao, icao[sel]]
        order = np.lexsort((addr.t, aicao))
        last = (
            np.r_[aicao[order][1:] != aicao[order][:-1], True] if order.size else np.zeros(0, bool)
        )
        pick = order[last]
        pick = pick[addr.t[pick] >= t_max - self.address_ns]
        self._addr, self._addr_icao = addr.take(pick), aicao[pick]

    @property
    def context_size(self) -> int:
        """Frames held as context."""
        return int(self._cpr.t.size + self._addr.t.size)


def known_positions(messages: pa.Table) -> int:
    """Rows of ``messages`` with a position (helper for counts and tests)."""
    return int(pc.sum(pc.is_valid(messages["latitude"])).as_py() or 0)
