"""The column JSON encoder against :func:`json.dumps`, the independent reference.

Every row of :func:`overflight.jsontext.details_column` must be byte for byte
``json.dumps(row, sort_keys=True)`` of the row's dict, whatever the values:
floats of every magnitude and sign (NaN, infinities, negative zero, whole
numbers, subnormals), 64-bit integers, booleans, strings with quotes,
backslashes, control characters and non-ASCII text (any that UTF-8 can hold:
Arrow strings cannot carry lone surrogates), and ``null`` anywhere.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.jsontext import details_column, json_bools, json_floats, json_ints, json_strings

#: Floats the layouts differ on: Python switches to exponents below 1e-4 and
#: from 1e16 on, appends ``.0`` to whole numbers, and writes NaN/Infinity.
_SPECIAL = st.sampled_from(
    [
        0.0,
        -0.0,
        1.0,
        -3.0,
        1e-4,
        9.999999999999999e-05,
        1e7,
        9999999.0,
        9999999.5,
        1e15,
        1e16,
        1e22,
        123456789012345680.0,
        5e-324,
        2.2250738585072014e-308,
        1.7976931348623157e308,
        float("nan"),
        float("inf"),
        float("-inf"),
    ]
)
_FLOATS = st.one_of(
    st.floats(),
    _SPECIAL,
    st.integers(-(10**17), 10**17).map(float),
    st.floats(-1e-3, 1e-3),
    st.builds(lambda m, e: m * 10.0**e, st.floats(-10, 10), st.integers(-30, 30)),
)
_TEXT = st.text(
    st.one_of(
        st.characters(codec="utf-8"),  # Arrow strings are UTF-8: no lone surrogates
        st.sampled_from(['"', "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "\u2028", "😀"]),
    ),
    max_size=8,
)
_ROW = st.fixed_dictionaries(
    {
        "x": _FLOATS,
        "i": st.integers(-(2**63), 2**63 - 1),
        "b": st.booleans(),
        "s": _TEXT,
        "null": st.fixed_dictionaries({k: st.booleans() for k in ("x", "i", "b", "s")}),
    }
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ROW, max_size=25), st.sampled_from(["x", 'key "q" é', "a\nb", "%s"]))
def test_details_column_is_json_dumps(rows: list[dict[str, Any]], key: str) -> None:
    def col(name: str) -> list[Any]:
        return [r[name] for r in rows]

    def null(name: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
        return np.array([r["null"][name] for r in rows], dtype=bool)

    x = np.array(col("x"), np.float64)
    fields = {
        key: json_floats(x, null=null("x")),
        "x_all": json_floats(x),
        "i": json_ints(np.array(col("i"), np.int64), null=null("i")),
        "b": json_bools(np.array(col("b"), bool), null=null("b")),
        "s": json_strings(col("s"), null=null("s")),
        "s_none": json_strings([None if r["null"]["s"] else r["s"] for r in rows]),
    }
    want = [
        json.dumps(
            {
                key: None if r["null"]["x"] else r["x"],
                "x_all": r["x"],
                "i": None if r["null"]["i"] else r["i"],
                "b": None if r["null"]["b"] else r["b"],
                "s": None if r["null"]["s"] else r["s"],
                "s_none": None if r["null"]["s"] else r["s"],
            },
            sort_keys=True,
        )
        for r in rows
    ]
    assert details_column(fields).to_pylist() == want


@settings(max_examples=100, deadline=None)
@given(st.lists(_FLOATS, min_size=1, max_size=50))
def test_floats_alone_are_json_dumps(values: list[float]) -> None:
    got = json_floats(np.array(values, np.float64)).to_pylist()
    assert got == [json.dumps(v) for v in values]
