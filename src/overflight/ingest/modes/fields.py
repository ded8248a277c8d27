"""Field decoders for Mode S replies and ADS-B extended squitters, on arrays.

Every function takes numpy integer arrays (one element per frame) and
returns arrays; NaN means "not available". Bit numbers below are 1-based
from the most significant bit, as in ICAO Annex 10 Vol IV and DO-260B.

Reply header (all DFs)
----------------------
bits 1-5 DF; short replies (DF0/4/5/11) are 56 bits, long ones 112 bits.
DF0/4/16/20: bits 20-32 AC13 altitude code. DF5/21: bits 20-32 ID13 Mode A
code. DF11/17/18: bits 9-32 the 24-bit address in clear (DF18: bits 6-8 CF).
DF17/18: bits 33-88 the 56-bit ME field, whose bits 1-5 are the type code.

AC13 altitude code (13 bits)::

    C1 A1 C2 A2 C4 A4 M B1 Q B2 D2 B4 D4

M=0, Q=1: drop M and Q, the 11 bits left are N and the altitude is
25 N - 1000 ft. M=0, Q=0: Gillham (Gray) code in 100 ft steps, the Q
position holding D1: the 500 ft part is the Gray number
D1 D2 D4 A1 A2 A4 B1 B2 B4, the 100 ft part the Gray number C1 C2 C4
(valid 1-5, read backwards when the 500 ft count is odd); altitude =
500 n500 + 100 n100 - 1300 ft. M=1 (metric) and the all-zero code are
left unavailable. The 13-bit code has only 8192 values, so a lookup table
is built once at import.

ID13 Mode A code (13 bits)::

    C1 A1 C2 A2 C4 A4 X B1 D1 B2 D2 B4 D4   ->   digits A B C D, e.g. 7700

ME of airborne position (TC 9-18 baro, 20-22 GNSS)::

    1-5 TC | 6-7 SS | 8 NICb | 9-20 ALT | 21 T | 22 F | 23-39 LAT | 40-56 LON

ALT is the AC13 code without its M bit (TC 9-18) or GNSS height in metres
(TC 20-22). F is the CPR format (0 even, 1 odd); LAT/LON are 17-bit CPR.

ME of surface position (TC 5-8)::

    1-5 TC | 6-12 MOV | 13 S | 14-20 TRK | 21 T | 22 F | 23-39 LAT | 40-56 LON

MOV is a quantised ground speed (see :func:`surface_speed_kt`); TRK is in
360/128 deg steps, valid when S=1.

ME of identification (TC 1-4)::

    1-5 TC | 6-8 CAT | 9-56 eight 6-bit characters (1-26 A-Z, 32 space, 48-57 0-9)

ME of airborne velocity (TC 19)::

    1-5 TC | 6-8 ST | 9 IC | 10 IFR | 11-13 NUC
    ST 1-2: 14 Sew | 15-24 Vew | 25 Sns | 26-35 Vns
    ST 3-4: 14 Shdg | 15-24 HDG | 25 AStype | 26-35 AS
    36 VrSrc | 37 Svr | 38-46 VR | 47-48 reserved | 49 Sdif | 50-56 dAlt

Velocity components are raw - 1 kt (x4 for supersonic ST 2 and 4), 0 meaning
unavailable; Sew=1 is west, Sns=1 south. VR is (raw - 1) x 64 ft/min, Svr=1
descending. ST 3-4 carry heading and airspeed, not track and ground speed, so
only the vertical rate is kept from them.

ME of aircraft status (TC 28, ST 1): 9-11 emergency state, 12-24 ID13.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]

FT_PER_M = 1.0 / 0.3048


def _bit(code: npt.NDArray[np.int64], pos: int, width: int = 13) -> npt.NDArray[np.int64]:
    """Bit ``pos`` (0 = most significant) of a ``width``-bit code."""
    return (code >> (width - 1 - pos)) & 1


def _gray_to_binary(g: npt.NDArray[np.int64], nbits: int) -> npt.NDArray[np.int64]:
    b = g.copy()
    for shift in range(1, nbits):
        b ^= g >> shift
    return b


def _ac13_table() -> F64:
    """Altitude in ft for every 13-bit AC code (NaN when unavailable)."""
    ac = np.arange(8192, dtype=np.int64)
    m_bit = _bit(ac, 6)
    q_bit = _bit(ac, 8)
    n25 = ((ac & 0x1F80) >> 2) | ((ac & 0x20) >> 1) | (ac & 0xF)
    alt25 = n25 * 25.0 - 1000.0

    # Gillham: indices in the AC13 layout C1 A1 C2 A2 C4 A4 M B1 D1 B2 D2 B4 D4
    order500 = (8, 10, 12, 1, 3, 5, 7, 9, 11)  # D1 D2 D4 A1 A2 A4 B1 B2 B4
    g500 = np.zeros_like(ac)
    for pos in order500:
        g500 = (g500 << 1) | _bit(ac, pos)
    g100 = (_bit(ac, 0) << 2) | (_bit(ac, 2) << 1) | _bit(ac, 4)  # C1 C2 C4
    n500 = _gray_to_binary(g500, 9)
    n100 = _gray_to_binary(g100, 3)
    bad100 = (n100 == 0) | (n100 == 5) | (n100 == 6)
    n100 = np.where(n100 == 7, 5, n100)
    n100 = np.where(n500 % 2 == 1, 6 - n100, n100)
    alt100 = n500 * 500.0 + n100 * 100.0 - 1300.0
    alt100 = np.where(bad100, np.nan, alt100)

    out = np.where(q_bit == 1, alt25, alt100)
    out = np.where((m_bit == 1) | (ac == 0), np.nan, out)
    return out.astype(np.float64)


AC13_FT = _ac13_table()

_CALLSIGN_ASCII = np.full(64, ord("#"), dtype=np.uint8)
_CALLSIGN_ASCII[1:27] = np.arange(ord("A"), ord("Z") + 1, dtype=np.uint8)
_CALLSIGN_ASCII[32] = ord(" ")
_CALLSIGN_ASCII[48:58] = np.arange(ord("0"), ord("9") + 1, dtype=np.uint8)


def altitude_ac13(code: npt.NDArray[np.integer]) -> F64:
    """Barometric altitude in ft from 13-bit AC codes (DF0/4/16/20).

    Examples
    --------
    >>> altitude_ac13(np.array([0x1838, 0]))  # a Q=1 code, then unavailable
    array([38000.,    nan])
    """
    out: F64 = AC13_FT[np.asarray(code, dtype=np.int64) & 0x1FFF]
    return out


def altitude_ac12(code: npt.NDArray[np.integer]) -> F64:
    """Barometric altitude in ft from the 12-bit ALT of an airborne position."""
    c = np.asarray(code, dtype=np.int64) & 0xFFF
    out: F64 = AC13_FT[((c & 0xFC0) << 1) | (c & 0x3F)]
    return out


def squawk_digits(code: npt.NDArray[np.integer]) -> U8:
    """Mode A code as ASCII digits, shape ``(n, 4)``, from 13-bit ID codes.

    Examples
    --------
    >>> bytes(squawk_digits(np.array([0x1A1B & 0x1FFF]))[0]).decode()
    '3615'
    """
    c = np.asarray(code, dtype=np.int64)

    def digit(p4: int, p2: int, p1: int) -> npt.NDArray[np.int64]:
        return (_bit(c, p4) << 2) | (_bit(c, p2) << 1) | _bit(c, p1)

    digits = np.stack([digit(5, 3, 1), digit(11, 9, 7), digit(4, 2, 0), digit(12, 10, 8)], axis=1)
    return (digits + ord("0")).astype(np.uint8)


def callsign_chars(me: U64) -> U8:
    """The eight identification characters of TC 1-4 ME fields, ``(n, 8)`` ASCII."""
    shifts = np.arange(42, -1, -6, dtype=np.uint64)
    idx = (me[:, None] >> shifts[None, :]) & np.uint64(0x3F)
    return _CALLSIGN_ASCII[idx.astype(np.intp)]


def me_field(me: U64, first_bit: int, last_bit: int) -> npt.NDArray[np.int64]:
    """Bits ``first_bit..last_bit`` (1-based, inclusive) of 56-bit ME fields."""
    width = last_bit - first_bit + 1
    return ((me >> np.uint64(56 - last_bit)) & np.uint64((1 << width) - 1)).astype(np.int64)


def airborne_altitude(me: U64, tc: npt.NDArray[np.integer]) -> tuple[F64, F64]:
    """(barometric ft, GNSS ft) of airborne position ME fields; NaN where absent."""
    alt = me_field(me, 9, 20)
    baro = np.where((tc >= 9) & (tc <= 18), altitude_ac12(alt), np.nan)
    gnss = np.where((tc >= 20) & (tc <= 22) & (alt > 0), alt * 3.28084, np.nan)
    return baro, gnss


_MOV_EDGES = np.array([2, 9, 13, 39, 94, 109, 124])
_MOV_KT0 = np.array([0.125, 1.0, 2.0, 15.0, 70.0, 100.0, 175.0])
_MOV_STEP = np.array([0.125, 0.25, 0.5, 1.0, 2.0, 5.0, 0.0])


def surface_speed_kt(mov: npt.NDArray[np.integer]) -> F64:
    """Ground speed in kt from the 7-bit surface movement code.

    0 and 125-127 are unavailable, 1 is stopped, 124 means 175 kt or more.

    Examples
    --------
    >>> surface_speed_kt(np.array([0, 1, 25, 124]))
    array([ nan,   0.,   8., 175.])
    """
    m = np.asarray(mov, dtype=np.int64)
    k = np.clip(np.searchsorted(_MOV_EDGES, m, side="right") - 1, 0, None)
    speed = _MOV_KT0[k] + (m - _MOV_EDGES[k]) * _MOV_STEP[k]
    speed = np.where(m == 1, 0.0, speed)
    return np.where((m == 0) | (m > 124), np.nan, speed)


def surface_movement(me: U64) -> tuple[F64, F64]:
    """(ground speed kt, track deg) of surface position ME fields."""
    speed = surface_speed_kt(me_field(me, 6, 12))
    valid = me_field(me, 13, 13) == 1
    track = np.where(valid, me_field(me, 14, 20) * (360.0 / 128.0), np.nan)
    return speed, track


def airborne_velocity(me: U64) -> tuple[F64, F64, F64]:
    """(ground speed kt, track deg, vertical rate ft/min) of TC 19 ME fields.

    Subtypes 3-4 (airspeed and heading) give NaN ground speed and track.
    """
    st = me_field(me, 6, 8)
    scale = np.where((st == 2) | (st == 4), 4.0, 1.0)
    vew_raw = me_field(me, 15, 24)
    vns_raw = me_field(me, 26, 35)
    vew = np.where(me_field(me, 14, 14) == 1, -1.0, 1.0) * (vew_raw - 1) * scale
    vns = np.where(me_field(me, 25, 25) == 1, -1.0, 1.0) * (vns_raw - 1) * scale
    ground = ((st == 1) | (st == 2)) & (vew_raw > 0) & (vns_raw > 0)
    speed = np.where(ground, np.hypot(vew, vns), np.nan)
    track = np.where(ground, np.degrees(np.arctan2(vew, vns)) % 360.0, np.nan)
    vr_raw = me_field(me, 38, 46)
    sign = np.where(me_field(me, 37, 37) == 1, -1.0, 1.0)
    vrate = np.where((vr_raw > 0) & (st >= 1) & (st <= 4), sign * (vr_raw - 1) * 64.0, np.nan)
    return speed, track, vrate
