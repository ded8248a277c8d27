"""Change points in a daily series (PELT, ``ruptures``)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from overflight.trends._common import ChangePoint


def change_points(
    series: pd.Series,
    method: str = "l2",
    *,
    penalty_scale: float = 3.0,
    min_size_days: int = 7,
) -> list[ChangePoint]:
    """Sharp changes in a daily series, by PELT (Killick et al. 2012, ``ruptures``).

    The series is first scaled by a noise estimate that a step does not
    inflate: the von Neumann estimate ``s² = Σ(x[i+1] - x[i])² / (2 (n - 1))``
    (the differences of a piecewise-constant signal are zero except at the
    steps).  PELT then minimises the segment costs plus ``pen`` per change:

    - ``"l2"`` (default): cost is the sum of squared deviations from the
      segment mean (a change in mean with Gaussian noise); ``pen =
      penalty_scale · ln n`` on the scaled series, i.e. ``3 s² ln n`` on the
      data, the modified-BIC weight of Zhang & Siegmund (2007) for a mean
      change of known variance: a BIC that charges for the change position
      as well as the new mean.
    - ``"rbf"``: kernel cost with a Gaussian kernel of bandwidth set by the
      median heuristic (detects changes in distribution, not only in mean);
      each point costs at most 1, so ``pen = penalty_scale · ln n / 2``.

    Segments are at least ``min_size_days`` long (one week by default, so a
    weekday/weekend rhythm is not a change).  Non-finite values are dropped.

    Parameters
    ----------
    series
        Daily values indexed by date (see :func:`daily_series`).

    Returns
    -------
    list of ChangePoint
        One per change, in time order: the first day of the new regime and
        the means of the segments before and after it.  Empty when the
        series is shorter than two weeks (or ``2 · min_size_days``), constant,
        or has no change.

    Examples
    --------
    >>> days = pd.date_range("2024-01-01", periods=28, freq="D")
    >>> x = pd.Series([0.0, 1.0] * 7 + [5.0, 6.0] * 7, index=days)
    >>> change_points(x)
    [ChangePoint(day=datetime.date(2024, 1, 15), before_mean=0.5, after_mean=5.5)]
    >>> change_points(x[:10])
    []
    """
    import ruptures as rpt  # heavy; only needed here

    if method not in ("l2", "rbf"):
        raise ValueError(f"method must be 'l2' or 'rbf', got {method!r}")
    values = np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan))
    finite = np.isfinite(values)
    x = values[finite]
    days = pd.to_datetime(pd.Index(series.index)[finite]).date
    n = x.size
    min_size = max(int(min_size_days), 1)
    if n < max(14, 2 * min_size):
        return []
    with np.errstate(over="ignore", invalid="ignore"):
        s2 = float(np.sum(np.diff(x) ** 2) / (2 * (n - 1)))
        z = (x - np.median(x)) / math.sqrt(s2) if s2 > 0 else x
    if not (math.isfinite(s2) and s2 > 0 and np.isfinite(z).all()):
        return []
    if method == "l2":
        algo = rpt.Pelt(model="l2", min_size=min_size, jump=1)
        pen = penalty_scale * math.log(n)
    else:
        algo = rpt.Pelt(model="rbf", min_size=min_size, jump=1)
        pen = penalty_scale * math.log(n) / 2
    bkps = [0, *algo.fit(z.reshape(-1, 1)).predict(pen=pen)]
    means = [float(np.mean(x[a:b])) for a, b in itertools.pairwise(bkps)]
    return [ChangePoint(days[b], means[i], means[i + 1]) for i, b in enumerate(bkps[1:-1])]
