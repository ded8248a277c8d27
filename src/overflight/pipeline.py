"""The main job: inputs to an analysis folder, one stage after another.

``overflight analyze`` and ``overflight demo`` call :func:`analyze`; the live
watcher reuses the same stage functions on its rolling window.  Outputs are
written into a staging folder inside ``out_dir`` and moved into place only
when every stage succeeded, so a failed run never leaves files that look
complete.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from overflight import airspace, classify, clean, identify, ingest, patterns, report
from overflight.errors import InputError
from overflight.schema import EVENT_SCHEMA, TIMESTAMP, conform
from overflight.store.dataset import is_dataset, read_dataset

#: Called with a short description of each step as it starts.
StepCallback = Callable[[str], None]

#: Readers of raw Mode S, which take a receiver ``reference`` position.
RAW_FORMATS = ("beast", "avr", "jet1090")
#: Readers of decoded records, where a record that does not parse is bad input.
RECORD_FORMATS = ("sbs", "readsb", "opensky", "traffic", "table")


#: What each rejection reason of a record reader means, for the error message.
REASON_TEXT = {
    "fields": "wrong number of comma-separated fields",
    "number": "a numeric field does not parse as a number",
    "timestamp": "its time does not parse",
    "icao24": "no valid ICAO 24-bit address (6 hex digits)",
    "non_icao": "a non-ICAO (anonymous) address",
    "msg_type": "not an SBS-1 MSG line",
    "record": "not the JSON object or list the format has there",
    "no_start": "no START line before it",
    "start_time": "the START line's time does not parse",
    "clock_reset": "the receiver clock went back (a restart without a START line)",
    "crc": "its CRC does not check",
    "length": "the wrong length for its downlink format",
    "unsupported_df": "a downlink format that carries none of the table's fields",
    "unknown_address": "a reply whose address only its parity gives (DF0/4/5/16/20/21), "
    "from an aircraft that no squitter in the file confirms",
    "no_field": "a valid frame that carries no position, altitude, speed, callsign or squawk",
}


def unused_inputs(stats: dict[str, Any]) -> list[str]:
    """One line for each input whose records all were left out, saying why.

    ``stats`` maps each input to its reader statistics (:func:`read_inputs`).

    Examples
    --------
    >>> unused_inputs({"a.csv": {"records": 3, "rows": 0, "reasons": {"crc": 3}}})
    ['a.csv: none of its 3 records gave a message: crc 3 (its CRC does not check)']
    """
    lines = []
    for path, st in stats.items():
        records = int(st.get("records") or 0)
        if records == 0 or int(st.get("rows", -1)) != 0:
            continue
        reasons = sorted(st.get("reasons", {}).items(), key=lambda kv: -int(kv[1]))
        why = "; ".join(
            f"{k} {int(v):,}" + (f" ({REASON_TEXT[k]})" if k in REASON_TEXT else "")
            for k, v in reasons
        )
        why = why or "no reason given"
        lines.append(f"{path}: none of its {records:,} records gave a message: {why}")
    return lines


def check_invalid(path: str | Path, fmt: str, stats: dict[str, Any], on_invalid: str) -> None:
    """Raise :class:`InputError` for unreadable records when ``on_invalid`` is ``"error"``."""
    if on_invalid not in ("error", "skip"):
        raise InputError(f"on_invalid must be 'error' or 'skip', got {on_invalid!r}")
    rejected = int(stats.get("rejected", 0))
    if on_invalid == "skip" or fmt not in RECORD_FORMATS or rejected == 0:
        return
    first = [str(x) for x in stats.get("first_rejected", [])]
    record, _, why = first[0].partition(": ") if first else ("", "", "")
    reasons = ", ".join(f"{k}: {v}" for k, v in stats.get("reasons", {}).items())
    meaning = f" ({REASON_TEXT[why]})" if why in REASON_TEXT else ""
    raise InputError(
        f"{rejected} record(s) could not be read ({reasons}); first one: "
        f"{why or 'unreadable'}{meaning} (pass --on-invalid skip to count and leave them out)",
        path,
        record or None,
    )


def check_focus(focus: str | None, boundaries: airspace.Boundaries | None) -> None:
    """Refuse a focus code that no country of ``boundaries`` has.

    A typo (``--focus FRN``) would otherwise run to the end and report that
    nobody entered a country that does not exist.

    Examples
    --------
    >>> check_focus(None, None)
    """
    if not focus or boundaries is None:
        return
    codes = {c for item in boundaries.item_codes for c in item if c}
    if focus.upper() in codes:
        return
    import difflib

    near = difflib.get_close_matches(focus.upper(), sorted(codes), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    raise InputError(
        f"--focus {focus}: no country has this code in the boundaries; expected an ISO 3166 "
        f"alpha-3 code such as FRA{hint}"
    )


@dataclass(frozen=True)
class AnalyzeOptions:
    """Parameters of one analysis; every field is recorded in the manifest."""

    fmt: str | None = None
    mapping: dict[str, str] | None = None
    units: dict[str, str] | None = None
    reference: tuple[float, float] | None = None
    #: ``"error"``: a record of a decoded-data file (CSV, SBS, JSON) that does
    #: not parse stops the run, naming the file and line; ``"skip"``: such
    #: records are counted and left out.  Raw radio frames that fail CRC are
    #: always counted, never an error.
    on_invalid: str = "error"
    extra: dict[str, Any] = field(default_factory=dict)

    def reader_options(self, fmt: str) -> dict[str, Any]:
        """The options that apply to the reader of format ``fmt``."""
        opts: dict[str, Any] = {}
        if fmt == "table":
            if self.mapping:
                opts["mapping"] = self.mapping
            if self.units:
                opts["units"] = self.units
        elif fmt in RAW_FORMATS:
            if self.reference is not None:
                opts["reference"] = self.reference
            if fmt == "beast":  # a capture cut mid-frame: the frames before the cut
                opts["on_invalid"] = self.on_invalid
        return opts


@dataclass
class AnalyzeResult:
    """What :func:`analyze` produced, for the CLI summary."""

    out_dir: Path
    points: pa.Table
    flights: pa.Table
    events: pa.Table | None
    files: list[Path]
    stats: dict[str, Any]


def read_inputs(
    inputs: Sequence[str | Path],
    options: AnalyzeOptions,
    on_step: StepCallback | None = None,
) -> tuple[pa.Table, dict[str, Any]]:
    """Read every input into one message table; return it with per-file stats."""
    tables = []
    stats: dict[str, Any] = {}
    for path in inputs:
        if on_step:
            on_step(f"reading {Path(path).name}")
        fmt = options.fmt or ("table" if options.mapping else ingest.detect_format(path))
        table = ingest.read(path, fmt=fmt, **options.reader_options(fmt))
        stats[str(path)] = ingest.table_stats(table)
        check_invalid(path, fmt, stats[str(path)], options.on_invalid)
        tables.append(conform(table.replace_schema_metadata(None)))
    if not tables:
        raise InputError("no input files given")
    return pa.concat_tables(tables), stats


@dataclass
class Context:
    """What stays loaded between runs: boundaries, aircraft database, model.

    Build it once with :meth:`load`; :func:`process` reads it and never
    changes it, so the live watcher shares one across its ticks.
    """

    focus: str | None = None
    near_km: float = 50.0
    boundaries: Any = None
    aircraft_db: pa.Table | None = None
    authorisations: Any = None
    model: Any = None
    reach_range_km: float | None = None

    @classmethod
    def load(
        cls,
        *,
        focus: str | None = None,
        near_km: float = 50.0,
        boundaries: str | Path | None = None,
        land: str | Path | None = None,
        zones: Sequence[str | Path] = (),
        aircraft_db: Sequence[str | Path] = (),
        authorisations: str | Path | None = None,
        airspace_enabled: bool = True,
        reach_range_km: float | None = None,
    ) -> Context:
        """Load every resource the stages need (cached on disk where they can be)."""
        bounds = (
            airspace.load_boundaries(maritime=boundaries, land=land, zones=list(zones) or None)
            if airspace_enabled
            else None
        )
        check_focus(focus, bounds)
        return cls(
            focus=focus.upper() if focus else None,
            near_km=near_km,
            boundaries=bounds,
            aircraft_db=identify.load_aircraft_db(list(aircraft_db)) if aircraft_db else None,
            authorisations=(
                airspace.load_authorisations(authorisations) if authorisations else None
            ),
            model=classify.load_model(),
            reach_range_km=reach_range_km,
        )


@dataclass
class Analysis:
    """The tables one run produces."""

    points: pa.Table
    flights: pa.Table
    events: pa.Table
    reach: pa.Table | None = None


def _concat_events(*tables: pa.Table | None) -> pa.Table:
    parts = [conform(t, EVENT_SCHEMA) for t in tables if t is not None and t.num_rows]
    if not parts:
        return EVENT_SCHEMA.empty_table()
    return pa.concat_tables(parts)


def process(messages: pa.Table, context: Context, on_step: StepCallback | None = None) -> Analysis:
    """Every stage after ingest, on one message table: the same code for files and live."""

    def step(text: str) -> None:
        if on_step:
            on_step(text)

    step("cleaning and splitting flights")
    points, flights = clean.run(messages)
    step("identifying aircraft")
    flights = identify.identify_flights(flights, points, context.aircraft_db)
    step("detecting orbits, racetracks and grids")
    resampled = patterns.resample_flights(points)  # once, for patterns and missions
    pattern_events = patterns.detect_patterns(points, resampled=resampled)
    step("classifying missions")
    flights = classify.classify_flights(
        flights, points, pattern_events, model=context.model, resampled=resampled
    )
    airspace_events = None
    reach = None
    if context.boundaries is not None:
        step("deciding airspace for every point")
        points, airspace_events = place(points, flights, context)
        if context.focus:
            step(f"observation reach into {context.focus}")
            reach = airspace.observation_reach(
                points, context.boundaries, context.focus, range_km=context.reach_range_km
            )
    events = _concat_events(airspace_events, pattern_events)
    return Analysis(points, flights, events, reach)


def warm_up_messages() -> pa.Table:
    """A small made-up message table that takes :func:`process` through its stages.

    Two aircraft over the Strait of Dover (land, territorial seas of two
    countries and international airspace): one circles for an hour and a
    half, one flies a straight leg across.  Made up for :func:`warm_up`
    only: no result is ever drawn from it.
    """
    t0 = np.datetime64("2024-01-01T10:00:00", "ns").astype(np.int64)
    # an orbit of radius 0.15 degrees latitude, one turn per 12 minutes, every 4 s
    ts = np.arange(0, 90 * 60, 4.0)
    angle = 2 * np.pi * ts / 720.0
    lat1 = 51.05 + 0.15 * np.sin(angle)
    lon1 = 1.45 + 0.24 * np.cos(angle)
    # a straight leg, every 10 s
    tl = np.arange(0, 60 * 60, 10.0)
    lat2 = 50.2 + 1.6 * tl / tl[-1]
    lon2 = -1.0 + 4.5 * tl / tl[-1]
    seconds = np.concatenate([ts, tl])
    lat, lon = np.concatenate([lat1, lat2]), np.concatenate([lon1, lon2])
    n1, n2 = ts.size, tl.size
    track = np.concatenate([np.degrees(-angle) % 360.0, np.full(n2, 55.0)])

    def label(a: str, b: str) -> list[str]:
        return [a] * n1 + [b] * n2

    table = pa.table(
        {
            "timestamp": pa.array(t0 + (seconds * 1e9).astype(np.int64), TIMESTAMP),
            "icao24": label("43c001", "4ca001"),
            "callsign": label("WARM01", "WARM02"),
            "latitude": lat,
            "longitude": lon,
            "altitude": np.concatenate([np.full(n1, 16000.0), np.full(n2, 35000.0)]),
            "groundspeed": np.concatenate([np.full(n1, 140.0), np.full(n2, 450.0)]),
            "track": track,
            "vertical_rate": np.zeros(n1 + n2),
            "squawk": label("7000", "2000"),
            "onground": np.zeros(n1 + n2, bool),
            "source": label("warm-up", "warm-up"),
        }
    )
    return conform(table)


def warm_up(context: Context) -> None:
    """Run :func:`process` once on :func:`warm_up_messages`, discarding the result.

    A new process pays once for loading the compiled loops from numba's disk
    cache, for imports done on first use and for the airspace structures
    built lazily (cell lists, border samples): about 2 s, before its first
    real rows.  A process that will serve many batches (a live watcher, an
    engine worker) calls this as it starts, so that its first batch is as
    fast as the others.  The airspace structures of countries that the
    made-up flights do not come near are still built when first needed.

    Only a speed-up: should it fail (a context this function did not
    foresee), it warns and the process goes on, as it would have without.
    """
    try:
        process(warm_up_messages(), context)
    except Exception as exc:  # a speed-up is never worth failing a run for
        warnings.warn(f"warm-up skipped ({type(exc).__name__}: {exc})", stacklevel=2)


def place(
    points: pa.Table, flights: pa.Table, context: Context, distance: bool = True
) -> tuple[pa.Table, pa.Table]:
    """The airspace stage: each point's country, zone (and, with ``distance``, its
    boundary distance), then the entries and approaches, with authorisations.

    Needs ``context.boundaries``.  The live watcher calls this without
    ``distance`` on every tick; :func:`process` calls it with.
    """
    b = context.boundaries
    if b is None:
        raise ValueError("place needs a context with boundaries")
    ids = airspace.point_classes(points, b)
    points = airspace.classify_points(points, b, distance=distance, ids=ids)
    events = airspace.airspace_events(
        points,
        b,
        focus=context.focus,
        near_km=context.near_km,
        flights=flights,
        reuse_point_distances=distance,
        point_ids=ids,
    )
    if context.authorisations is not None:
        events = airspace.apply_authorisations(events, flights, context.authorisations)
    return points, events


def load_analysis(folder: str | Path) -> Analysis:
    """The tables :func:`analyze` (``points.parquet``) or an engine (``points/``) wrote."""
    d = Path(folder)
    if (d / "points.parquet").is_file():
        points = pq.read_table(d / "points.parquet")
    elif is_dataset(d / "points"):
        points = read_dataset(d / "points")
    else:
        raise InputError("not an analysis folder: no points.parquet or points/ dataset", d)
    if not (d / "flights.parquet").is_file():
        raise InputError("not an analysis folder: no flights.parquet", d)
    reach = pq.read_table(d / "reach.parquet") if (d / "reach.parquet").is_file() else None
    events = (
        pq.read_table(d / "events.parquet")
        if (d / "events.parquet").is_file()
        else EVENT_SCHEMA.empty_table()
    )
    return Analysis(points, pq.read_table(d / "flights.parquet"), events, reach)


def combine(analyses: Sequence[Analysis]) -> Analysis:
    """One analysis from several (their columns unified, missing ones null)."""
    if not analyses:
        raise InputError("no analyses to combine")

    def cat(tables: list[pa.Table]) -> pa.Table:
        return pa.concat_tables(tables, promote_options="permissive")

    reaches = [a.reach for a in analyses if a.reach is not None]
    return Analysis(
        cat([a.points for a in analyses]),
        cat([a.flights for a in analyses]),
        cat([a.events for a in analyses]),
        cat(reaches) if reaches else None,
    )


#: Every file name :func:`analyze` may write (stale ones are removed).
KNOWN_OUTPUTS = (
    "points.parquet",
    "flights.parquet",
    "events.parquet",
    "reach.parquet",
    "report.html",
    "flights.geojson",
    "flights.kml",
    "flights.csv",
    "events.csv",
    "points.geoparquet",
    "manifest.json",
    "manifest.sig",
)


#: What else an analysis folder may hold: the engines' outputs.
ENGINE_OUTPUTS = ("points", "run.json", "extra.parquet")


def check_out_dir(out: str | Path) -> None:
    """Refuse an output folder that holds anything an analysis does not write.

    The manifest vouches for every file of the folder, and the outputs of a
    new run replace the old ones: a folder with other files (notes, another
    tool's results) would have them listed as outputs, or flagged by
    ``verify``, or end up beside a report that says nothing about them.
    Raises :class:`InputError` naming them; a missing or empty folder, or one
    holding only an earlier analysis, is fine.
    """
    folder = Path(out)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise InputError("expected a folder for the outputs, found a file", folder)
    known = {*KNOWN_OUTPUTS, *ENGINE_OUTPUTS}
    foreign = sorted(
        f.name
        for f in folder.iterdir()
        if f.name not in known and not f.name.startswith(".partial-")
    )
    if foreign:
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        shown = ", ".join(foreign[:5]) + more
        raise InputError(
            f"the output folder holds files an analysis does not write ({shown}); "
            "choose a new or empty folder (an earlier analysis there is replaced)",
            folder,
        )


def remove_stale_outputs(out: Path, staging: Path) -> None:
    """Remove from ``out`` what an earlier run (in memory or on an engine) wrote and
    the run staged in ``staging`` does not replace: it would sit beside the new
    manifest looking current."""
    for name in (*KNOWN_OUTPUTS, *ENGINE_OUTPUTS):
        stale = out / name
        if (staging / name).exists():
            continue
        if stale.is_dir() and is_dataset(stale):
            shutil.rmtree(stale)
        elif stale.is_file():
            stale.unlink()


def _write_parquet(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path, compression="zstd")
    return path


def report_params(
    context: Context,
    inputs: Sequence[str | Path],
    options: AnalyzeOptions,
    stats: dict[str, Any],
) -> dict[str, Any]:
    """The run parameters a report's manifest records."""
    return {
        "focus": context.focus,
        "near_km": context.near_km,
        "inputs": [str(Path(p).resolve()) for p in inputs],
        "options": {k: v for k, v in asdict(options).items() if v},
        "input_stats": stats,
        "boundary_dataset": airspace.dataset_info(context.boundaries)
        if context.boundaries is not None
        else None,
    }


def write_report_files(
    folder: Path,
    result: Analysis,
    context: Context,
    params: dict[str, Any],
    sign_key: str | Path | None = None,
) -> None:
    """The report, exports and manifest of ``result`` into ``folder`` (signed with a key)."""
    features = (
        airspace.boundary_features(context.boundaries, result.points, focus=context.focus)
        if context.boundaries is not None
        else None
    )
    report.write_report(
        folder,
        result.points,
        result.flights,
        result.events,
        result.reach,
        boundary_features=features,
        params=params,
    )
    if sign_key is not None:
        report.sign(folder, sign_key)


def analyze(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    options: AnalyzeOptions | None = None,
    context: Context | None = None,
    on_step: StepCallback | None = None,
    write_report: bool = True,
    sign_key: str | Path | None = None,
) -> AnalyzeResult:
    """Run every stage on ``inputs`` and write the results into ``out_dir``.

    Outputs go to a staging folder first and replace the previous ones only
    when everything succeeded.
    """
    options = options or AnalyzeOptions()
    out = Path(out_dir)
    check_out_dir(out)
    context = context or Context.load()
    messages, stats = read_inputs(inputs, options, on_step)
    result = process(messages, context, on_step)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    try:
        if on_step:
            on_step("writing outputs")
        _write_parquet(result.points, staging / "points.parquet")
        _write_parquet(result.flights, staging / "flights.parquet")
        _write_parquet(result.events, staging / "events.parquet")
        if result.reach is not None:
            _write_parquet(result.reach, staging / "reach.parquet")
        if write_report:
            if on_step:
                on_step("writing the report")
            params = report_params(context, inputs, options, stats)
            write_report_files(staging, result, context, params, sign_key)
        remove_stale_outputs(out, staging)
        final = []
        for f in sorted(staging.iterdir()):
            target = out / f.name
            if target.is_dir():
                shutil.rmtree(target)
            f.replace(target)
            final.append(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return AnalyzeResult(out, result.points, result.flights, result.events, final, stats)
