"""JSON text of whole columns, byte for byte what :func:`json.dumps` writes.

The events tables carry a ``details`` column: one JSON object per row, always
written as ``json.dumps(details, sort_keys=True)`` would write it (default
separators, ``ensure_ascii``, ``allow_nan``).  Building a thousand of those one
``dict`` at a time is slow, so each key is encoded here for a whole column at
once, as an Arrow string array:

* :func:`json_floats` writes numbers as ``float.__repr__`` does, non-finite
  ones as ``NaN``, ``Infinity`` and ``-Infinity``;
* :func:`json_ints` and :func:`json_bools` write integers and
  ``true``/``false``;
* :func:`json_strings` writes strings ASCII-escaped (``\\uXXXX`` for anything
  outside printable ASCII, ``\\"``, ``\\\\``, ``\\n`` ...);
* each takes a ``null`` mask and writes ``null`` where it is True;
* :func:`details_column` joins the encoded columns into one object per row,
  keys in sorted order separated by ``", "``, key and value by ``": "``.

So, row for row, the text equals ``json.dumps(row, sort_keys=True)`` of the
row's dict (``tests/test_jsontext.py`` checks it against :mod:`json`).

Examples
--------
>>> col = details_column(
...     {
...         "n": json_ints(np.array([3, 4])),
...         "d": json_floats(np.array([1.5, np.nan]), null=np.array([False, True])),
...         "ok": json_bools(np.array([True, False])),
...         "who": json_strings(["a\\u00e9", None]),
...     }
... )
>>> for text in col.to_pylist():
...     print(text)
{"d": 1.5, "n": 3, "ok": true, "who": "a\\u00e9"}
{"d": null, "n": 4, "ok": false, "who": null}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_escape = json.encoder.encode_basestring_ascii


def json_floats(values: FloatArray, null: BoolArray | None = None) -> pa.Array:
    """JSON numbers as ``json.dumps`` writes them (``null`` where ``null`` is True).

    Arrow's float-to-string cast writes the same shortest round-trip digits as
    ``float.__repr__`` (both pick the closest of the shortest strings, and no
    double lies halfway between two of them) and, for a magnitude in
    [1e-4, 1e7), the same layout but for ``.0`` after a whole number; other
    values (NaN, infinities, tiny and huge magnitudes) are written by Python.

    Examples
    --------
    >>> x = np.array([3.0, -0.0, 0.1, 1e-5, 1e16, np.inf, -np.inf, np.nan, 7.0])
    >>> json_floats(x, null=x == 7.0).to_pylist()
    ['3.0', '-0.0', '0.1', '1e-05', '1e+16', 'Infinity', '-Infinity', 'NaN', 'null']
    """
    text = pa.array(values, pa.float64()).cast(pa.string())
    size = np.abs(values)
    small = size < 1e7
    whole = small & (values == np.trunc(values))
    if whole.any():
        text = pc.if_else(pa.array(whole), pc.binary_join_element_wise(text, ".0", ""), text)
    other = ~(small & (whole | (size >= 1e-4)))
    if null is not None:
        other &= ~null  # written as null below
    if other.any():
        fixed = [_float_text(v) for v in values[other].tolist()]
        text = pc.replace_with_mask(text, pa.array(other), pa.array(fixed, pa.string()))
    return _null(text, null)


def _float_text(v: float) -> str:
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    return float.__repr__(v)


def _null(text: pa.Array, null: BoolArray | None) -> pa.Array:
    if null is None or not null.any():
        return text
    return pc.if_else(pa.array(null), pa.scalar("null"), text)


def json_ints(values: IntArray, null: BoolArray | None = None) -> pa.Array:
    """JSON integers (``null`` where ``null`` is True).

    Examples
    --------
    >>> json_ints(np.array([-(2**63), 0, 42]), null=np.array([False, True, False])).to_pylist()
    ['-9223372036854775808', 'null', '42']
    """
    return _null(pa.array(values, pa.int64()).cast(pa.string()), null)


def json_bools(values: BoolArray, null: BoolArray | None = None) -> pa.Array:
    """JSON booleans (``null`` where ``null`` is True).

    Examples
    --------
    >>> json_bools(np.array([True, False, True]), null=np.array([False, False, True])).to_pylist()
    ['true', 'false', 'null']
    """
    text = pc.if_else(pa.array(values, pa.bool_()), pa.scalar("true"), pa.scalar("false"))
    return _null(text, null)


def json_strings(
    values: Sequence[str | None] | pa.Array | pa.ChunkedArray, null: BoolArray | None = None
) -> pa.Array:
    """JSON strings, ASCII-escaped as :func:`json.dumps` does (``null`` for None
    and where ``null`` is True).

    Each distinct string is escaped once (the values are dictionary-encoded).

    Examples
    --------
    >>> words = ['say "hi"', "\\u00e9\\n", None, "x"]
    >>> for text in json_strings(words, null=np.array([0, 0, 0, 1], bool)).to_pylist():
    ...     print(text)
    "say \\"hi\\""
    "\\u00e9\\n"
    null
    null
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    arr = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    enc = arr.dictionary_encode()
    words = pa.array([_escape(v) for v in enc.dictionary.to_pylist()], pa.string())
    return _null(words.take(enc.indices).fill_null("null"), null)


def details_column(fields: Mapping[str, pa.Array]) -> pa.Array:
    """One JSON object per row from encoded values, keys sorted.

    ``fields`` maps each key to its encoded values (the ``json_*`` functions),
    all of the same length; there must be at least one.
    """
    parts: list[str | pa.Array] = []
    for i, name in enumerate(sorted(fields)):
        parts += [("{" if i == 0 else ", ") + _escape(name) + ": ", fields[name]]
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")
