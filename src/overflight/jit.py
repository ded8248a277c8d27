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

F = TypeVar("F", bound=Callable[..., Any])


def njit(fn: F) -> F:
    """Compile ``fn`` with numba (no Python objects, cached on disk, GIL released).

    Functions without a source file (typed at a prompt, in a doctest) are
    compiled without the disk cache.
    """
    on_disk = not fn.__code__.co_filename.startswith("<")
    return cast(F, numba.njit(cache=on_disk, nogil=True)(fn))
