"""Progress of long runs: one small event type that both engines report.

An engine calls ``on_progress(Progress(...))`` when a map task (reading and
splitting inputs) or a partition (every stage) finishes.  :func:`text_progress`
prints one line per event, throttled; :func:`rich_progress` shows bars.

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> report = text_progress(out, min_interval_s=0.0)
>>> report(Progress("process", 1, 4, 250_000, 10.0))
>>> out.getvalue().split(",")[0]
'process: 1/4 partitions'
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

#: The name of each phase and what its units are.
PHASES = {"partition": "inputs", "process": "partitions"}


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` units of ``phase`` finished, ``rows`` rows so far."""

    phase: str
    done: int
    total: int
    rows: int
    elapsed_s: float

    @property
    def rows_per_s(self) -> float:
        """Throughput of the phase so far."""
        return self.rows / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left if the remaining units go as fast as the done ones."""
        if self.done == 0 or self.total <= self.done:
            return None if self.done == 0 else 0.0
        return self.elapsed_s / self.done * (self.total - self.done)


ProgressCallback = Callable[[Progress], None]


def describe(p: Progress) -> str:
    """One line about an event."""
    text = (
        f"{p.phase}: {p.done}/{p.total} {PHASES.get(p.phase, 'tasks')}, "
        f"{p.rows:,} rows, {p.elapsed_s:.0f} s, {p.rows_per_s:,.0f} rows/s"
    )
    if p.eta_s is not None and p.done < p.total:
        text += f", about {p.eta_s:.0f} s left"
    return text


def text_progress(stream: TextIO | None = None, min_interval_s: float = 2.0) -> ProgressCallback:
    """A callback printing :func:`describe` lines, at most one per ``min_interval_s``.

    The last event of a phase is always printed.
    """
    last = [-float("inf")]

    def report(p: Progress) -> None:
        now = time.monotonic()
        if p.done >= p.total or now - last[0] >= min_interval_s:
            last[0] = now
            print(describe(p), file=stream or sys.stderr, flush=True)

    return report


@contextmanager
def rich_progress() -> Iterator[ProgressCallback]:
    """Progress bars on the terminal (``rich``) for the duration of the block."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bars

    bars = Bars(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def report(p: Progress) -> None:
        if p.phase not in tasks:
            label = f"{p.phase} ({PHASES.get(p.phase, 'tasks')})"
            tasks[p.phase] = bars.add_task(label, total=p.total, rows=0)
        bars.update(tasks[p.phase], completed=p.done, total=p.total, rows=p.rows)

    with bars:
        yield report
