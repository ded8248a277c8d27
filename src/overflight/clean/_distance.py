"""Distance tests that call the haversine only where a cheap bound cannot decide.

The speed gates compare a great-circle distance with a limit (``d <= limit``).
Over a million consecutive fixes almost every pair is far inside the limit
(a few hundred metres apart against a limit of a kilometre or more), and
computing :func:`overflight.geodesy.haversine_m` for all of them was about a
tenth of the clean stage on a 1,000,000-point dataset.  Two bounds of the
true distance need no trigonometry:

* ``R * |dlat|`` (radians) is a lower bound: latitude changes by at most one
  radian per Earth radius travelled;
* ``R * (|dlat| + |dlon|)`` is an upper bound: going along the meridian and
  then along the parallel is a path between the two points, no shorter than
  the great circle (``|dlon|`` taken as the raw difference of longitudes,
  which is still such a path across the antimeridian).

Both are widened by a relative ``1e-7`` and ``1e-6`` m, far more than the
rounding error of the haversine in float64 (at most ~1e-9 relative even near
antipodal points), so whenever the widened bounds decide, the haversine
itself would have decided the same way.  The callers give the undecided pairs (and any
NaN) the exact :func:`~overflight.geodesy.haversine_m` of the numpy path, so
their result is identical to ``haversine_m(...) <= limit`` element by element.

:func:`screen` is compiled (:mod:`overflight.jit`) and called per pair from
the compiled loops of :mod:`overflight.clean.pairs` and
:mod:`overflight.clean.detours`: it needs no temporaries, where the numpy
haversine needed about ten arrays of the pair count.
"""

from __future__ import annotations

import numpy as np

from overflight.geodesy import EARTH_RADIUS_M
from overflight.jit import njit

#: Metres per degree of great circle.
M_PER_DEG = EARTH_RADIUS_M * float(np.pi) / 180.0
_REL = 1e-7
_ABS_M = 1e-6


@njit
def screen(lat1: float, lon1: float, lat2: float, lon2: float, limit_m: float) -> int:
    """1 if the distance is surely at most ``limit_m``, 0 if surely more, -1 if unsure.

    "Surely" means: :func:`overflight.geodesy.haversine_m` would say the same.

    Examples
    --------
    >>> screen(0.0, 0.0, 0.001, 0.0, 200.0), screen(0.0, 0.0, 0.01, 0.0, 200.0)
    (1, 0)
    >>> screen(0.0, 0.0, 0.001, 0.0, 0.001 * M_PER_DEG)   # right at the limit: unsure
    -1
    """
    dlat = abs(lat2 - lat1)
    hi = (dlat + abs(lon2 - lon1)) * M_PER_DEG * (1.0 + _REL) + _ABS_M
    if hi <= limit_m:
        return 1
    lo = dlat * M_PER_DEG * (1.0 - _REL) - _ABS_M
    if lo > limit_m:
        return 0
    return -1


@njit
def may_exceed(lat1: float, lon1: float, lat2: float, lon2: float, limit_m: float) -> bool:
    """False only when the distance is surely at most ``limit_m`` (see :func:`screen`)."""
    return screen(lat1, lon1, lat2, lon2, limit_m) != 1
