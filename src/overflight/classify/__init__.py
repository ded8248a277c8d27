"""classify stage: a mission for every flight, with confidence and reason.

:func:`classify_flights` adds ``mission``, ``mission_confidence`` and
``mission_reason`` to the flights table.  Missions are those of
:data:`overflight.classify.samples.MISSIONS`.  The model is an extra-trees
ensemble over trajectory features (:mod:`overflight.classify.features`) trained on
labelled real flights plus simulated ones (:mod:`overflight.classify.train`);
identity facts from the identify stage (``military``, ``isr_type``,
``drone_envelope``, ``glider_registration``, ``db_mission``), when present on
the flights table, reweight its probabilities (:data:`overflight.classify.model.IDENTITY_FACTORS`,
:data:`~overflight.classify.model.DB_MISSION_FACTOR`).

A flight with under ``min_minutes`` of airborne positions gets ``other`` with
confidence 0 and a reason that says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from overflight.classify.explain import REASON_KEYS, reason
from overflight.classify.features import features_table
from overflight.classify.model import IDENTITY_COLUMNS, MissionModel, apply_identity, load_model
from overflight.classify.samples import MISSIONS
from overflight.patterns.turns import Resampled

__all__ = ["MISSIONS", "classify_flights", "load_model"]


def classify_flights(
    flights: pa.Table | pd.DataFrame,
    points: pa.Table | pd.DataFrame,
    events: pa.Table | pd.DataFrame | None = None,
    model: MissionModel | None = None,
    min_minutes: float = 5.0,
    resampled: dict[str, tuple[str, Resampled]] | None = None,
) -> pa.Table:
    """The flights table with ``mission``, ``mission_confidence``, ``mission_reason``.

    Parameters
    ----------
    flights
        One row per flight (at least ``flight_id``); optional identity
        columns ``military``, ``isr_type``, ``drone_envelope``,
        ``glider_registration`` (booleans) and ``db_mission`` (a mission name
        or null).
    points
        The points table of those flights.
    events
        The patterns events table; detected here when None.
    model
        Defaults to the model shipped in the package.
    min_minutes
        Shorter flights are not classified (``other``, confidence 0).
    resampled
        ``patterns.resample_flights(points)`` (default step) when the caller
        has it already, so that the flights are not resampled again.

    Returns
    -------
    pyarrow.Table
        ``flights`` with the three columns added or replaced.
    """
    fl = flights.to_pandas() if isinstance(flights, pa.Table) else flights.copy()
    mdl = load_model() if model is None else model
    ids = fl["flight_id"].astype(str)
    feats = features_table(
        points, events, min_minutes=min_minutes, resampled=resampled, flight_ids=set(ids)
    )
    proba = mdl.predict_proba(feats)
    flags = fl.set_index(ids)[[c for c in IDENTITY_COLUMNS if c in fl.columns]]
    flags = flags[~flags.index.duplicated()]
    proba, notes = apply_identity(proba, flags)
    size = len(ids)
    mission = np.full(size, "other", dtype=object)
    conf = np.zeros(size)
    why = np.full(size, f"too little data: under {min_minutes:g} min of airborne positions", object)
    if len(proba):
        best = proba.to_numpy().argmax(axis=1)
        labels = np.asarray(proba.columns)[best]
        pmax = proba.to_numpy().max(axis=1)
        # plain dicts of the features a reason reads: a row Series per flight
        # costs more than the whole model
        rows = feats.reindex(proba.index)[list(REASON_KEYS)].to_numpy().tolist()
        texts = [
            reason(dict(zip(REASON_KEYS, row, strict=True)), str(m), float(p), str(n))
            for row, m, p, n in zip(rows, labels, pmax, notes.to_numpy(), strict=True)
        ]
        at = proba.index.get_indexer(ids)  # each flight's row of proba, -1 for none
        known = at >= 0
        mission[known] = labels[at[known]]
        conf[known] = pmax[at[known]]
        why[known] = np.asarray(texts, dtype=object)[at[known]]
    fl["mission"] = mission
    fl["mission_confidence"] = conf
    fl["mission_reason"] = why
    return pa.Table.from_pandas(fl, preserve_index=False)
