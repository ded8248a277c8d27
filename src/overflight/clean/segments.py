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

Everything is vectorised: the DP advances all aircraft together, one segment
rank per step, so its Python loop runs as many times as the largest number of
segments of one aircraft (a handful on clean data) instead of once per fix.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from overflight.clean._arrays import BoolArray, IntArray

#: ``feasible(a, b)``: for candidate indices a < b of the same aircraft, can
#: fix b physically follow fix a?
Feasible = Callable[[IntArray, IntArray], BoolArray]


def _segments(
    grp: IntArray, feasible: Feasible, breaks: BoolArray | None, lookahead: int
) -> tuple[IntArray, IntArray]:
    """First and last candidate index of each segment."""
    n = len(grp)
    brk = np.ones(n, dtype=bool)
    jump = np.zeros(n, dtype=bool)
    if n > 1:
        a = np.flatnonzero(grp[1:] == grp[:-1])
        jump[a + 1] = ~feasible(a, a + 1)
        brk[a + 1] = jump[a + 1]
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
    score = np.zeros(m)
    pred = np.full(m, -1, dtype=np.int64)
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(rank.max() + 2))
    karr = np.arange(1, k_max + 1)
    for r in range(int(rank.max()) + 1):
        js = by_rank[bounds[r] : bounds[r + 1]]
        if r == 0:
            score[js] = nfix[js]
            continue
        prev = js[:, None] - karr[None, :]
        cand = score[np.clip(prev, 0, None)] - pen[js]
        best_k = np.argmax(cand, axis=1)
        best = cand[np.arange(len(js)), best_k]
        cont = best >= 0
        score[js] = nfix[js] + np.where(cont, best, 0.0)
        pred[js] = np.where(cont, js - (best_k + 1), -1)
    # best end of each aircraft (first maximum), then walk the chain back
    starts = np.flatnonzero(gstart)
    gmax = np.maximum.reduceat(score, starts)
    gid = np.cumsum(gstart) - 1
    is_max = score >= gmax[gid]
    ends = np.minimum.reduceat(np.where(is_max, np.arange(m), m), starts)
    keep = np.zeros(m, dtype=bool)
    cur = ends
    while len(cur):
        keep[cur] = True
        cur = pred[cur]
        cur = cur[cur >= 0]
    return keep


def _gate(
    first: IntArray,
    last: IntArray,
    sgrp: IntArray,
    keep: BoolArray,
    feasible: Feasible,
) -> IntArray:
    """Candidates dropped after a kept impossible jump, until one fits again.

    Each kept segment is compared with the last surviving fix before it; a
    segment whose fixes are all dropped passes its reference on to the next
    one, so the loop runs once more per such segment in a row (rarely any).
    """
    ks = np.flatnonzero(keep)
    k = len(ks)
    if k < 2:
        return np.zeros(0, dtype=np.int64)
    head = np.ones(k, dtype=bool)
    head[1:] = sgrp[ks[1:]] != sgrp[ks[:-1]]
    q = np.flatnonzero(~head)  # kept segments with a kept predecessor
    ref = np.full(k, -1, dtype=np.int64)
    ref[q] = last[ks[q - 1]]
    dropped = np.zeros(0, dtype=np.int64)
    for _ in range(k):
        g = q[~feasible(ref[q], first[ks[q]])]  # gated: first fix incompatible
        j = ks[g]
        sizes = last[j] - first[j] + 1
        seg0 = np.cumsum(sizes) - sizes
        rows = np.repeat(first[j] - seg0, sizes) + np.arange(sizes.sum())
        ok = feasible(np.repeat(ref[g], sizes), rows).astype(np.int64)
        cum = np.cumsum(ok)
        seen = cum - np.repeat(cum[seg0] - ok[seg0], sizes)
        dropped = rows[seen == 0]
        # a segment that lost every fix hands its reference on to the next one
        gone = np.zeros(k, dtype=bool)
        if len(g):
            gone[g] = np.add.reduceat(ok, seg0) == 0
        new_ref = ref.copy()
        new_ref[q] = np.where(gone[q - 1], ref[q - 1], last[ks[q - 1]])
        if np.array_equal(new_ref, ref):
            break
        ref = new_ref
    return dropped


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
