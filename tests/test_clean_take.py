"""The shortcuts of ``clean.run`` against what they replace (Arrow ``take``, numpy sorts).

``clean.run`` gathers columns without Arrow's ``take`` where it can
(:func:`overflight.clean._arrays.take_strings`,
:func:`overflight.clean.positions.gather_numpy`), sorts by a counting sort
and a merge of the time-ordered runs of each aircraft
(:func:`overflight.clean._loops.group_order`), orders tying rows by an
insertion sort per block (:func:`overflight.clean._merge.block_order`), and
tests consecutive fixes
in one compiled pass (:meth:`overflight.clean.pairs.PairTest.jumps`).  Each
is compared here with the plain operation on random input; the real-data
equivalence of the whole stage is in ``test_clean_speed_equiv.py``.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.clean import _loops
from overflight.clean._arrays import float_col, take_strings, time_ns
from overflight.clean._merge import block_order
from overflight.clean.pairs import altitude_feasible, position_feasible
from overflight.clean.positions import gather_numpy
from support import clean_reference as ref
from support.samples import as_table, read_sample

strings = st.one_of(
    st.lists(st.text(alphabet="0123456789abcdef", min_size=6, max_size=6), max_size=30),
    st.lists(st.one_of(st.none(), st.text(max_size=5)), max_size=30),
    st.lists(st.text(min_size=3, max_size=3), max_size=30),
)


@settings(max_examples=150, deadline=None)
@given(strings, st.integers(0, 2**32 - 1), st.integers(1, 4))
def test_take_strings_is_take(values: list[str | None], seed: int, chunks: int) -> None:
    rng = np.random.default_rng(seed)
    arr = pa.array(values, type=pa.string())
    cuts = np.sort(rng.integers(0, len(arr) + 1, chunks - 1)).tolist()
    bounds = [0, *cuts, len(arr)]
    col = pa.chunked_array(
        [arr.slice(a, b - a) for a, b in pairwise(bounds)],
        type=pa.string(),
    )
    readable = np.flatnonzero(np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), bool))
    n = int(rng.integers(0, 40))
    rows = rng.choice(readable, n) if len(readable) else np.zeros(n, np.int64)
    rows = np.where((rng.random(n) < 0.3) | (len(readable) == 0), -1, rows).astype(np.int64)
    got = take_strings(col, rows)
    got.validate(full=True)
    assert got.equals(arr.take(pa.array(rows, mask=rows < 0)))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=30), st.integers(0, 2**32 - 1))
def test_gather_numpy_is_take(values: list[float], seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 40))
    rows = np.where(rng.random(n) < 0.3, -1, rng.integers(0, len(values), n)).astype(np.int64)
    got = gather_numpy(np.array(values), rows, pa.float64())
    want = pa.array(values, pa.float64()).take(pa.array(rows, mask=rows < 0))
    got.validate(full=True)
    assert got.equals(want)
    assert got.buffers()[1].to_pybytes() == want.buffers()[1].to_pybytes()  # 0 under nulls


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 300), st.integers(1, 6), st.integers(1, 8))
def test_group_order_merges_runs(seed: int, n: int, n_codes: int, n_runs: int) -> None:
    """Runs of one aircraft, each in time order, overlapping in time (several receivers)."""
    rng = np.random.default_rng(seed)
    run = np.sort(rng.integers(0, n_runs, n))
    codes = rng.integers(0, n_codes, n_runs)[run]
    t = np.zeros(n, dtype=np.int64)
    for r in range(n_runs):
        at = run == r
        t[at] = np.sort(rng.integers(0, 50, int(at.sum())))
    order = _loops.group_order(codes, t)
    assert order is not None
    assert order.tolist() == ref.sort_order(codes, t).tolist()


def test_jumps_match_pairwise_test(traffic_samples: Path) -> None:
    tbl = as_table(read_sample(traffic_samples, "noisy/noisy_spoofing"))
    grp = ref.group_codes(tbl["icao24"])
    t = time_ns(tbl)
    order = ref.sort_order(grp, t)
    grp, t_s = grp[order], (t[order] - t.min()) / 1e9
    lat, lon, alt = (float_col(tbl, c)[order] for c in ("latitude", "longitude", "altitude"))
    known = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(alt)
    grp, t_s, lat, lon, alt = grp[known], t_s[known], lat[known], lon[known], alt[known]
    tests = [
        position_feasible(lat, lon, t_s, t_s, max_speed_kt=1200, time_tol_s=1, dist_tol_m=100),
        position_feasible(lat, lon, t_s, t_s, max_speed_kt=300, time_tol_s=0, dist_tol_m=0),
        altitude_feasible(
            alt, t_s, max_vertical_rate_fpm=30000, sustained_vertical_rate_fpm=10000,
            reserve_ft=5000, time_tol_s=1, alt_tol_ft=100,
        ),
    ]  # fmt: skip
    a = np.flatnonzero(grp[1:] == grp[:-1])
    for test in tests:
        want = np.zeros(len(grp), dtype=bool)
        want[a + 1] = ~test.exact(a, a + 1)
        assert test.jumps(grp).tolist() == want.tolist()
        assert want.any()


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 120), st.integers(1, 70))
def test_block_order_is_lexsort(seed: int, n: int, longest: int) -> None:
    rng = np.random.default_rng(seed)
    block = np.sort(rng.integers(0, max(1, n // longest + 1), n))
    lat = rng.choice([np.nan, -0.0, 0.0, 1.5, 2.5], n)
    lon = rng.choice([np.nan, 3.0, -3.0], n)
    nulls = rng.integers(0, 3, n)
    big = rng.choice([0, 2**60, -(2**60)], n)  # not exact in float64: lexsort
    for keys in ([lat, lon, nulls], [nulls], [lat, big]):
        want = np.lexsort((*reversed(keys), block))
        assert block_order(block, keys).tolist() == want.tolist()
