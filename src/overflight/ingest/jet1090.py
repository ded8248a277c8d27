"""jet1090 JSON lines (optionally gzip, xz or bzip2) to the message table.

Layout
------
One JSON object per line, as written by jet1090 (``--output file.jsonl``)::

    {"timestamp": 1717664319.147975, "frame": "8c3461ce399e40586b4ee4932241",
     "df": "17", "icao24": "3461ce", ..., "latitude": 43.6295, ...}

``timestamp`` is Unix seconds (UTC) and ``frame`` the raw reply in hex. The
same two columns are read from Parquet tables of raw frames: rs1090's
examples and OpenSky's historical raw tables (``rollcall_replies_data4``,
``position_data4``...) name them ``mintime`` and ``rawmsg``. Only these two
keys are read: the frames are decoded by
:func:`overflight.ingest.modes.decode_frames`, so that a recording from jet1090
gives the same table as the same frames from any other receiver. Rows with a
missing or malformed frame are counted (``bad_line``). The JSON is parsed by
Arrow's reader; only when a line is not valid JSON does the reader fall back
to parsing line by line (counting the bad lines).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from overflight.errors import FormatError
from overflight.ingest._compress import read_all, strip_bom
from overflight.ingest.modes import hexio
from overflight.ingest.modes.decode import decode_frames
from overflight.ingest.modes.positions import CprOptions

_SCHEMA = pa.schema([("timestamp", pa.float64()), ("frame", pa.string())])
#: Column names of the reception time and of the raw hex frame in Parquet tables.
TIME_NAMES = ("timestamp", "mintime", "time", "ts")
FRAME_NAMES = ("frame", "rawmsg")


def _parquet_columns(path: Path) -> tuple[str, str] | None:
    """(time column, frame column) of a Parquet table of raw frames, else None."""
    import pyarrow.parquet as pq

    try:
        names = list(pq.read_schema(path).names)
    except (pa.ArrowException, OSError):
        return None
    lower = {n.lower(): n for n in names}
    t = next((lower[k] for k in TIME_NAMES if k in lower), None)
    f = next((lower[k] for k in FRAME_NAMES if k in lower), None)
    return None if t is None or f is None else (t, f)


def _read_parquet(path: Path) -> pa.Table:
    """Table of (timestamp as float seconds, frame) from a Parquet table of raw frames."""
    import pyarrow.parquet as pq

    from overflight.ingest._columns import to_ns

    cols = _parquet_columns(path)
    if cols is None:
        raise FormatError(
            f"no time and raw frame columns: expected one of {list(TIME_NAMES)} and "
            f"one of {list(FRAME_NAMES)}",
            path,
            "row 1",
        )
    try:
        tbl = pq.read_table(path, columns=list(cols))
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(f"unreadable Parquet ({exc})", path, "byte 0") from exc
    ns, bad = to_ns(tbl.column(cols[0]), "s")
    seconds = np.where(bad, np.nan, ns / 1e9)
    frames = tbl.column(cols[1])
    if not pa.types.is_string(frames.type) and not pa.types.is_large_string(frames.type):
        frames = frames.cast(pa.string())
    return pa.table({"timestamp": seconds, "frame": frames})


def sniff(head: bytes, path: Path) -> bool:
    """True when the first line is a JSON object with ``timestamp`` and hex ``frame``,
    or for a Parquet table with a time and a raw frame column."""
    if head[:4] == b"PAR1":
        return _parquet_columns(path) is not None
    first = head.lstrip().split(b"\n", 1)[0]
    if not first.startswith(b"{"):
        return False
    try:
        obj = json.loads(first)
    except ValueError:
        return False
    frame = obj.get("frame") if isinstance(obj, dict) else None
    return isinstance(frame, str) and len(frame) in (14, 28) and "timestamp" in obj


def _parse(raw: bytes, path: Path) -> tuple[pa.Table, int]:
    """Table of (timestamp, frame) and the number of lines that were not JSON."""
    opts = pj.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="ignore")
    try:
        return pj.read_json(io.BytesIO(raw), parse_options=opts), 0
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    ts: list[float | None] = []
    frames: list[str | None] = []
    bad = 0
    for line in raw.splitlines():  # slow path: only for files with broken lines
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            t = float(obj["timestamp"])
            f = str(obj["frame"])
        except (ValueError, KeyError, TypeError):
            bad += 1
            continue
        ts.append(t)
        frames.append(f)
    if not ts:
        raise FormatError(
            'no JSON line with "timestamp" and "frame": expected jet1090 JSON lines',
            path,
            "line 1",
        )
    return pa.table({"timestamp": pa.array(ts, pa.float64()), "frame": frames}), bad


def read(
    path: Path,
    *,
    reference: tuple[float, float] | None = None,
    source: str | None = None,
    **_options: Any,
) -> pa.Table:
    """Read a jet1090 JSON lines file, decoding its ``frame`` column.

    Parameters
    ----------
    path
        ``.jsonl`` (optionally compressed) or a Parquet table of raw frames.
    reference
        Receiver (lat, lon), used to resolve surface positions.
    source
        Value of the ``source`` column; the file name by default.

    Returns
    -------
    pyarrow.Table
        The message table with statistics under ``overflight:stats``.
    """
    p = Path(path)
    with open(p, "rb") as fh:
        parquet = fh.read(4) == b"PAR1"
    if parquet:
        tbl, bad_json = _read_parquet(p), 0
    else:
        tbl, bad_json = _parse(strip_bom(read_all(p)), p)
    data, start, length = hexio.string_slices(tbl.column("frame"))
    frames, long, ok = hexio.frames_from_hex(data, start, length)
    t = tbl.column("timestamp").to_numpy(zero_copy_only=False)
    ok &= np.isfinite(t)
    if not ok.any():
        raise FormatError(
            'no valid frame: expected 14 or 28 hex digits in the "frame" field', p, "line 1"
        )
    t_ns = np.round(np.where(ok, t, 0.0) * 1e9).astype(np.int64)
    sel = np.flatnonzero(ok)
    table, stats = decode_frames(
        frames[sel],
        long[sel],
        t_ns[sel],
        source=source or p.name,
        cpr_options=CprOptions(reference=reference),
    )
    bad = int(bad_json + np.count_nonzero(~ok))
    stats["records"] = int(len(tbl) + bad_json)
    if bad:
        stats["reasons"]["bad_line"] = bad
        stats["rejected"] += bad
    return table.replace_schema_metadata({b"overflight:stats": json.dumps(stats).encode()})
