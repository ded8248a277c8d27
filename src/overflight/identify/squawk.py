"""Labels for Mode A (squawk) codes that say something about the flight.

====================  ===========  ===================================================
label                 codes        source
====================  ===========  ===================================================
us_law_enforcement    4401-4433    FAA JO 7110.66 (National Beacon Code Allocation
                                   Plan): reserved for federal law-enforcement special
                                   operations; quoted in the BuzzFeed News 2016
                                   surveillance-plane data README
vfr                   1200         FAA AIM 4-1-20: VFR in the US (and Canada)
firefighting          1255         FAA JO 7110.66: aircraft on fire-fighting missions
                                   not in contact with ATC (US)
search_and_rescue     1277         FAA JO 7110.66: VFR aircraft on search-and-rescue
                                   missions (US)
no_code_assigned      2000         ICAO Doc 4444 (PANS-ATM) ch. 8: entering an SSR area
                                   without an assigned code
vfr                   7000         SERA.13005 (EU), ICAO Doc 8168: VFR conspicuity
uas_lost_link         7400         FAA JO 7110.65 ch. 5 sec. 2: unmanned aircraft
                                   that lost its control link
unlawful_interference 7500         ICAO Annex 10 Vol IV ch. 2, Doc 4444 ch. 15: hijack
radio_failure         7600         idem: radio communication failure
emergency             7700         idem: emergency
military_intercept    7777         FAA JO 7110.65 ch. 5 sec. 2: reserved for military
                                   interceptor operations (US); never assigned by ATC
====================  ===========  ===================================================

Codes are four octal digits.  Integers are read as those digits
(``4401`` is code 4401), not as octal numbers.  Codes 1255 and 1277 are
also listed, with the same meanings, in the public "List of transponder codes"
compilations; the US-only labels describe US airspace practice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from overflight.identify.allocation import _as_arrow

#: (first code, last code, label), inclusive, in code order.
SQUAWK_RULES: tuple[tuple[int, int, str], ...] = (
    (1200, 1200, "vfr"),
    (1255, 1255, "firefighting"),
    (1277, 1277, "search_and_rescue"),
    (2000, 2000, "no_code_assigned"),
    (4401, 4433, "us_law_enforcement"),
    (7000, 7000, "vfr"),
    (7400, 7400, "uas_lost_link"),
    (7500, 7500, "unlawful_interference"),
    (7600, 7600, "radio_failure"),
    (7700, 7700, "emergency"),
    (7777, 7777, "military_intercept"),
)

#: Labels that are evidence of a state (military, police, government) flight.
STATE_SQUAWK_LABELS = frozenset({"us_law_enforcement", "military_intercept"})

#: Labels that mark an unmanned aircraft.
UAS_SQUAWK_LABELS = frozenset({"uas_lost_link"})

_FIRST = np.array([r[0] for r in SQUAWK_RULES], dtype=np.int64)
_LAST = np.array([r[1] for r in SQUAWK_RULES], dtype=np.int64)
_LABELS = pa.array([r[2] for r in SQUAWK_RULES], type=pa.string())


def squawk_code(values: Any) -> pa.Array:
    """Squawks normalised to 4-character strings; null when not 4 octal digits.

    Examples
    --------
    >>> squawk_code(["7700", " 0042", "8888", "77", None]).to_pylist()
    ['7700', '0042', None, '0077', None]
    >>> squawk_code([1200, 42]).to_pylist()
    ['1200', '0042']
    """
    arr = _as_arrow(values)
    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        f = pc.cast(arr, pa.float64(), safe=False)
        ok = pc.and_(pc.greater_equal(f, 0), pc.less_equal(f, 7777))
        ok = pc.and_(ok, pc.equal(pc.floor(f), f))
        i = pc.cast(pc.if_else(ok, f, 0.0), pa.int64())
        arr = pc.if_else(ok, pc.cast(i, pa.string()), pa.scalar(None, pa.string()))
    elif pa.types.is_dictionary(t):
        arr = arr.dictionary_decode().cast(pa.string())
    elif not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return pa.nulls(len(arr), pa.string())
    s = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    ok = pc.fill_null(pc.match_substring_regex(s, "^[0-7]{1,4}$"), False)
    s = pc.utf8_lpad(s, 4, "0")
    return pc.if_else(ok, s, pa.scalar(None, pa.string()))


def squawk_label(values: Any) -> pa.Array:
    """The :data:`SQUAWK_RULES` label of each code, null when none applies.

    Examples
    --------
    >>> squawk_label(["4401", "4433", "4434", "7400", "1200", "abcd"]).to_pylist()
    ['us_law_enforcement', 'us_law_enforcement', None, 'uas_lost_link', 'vfr', None]
    """
    codes = squawk_code(values)
    n = len(codes)
    if n == 0:
        return pa.array([], pa.string())
    v = pc.fill_null(pc.cast(codes, pa.int64()), -1).to_numpy(zero_copy_only=False)
    i = np.searchsorted(_FIRST, v, side="right") - 1
    hit = (v >= 0) & (i >= 0) & (v <= _LAST[np.clip(i, 0, None)])
    return _LABELS.take(pa.array(np.where(hit, i, 0), mask=~hit))
