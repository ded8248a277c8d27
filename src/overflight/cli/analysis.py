"""``overflight analyze``, ``demo``, ``verify``, ``keygen``, ``trends`` and ``train``."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from rich.table import Table

from overflight import pipeline, report, store
from overflight.cli._common import (
    AuthOpt,
    BoundariesOpt,
    DbOpt,
    FocusOpt,
    LandOpt,
    NearOpt,
    NoAirspaceOpt,
    ReachOpt,
    ZonesOpt,
    app,
    context_spec,
    err_console,
    errors_as_exit,
    fail,
    load_context,
    out_console,
    parse_pairs,
    parse_reference,
    print_summary,
    steps,
)
from overflight.cli.scale import (
    EngineOpt,
    PartitionsOpt,
    SchedulerOpt,
    WorkersOpt,
    analyze_with_engine,
    print_engine_summary,
    scheduler_choice,
    trends_with_engine,
)
from overflight.engine import combine_daily
from overflight.store.dataset import is_dataset
from overflight.trends._common import STATS_KEY


@app.command()
def analyze(
    inputs: Annotated[list[Path], typer.Argument(help="Input files, any supported format.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the outputs.")],
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", help="Reader to use (else detected).")
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="Column mapping for tables: canonical=theirs,..."),
    ] = None,
    units: Annotated[
        list[str] | None, typer.Option("--units", help="Units of mapped columns: altitude=m,...")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="Receiver position LAT,LON for surface CPR decoding.")
    ] = None,
    on_invalid: Annotated[
        str,
        typer.Option(
            "--on-invalid",
            help="error: stop at a record that does not parse; skip: count and leave it out.",
        ),
    ] = "error",
    focus: FocusOpt = None,
    near_km: NearOpt = 50.0,
    boundaries: BoundariesOpt = None,
    land: LandOpt = None,
    zones: ZonesOpt = None,
    aircraft_db: DbOpt = None,
    auth: AuthOpt = None,
    no_airspace: NoAirspaceOpt = False,
    reach_km: ReachOpt = None,
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Write the tables only, no report/exports.")
    ] = False,
    sign: Annotated[
        Path | None, typer.Option("--sign", help="Ed25519 private key (PEM) to sign the manifest.")
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="Also append the results to this DuckDB store.")
    ] = None,
    engine_name: EngineOpt = "auto",
    scheduler: SchedulerOpt = None,
    partitions: PartitionsOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Read INPUTS, find who flew, what they did and where, and write it into --out.

    Inputs of more than a few million rows, and partitioned dataset folders,
    run out of core on the local engine (``--engine dask`` for a cluster).
    """
    options = pipeline.AnalyzeOptions(
        fmt=fmt,
        mapping=parse_pairs(mapping, "--map"),
        units=parse_pairs(units, "--units"),
        reference=parse_reference(reference),
        on_invalid=on_invalid,
    )
    with errors_as_exit("analyze"):
        how = scheduler_choice(engine_name, inputs, options, scheduler, partitions, workers)
    if how.name != "memory":
        spec = context_spec(
            focus,
            near_km,
            boundaries,
            land,
            zones,
            aircraft_db,
            auth,
            no_airspace,
            reach_km,
            absolute=True,
        )
        with errors_as_exit("analyze"):
            big = analyze_with_engine(
                inputs, out, options, spec, how, write_report=not no_report, sign_key=sign
            )
            if db is not None:
                store.append_dir(db, out)
        print_engine_summary(big)
        return
    with errors_as_exit("analyze"), steps() as on_step:
        on_step("loading boundaries, aircraft database and model")
        context = load_context(
            focus, near_km, boundaries, land, zones, aircraft_db, auth, no_airspace, reach_km
        )
        result = pipeline.analyze(
            inputs,
            out,
            options,
            context,
            on_step,
            write_report=not no_report,
            sign_key=sign,
        )
        if db is not None:
            on_step(f"appending to {db}")
            store.append_dir(db, out)
    print_summary(result)


@app.command()
def verify(
    folder: Annotated[Path, typer.Argument(help="Folder written by `overflight analyze`.")],
    key: Annotated[
        Path | None, typer.Option("--key", help="Ed25519 public key (PEM) to check the signature.")
    ] = None,
    inputs: Annotated[
        bool, typer.Option("--inputs", help="Also re-hash the input files named in the manifest.")
    ] = False,
) -> None:
    """Check every file of an analysis against its manifest (and signature)."""
    with errors_as_exit("verify"):
        problems = report.verify(folder, key, check_inputs=inputs)
    if problems:
        for p in problems:
            err_console.print(f"overflight verify: {p}", markup=False, highlight=False)
        raise typer.Exit(1)
    signed = " and its signature" if key else ""
    out_console.print(f"{folder}: every file matches the manifest{signed}", highlight=False)
    if key is None and (folder / report.SIGNATURE).is_file():
        err_console.print(
            f"overflight verify: note: {report.SIGNATURE} is present but was not checked, so "
            "the manifest itself is not verified; pass --key PUBLIC.pem to check it",
            markup=False,
            highlight=False,
        )


@app.command()
def keygen(
    private: Annotated[Path, typer.Argument(help="Where to write the private key (PEM, 0600).")],
    public: Annotated[Path, typer.Argument(help="Where to write the public key (PEM).")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace key files that already exist.")
    ] = False,
) -> None:
    """Make an Ed25519 key pair for `analyze --sign` and `verify --key`."""
    with errors_as_exit("keygen"):
        report.generate_keypair(private, public, overwrite=force)
    out_console.print(f"wrote {private} (keep it secret) and {public} (share it)")


#: The real flights `overflight demo` analyses, from the traffic package's samples.
DEMO_SAMPLES = (
    "military/aircraft_carrier.json.gz",  # US Navy, off San Diego, into MEX territorial sea
    "surveillance/border_control.json.gz",  # border control over the Channel, into FRA waters
    "military/inflight_refuelling.json.gz",
    "calibration/ajaccio.json.gz",
    "calibration/london_heathrow.json.gz",
    "surveys/ign_fontainebleau.json.gz",
    "surveys/texas.json.gz",
    "collections/quickstart.json.gz",  # ordinary airline traffic
)


def traffic_samples_dir() -> Path:
    """Where the traffic package keeps its sample trajectories."""
    import importlib.util

    spec = importlib.util.find_spec("traffic")
    if spec is None or spec.origin is None:
        fail(
            "demo",
            "the demo needs the traffic package's sample trajectories",
            "pip install --no-deps traffic==2.13 (make demo does this)",
        )
    return Path(spec.origin).parent / "data" / "samples"


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the outputs.")] = Path(
        "demo-out"
    ),
) -> None:
    """Analyse real sample flights with MEX as the focus and write the report."""
    root = traffic_samples_dir()
    inputs = [root / name for name in DEMO_SAMPLES]
    with errors_as_exit("demo"), steps() as on_step:
        on_step("loading boundaries, aircraft database and model")
        context = pipeline.Context.load(focus="MEX", near_km=100.0)
        result = pipeline.analyze(inputs, out, None, context, on_step)
    print_summary(result)
    out_console.print(f"report: {(result.out_dir / 'report.html').resolve()}", highlight=False)


def memory_daily(
    data: pipeline.Analysis,
    context: pipeline.Context,
    near_km: float,
    on_step: Callable[[str], None],
) -> pa.Table:
    """Daily activity near the context's focus of an analysis held in memory."""
    from overflight import airspace, trends

    assert context.focus is not None and context.boundaries is not None
    points = data.points
    if "countries" not in points.column_names:
        on_step("deciding airspace for every point")
        points = airspace.classify_points(points, context.boundaries)
    on_step(f"distances to {context.focus} airspace")
    dist = airspace.distance_to_country_m(
        points, context.boundaries, context.focus, max_distance_m=near_km * 1000.0 * 1.5
    )
    return trends.daily_activity(points, data.flights, data.events, context.focus, near_km, dist)


@app.command("trends")
def trends_command(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="Input files, dataset folders, or folders written by `analyze`."),
    ],
    focus: Annotated[str, typer.Option("--focus", help="ISO3 code of the country to watch.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the trend files.")],
    near_km: NearOpt = 100.0,
    boundaries: BoundariesOpt = None,
    land: LandOpt = None,
    aircraft_db: DbOpt = None,
    on_invalid: Annotated[
        str, typer.Option("--on-invalid", help="error or skip unreadable records.")
    ] = "error",
    engine_name: EngineOpt = "auto",
    scheduler: SchedulerOpt = None,
    partitions: PartitionsOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Surveillance flights, hours and entries near FOCUS per day and week, with sharp changes."""
    from overflight import trends

    with errors_as_exit("trends"), steps() as on_step:
        options = pipeline.AnalyzeOptions(on_invalid=on_invalid)
        folders = [p for p in inputs if p.is_dir() and not is_dataset(p)]
        raw = [p for p in inputs if p not in folders]
        how = scheduler_choice(engine_name, raw, options, scheduler, partitions, workers)
        daily_parts = []
        if folders or (raw and how.name == "memory"):
            on_step("loading boundaries, aircraft database and model")
            context = load_context(
                focus, near_km, boundaries, land, None, aircraft_db, None, False, None
            )
            parts = [pipeline.load_analysis(f) for f in folders]
            if raw and how.name == "memory":
                messages, _ = pipeline.read_inputs(raw, options, on_step)
                parts.append(pipeline.process(messages, context, on_step))
            daily_parts.append(memory_daily(pipeline.combine(parts), context, near_km, on_step))
        if raw and how.name != "memory":
            on_step(f"analysing {len(raw)} input(s) on the {how.name} engine")
            spec = context_spec(
                focus, near_km, boundaries, land, None, aircraft_db, None, False, absolute=True
            )
            with tempfile.TemporaryDirectory(prefix=".trends-", dir=out.parent) as work:
                part = trends_with_engine(raw, Path(work), options, spec, how, near_km)
            daily_parts.append(part.daily)
        on_step("counting per day and finding change points")
        daily = daily_parts[0]
        if len(daily_parts) > 1 or how.name != "memory":
            parts_ = [d.replace_schema_metadata(None) for d in daily_parts]
            stats = {"focus": focus, "near_km": near_km, "engine": how.name, "parts": len(parts_)}
            daily = combine_daily(pa.concat_tables(parts_)).replace_schema_metadata(
                {STATS_KEY: json.dumps(stats)}
            )
        result = trends.from_daily(daily)
        written = trends.write_trends(
            out,
            result.daily,
            result.weekly,
            result.changes,
            title=f"Surveillance activity within {near_km:g} km of {focus}",
        )
    daily = result.daily
    table = Table(title=f"trends near {focus} ({near_km:g} km)", show_header=False)
    table.add_row("days", f"{daily.num_rows}")
    for col in ("surveillance_flights_near", "surveillance_hours_near", "entries"):
        total = sum(v or 0 for v in daily.column(col).to_pylist())
        table.add_row(col, f"{total:,.1f}" if "hours" in col else f"{total:,}")
    for series, changes in result.changes.items():
        for c in changes:
            table.add_row(
                "change point",
                f"{series}: {c.day.isoformat()} ({c.before_mean:.2f} → {c.after_mean:.2f} per day)",
            )
    for path in written.values():
        table.add_row("wrote", str(path))
    out_console.print(table)


@app.command()
def train(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the model (joblib).")
    ] = Path("mission_model.joblib"),
    rnc: Annotated[
        Path | None,
        typer.Option("--rnc", help="BuzzFeed 2016 RNC surveillance positions (CSV)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (the shipped model uses 0).")] = 0,
    evaluate: Annotated[
        bool, typer.Option("--evaluate/--no-evaluate", help="Cross-validate before fitting.")
    ] = True,
    aircraft_db: DbOpt = None,
) -> None:
    """Train the mission classifier on the traffic samples (and the RNC flights).

    With ``--aircraft-db`` the cross-validation, and the choice of the
    model's settings, decide flights with what the database knows
    (``db_mission``), as ``analyze --aircraft-db`` does.
    """
    from overflight.classify import train as training
    from overflight.identify import load_aircraft_db

    with errors_as_exit("train"), steps() as on_step:
        db = load_aircraft_db(list(aircraft_db)) if aircraft_db else None
        on_step("building features and training (a few minutes)")
        metrics = training.train(
            traffic_samples_dir(), rnc, out, seed=seed, evaluate=evaluate, aircraft_db=db
        )
    for key in ("n_real", "n_thinned", "n_simulated", "macro_f1", "model_alone_macro_f1"):
        if key in metrics:
            out_console.print(f"{key}: {metrics[key]}")
    out_console.print(f"model: {out}")
