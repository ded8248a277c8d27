"""Straight legs and the reversals between them: the raw material of racetracks
and survey grids.

A leg is a stretch of a segment where the short-window turn rate stays under
``straight_rate_deg_s`` for at least ``min_leg_s`` (its ends extended by half
the averaging window, which otherwise eats into every leg).  Two consecutive legs of the
same segment are joined by a *reversal* when the heading turned through about
180° (``140``–``220``°) between them.  Chains of legs joined by reversals are
handed to the racetrack and grid detectors, which tell them apart by how the
legs sit side by side: a racetrack flies the same two lines again and again, a
survey grid steps sideways line after line.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from overflight.geodesy import NM_M, bearing_deg, haversine_m
from overflight.patterns.batch import Batch, from_resampled, short_window_s, windowed_rate_batch
from overflight.patterns.reduce_jit import np_mean
from overflight.patterns.turns import (
    FloatArray,
    IntArray,
    Resampled,
    local_xy_nm,
    runs,
    wrap180,
)


class Legs(NamedTuple):
    """Straight legs of one flight (parallel arrays, in time order)."""

    start: IntArray
    stop: IntArray
    """Exclusive grid index."""
    course_deg: FloatArray
    length_nm: FloatArray
    duration_s: FloatArray
    turn_after_deg: FloatArray
    """Signed heading change from this leg's end to the next leg's start (NaN
    when the next leg is in another segment or there is none)."""


def legs_batch(
    b: Batch,
    straight_rate_deg_s: float = 0.5,
    min_leg_s: float = 40.0,
    min_leg_nm: float = 0.5,
    short: FloatArray | None = None,
) -> Legs:
    """Straight legs of every flight of a batch (batch indices, in order).

    ``short`` is the short-window turn rate when already computed.  A leg
    never spans two segments, so never two flights.
    """
    r = b.r
    window = short_window_s(b)
    rate = windowed_rate_batch(b, window) if short is None else short
    moving = r.speed_kt >= 25.0
    s0, s1 = runs((np.abs(rate) < straight_rate_deg_s) & moving, r.seg)
    # the centred window blurs half a window of each turn into the leg ends:
    # give it back, or 1-minute holding legs would shrink below min_leg_s
    half = np.round(window / 2.0 / r.step_s).astype(np.int64)[b.flight[s0]]
    seg_start = b.seg_start[s0]
    seg_stop = b.seg_stop[s0] + 1
    s0 = np.maximum(s0 - half, seg_start)
    s1 = np.minimum(s1 + half, seg_stop)
    if s0.size > 1:  # never overlap the neighbouring leg
        s0[1:] = np.maximum(s0[1:], s1[:-1])
    dur = (s1 - 1 - s0) * r.step_s
    keep = dur >= min_leg_s
    s0, s1, dur = s0[keep], s1[keep], dur[keep]
    la, lo = r.latitude, r.longitude
    length = np.asarray(haversine_m(la[s0], lo[s0], la[s1 - 1], lo[s1 - 1])) / NM_M
    keep = length >= min_leg_nm
    s0, s1, dur, length = s0[keep], s1[keep], dur[keep], length[keep]
    course = np.asarray(bearing_deg(la[s0], lo[s0], la[s1 - 1], lo[s1 - 1]), dtype=np.float64)
    turn = np.full(s0.size, np.nan)
    if s0.size > 1:
        same = r.seg[s0[1:]] == r.seg[s1[:-1] - 1]
        dh = r.heading_deg[s0[1:]] - r.heading_deg[s1[:-1] - 1]
        turn[:-1] = np.where(same, dh, np.nan)
    return Legs(s0, s1, course, length, dur.astype(np.float64), turn)


def find_legs(
    r: Resampled,
    straight_rate_deg_s: float = 0.5,
    min_leg_s: float = 40.0,
    min_leg_nm: float = 0.5,
) -> Legs:
    """Straight legs of one resampled flight.

    Examples
    --------
    >>> from overflight.patterns.turns import resample
    >>> t = np.arange(0.0, 900.0, 10.0)
    >>> legs = find_legs(resample(t, np.linspace(0, 0.5, 90), np.zeros(90)))
    >>> len(legs.start), round(float(legs.course_deg[0]))
    (1, 0)
    """
    return legs_batch(from_resampled([r]), straight_rate_deg_s, min_leg_s, min_leg_nm)


def chain_bounds(
    legs: Legs,
    min_turn_deg: float = 140.0,
    max_turn_deg: float = 220.0,
    max_course_err_deg: float = 35.0,
    min_legs: int = 3,
) -> tuple[IntArray, IntArray]:
    """First leg and end (exclusive) of each chain of consecutive legs joined by
    reversals, ``min_legs`` or more.

    Examples
    --------
    >>> nan = float("nan")
    >>> legs = Legs(np.arange(4), np.arange(4) + 1, np.array([0.0, 180, 0, 180]),
    ...     np.ones(4), np.ones(4), np.array([180.0, 180, 180, nan]))
    >>> [v.tolist() for v in chain_bounds(legs)]
    [[0], [4]]
    """
    n = legs.start.size
    if n < min_legs:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    t = np.abs(legs.turn_after_deg[:-1])
    back = np.abs(wrap180(legs.course_deg[1:] - legs.course_deg[:-1] - 180.0))
    link = (t >= min_turn_deg) & (t <= max_turn_deg) & (back <= max_course_err_deg)
    s0, s1 = runs(link)
    keep = s1 + 1 - s0 >= min_legs
    return s0[keep], s1[keep] + 1


def reversal_chains(
    legs: Legs,
    min_turn_deg: float = 140.0,
    max_turn_deg: float = 220.0,
    max_course_err_deg: float = 35.0,
    min_legs: int = 3,
) -> list[IntArray]:
    """Index arrays of consecutive legs joined by reversals (:func:`chain_bounds`).

    Examples
    --------
    >>> nan = float("nan")
    >>> legs = Legs(np.arange(4), np.arange(4) + 1, np.array([0.0, 180, 0, 180]),
    ...     np.ones(4), np.ones(4), np.array([180.0, 180, 180, nan]))
    >>> [c.tolist() for c in reversal_chains(legs)]
    [[0, 1, 2, 3]]
    """
    c0, c1 = chain_bounds(legs, min_turn_deg, max_turn_deg, max_course_err_deg, min_legs)
    return [np.arange(a, b) for a, b in zip(c0.tolist(), c1.tolist(), strict=True)]


def leg_offsets(r: Resampled, legs: Legs, idx: IntArray) -> tuple[FloatArray, FloatArray, float]:
    """Cross-track offsets (NM) of leg midpoints, along-track positions, axis.

    The axis is the mean leg direction taken modulo 180° (doubled-angle mean),
    so legs flown in opposite directions share it.
    """
    a = np.radians(2.0 * legs.course_deg[idx])
    axis = float(np.degrees(np.arctan2(np.sin(a).sum(), np.cos(a).sum())) / 2.0) % 180.0
    mid = (legs.start[idx] + legs.stop[idx] - 1) // 2
    lat0 = np_mean(r.latitude[mid])
    lon0 = np_mean(r.longitude[mid])
    x, y = local_xy_nm(r.latitude[mid], r.longitude[mid], lat0, lon0)
    ux, uy = np.sin(np.radians(axis)), np.cos(np.radians(axis))
    along = x * ux + y * uy
    cross = x * uy - y * ux
    return cross, along, axis
