"""Registrations that national registers reserve for gliders.

Several European registers give gliders (and some give powered sailplanes)
marks of their own, so the registration alone says what kind of aircraft
flew, whether or not an aircraft database knows the airframe.  Gliders with
a transponder usually broadcast their registration as the callsign, so the
mark is read from the database's registration and from the callsign.

The rules (:data:`GLIDER_MARKS`) come from the published registration
schemes:

* Germany (LuftVZO): gliders ``D-`` and four digits; ``D-K`` and three
  letters, powered sailplanes (Motorsegler).
* France: ``F-C`` and three letters, gliders (planeurs), amateur-built ones
  included (``F-CR``, ``F-CS``).
* Switzerland (Ordinance on aircraft marks, 748.216.1): aircraft other than
  aeroplanes, helicopters and balloons carry up to four digits; the
  register gives them to gliders (0001-1999, 3000-5499) and motor gliders
  (2000-2999, above 5000).
* Austria (ZLLV, annex B): ``OE-0001``-``0999`` and ``OE-5001``-``5999``
  are gliders (the other digit blocks are hang gliders and ultralights,
  which are not matched).

A callsign is written without the hyphen in ADS-B, so the letter forms
(``FCHDN``, ``DKVLT``) are matched with or without it.  The digit forms are
matched in a callsign only with the hyphen: without it, ``D1234`` or
``HB1234`` could be an airline's IATA flight number; a database
registration always has it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.identify.isr import first_match


class GliderMark(NamedTuple):
    """One register's glider marks: a regular expression and what it means."""

    pattern: str
    """Regular expression over the whole upper-case text; ``-?`` where the
    form without the hyphen is matched too."""
    meaning: str


GLIDER_MARKS: tuple[GliderMark, ...] = (
    GliderMark(r"D-?K[A-Z]{3}", "Germany, D-K: powered sailplane"),
    GliderMark(r"D-[0-9]{4}", "Germany, D- and four digits: glider"),
    GliderMark(r"F-?C[A-Z]{3}", "France, F-C: glider"),
    GliderMark(r"HB-[0-9]{1,4}", "Switzerland, HB- and digits: glider or motor glider"),
    GliderMark(r"OE-[05][0-9]{3}", "Austria, OE-0xxx or OE-5xxx: glider"),
)


def _normalise(text: pa.Array | pa.ChunkedArray) -> pa.Array:
    arr = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return pc.utf8_upper(pc.utf8_trim_whitespace(arr))


def glider_mark(
    registration: pa.Array | pa.ChunkedArray, callsign: pa.Array | pa.ChunkedArray
) -> tuple[npt.NDArray[np.bool_], pa.Array]:
    """Which rows carry a glider mark, and the mark with its meaning (null elsewhere).

    ``registration`` (from an aircraft database) is tried first, then the
    callsign.

    Examples
    --------
    >>> reg = pa.array([None, "D-6567", None, "F-GKXA", None])
    >>> cs = pa.array(["FCHDN", None, "D6567", "AFR12", "HB-1824"])
    >>> hit, why = glider_mark(reg, cs)
    >>> hit.tolist()
    [True, True, False, False, True]
    >>> why.to_pylist()[:2]
    ['FCHDN (France, F-C: glider)', 'D-6567 (Germany, D- and four digits: glider)']
    """
    rules = tuple((m.meaning, f"^(?:{m.pattern})$") for m in GLIDER_MARKS)
    reg, cs = _normalise(registration), _normalise(callsign)
    by_reg = first_match(reg, rules)
    meaning = pc.coalesce(by_reg, first_match(cs, rules))
    text = pc.if_else(pc.is_valid(by_reg), reg, cs)
    why = pc.binary_join_element_wise(text, " (", meaning, ")", "", null_handling="emit_null")
    hit = np.asarray(pc.is_valid(meaning).to_numpy(zero_copy_only=False), dtype=bool)
    return hit, why
