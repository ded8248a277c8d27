"""Airspace sovereignty: did an aircraft enter another country's national airspace?

National airspace is the land territory plus the territorial sea (12 NM from
the baseline); beyond it, the EEZ included, the airspace is international.

Typical use::

    from overflight.airspace import airspace_events, classify_points, load_boundaries

    b = load_boundaries()  # npm defaults, cached after the first load
    points = classify_points(points, b)  # country, countries, zone, boundary_distance_m
    events = airspace_events(points, b, focus="MEX", near_km=50)

Modules: :mod:`~overflight.airspace.sources` (reading files),
:mod:`~overflight.airspace.repair` (validity, antimeridian),
:mod:`~overflight.airspace.cache`, :mod:`~overflight.airspace.boundaries`,
:mod:`~overflight.airspace.grid` and :mod:`~overflight.airspace.index` (exact
grid classifier), :mod:`~overflight.airspace.classify`,
:mod:`~overflight.airspace.distance` (with :mod:`~overflight.airspace.nearest`,
:mod:`~overflight.airspace.cells` and :mod:`~overflight.airspace.arcs`),
:mod:`~overflight.airspace.events` (with :mod:`~overflight.airspace.keys`,
:mod:`~overflight.airspace.crossing` and :mod:`~overflight.airspace.details`),
:mod:`~overflight.airspace.authorise`, :mod:`~overflight.airspace.reach`,
:mod:`~overflight.airspace.info` (provenance and map features for the report).
"""

from __future__ import annotations

from overflight.airspace.authorise import Rule, apply_authorisations, load_authorisations
from overflight.airspace.boundaries import Boundaries, Layer, boundaries_cached, load_boundaries
from overflight.airspace.classify import (
    POINT_COLUMNS,
    classify_lonlat,
    classify_points,
    point_classes,
)
from overflight.airspace.distance import boundary_distance_m
from overflight.airspace.events import AIRSPACE_EVENT_FIELDS, AIRSPACE_EVENT_SCHEMA, airspace_events
from overflight.airspace.focus import distance_to_country_m
from overflight.airspace.info import boundary_features, dataset_info
from overflight.airspace.reach import REACH_SCHEMA, horizon_km, observation_reach
from overflight.airspace.repair import BoundaryWarning

__all__ = [
    "AIRSPACE_EVENT_FIELDS",
    "AIRSPACE_EVENT_SCHEMA",
    "POINT_COLUMNS",
    "REACH_SCHEMA",
    "Boundaries",
    "BoundaryWarning",
    "Layer",
    "Rule",
    "airspace_events",
    "apply_authorisations",
    "boundaries_cached",
    "boundary_distance_m",
    "boundary_features",
    "classify_lonlat",
    "classify_points",
    "dataset_info",
    "distance_to_country_m",
    "horizon_km",
    "load_authorisations",
    "load_boundaries",
    "observation_reach",
    "point_classes",
]
