"""Pairwise feasibility tests: can fix b physically follow fix a?

``position_feasible`` / ``altitude_feasible`` build the tests used by
:func:`overflight.clean.segments.resolve`.  Fix b can follow fix a when the
distance is at most ``max_speed * (dt + time_tol) + dist_tol``: the time
tolerance absorbs timestamps quantised to the second (a 475 kt airliner seen
at 08:16:39 and 08:16:40 can be 0.44 km apart, 850 kt if taken literally),
the distance tolerance absorbs position noise.  For positions ``dt`` runs
from the moment fix a's position was *first* reported: state-vector feeds
repeat the last position each second, and the next real position then looks
like a jump made in one second.  For altitudes the allowed change over
``dt`` is the smaller of a burst line and a sustained line (see
:func:`altitude_feasible`).

A :class:`PairTest` is called with index arrays (vectorised, about a million
pairs of consecutive fixes at a time) and is also evaluated one pair at a
time inside the compiled walk of :mod:`overflight.clean.segments`, so its
arithmetic is a compiled function (:mod:`overflight.jit`), ``pair_code``.  In
numpy the test needed a gathered copy of each column and a temporary per
operation: 0.1 CPU-s per million points over the calls of a clean run.  The
altitude test is the numpy formula, operation for operation, so identical.
The position test first tries the distance bounds of
:mod:`overflight.clean._distance`, then a haversine with the C library's
trigonometry, each widened by a relative 1e-7; the pairs still undecided
(closer to the limit than that) get :func:`overflight.geodesy.haversine_m`
from numpy, so the outcome is that of the numpy formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from overflight.clean._distance import screen
from overflight.clean._loops import BoolArray, FloatArray, IntArray
from overflight.geodesy import EARTH_RADIUS_M, KT_MS, haversine_m
from overflight.jit import njit

ALTITUDE, POSITION = 0, 1
_REL, _ABS_M = 1e-7, 1e-6


@njit
def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """:func:`overflight.geodesy.haversine_m` for one pair (C library trigonometry)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return float(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(min(max(a, 0.0), 1.0))))


@njit
def _altitude_code(alt: FloatArray, t: FloatArray, params: FloatArray, a: int, b: int) -> int:
    dz = abs(alt[b] - alt[a])
    dt = t[b] - t[a] + params[3]
    x, y = params[0] * dt, params[2] + params[1] * dt
    lim = x if (x <= y or x != x) else y  # np.minimum: NaN wins
    return 1 if dz <= lim + params[4] else 0


@njit
def _position_code(
    lat: FloatArray,
    lon: FloatArray,
    t: FloatArray,
    first_seen: FloatArray,
    params: FloatArray,
    a: int,
    b: int,
) -> int:
    limit = params[0] * (t[b] - first_seen[a] + params[1]) + params[2]
    s = screen(lat[a], lon[a], lat[b], lon[b], limit)
    if s >= 0:
        return s
    d = _haversine(lat[a], lon[a], lat[b], lon[b])
    if d * (1.0 + _REL) + _ABS_M <= limit:
        return 1
    if d * (1.0 - _REL) - _ABS_M > limit:
        return 0
    return -1


@njit
def pair_code(
    kind: int,
    c0: FloatArray,
    c1: FloatArray,
    c2: FloatArray,
    c3: FloatArray,
    params: FloatArray,
    a: int,
    b: int,
) -> int:
    """1 if fix b can follow fix a, 0 if not, -1 if only numpy's haversine can tell.

    ``kind`` :data:`ALTITUDE`: ``c0`` altitude, ``c1`` time; :data:`POSITION`:
    ``c0`` latitude, ``c1`` longitude, ``c2`` time, ``c3`` time first seen.
    """
    if kind == ALTITUDE:
        return _altitude_code(c0, c1, params, a, b)
    return _position_code(c0, c1, c2, c3, params, a, b)


@njit
def _codes(
    kind: int,
    c0: FloatArray,
    c1: FloatArray,
    c2: FloatArray,
    c3: FloatArray,
    params: FloatArray,
    a: IntArray,
    b: IntArray,
    out: BoolArray,
    undecided: BoolArray,
) -> bool:
    some = False
    if kind == ALTITUDE:  # one loop per kind: a call that branches costs 10x in the loop
        for i in range(len(a)):
            out[i] = _altitude_code(c0, c1, params, a[i], b[i]) == 1
            undecided[i] = False
        return False
    for i in range(len(a)):
        c = _position_code(c0, c1, c2, c3, params, a[i], b[i])
        out[i] = c == 1
        undecided[i] = c < 0
        some = some or c < 0
    return some


@njit
def _steps(
    kind: int,
    c0: FloatArray,
    c1: FloatArray,
    c2: FloatArray,
    c3: FloatArray,
    params: FloatArray,
    grp: IntArray,
    jump: BoolArray,
    undecided: BoolArray,
) -> bool:
    """``_codes`` for every pair ``(i - 1, i)`` of one group: ``jump[i]`` if i cannot follow."""
    some = False
    if len(grp):
        jump[0], undecided[0] = False, False
    if kind == ALTITUDE:
        for i in range(1, len(grp)):
            same = grp[i] == grp[i - 1]
            jump[i] = same and _altitude_code(c0, c1, params, i - 1, i) != 1
            undecided[i] = False
        return False
    for i in range(1, len(grp)):
        c = _position_code(c0, c1, c2, c3, params, i - 1, i) if grp[i] == grp[i - 1] else 1
        jump[i] = c == 0
        undecided[i] = c < 0
        some = some or c < 0
    return some


@dataclass(frozen=True)
class PairTest:
    """``test(a, b)``: for index arrays of fixes a < b of one aircraft, can b follow a?

    ``kind``, the columns ``c0`` to ``c3`` and ``params`` are what
    :func:`pair_code` needs (compiled callers use it directly).
    """

    kind: int
    c0: FloatArray
    c1: FloatArray
    c2: FloatArray
    c3: FloatArray
    params: FloatArray

    @property
    def args(self) -> tuple[int, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """The leading arguments of :func:`pair_code`."""
        return self.kind, self.c0, self.c1, self.c2, self.c3, self.params

    def __call__(self, a: IntArray, b: IntArray) -> BoolArray:
        out = np.empty(len(a), dtype=np.bool_)
        undecided = np.empty(len(a), dtype=np.bool_)
        if _codes(*self.args, a, b, out, undecided):
            u = np.flatnonzero(undecided)
            out[u] = self.exact(a[u], b[u])
        return out

    def jumps(self, grp: IntArray) -> BoolArray:
        """True on each fix ``i`` of the same group as fix ``i - 1`` that cannot follow it.

        The same as ``~self(a, a + 1)`` over the pairs ``a`` with ``grp[a] ==
        grp[a + 1]``, in one compiled pass without the index arrays.
        """
        n = len(grp)
        jump = np.empty(n, dtype=np.bool_)
        undecided = np.empty(n, dtype=np.bool_)
        if _steps(*self.args, np.ascontiguousarray(grp), jump, undecided):
            u = np.flatnonzero(undecided)
            jump[u] = ~self.exact(u - 1, u)
        return jump

    def exact(self, a: IntArray, b: IntArray) -> BoolArray:
        """The test in numpy (the definition; slow)."""
        p = self.params
        if self.kind == ALTITUDE:
            dz = np.abs(self.c0[b] - self.c0[a])
            dt = self.c1[b] - self.c1[a] + p[3]
            ok: BoolArray = dz <= np.minimum(p[0] * dt, p[2] + p[1] * dt) + p[4]
            return ok
        d = haversine_m(self.c0[a], self.c1[a], self.c0[b], self.c1[b])
        within: BoolArray = d <= p[0] * (self.c2[b] - self.c3[a] + p[1]) + p[2]
        return within


def position_feasible(
    lat: FloatArray,
    lon: FloatArray,
    t_s: FloatArray,
    first_seen_s: FloatArray,
    *,
    max_speed_kt: float,
    time_tol_s: float,
    dist_tol_m: float,
) -> PairTest:
    """Pairwise test: can position b follow position a at ``max_speed_kt``?

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([0.0, 10.0, 11.0])
    >>> f = position_feasible(np.array([0.0, 0.01, 0.5]), np.zeros(3), t, t,
    ...     max_speed_kt=1200, time_tol_s=1, dist_tol_m=100)
    >>> f(np.array([0, 1]), np.array([1, 2])).tolist()
    [True, False]
    """
    params = np.array([max_speed_kt * KT_MS, time_tol_s, dist_tol_m], dtype=np.float64)
    c0, c1, c2, c3 = (
        np.ascontiguousarray(c, dtype=np.float64) for c in (lat, lon, t_s, first_seen_s)
    )
    return PairTest(POSITION, c0, c1, c2, c3, params)


def altitude_feasible(
    altitude_ft: FloatArray,
    t_s: FloatArray,
    *,
    max_vertical_rate_fpm: float,
    sustained_vertical_rate_fpm: float,
    reserve_ft: float,
    time_tol_s: float,
    alt_tol_ft: float,
) -> PairTest:
    """Pairwise test: can altitude b follow altitude a?

    The allowed change over ``dt`` is the smaller of a burst line
    (``max_vertical_rate_fpm``) and a sustained line
    (``reserve_ft + sustained_vertical_rate_fpm * dt``): a fighter can zoom a
    few thousand feet at 30,000 ft/min, but nothing keeps that up for minutes,
    so a long gap does not make a 36,000 ft jump plausible.

    Examples
    --------
    >>> import numpy as np
    >>> f = altitude_feasible(np.array([1550.0, 38000.0, 1600.0]), np.array([0.0, 169.0, 170.0]),
    ...     max_vertical_rate_fpm=30000, sustained_vertical_rate_fpm=10000, reserve_ft=5000,
    ...     time_tol_s=1, alt_tol_ft=100)
    >>> f(np.array([0, 0]), np.array([1, 2])).tolist()
    [False, True]
    """
    burst = max_vertical_rate_fpm / 60.0
    sustained = sustained_vertical_rate_fpm / 60.0
    params = np.array([burst, sustained, reserve_ft, time_tol_s, alt_tol_ft], dtype=np.float64)
    alt = np.ascontiguousarray(altitude_ft, dtype=np.float64)
    t = np.ascontiguousarray(t_s, dtype=np.float64)
    return PairTest(ALTITUDE, alt, t, alt, t, params)
