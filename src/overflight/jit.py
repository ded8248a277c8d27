"""Compiled loops: the one place overflight reaches for numba.

Most of overflight is numpy and Arrow over whole columns.  A few hot paths are
sequential by nature (walking each flight's fixes in order, the nearest of a
short list of arcs per point), where numpy needs many passes over temporary
arrays per fix: ``bench/scale.py`` showed them to be the bottleneck of the end-to-end
run.  Those loops are written as plain Python over arrays and compiled with
:func:`njit`; every such module says so in its docstring and has a test
comparing it with a straightforward reference.

:func:`njit` is ``numba.njit(cache=True, nogil=True)`` with its type kept for
mypy: the compiled code is stored in ``__pycache__`` beside the module (or in
``NUMBA_CACHE_DIR``), so only the first process on a machine compiles, and
the GIL is released, so threads can share the work.

Compiled primitives that several stages use live here too:
:func:`sorted_by_group` and :func:`rows_in_order` (clean, patterns, classify
and airspace skip a sort with them) and the
quickselect order statistics :func:`select`, :func:`below` and
:func:`median_of` (identify's envelope, patterns' numpy-exact medians).

Examples
--------
>>> import numpy as np
>>> @njit
... def total(x):
...     s = 0.0
...     for v in x:
...         s += v
...     return s
>>> float(total(np.arange(4.0)))
6.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

F = TypeVar("F", bound=Callable[..., Any])
FloatArray = npt.NDArray[np.float64]


def njit(fn: F) -> F:
    """Compile ``fn`` with numba (no Python objects, cached on disk, GIL released).

    Functions without a source file (typed at a prompt, in a doctest) are
    compiled without the disk cache.
    """
    on_disk = not fn.__code__.co_filename.startswith("<")
    return cast(F, numba.njit(cache=on_disk, nogil=True)(fn))


# Compiled primitives more than one stage needs.


@njit
def _before(c0: Any, t0: Any, c1: Any, t1: Any) -> bool:
    """Whether ``(c1, t1)`` belongs before ``(c0, t0)``; a NaN time counts as
    out of order (the caller's sort puts it last)."""
    return bool(c1 < c0 or (c1 == c0 and not t1 >= t0))


@njit
def sorted_by_group(code: npt.NDArray[Any], t: npt.NDArray[Any]) -> bool:
    """Whether rows are in ``(code, t)`` order, ties allowed (a stable sort would not
    move a row; a NaN time counts as out of order).

    Examples
    --------
    >>> sorted_by_group(np.array([0, 0, 1]), np.array([5.0, 5.0, 1.0]))
    True
    >>> sorted_by_group(np.array([1, 0]), np.zeros(2, np.int64))
    False
    """
    for i in range(1, code.size):  # noqa: SIM110 (a compiled loop, not a generator)
        if _before(code[i - 1], t[i - 1], code[i], t[i]):
            return False
    return True


@njit
def rows_in_order(code: npt.NDArray[Any], t: npt.NDArray[Any], rows: npt.NDArray[Any]) -> bool:
    """:func:`sorted_by_group` of ``code[rows]`` and ``t[rows]``, without taking them.

    Examples
    --------
    >>> rows_in_order(np.array([0, 1, 0]), np.array([5, 1, 7]), np.array([0, 2, 1]))
    True
    >>> rows_in_order(np.array([0, 0]), np.array([1.0, np.nan]), np.array([1, 0]))
    False
    """
    for j in range(1, rows.size):
        a, b = rows[j - 1], rows[j]
        if _before(code[a], t[a], code[b], t[b]):
            return False
    return True


@njit
def select(a: FloatArray, k: int) -> None:
    """Reorder ``a`` so that ``a[k]`` is its k-th smallest value, everything
    before it no larger and everything after it no smaller (Hoare quickselect,
    median-of-three pivot; ``a`` has no NaN).

    Examples
    --------
    >>> a = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    >>> select(a, 1)
    >>> float(a[1]), float(below(a, 1))
    (2.0, 1.0)
    """
    lo, hi = 0, a.size - 1
    while hi > lo:
        mid = (lo + hi) >> 1
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


@njit
def below(a: FloatArray, k: int) -> float:
    """After :func:`select` ``(a, k)`` with ``k >= 1``: the (k-1)-th smallest value."""
    lower = a[0]
    for i in range(1, k):
        if a[i] > lower:
            lower = a[i]
    return float(lower)


@njit
def median_of(buf: FloatArray, m: int) -> float:
    """Median of ``buf[:m]`` (reordered) as pandas takes it: the middle value,
    or ``(upper + lower) / 2`` of the two middle ones; NaN when ``m == 0``.

    Examples
    --------
    >>> median_of(np.array([4.0, 1.0, 3.0, 2.0, 99.0]), 4)
    2.5
    """
    if m == 0:
        return np.nan
    a = buf[:m]
    h = m // 2
    select(a, h)
    if m % 2:
        return float(a[h])
    return float((a[h] + below(a, h)) / 2)
