"""Survey grids: reversing legs that step sideways across several lines.

A chain of four or more legs joined by reversals (see
:mod:`overflight.patterns.legs`) that is not a racetrack is a grid when its
leg midpoints sit on at least three distinct parallel lines.  Turn direction
is not used: surveys both alternate their turns (boustrophedon) and fly
skip-line patterns that always turn the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from overflight.patterns.reduce_jit import np_median
from overflight.patterns.turns import FloatArray


def line_count(cross_nm: FloatArray, tol_nm: float) -> tuple[int, float]:
    """Number of distinct lines among cross-track offsets, and their median spacing.

    Examples
    --------
    >>> line_count(np.array([0.0, 1.0, 0.5, 1.5, 1.55]), 0.15)
    (4, 0.5)
    """
    s = np.sort(np.asarray(cross_nm, dtype=np.float64))
    d = np.diff(s)
    gaps = d[d > tol_nm]
    return int(gaps.size + 1), np_median(gaps) if gaps.size else 0.0


def grid_details(
    cross_nm: FloatArray,
    n_legs: int,
    min_legs: int = 4,
    min_lines: int = 3,
    line_tol_nm: float = 0.15,
) -> dict[str, Any] | None:
    """Grid-specific details of a reversing chain, or None when it is no grid.

    Examples
    --------
    >>> grid_details(np.array([0.0, 1.0, 2.0, 3.0]), 4)["n_lines"]
    4
    >>> grid_details(np.array([0.0, 2.0, 0.0, 2.0]), 4) is None
    True
    """
    n_lines, spacing = line_count(cross_nm, line_tol_nm)
    if n_legs < min_legs or n_lines < min_lines:
        return None
    return {
        "n_turns": int(n_legs - 1),
        "n_lines": n_lines,
        "line_spacing_nm": round(spacing, 2),
        "width_nm": round(float(np.ptp(cross_nm)), 2),
    }
