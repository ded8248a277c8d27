"""Allocator settings for the processes that run the stages on large inputs.

The stages allocate and free many arrays of a few megabytes per partition.
Arrow's default memory pool (mimalloc) hands the pages it frees back to the
kernel after 10 ms, and the next partition faults them in again, each one
zeroed by the kernel: ``perf`` on one process running bucketed partitions
of the 50M-point scale dataset put 16.5% of all CPU time in the kernel's
page clearing.  ``MIMALLOC_PURGE_DELAY=-1`` makes the pool keep its pages:
minor page faults per 10M points went from 305,000 to 69,000, and wall time
per million points from 1.90-1.92 s to 1.78-1.89 s in the same session.
Peak memory is the peak the stages reach either way; what changes is that
a process keeps it.

Tried and not kept: ``NUMPY_MADVISE_HUGEPAGE=0`` (NumPy's huge-page advice
off) lowered system time in one process, but whole 50M-point Dask runs were
1.4 to 2.9 s slower with it in three alternating pairs, and start-up faults
in the caches' large arrays 4 KB at a time (about 1 s more system time for a
1M-point run).  glibc's ``mmap_threshold``/``trim_threshold`` tunables for
NumPy's own arrays changed CPU time by 0 to 4%, within this machine's noise.

The setting is read once, when Arrow loads, so it must be in the
environment before pyarrow is imported: the command line sets it first
thing (:func:`apply`), child processes inherit it, a Dask LocalCluster
passes it to its workers (:func:`missing`), and workers of an existing
cluster need it in their own environment (README, "Running on a real
cluster").  A value the user set is never overridden.  It applies to every
command, the long-running ``serve`` and ``watch`` too, which therefore hold
on to the most memory they ever used rather than handing it back between
requests.
"""

from __future__ import annotations

import os
import sys

#: Environment settings of a process that runs the stages.
SETTINGS: dict[str, str] = {"MIMALLOC_PURGE_DELAY": "-1"}


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

    Returns True when Arrow is not loaded yet, so this process itself runs
    with them; either way, processes started afterwards inherit them.
    """
    os.environ.update(missing())
    return "pyarrow" not in sys.modules
