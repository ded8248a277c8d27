"""Choose the self-consistent part of each aircraft's track.

The rejection of impossible jumps works on *segments*, not on single fixes.
The candidate fixes of one aircraft, in time order, are cut wherever two
consecutive fixes are not physically compatible (the caller supplies the
test: implied speed for positions, implied vertical rate for altitude).  Each
segment is then a run of mutually plausible fixes, and the question becomes
which segments belong to the aircraft.

:func:`resolve` answers it with a small dynamic programme over the segments
of every aircraft: keep the chain of segments with the most fixes, where a
chain may skip up to ``lookahead`` segments between two kept ones and every
impossible jump left inside the chain costs ``penalty`` fixes.  So

* an isolated fix or a short run that jumps away and comes back (its
  neighbours agree with each other) is dropped: keeping it would cost two
  penalties for its few fixes.  These are *bridged* rejections;
* a short first or last run that disagrees with the rest (a bad first fix)
  is dropped as well, without poisoning what follows: *edge* rejections;
* a genuine discontinuity with many fixes on both sides is kept whole,
  because dropping either side costs more than one penalty.  Where the kept
  chain still contains an impossible jump, the fixes after it are compared
  with the last kept fix before it and dropped until one is compatible
  (the classic "compare with the last valid fix" gate), also *edge*.

The pairwise tests are vectorised (one call per lookahead step over all
segments); the dynamic programme itself is a compiled loop (:mod:`overflight.jit`).
Its step for one segment depends on the scores of the segments before it,
so numpy could only advance all aircraft together one segment rank per
step: on a 1,000,000-point dataset a few aircraft with thousands of
segments made that about 6,000 small numpy steps per call, a third of the
clean stage (0.7 CPU-s, cProfile).  Compiled, it is one pass over the
segments with an inner loop over the ``lookahead`` predecessors.
"""

from __future__ import annotations

import numpy as np

from overflight.clean._arrays import BoolArray, FloatArray, IntArray
from overflight.clean.pairs import PairTest, pair_code
from overflight.jit import njit

#: ``feasible(a, b)``: for candidate indices a < b of the same aircraft, can
#: fix b physically follow fix a?
Feasible = PairTest


def _segments(
    grp: IntArray, feasible: Feasible, breaks: BoolArray | None, lookahead: int
) -> tuple[IntArray, IntArray]:
    """First and last candidate index of each segment."""
    n = len(grp)
    jump = feasible.jumps(grp)  # within an aircraft, incompatible with the previous fix
    brk = jump.copy()
    brk[1:] |= grp[1:] != grp[:-1]
    if n:
        brk[0] = True
    if breaks is not None and jump.any():
        # extra breaks only matter within the DP's reach of an impossible
        # jump; elsewhere they would only lengthen the DP loop
        cut = np.flatnonzero(brk | breaks)
        cs = np.r_[0, np.cumsum(jump[cut])]
        i = np.arange(len(cut))
        hi = np.minimum(i + lookahead + 1, len(cut))
        lo = np.maximum(i - lookahead, 0)
        brk[cut[cs[hi] - cs[lo] > 0]] = True
    first = np.flatnonzero(brk)
    last = np.r_[first[1:] - 1, n - 1].astype(np.int64)
    return first.astype(np.int64), last


@njit
def _chain(nfix: FloatArray, gstart: BoolArray, pen: FloatArray, keep: BoolArray) -> None:
    m, k_max = pen.shape
    score = np.empty(m)
    pred = np.full(m, -1, dtype=np.int64)
    g0 = 0
    for j in range(m):
        if gstart[j]:
            g0 = j
        if j == g0:
            score[j] = nfix[j]
            continue
        # first maximum (first NaN) of score[j - k] - pen[j, k - 1], like np.argmax
        best_k = 0
        best = 0.0
        for k in range(1, k_max + 1):
            c = score[max(j - k, 0)] - pen[j, k - 1]
            if best_k == 0 or c > best or c != c:
                best, best_k = c, k
            if c != c:
                break
        if best >= 0:
            score[j] = nfix[j] + best
            pred[j] = j - best_k
        else:
            score[j] = nfix[j] + 0.0
    # best end of each aircraft (first maximum), then walk the chain back
    j = 0
    while j < m:
        end = j
        e = j + 1
        while e < m and not gstart[e]:
            if score[e] > score[end]:
                end = e
            e += 1
        cur = end
        while cur >= 0:
            keep[cur] = True
            cur = pred[cur]
        j = e


def _best_chain(
    first: IntArray,
    last: IntArray,
    sgrp: IntArray,
    feasible: Feasible,
    penalty: float,
    lookahead: int,
) -> BoolArray:
    """Kept flag per segment: the best-scoring chain of each aircraft."""
    m = len(first)
    nfix = (last - first + 1).astype(np.float64)
    gstart = np.ones(m, dtype=bool)
    gstart[1:] = sgrp[1:] != sgrp[:-1]
    g0 = np.maximum.accumulate(np.where(gstart, np.arange(m), 0))
    rank = np.arange(m) - g0
    k_max = max(1, lookahead)
    # pen[j, k-1]: cost of going from segment j-k straight to segment j
    pen = np.full((m, k_max), np.inf)
    for k in range(1, k_max + 1):
        j = np.flatnonzero(rank >= k)
        if len(j):
            ok = feasible(last[j - k], first[j])
            pen[j, k - 1] = np.where(ok, 0.0, penalty)
    keep = np.zeros(m, dtype=bool)
    _chain(nfix, gstart, pen, keep)
    return keep


@njit
def _gate_walk(
    kind: int,
    c0: FloatArray,
    c1: FloatArray,
    c2: FloatArray,
    c3: FloatArray,
    params: FloatArray,
    first: IntArray,
    last: IntArray,
    ks: IntArray,
    head: BoolArray,
    known_keys: IntArray,
    known_ok: BoolArray,
    dropped: IntArray,
    need: IntArray,
) -> tuple[int, int]:
    n_drop, n_need = 0, 0
    n = len(c0)
    ref = -1
    stuck = False  # this aircraft met a pair only numpy can decide
    for i in range(len(ks)):
        seg = ks[i]
        if head[i]:
            ref, stuck = last[seg], False
            continue
        if stuck:
            continue
        passed = False  # some fix of the segment follows the reference
        for row in range(first[seg], last[seg] + 1):
            code = pair_code(kind, c0, c1, c2, c3, params, ref, row)
            if code < 0:
                at = np.searchsorted(known_keys, ref * n + row)
                if at < len(known_keys) and known_keys[at] == ref * n + row:
                    code = 1 if known_ok[at] else 0
                else:
                    need[n_need, 0], need[n_need, 1] = ref, row
                    n_need += 1
                    stuck = True
                    break
            if code == 1:
                passed = True
                break
            dropped[n_drop] = row
            n_drop += 1
        if passed:
            ref = last[seg]
        # else every fix was dropped: the reference passes on to the next segment
    return n_drop, n_need


def _gate(
    first: IntArray,
    last: IntArray,
    sgrp: IntArray,
    keep: BoolArray,
    feasible: PairTest,
) -> IntArray:
    """Candidates dropped after a kept impossible jump, until one fits again.

    Each kept segment is compared with the last surviving fix before it; a
    segment whose fixes are all dropped passes its reference on to the next
    one.  A compiled walk over the kept segments; the rare pairs that only
    numpy's haversine can decide are computed between walks (the walk is then
    repeated with their answers).
    """
    ks = np.flatnonzero(keep)
    k = len(ks)
    if k < 2:
        return np.zeros(0, dtype=np.int64)
    head = np.ones(k, dtype=bool)
    head[1:] = sgrp[ks[1:]] != sgrp[ks[:-1]]
    n = len(feasible.c0)
    known_keys = np.zeros(0, dtype=np.int64)
    known_ok = np.zeros(0, dtype=bool)
    dropped = np.empty(int(last[-1]) + 1, dtype=np.int64)
    need = np.empty((k, 2), dtype=np.int64)
    while True:
        n_drop, n_need = _gate_walk(
            *feasible.args, first, last, ks, head, known_keys, known_ok, dropped, need
        )
        if n_need == 0:
            return dropped[:n_drop].copy()
        a, b = need[:n_need, 0], need[:n_need, 1]
        keys = np.r_[known_keys, a * n + b]
        ok = np.r_[known_ok, feasible.exact(a, b)]
        order = np.argsort(keys)
        known_keys, known_ok = keys[order], ok[order]


def resolve(
    grp: IntArray,
    feasible: Feasible,
    *,
    penalty: float,
    lookahead: int,
    breaks: BoolArray | None = None,
) -> tuple[BoolArray, BoolArray]:
    """Split candidates into kept and rejected fixes.

    Parameters
    ----------
    grp
        Aircraft code of each candidate fix, candidates sorted by
        ``(aircraft, time)``.
    feasible
        Compatibility test for pairs of candidate indices (earlier, later).
    penalty
        Cost, in fixes, of keeping one impossible jump inside the chain.
    lookahead
        How many consecutive segments a chain may skip at once.
    breaks
        Candidates that start a new segment even when compatible with the
        previous one (after a long time gap, where the test is too loose to
        vouch that two fixes belong together).

    Returns
    -------
    bridged, edge
        Boolean masks over the candidates: rejected fixes with kept fixes on
        both sides (a displaced fix or run), and the other rejected fixes
        (before the first or after the last kept segment, or gated after an
        impossible jump).
    """
    n = len(grp)
    bridged = np.zeros(n, dtype=bool)
    edge = np.zeros(n, dtype=bool)
    if n == 0:
        return bridged, edge
    first, last = _segments(grp, feasible, breaks, lookahead)
    sgrp = grp[first]
    if len(first) == 1 + int(np.count_nonzero(grp[1:] != grp[:-1])):  # one per aircraft
        return bridged, edge
    keep = _best_chain(first, last, sgrp, feasible, penalty, lookahead)
    # kept segments before / after each segment of the same aircraft
    m = len(first)
    gstart = np.ones(m, dtype=bool)
    gstart[1:] = sgrp[1:] != sgrp[:-1]
    gid = np.cumsum(gstart) - 1
    k_int: IntArray = keep.astype(np.int64)
    kc: IntArray = np.cumsum(k_int)
    base: IntArray = (kc - k_int)[np.flatnonzero(gstart)][gid]  # kept before this aircraft
    total: IntArray = np.add.reduceat(k_int, np.flatnonzero(gstart))[gid]
    before: IntArray = kc - k_int - base
    after = total - (kc - base)
    sizes = last - first + 1
    row_keep = np.repeat(keep, sizes)
    row_bridge = np.repeat(~keep & (before > 0) & (after > 0), sizes)
    bridged[:] = row_bridge
    edge[:] = ~row_keep & ~row_bridge
    edge[_gate(first, last, sgrp, keep, feasible)] = True
    return bridged, edge
