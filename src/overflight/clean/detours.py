"""Short detours: fixes displaced from the track and back, judged by the reported ground speed.

:func:`detours` works on distinct positions (repeats of one position count
once, at the time it was first reported).  A block of 1 to ``max_run``
consecutive positions is a detour when the jump into it and the jump out of
it are both longer than the aircraft can fly at ``slack`` times its reported
ground speed (the largest of the fixes around), while the positions before
and after the block are within that reach of each other.

Compiled loops (:mod:`overflight.jit`), measured on a 1,000,000-point dataset
where the numpy version took 0.2 CPU-s (a tenth of the clean stage):

``_distinct``
    collapses the candidate fixes into distinct positions (aircraft, first
    time, position, largest ground speed) in one pass, instead of a
    subset of every column, a change mask and a ``reduceat``;
``_maybe_detours``
    tests every block against cheap distance bounds
    (:mod:`overflight.clean._distance`) and keeps the few blocks whose jumps
    might be too long.  The numpy version computed the haversine between
    all consecutive positions and ran ~15 full-length array operations per
    block size.

The surviving blocks are then decided exactly as before, with
:func:`overflight.geodesy.haversine_m` and in order of block size (a block
whose neighbour was flagged by a shorter block is skipped), so the result is
identical to testing every block.
"""

from __future__ import annotations

import numpy as np

from overflight.clean._arrays import BoolArray, FloatArray, IntArray
from overflight.clean._distance import may_exceed
from overflight.geodesy import KT_MS, haversine_m
from overflight.jit import njit


@njit
def _fmax(x: float, y: float) -> float:
    """``np.fmax``: the larger, ignoring a NaN."""
    if x != x:
        return y
    if y != y:
        return x
    return x if x >= y else y


@njit
def _distinct(
    grp: IntArray,
    t_s: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    gs: FloatArray,
    cand: BoolArray,
    out_f: FloatArray,
    out_g: IntArray,
    rid: IntArray,
) -> int:
    """Distinct positions of the candidates: ``out_f[:, j]`` = time, lat, lon, max speed."""
    m = -1
    prev = -1
    for i in range(len(grp)):
        rid[i] = -1
        if not cand[i]:
            continue
        if prev < 0 or grp[i] != grp[prev] or lat[i] != lat[prev] or lon[i] != lon[prev]:
            m += 1
            out_g[m] = grp[i]
            out_f[0, m], out_f[1, m], out_f[2, m], out_f[3, m] = t_s[i], lat[i], lon[i], gs[i]
        else:
            out_f[3, m] = _fmax(out_f[3, m], gs[i])
        rid[i] = m
        prev = i
    return m + 1


@njit
def _maybe_detours(
    g: IntArray,
    t: FloatArray,
    la: FloatArray,
    lo: FloatArray,
    v: FloatArray,
    slack: float,
    tol2: float,
    dist_tol_m: float,
    maybe: BoolArray,
) -> None:
    """``maybe[size - 1, k]``: block ``k .. k+size-1`` may be a detour.

    False only where :func:`detours` surely rejects the block whatever was
    flagged before: another aircraft on the far side, an unknown speed, or a
    jump in or out that the distance bounds show to be within reach.
    """
    m = len(g)
    # quiet[j]: the step into position j is within reach at any speed at least
    # the larger of its two ends' (reach grows with speed when slack and the
    # time term are not negative), so no block starts or ends across it
    quiet = np.zeros(m, dtype=np.bool_)
    if slack >= 0 and tol2 >= 0:
        for j in range(1, m):
            s0 = _fmax(v[j - 1], v[j])
            dt = t[j] - t[j - 1]
            r0 = slack * s0 * (dt + tol2) + dist_tol_m
            if dt >= 0 and r0 == r0:
                quiet[j] = not may_exceed(la[j - 1], lo[j - 1], la[j], lo[j], r0)
    for k in range(1, m - 1):
        if quiet[k]:
            continue
        a = k - 1
        for size in range(1, maybe.shape[0] + 1):
            b, e = k + size - 1, k + size
            if e >= m or g[a] != g[e]:
                break
            if quiet[e]:
                continue
            speed = _fmax(_fmax(v[a], v[k]), _fmax(v[b], v[e]))
            r_in = slack * speed * (t[k] - t[a] + tol2) + dist_tol_m
            if r_in != r_in or not may_exceed(la[a], lo[a], la[k], lo[k], r_in):
                continue
            r_out = slack * speed * (t[e] - t[b] + tol2) + dist_tol_m
            if r_out != r_out or not may_exceed(la[b], lo[b], la[e], lo[e], r_out):
                continue
            maybe[size - 1, k] = True


def detours(
    grp: IntArray,
    t_s: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    groundspeed_kt: FloatArray,
    *,
    max_run: int,
    slack: float,
    time_tol_s: float,
    dist_tol_m: float,
    cand: BoolArray | None = None,
) -> BoolArray:
    """Fixes displaced from the track and back, judged by the reported ground speed.

    See the module docstring.  Each distance gets ``dist_tol_m`` and each
    time ``time_tol_s`` (per end) of slack.  Fixes without any reported
    ground speed nearby are left to the 1,200 kt gate.  Only the ``cand``
    rows (all when None) take part; the others are never flagged.

    Examples
    --------
    >>> import numpy as np
    >>> lat = np.array([48.9730, 48.9731, 48.9868, 48.9736, 48.9737])  # 1.5 km spike
    >>> lon = np.array([2.2100, 2.2115, 2.2127, 2.2157, 2.2172])
    >>> detours(np.zeros(5, dtype=np.int64), np.arange(5.0), lat, lon, np.full(5, 206.0),
    ...     max_run=3, slack=1.5, time_tol_s=1.0, dist_tol_m=500.0).tolist()
    [False, False, True, False, False]
    """
    n = len(grp)
    cand = np.ones(n, dtype=bool) if cand is None else np.ascontiguousarray(cand)
    cols = np.empty((4, n))
    g = np.empty(n, dtype=np.int64)
    rid = np.empty(n, dtype=np.int64)
    m = _distinct(grp, t_s, lat, lon, groundspeed_kt, cand, cols, g, rid)
    g, (t, la, lo, v) = g[:m], cols[:, :m]
    v = v * KT_MS
    tol2 = 2 * time_tol_s
    maybe = np.zeros((max(max_run, 0), m), dtype=bool)
    _maybe_detours(g, t, la, lo, v, slack, tol2, dist_tol_m, maybe)
    flagged = _decide(maybe, t, la, lo, v, slack, tol2, dist_tol_m)
    out: BoolArray = (rid >= 0) & flagged[rid] if m else np.zeros(n, dtype=bool)
    return out


def _decide(
    maybe: BoolArray,
    t: FloatArray,
    la: FloatArray,
    lo: FloatArray,
    v: FloatArray,
    slack: float,
    tol2: float,
    dist_tol_m: float,
) -> BoolArray:
    """Flagged positions: the ``maybe`` blocks tested exactly, shortest blocks first."""
    flagged = np.zeros(len(t), dtype=bool)

    def reach(i: IntArray, j: IntArray, s: FloatArray) -> FloatArray:
        out: FloatArray = slack * s * (t[j] - t[i] + tol2) + dist_tol_m
        return out

    def dist(i: IntArray, j: IntArray) -> FloatArray:
        d: FloatArray = haversine_m(la[i], lo[i], la[j], lo[j])
        return d

    for size in range(1, len(maybe) + 1):
        k = np.flatnonzero(maybe[size - 1])  # block k .. k+size-1, neighbours k-1 and k+size
        a, b, e = k - 1, k + size - 1, k + size
        ok = ~flagged[a] & ~flagged[e]
        speed = np.fmax(np.fmax(v[a], v[k]), np.fmax(v[b], v[e]))
        with np.errstate(invalid="ignore"):
            ok &= (dist(a, k) > reach(a, k, speed)) & (dist(b, e) > reach(b, e, speed))
        a, k, e, speed = a[ok], k[ok], e[ok], speed[ok]
        bridge = dist(a, e) <= reach(a, e, speed)
        for off in range(size):
            flagged[k[bridge] + off] = True
    return flagged
