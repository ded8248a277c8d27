"""Shareable evidence: the HTML report, open-format exports and a verifiable manifest.

:func:`write_report` writes into one folder:

==================  ==========================================================
report.html         one self-contained page (map, summary, flights, timelines)
flights.geojson     RFC 7946 tracks, events and observation reach
flights.kml         KML 2.2 for Google Earth
flights.csv         the flights table, ISO 8601 UTC times
events.csv          the events table, ISO 8601 UTC times
points.geoparquet   every position, GeoParquet 1.1 (not when ``points/``, the out-of-core
                    engines' GeoParquet dataset, is there)
manifest.json       SHA-256 of every input and output, version, parameters
==================  ==========================================================

:func:`verify` checks a folder against its manifest, :func:`sign` adds an
Ed25519 signature and :func:`generate_keypair` makes a key pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from overflight.report._frame import reach_table, valid_positions
from overflight.report.geojson import write_geojson
from overflight.report.html import EXPORTS, boundary_dataset, write_html
from overflight.report.kml import write_kml
from overflight.report.manifest import (
    MANIFEST,
    SIGNATURE,
    generate_keypair,
    sign,
    utc_now,
    verify,
    write_manifest,
)
from overflight.report.tables import write_csv, write_geoparquet
from overflight.schema import EVENT_SCHEMA
from overflight.store.dataset import is_dataset

__all__ = ["MANIFEST", "SIGNATURE", "generate_keypair", "sign", "verify", "write_report"]


def write_report(
    out_dir: str | Path,
    points: pa.Table,
    flights: pa.Table,
    events: pa.Table | None,
    reach: pa.Table | None = None,
    *,
    boundary_features: Sequence[dict[str, Any]] | None = None,
    params: Mapping[str, Any] | None = None,
    max_points_per_flight: int = 2000,
    max_timelines: int = 40,
) -> dict[str, Path]:
    """Write the report, the exports and the manifest into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write into (created if needed).  Files already there that
        the report does not write are listed in the manifest as outputs too,
        so write into a fresh folder.  A stale ``manifest.sig`` is removed.
    points, flights, events
        The pipeline's tables (``events`` may be None).  Columns added by
        later stages (zone, country, mission, ...) are used when present.
    reach
        Optional observation-reach table: ``flight_id, country, area_km2,
        geometry`` (GeoJSON text).
    boundary_features
        GeoJSON Feature dicts drawn as the map background, with properties
        ``iso3`` (also ``isoA3``, ``A3``, ...) and ``zone`` (``"land"`` or
        ``"territorial_sea"``; land when absent).
    params
        Analysis parameters, stored in the manifest and shown in the report.
        Keys read here: ``focus`` (ISO3), ``inputs`` (input file paths, hashed
        into the manifest), ``boundary_dataset`` (``{"name", "version"}``).
    max_points_per_flight
        Positions per flight drawn on the map (the exports keep all).
    max_timelines
        Flights that get a timeline, most notable first.

    Returns
    -------
    dict
        File name → path of everything written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    params = dict(params or {})
    events = EVENT_SCHEMA.empty_table() if events is None else events
    reach = reach_table(reach)
    created = utc_now()
    (out / SIGNATURE).unlink(missing_ok=True)
    # the out-of-core engines write the points as a GeoParquet dataset already
    engine_points = is_dataset(out / "points")
    exports = [e for e in EXPORTS if not (engine_points and e == "points.geoparquet")]
    positions = valid_positions(points)  # once, for the map, the tracks and the timelines
    written = {
        "report.html": write_html(
            out / "report.html",
            points,
            flights,
            events,
            reach,
            boundary_features=boundary_features,
            params=params,
            created=created,
            max_points_per_flight=max_points_per_flight,
            max_timelines=max_timelines,
            exports=[*exports, "points/"] if engine_points else exports,
            positions=positions,
        ),
        "flights.geojson": write_geojson(
            out / "flights.geojson", positions, flights, events, reach
        ),
        "flights.kml": write_kml(out / "flights.kml", positions, flights, events, reach),
        "flights.csv": write_csv(out / "flights.csv", flights),
        "events.csv": write_csv(out / "events.csv", events),
    }
    if not engine_points:
        written["points.geoparquet"] = write_geoparquet(out / "points.geoparquet", points)
    inputs = params.get("inputs") or ()
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    written[MANIFEST] = write_manifest(
        out,
        inputs=[str(p) for p in inputs],
        params=params,
        boundary_dataset=boundary_dataset(params),
        created=created,
    )
    return written
