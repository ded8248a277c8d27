"""Pattern events as columns, from the detectors to the events table.

Each detector returns an :class:`Events` block (one kind of event, one entry
per event in every array) instead of one dict per event, so that a batch of a
million points builds its thousand events with a few whole-array operations:

* :func:`py_round` is Python's :func:`round` of every value (correctly
  rounded), what the event numbers have always been rounded with;
* :func:`details_json` writes each event's ``details`` exactly as
  ``json.dumps(details, sort_keys=True)`` does (with :mod:`overflight.jsontext`);
* :func:`merge` puts the blocks of several detectors in the events' order
  (by flight, start, kind, then the order the detectors listed them);
* :func:`to_dicts` gives the dicts the per-flight API returns.

Examples
--------
>>> ev = Events("loiter", np.array([0]), np.array([10.0]),
...     np.array([70.0]), np.array([45.0]), np.array([5.0]),
...     {"radius_nm": Detail(np.array([1.25])), "altitude_min_ft": Detail(np.array([0.0]),
...      np.array([True]))})
>>> details_json(ev).to_pylist()
['{"altitude_min_ft": null, "radius_nm": 1.25}']
>>> to_dicts(ev)[0]["details"]
{'radius_nm': 1.25, 'altitude_min_ft': None}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.jsontext import details_column, json_bools, json_floats, json_ints, json_strings
from overflight.patterns.turns import BoolArray, FloatArray, IntArray

#: The kinds, in the order their names sort (the tie-break of events starting together).
KINDS = ("grid", "loiter", "orbit", "racetrack")


class Detail(NamedTuple):
    """One ``details`` key of a block: a value per event, ``null`` where ``null`` is True.

    ``values`` is float64 (JSON numbers as Python floats), int64, bool or an
    object array of str.
    """

    values: npt.NDArray[Any]
    null: BoolArray | None = None


class Events(NamedTuple):
    """Events of one kind: parallel arrays, one entry per event."""

    kind: str
    flight: IntArray
    """Flight index in the batch; events of a flight are in the detector's order."""
    start_s: FloatArray
    stop_s: FloatArray
    latitude: FloatArray
    longitude: FloatArray
    details: dict[str, Detail]

    def take(self, idx: IntArray) -> Events:
        """The events ``idx``, in that order."""
        d = {
            k: Detail(v.values[idx], None if v.null is None else v.null[idx])
            for k, v in self.details.items()
        }
        return Events(
            self.kind,
            self.flight[idx],
            self.start_s[idx],
            self.stop_s[idx],
            self.latitude[idx],
            self.longitude[idx],
            d,
        )

    @property
    def size(self) -> int:
        """Number of events."""
        return int(self.flight.size)


def no_events(kind: str) -> Events:
    """An empty block."""
    e = np.empty(0)
    return Events(kind, np.empty(0, np.int64), e, e, e, e, {})


def py_round(values: npt.ArrayLike, ndigits: int) -> FloatArray:
    """``round(float(v), ndigits)`` of each value, bit for bit.

    Python rounds the exact binary value to the nearest multiple of
    ``10**-ndigits`` (ties to even) and returns the double nearest that
    decimal.  ``rint(v * 10**ndigits) / 10**ndigits`` does the same (the
    division of an integer by a power of ten is correctly rounded) unless the
    product's rounding error could move it across a half: those values (and
    huge or non-finite ones) are rounded by Python.

    Examples
    --------
    >>> py_round(np.array([2.675, 0.125, -0.04, 1.5]), 2).tolist()
    [2.67, 0.12, -0.04, 1.5]
    >>> py_round(np.array([2.5, -0.4]), 0).tolist()
    [2.0, -0.0]
    """
    x = np.asarray(values, dtype=np.float64)
    scale = 10.0**ndigits
    with np.errstate(invalid="ignore", over="ignore"):
        y = x * scale
        r = np.rint(y)
        out = np.asarray(r / scale, dtype=np.float64)
        margin = np.abs(0.5 - np.abs(y - r))
        sure = (margin > np.abs(y) * 2.0**-50) & (np.abs(y) < 2.0**50)
    if not sure.all():
        odd = np.flatnonzero(~sure)
        out[odd] = [round(v, ndigits) for v in x[odd].tolist()]
    return out


def _json(d: Detail) -> pa.Array:
    """The JSON text of one key's bool, int or str values."""
    v = d.values
    if v.dtype == np.bool_:
        return json_bools(v, d.null)
    if v.dtype.kind == "i":
        return json_ints(v, d.null)
    return json_strings(v.tolist(), d.null)


def details_json(ev: Events) -> pa.Array:
    """``json.dumps(details, sort_keys=True)`` of each event of a block, as Arrow strings.

    The float keys are encoded together (one :func:`json_floats` call), then sliced.
    """
    n = ev.size
    if not ev.details:
        return pa.array(["{}"] * n, pa.string())
    floats = [k for k, d in ev.details.items() if d.values.dtype == np.float64]
    fields = {k: _json(d) for k, d in ev.details.items() if k not in floats}
    if floats:
        ds = [ev.details[k] for k in floats]
        null = None
        if any(d.null is not None for d in ds):
            null = np.concatenate([np.zeros(n, bool) if d.null is None else d.null for d in ds])
        text = json_floats(np.concatenate([d.values for d in ds]), null)
        fields |= {k: text.slice(i * n, n) for i, k in enumerate(floats)}
    return details_column(fields)


def _value(d: Detail, i: int) -> Any:
    if d.null is not None and d.null[i]:
        return None
    v = d.values[i]
    return v.item() if isinstance(v, np.generic) else v


def to_dicts(ev: Events) -> list[dict[str, Any]]:
    """The event dicts of a block (``kind``, ``start_s``, ``stop_s``, ``latitude``,
    ``longitude``, ``details``), as the per-flight functions return them."""
    out = []
    for i in range(ev.size):
        out.append(
            {
                "kind": ev.kind,
                "start_s": float(ev.start_s[i]),
                "stop_s": float(ev.stop_s[i]),
                "latitude": float(ev.latitude[i]),
                "longitude": float(ev.longitude[i]),
                "details": {k: _value(d, i) for k, d in ev.details.items()},
            }
        )
    return out


class Merged(NamedTuple):
    """Events of several blocks in their final order (:func:`merge`)."""

    flight: IntArray
    kind: list[str]
    start_s: FloatArray
    stop_s: FloatArray
    latitude: FloatArray
    longitude: FloatArray
    details: pa.Array
    """The ``details`` JSON text (Arrow strings)."""
    block: IntArray
    """Which block each event came from, and its position there."""
    position: IntArray


def merge(blocks: Sequence[Events]) -> Merged:
    """All events by flight, start and kind; ties (same kind, so same block) keep
    the block's order."""

    def cat(name: str, dtype: Any) -> npt.NDArray[Any]:
        parts = [np.asarray(getattr(b, name), dtype) for b in blocks]
        return np.concatenate(parts) if parts else np.empty(0, dtype)

    flight = cat("flight", np.int64)
    start_s = cat("start_s", np.float64)
    sizes = [b.size for b in blocks]
    block = np.repeat(np.arange(len(blocks), dtype=np.int64), sizes)
    position = np.concatenate([np.arange(n, dtype=np.int64) for n in sizes] or [np.empty(0, int)])
    rank = np.repeat(np.array([KINDS.index(b.kind) for b in blocks], np.int64), sizes)
    by = np.lexsort((position, rank, start_s, flight))
    text = pa.concat_arrays([details_json(b) for b in blocks] or [pa.array([], pa.string())])
    kinds = [b.kind for b in blocks]
    return Merged(
        flight[by],
        [kinds[k] for k in block[by].tolist()],
        start_s[by],
        cat("stop_s", np.float64)[by],
        cat("latitude", np.float64)[by],
        cat("longitude", np.float64)[by],
        text.take(pa.array(by)),
        block[by],
        position[by],
    )
