"""Allocator settings for the processes that run the stages on large inputs.

The stages allocate and free many arrays of a few megabytes per partition.
With the libraries' defaults, much of that memory goes back to the kernel
as soon as it is freed, and the next partition faults it in again, each
page zeroed by the kernel.  Measured on the 50M-point scale dataset
(``/proc`` rusage of one process running 10 bucketed partitions, 1M points
each): 0.35 s of system time per million points out of 1.9 s, and
305,000 minor page faults per 10M points.  Two settings remove most of it:

* ``MIMALLOC_PURGE_DELAY=-1``: Arrow's default memory pool (mimalloc) keeps
  the pages it frees instead of returning them to the kernel after 10 ms.
  Alone: 69,000 faults instead of 305,000.
* ``NUMPY_MADVISE_HUGEPAGE=0``: NumPy asks for transparent huge pages for
  every array of 4 MB or more; on a machine whose huge-page policy is
  ``madvise`` each first touch then makes the kernel zero a whole 2 MB page.

Together: system time 0.15 s per million points, wall time 1.69 to 1.75 s
instead of 1.90 to 1.92 s in the same session; on the whole 50M Dask run
(2 workers) 53.6 and 55.0 s against 60.8 and 57.8 s.  Peak memory is the
peak the stages reach either way; what changes is that a process keeps it.

Both are read once, when NumPy and Arrow load, so they must be in the
environment before either is imported: the command line sets them first
thing (:func:`apply`), child processes inherit them, a Dask LocalCluster
passes them to its workers (:func:`missing`), and workers of an existing
cluster need them in their own environment (README, "Running on a cluster").
A value the user set is never overridden.  They apply to every command,
the long-running ``serve`` and ``watch`` too, which therefore hold on to the
most memory they ever used rather than handing it back between requests.
"""

from __future__ import annotations

import os
import sys

#: Environment settings of a process that runs the stages.
SETTINGS: dict[str, str] = {"MIMALLOC_PURGE_DELAY": "-1", "NUMPY_MADVISE_HUGEPAGE": "0"}


def missing() -> dict[str, str]:
    """The :data:`SETTINGS` this process's environment does not set (to pass on).

    Examples
    --------
    >>> set(missing()) <= set(SETTINGS)
    True
    """
    return {k: v for k, v in SETTINGS.items() if k not in os.environ}


def apply() -> bool:
    """Put :data:`SETTINGS` into this process's environment, keeping any value already set.

    Returns True when NumPy and Arrow are not loaded yet, so this process
    itself runs with them; either way, processes started afterwards inherit them.
    """
    os.environ.update(missing())
    return "numpy" not in sys.modules and "pyarrow" not in sys.modules
