"""Decoded sources (SBS-1 lines, readsb ``aircraft.json``) through the file readers.

Each tick the lines received from an SBS feed (or the latest readsb document)
are written to a scratch file and read by :func:`overflight.ingest.sbs.read`
or :func:`overflight.ingest.readsb.read`, so a live row is exactly what the
file reader would make of the same text.  Rows are then de-duplicated
across feeds: a row whose content (every column but ``timestamp`` and
``source``) repeats one seen within ``dedup_window_s`` from another feed, or
one from the same feed with the same time, is dropped.  readsb
reports every aircraft's state in every snapshot, so a readsb row is kept
only when it is newer than the last row of its aircraft from any readsb feed.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from overflight.errors import InputError
from overflight.ingest import readsb, sbs, table_stats
from overflight.live.decoder import duplicates
from overflight.live.feeds import TextItem
from overflight.schema import MESSAGE_SCHEMA, conform

_CONTENT = [f.name for f in MESSAGE_SCHEMA if f.name not in ("timestamp", "source")]


def content_keys(table: pa.Table) -> np.ndarray:  # type: ignore[type-arg]
    """A 64-bit hash of each row's content (all columns but time and source)."""
    df = table.select(_CONTENT).to_pandas()
    return np.asarray(pd.util.hash_pandas_object(df, index=False).to_numpy(), np.uint64)


class TextDecoder:
    """Parse :class:`TextItem` s with the file readers (see the module docstring).

    Holds a scratch folder, the rows of the last ``dedup_window_s`` and, per
    feed, the last time taken and the connection it came from.  Call
    :meth:`close` to remove the scratch folder.
    """

    def __init__(self, dedup_window_s: float = 2.0) -> None:
        self.dedup_ns = int(dedup_window_s * 1e9)
        self._dir = Path(tempfile.mkdtemp(prefix="overflight-live-"))
        self._recent = conform(MESSAGE_SCHEMA.empty_table())
        self._recent_keys = np.zeros(0, np.uint64)
        self._last_t: dict[str, int] = {}
        self._generation: dict[str, int] = {}
        self._catch_up: dict[str, int] = {}
        self._readsb_last: dict[str, int] = {}

    def close(self) -> None:
        """Remove the scratch folder."""
        shutil.rmtree(self._dir, ignore_errors=True)

    def decode(self, items: Sequence[TextItem], counts: dict[str, Counter[str]]) -> pa.Table:
        """Message rows of ``items``; per-feed rejection counts go into ``counts``."""
        tables = []
        for group in _groups(items):
            head = group[0]
            c = counts.setdefault(head.feed, Counter())
            table = self._read(head.kind, b"".join(g.payload for g in group), c)
            if table is None:
                continue
            table = table.set_column(
                table.schema.get_field_index("source"),
                "source",
                pa.array([head.feed] * table.num_rows, pa.string()),
            )
            table = self._after_reconnect(head, table, c)
            if head.kind == "readsb":
                table = self._newer_only(table, c)
            tables.append(table)
        if not tables:
            return conform(MESSAGE_SCHEMA.empty_table())
        return self._dedup(pa.concat_tables(tables), counts)

    def _read(self, kind: str, payload: bytes, c: Counter[str]) -> pa.Table | None:
        path = self._dir / ("lines.sbs" if kind == "sbs" else "aircraft.json")
        path.write_bytes(payload)
        try:
            table = sbs.read(path) if kind == "sbs" else readsb.read(path)
        except InputError:
            c["rejected"] += max(1, payload.count(b"\n")) if kind == "sbs" else 1
            return None
        stats = table_stats(table)
        for reason, k in (stats.get("reasons") or {}).items():
            c[f"rejected_{reason}"] += int(k)
        c["rejected"] += int(stats.get("rejected", 0))
        return conform(table.replace_schema_metadata(None))

    def _after_reconnect(self, item: TextItem, table: pa.Table, c: Counter[str]) -> pa.Table:
        """Drop rows a feed sends again after reconnecting (see :mod:`.feeds`)."""
        feed = item.feed
        if self._generation.get(feed, item.generation) != item.generation and feed in self._last_t:
            self._catch_up[feed] = self._last_t[feed]
        self._generation[feed] = item.generation
        t = table["timestamp"].cast(pa.int64()).to_numpy()
        if feed in self._catch_up:
            keep = t > self._catch_up[feed]
            c["replayed"] += int(np.count_nonzero(~keep))
            if keep.any():
                del self._catch_up[feed]
            table, t = table.filter(pa.array(keep)), t[keep]
        if t.size:
            self._last_t[feed] = max(self._last_t.get(feed, int(t.max())), int(t.max()))
        return table

    def _newer_only(self, table: pa.Table, c: Counter[str]) -> pa.Table:
        """Rows newer than the last one seen for their aircraft (from any readsb feed).

        A readsb document repeats the state of every aircraft on each poll
        (and a trace repeats the whole track), so only what is newer counts.
        """
        if table.num_rows == 0:
            return table
        icao = table["icao24"].to_pandas()
        t = table["timestamp"].cast(pa.int64()).to_numpy()
        last = icao.map(self._readsb_last).fillna(-np.inf).to_numpy(np.float64)
        keep = t > last
        c["repeated"] += int(np.count_nonzero(~keep))
        newest = pd.Series(t[keep]).groupby(icao[keep].to_numpy()).max()
        self._readsb_last.update({str(k): int(v) for k, v in newest.items()})
        return table.filter(pa.array(keep))

    def _dedup(self, table: pa.Table, counts: dict[str, Counter[str]]) -> pa.Table:
        if table.num_rows == 0:
            return table
        keys = content_keys(table)
        t = table["timestamp"].cast(pa.int64()).to_numpy()
        all_t = np.r_[self._recent["timestamp"].cast(pa.int64()).to_numpy(), t]
        all_k = np.r_[self._recent_keys, keys]
        sources = pa.concat_arrays(
            [self._recent["source"].combine_chunks(), table["source"].combine_chunks()]
        )
        feed = pd.util.hash_array(sources.to_numpy(zero_copy_only=False)).astype(np.int64)
        keys2 = (all_k, np.zeros(all_k.size, np.uint64))
        dup = duplicates(keys2, all_t, feed, self._recent.num_rows, self.dedup_ns)
        if dup.any():
            for feed, k in Counter(table["source"].filter(pa.array(dup)).to_pylist()).items():
                counts.setdefault(feed, Counter())["duplicate"] += k
        kept = table.filter(pa.array(~dup))
        recent = pa.concat_tables([self._recent, kept])
        rkeys = np.r_[self._recent_keys, keys[~dup]]
        rt = recent["timestamp"].cast(pa.int64()).to_numpy()
        fresh = rt >= (rt.max() - self.dedup_ns if rt.size else 0)
        self._recent, self._recent_keys = recent.filter(pa.array(fresh)), rkeys[fresh]
        return kept


def _groups(items: Sequence[TextItem]) -> list[list[TextItem]]:
    """Consecutive items of the same feed and connection (readsb: the latest only)."""
    out: list[list[TextItem]] = []
    for it in items:
        if out and out[-1][0].feed == it.feed and out[-1][0].generation == it.generation:
            if it.kind == "readsb":
                out[-1] = [it]
            else:
                out[-1].append(it)
        else:
            out.append([it])
    return out
