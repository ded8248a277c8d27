"""Columnar decode: a matrix of Mode S frames to the canonical message table.

What is kept
------------
==========  =============================  ==========================================
DF          check                          fields
==========  =============================  ==========================================
17, 18      CRC remainder 0 (DF18: CF 0,   TC 1-4 callsign; TC 5-8 surface position,
            2 or 6, i.e. an ICAO address)  ground speed, track, onground; TC 9-18
                                           position + baro altitude; TC 20-22
                                           position + GNSS altitude (geoaltitude);
                                           TC 19 ground speed, track, vertical rate;
                                           TC 28/1 squawk
11          remainder < 0x80               (address only: no row)
0, 16       address from Address/Parity,   altitude, onground (VS)
4, 20       accepted only when it was      altitude, onground (FS)
5, 21       seen in a checked DF11/17/18   squawk, onground (FS)
==========  =============================  ==========================================

Frames failing these checks are counted under ``reasons`` in the returned
statistics (``crc``, ``unknown_address``, ``length``, ``unsupported_df``,
``non_icao``) and valid frames without any canonical field under
``no_field``. A short reply (DF 0-15) handed over as 112 bits, as SDR
demodulators do, is read from its first 56 bits (``short_in_long``). As in
dump1090 an Address/Parity reply is trusted only if its address was
confirmed by a CRC-checked squitter; unlike a live decoder the whole batch is
known at once, so a squitter later in the batch counts too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.ingest.modes import crc, fields, hexio
from overflight.ingest.modes.positions import CprOptions, resolve
from overflight.schema import MESSAGE_SCHEMA, TIMESTAMP, conform

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

AP_DFS = (0, 4, 5, 16, 20, 21)
ICAO_CF = (0, 2, 6)  # DF18 control fields whose AA is a 24-bit ICAO address


def _uint(frames: U8, first: int, nbytes: int) -> npt.NDArray[np.uint64]:
    """Big-endian unsigned integer from ``nbytes`` bytes starting at ``first``."""
    buf = np.zeros((frames.shape[0], 8), dtype=np.uint8)
    buf[:, 8 - nbytes :] = frames[:, first : first + nbytes]
    return buf.view(">u8")[:, 0].astype(np.uint64)


def _count(reasons: dict[str, int], name: str, mask: B) -> None:
    k = int(np.count_nonzero(mask))
    if k:
        reasons[name] = reasons.get(name, 0) + k


def decode_frames(
    frames: U8,
    long: B,
    timestamp_ns: npt.NDArray[np.int64],
    *,
    source: str,
    cpr_options: CprOptions | None = None,
) -> tuple[pa.Table, dict[str, Any]]:
    """Decode frames into the canonical message table.

    Parameters
    ----------
    frames
        ``(n, 14)`` uint8, one frame per row, left-aligned.
    long
        True for 112-bit frames.
    timestamp_ns
        UTC reception time of each frame, ns.
    source
        Value of the ``source`` column.
    cpr_options
        CPR windows and the receiver reference position.

    Returns
    -------
    table, stats
        One row per frame that carries a canonical field, in input order;
        counts of frames, rows and rejections by reason.

    Examples
    --------
    >>> f = np.frombuffer(bytes.fromhex("8D406B902015A678D4D220AA4BDA"), np.uint8)[None, :]
    >>> t, s = decode_frames(f, np.array([True]), np.array([0]), source="doc")
    >>> t.column("callsign").to_pylist(), s["rows"]
    (['EZY85MH'], 1)
    """
    n = frames.shape[0]
    reasons: dict[str, int] = {}
    df = (frames[:, 0] >> 3).astype(np.int64)
    df = np.where(df >= 24, 24, df)
    frames, long, padded = _short_in_long(frames, np.asarray(long, bool), df)
    head = _uint(frames, 0, 4)
    length_ok = long == (df >= 16)
    rem = crc.remainder(crc.right_align(frames, long)).astype(np.uint64)
    clear = head & np.uint64(0xFFFFFF)

    known_df = np.isin(df, (*AP_DFS, 11, 17, 18))
    _count(reasons, "length", known_df & ~length_ok)
    _count(reasons, "unsupported_df", ~known_df)
    ok_len = known_df & length_ok

    is_es = ok_len & ((df == 17) | (df == 18))
    es_crc = is_es & (rem == 0)
    _count(reasons, "crc", is_es & (rem != 0))
    icao_es = es_crc & ((df == 17) | np.isin(frames[:, 0] & 7, ICAO_CF))
    _count(reasons, "non_icao", es_crc & ~icao_es)
    is11 = ok_len & (df == 11)
    ok11 = is11 & (rem < np.uint64(0x80))
    _count(reasons, "crc", is11 & ~ok11)

    known = np.unique(clear[icao_es | ok11])
    is_ap = ok_len & np.isin(df, AP_DFS)
    ok_ap = is_ap & np.isin(rem, known)
    _count(reasons, "unknown_address", is_ap & ~ok_ap)
    icao = np.where(is_ap, rem, clear).astype(np.uint32)

    cols, has_field = _fields(frames, df, head, icao_es, ok_ap)
    lat, lon, cpr_counts = _positions(frames, icao, timestamp_ns, cols, cpr_options)
    cols["latitude"], cols["longitude"] = lat, lon
    has_field |= ~np.isnan(lat)
    _count(reasons, "no_field", (icao_es | ok11 | ok_ap) & ~has_field)

    rows = np.flatnonzero(has_field)
    table = _to_table(rows, icao, timestamp_ns, cols, source)
    rejected = sum(v for k, v in reasons.items() if k != "no_field")
    stats: dict[str, Any] = {
        "records": n,
        "rows": int(rows.size),
        "rejected": rejected,
        "skipped": reasons.get("no_field", 0),
        "reasons": reasons,
        "cpr": cpr_counts,
    }
    if padded:
        stats["short_in_long"] = padded
    return table, stats


def _short_in_long(frames: U8, long: B, df: npt.NDArray[np.int64]) -> tuple[U8, B, int]:
    """Short replies (DF 0-15) delivered as 112 bits, read from their first 56 bits.

    SDR demodulators such as rs1090/jet1090 with an RTL-SDR hand every reply
    over as 112 bits; a DF0/4/5/11 reply is then followed by 56 bits of
    noise. Its parity is checked on the first 56 bits like any short reply
    (address/parity against a known address, or the DF11 CRC), so noise that
    happens to start with a short DF is still rejected there. Returns new
    arrays (the input is not changed) and how many frames were shortened.

    Examples
    --------
    >>> f = np.frombuffer(bytes.fromhex("212800bf40f1ef7e5817e9cc428d"), np.uint8)[None, :]
    >>> g, long, k = _short_in_long(f, np.array([True]), np.array([4]))
    >>> g[0].tobytes().hex(), long.tolist(), k
    ('212800bf40f1ef00000000000000', [False], 1)
    """
    short = long & (df < 16)
    k = int(np.count_nonzero(short))
    if k == 0:
        return frames, long, 0
    out = frames.copy()
    out[short, 7:] = 0
    return out, long & ~short, k


def _fields(
    frames: U8, df: npt.NDArray[np.int64], head: npt.NDArray[np.uint64], es: B, ap: B
) -> tuple[dict[str, Any], B]:
    """Per-frame canonical fields (NaN / masks) and which frames carry any."""
    n = frames.shape[0]
    me = _uint(frames, 4, 7)
    tc = (me >> np.uint64(51)).astype(np.int64)
    code13 = (head & np.uint64(0x1FFF)).astype(np.int64)
    nan = np.full(n, np.nan)

    ident = es & (tc >= 1) & (tc <= 4)
    surface = es & (tc >= 5) & (tc <= 8)
    airborne = es & (((tc >= 9) & (tc <= 18)) | ((tc >= 20) & (tc <= 22)))
    velocity = es & (tc == 19)
    status = es & (tc == 28) & (fields.me_field(me, 6, 8) == 1)

    alt_ap = ap & np.isin(df, (0, 4, 16, 20))
    sq_ap = ap & np.isin(df, (5, 21))
    baro, gnss = fields.airborne_altitude(me, tc)
    altitude = np.where(alt_ap, fields.altitude_ac13(code13), np.where(airborne, baro, nan))
    geoaltitude = np.where(airborne, gnss, nan)
    s_speed, s_track = fields.surface_movement(me)
    v_speed, v_track, v_rate = fields.airborne_velocity(me)
    groundspeed = np.where(surface, s_speed, np.where(velocity, v_speed, nan))
    track = np.where(surface, s_track, np.where(velocity, v_track, nan))
    vertical_rate = np.where(velocity, v_rate, nan)

    squawk_code = np.where(sq_ap, code13, fields.me_field(me, 12, 24))
    has_squawk = sq_ap | status
    # On-ground flags: DF0/16 VS bit 6; DF4/5/20/21 FS 1 or 3 ground, 0 or 2 airborne.
    fs = (frames[:, 0] & 7).astype(np.int64)
    vs = ((frames[:, 0] >> 2) & 1).astype(bool)
    fs_known = ap & np.isin(df, (4, 5, 20, 21)) & (fs <= 3)
    vs_known = ap & np.isin(df, (0, 16))
    onground = surface | (fs_known & ((fs == 1) | (fs == 3))) | (vs_known & vs)
    onground_known = surface | airborne | fs_known | vs_known

    has = (
        ident
        | surface
        | status
        | sq_ap
        | ~np.isnan(altitude)
        | ~np.isnan(geoaltitude)
        | ~np.isnan(groundspeed)
        | ~np.isnan(vertical_rate)
    )
    cols: dict[str, Any] = {
        "ident": ident,
        "me": me,
        "surface": surface,
        "cpr": surface | airborne,
        "altitude": altitude,
        "geoaltitude": geoaltitude,
        "groundspeed": groundspeed,
        "track": track,
        "vertical_rate": vertical_rate,
        "squawk_code": squawk_code,
        "has_squawk": has_squawk,
        "onground": onground,
        "onground_known": onground_known,
    }
    return cols, has


def _positions(
    frames: U8,
    icao: npt.NDArray[np.uint32],
    t_ns: npt.NDArray[np.int64],
    cols: dict[str, Any],
    options: CprOptions | None,
) -> tuple[F64, F64, dict[str, int]]:
    n = frames.shape[0]
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    sel = np.flatnonzero(cols["cpr"])
    me = cols["me"][sel]
    odd = fields.me_field(me, 22, 22).astype(bool)
    yz = fields.me_field(me, 23, 39) / 131072.0
    xz = fields.me_field(me, 40, 56) / 131072.0
    plat, plon, counts = resolve(icao[sel], t_ns[sel], cols["surface"][sel], odd, yz, xz, options)
    lat[sel], lon[sel] = plat, plon
    counts = {"reports": int(sel.size), **counts}
    return lat, lon, counts


def _to_table(
    rows: npt.NDArray[np.intp],
    icao: npt.NDArray[np.uint32],
    t_ns: npt.NDArray[np.int64],
    cols: dict[str, Any],
    source: str,
) -> pa.Table:
    def num(name: str) -> pa.Array:
        return pa.array(cols[name][rows], type=pa.float64(), from_pandas=True)

    ident = cols["ident"][rows]
    callsign = hexio.fixed_strings(fields.callsign_chars(cols["me"][rows]), ident)
    callsign = pc.utf8_trim(callsign, characters=" ")
    squawk = hexio.fixed_strings(
        fields.squawk_digits(cols["squawk_code"][rows]), cols["has_squawk"][rows]
    )
    onground = pa.array(cols["onground"][rows], mask=~cols["onground_known"][rows])
    arrays = {
        "timestamp": pa.array(t_ns[rows], type=pa.int64()).cast(TIMESTAMP),
        "icao24": hexio.hex_strings(icao[rows], 6),
        "callsign": callsign,
        "latitude": num("latitude"),
        "longitude": num("longitude"),
        "altitude": num("altitude"),
        "geoaltitude": num("geoaltitude"),
        "groundspeed": num("groundspeed"),
        "track": num("track"),
        "vertical_rate": num("vertical_rate"),
        "squawk": squawk,
        "onground": onground,
        "source": pa.repeat(pa.scalar(source, pa.string()), rows.size),
    }
    return conform(pa.table(arrays), MESSAGE_SCHEMA)
