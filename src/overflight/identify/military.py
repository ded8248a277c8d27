"""Military flags from the address block and from the callsign.

Address blocks
--------------
A State's ICAO block (:mod:`overflight.identify.allocation`) is shared by its
civil and state aircraft; several States reserve a sub-block for military
aircraft.  Only two of these follow from primary public facts:

* United States: the FAA derives civil addresses from N-numbers
  (14 CFR 47 registration marks N1 to N99999 map onto A00001-ADF7C7 by the
  published N-number-to-Mode-S algorithm); everything above, ADF7C8-AFFFFF, is
  not a civil address, and the Department of Defense uses AE0000-AFFFFF.
* Canada: Transport Canada civil marks C-Fxxx/C-Gxxx/C-Ixxx map onto the low
  part of C00000-C3FFFF; the Department of National Defence uses C20000-C3FFFF.

The others are the ranges observed by the ADS-B community and published in
the readsb / tar1090-db ``ranges.json`` list (wiedehopf/tar1090-db, derived
from the Mictronics aircraft database), which is the reference that tar1090,
readsb and ADS-B Exchange use to set their military flag.  Each row below says
which State and which service is documented for it.  A block hit is evidence,
not proof: a State may also put state aircraft (police, customs) there.

Callsigns
---------
Three-letter ICAO telephony designators (ICAO Doc 8585) that belong to
military operators, plus two tactical callsigns documented in public
reporting.  A prefix counts only when followed by a digit (``RCH123``), so a
registration-style callsign never matches.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.identify.allocation import _as_arrow, parse_icao24

BoolArray = npt.NDArray[np.bool_]


class MilitaryBlock(NamedTuple):
    """One military address range, inclusive, with its documented user."""

    start: int
    end: int
    iso3: str
    source: str


#: Military sub-blocks, sorted by start.
MILITARY_BLOCKS: tuple[MilitaryBlock, ...] = (
    MilitaryBlock(0x010070, 0x01008F, "EGY", "Egyptian Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x0A4000, 0x0A4FFF, "DZA", "Algerian Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x33FF00, 0x33FFFF, "ITA", "Aeronautica Militare; tar1090-db ranges.json"),
    MilitaryBlock(0x350000, 0x37FFFF, "ESP", "Spanish armed forces; tar1090-db ranges.json"),
    MilitaryBlock(0x3AA000, 0x3AFFFF, "FRA", "French armed forces; tar1090-db ranges.json"),
    MilitaryBlock(0x3B7000, 0x3BFFFF, "FRA", "French armed forces; tar1090-db ranges.json"),
    MilitaryBlock(0x3EA000, 0x3EBFFF, "DEU", "Bundeswehr; tar1090-db ranges.json"),
    MilitaryBlock(0x3F4000, 0x3FBFFF, "DEU", "Bundeswehr; tar1090-db ranges.json"),
    MilitaryBlock(0x400000, 0x40003F, "GBR", "UK military; tar1090-db ranges.json"),
    MilitaryBlock(0x43C000, 0x43CFFF, "GBR", "UK military (RAF/Army/RN); tar1090-db ranges.json"),
    MilitaryBlock(0x444000, 0x446FFF, "AUT", "Austrian Armed Forces; tar1090-db ranges.json"),
    MilitaryBlock(0x44F000, 0x44FFFF, "BEL", "Belgian Air Component; tar1090-db ranges.json"),
    MilitaryBlock(0x457000, 0x457FFF, "BGR", "Bulgarian Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x45F400, 0x45F4FF, "DNK", "Royal Danish Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x468000, 0x4683FF, "GRC", "Hellenic armed forces; tar1090-db ranges.json"),
    MilitaryBlock(0x473C00, 0x473C0F, "HUN", "Hungarian Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x478100, 0x4781FF, "NOR", "Royal Norwegian Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x480000, 0x480FFF, "NLD", "Royal Netherlands Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x48D800, 0x48D87F, "POL", "Polish Armed Forces; tar1090-db ranges.json"),
    MilitaryBlock(0x497C00, 0x497CFF, "PRT", "Portuguese Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x498420, 0x49842F, "CZE", "Czech Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x4B7000, 0x4B7FFF, "CHE", "Swiss Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x4B8200, 0x4B82FF, "TUR", "Turkish Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x70C070, 0x70C07F, "OMN", "Royal Air Force of Oman; tar1090-db ranges.json"),
    MilitaryBlock(0x710258, 0x71028F, "SAU", "Royal Saudi Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x710380, 0x71039F, "SAU", "Royal Saudi Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x738A00, 0x738AFF, "ISR", "Israeli Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x7CF800, 0x7CFAFF, "AUS", "Royal Australian Air Force; tar1090-db ranges.json"),
    MilitaryBlock(0x800200, 0x8002FF, "IND", "Indian Air Force; tar1090-db ranges.json"),
    MilitaryBlock(
        0xADF7C8,
        0xAFFFFF,
        "USA",
        "US DoD: above N99999 = ADF7C7, the last address of the FAA N-number "
        "mapping; DoD aircraft use AE0000-AFFFFF",
    ),
    MilitaryBlock(0xC20000, 0xC3FFFF, "CAN", "Canadian Armed Forces (upper half of CAN block)"),
    MilitaryBlock(0xE40000, 0xE41FFF, "BRA", "Brazilian Air Force; tar1090-db ranges.json"),
)

_MIL_STARTS = np.array([b.start for b in MILITARY_BLOCKS], dtype=np.int64)
_MIL_ENDS = np.array([b.end for b in MILITARY_BLOCKS], dtype=np.int64)


def military_block(icao24: Any) -> BoolArray:
    """True where the address lies in a documented military sub-block.

    Invalid addresses give False.

    Examples
    --------
    >>> military_block(["ae0455", "a1336e", "3b7777", "zz"]).tolist()
    [True, False, True, False]
    """
    v = parse_icao24(icao24)
    i = np.searchsorted(_MIL_STARTS, v, side="right") - 1
    return np.asarray((v >= 0) & (i >= 0) & (v <= _MIL_ENDS[np.clip(i, 0, None)]))


class CallsignRule(NamedTuple):
    """A callsign prefix, who uses it and whether it denotes an ISR platform."""

    prefix: str
    operator: str
    isr: bool
    source: str


#: Callsign prefixes; each must be followed by a digit to match.
MILITARY_CALLSIGNS: tuple[CallsignRule, ...] = (
    CallsignRule("RCH", "US Air Mobility Command (REACH)", False, "ICAO Doc 8585"),
    CallsignRule("CNV", "US Navy (CONVOY)", False, "ICAO Doc 8585"),
    CallsignRule("PAT", "US Army Priority Air Transport", False, "ICAO Doc 8585"),
    CallsignRule("RRR", "Royal Air Force (ASCOT)", False, "ICAO Doc 8585"),
    CallsignRule("GAF", "German Air Force", False, "ICAO Doc 8585"),
    CallsignRule("FAF", "French Air and Space Force", False, "ICAO Doc 8585"),
    CallsignRule("IAM", "Italian Air Force", False, "ICAO Doc 8585"),
    CallsignRule("BAF", "Belgian Air Component", False, "ICAO Doc 8585"),
    CallsignRule("CFC", "Canadian Forces (CANFORCE)", False, "ICAO Doc 8585"),
    CallsignRule("ASY", "Royal Australian Air Force (AUSSIE)", False, "ICAO Doc 8585"),
    CallsignRule("PLF", "Polish Air Force", False, "ICAO Doc 8585"),
    # NATO Airborne Early Warning Force E-3A, Geilenkirchen (callsigns NATO01...)
    CallsignRule("NATO", "NATO (E-3A AEW&C)", True, "NAEW&C Force public flight data"),
    # RQ-4 Global Hawk sorties over the Black Sea and Mediterranean broadcast
    # FORTE10, FORTE11...; widely reported from ADS-B since 2014
    CallsignRule("FORTE", "USAF RQ-4 Global Hawk", True, "public ADS-B reporting"),
)

_CALLSIGN_RE = (
    "^(?P<prefix>"
    + "|".join(sorted((r.prefix for r in MILITARY_CALLSIGNS), key=len)[::-1])
    + r")\d"
)


def military_callsign(callsigns: Any) -> pa.Array:
    """The matching prefix of :data:`MILITARY_CALLSIGNS` per callsign, else null.

    Examples
    --------
    >>> military_callsign(["RCH123", "FORTE11", "PATRIOT", "DLH4TR", None]).to_pylist()
    ['RCH', 'FORTE', None, None, None]
    """
    arr = _as_arrow(callsigns)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pa.nulls(len(arr), pa.string())
    s = pc.ascii_upper(pc.utf8_trim_whitespace(arr.cast(pa.string())))
    m = pc.extract_regex(s, _CALLSIGN_RE)
    return pc.struct_field(m, "prefix")


def callsign_rule_table() -> pa.Table:
    """:data:`MILITARY_CALLSIGNS` as a table (prefix, operator, isr, source)."""
    return pa.Table.from_pylist([r._asdict() for r in MILITARY_CALLSIGNS])
