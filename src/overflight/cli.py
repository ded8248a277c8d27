"""The ``overflight`` command line.

Every command prints ``overflight COMMAND: error: …`` on stderr and exits 1
when its input is wrong; the message names the file and the record.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from overflight import __version__, pipeline, report, store
from overflight.errors import OverflightError

app = typer.Typer(
    name="overflight",
    help="Make aerial surveillance visible and verifiable from flight-tracking data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
store_app = typer.Typer(help="An embedded DuckDB store of analyses.", no_args_is_help=True)
app.add_typer(store_app, name="store")

out_console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def fail(command: str, message: str, hint: str | None = None) -> NoReturn:
    """Print ``overflight COMMAND: error: MESSAGE`` (and a hint) and exit 1."""
    err_console.print(f"overflight {command}: error: {message}", markup=False, highlight=False)
    if hint:
        err_console.print(f"hint: {hint}", markup=False, highlight=False)
    raise typer.Exit(1)


@contextmanager
def errors_as_exit(command: str) -> Iterator[None]:
    """Turn our own errors into the CLI's one-line message and exit code 1."""
    try:
        yield
    except OverflightError as exc:
        fail(command, str(exc))
    except OSError as exc:
        fail(command, f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))


@contextmanager
def steps() -> Iterator[Callable[[str], None]]:
    """A rich spinner that shows the current step on stderr; silent when not a TTY."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("starting", total=None)

        def on_step(text: str) -> None:
            progress.update(task, description=text)

        yield on_step


def _parse_pairs(values: list[str] | None, what: str) -> dict[str, str] | None:
    if not values:
        return None
    pairs: dict[str, str] = {}
    for item in values:
        for part in item.split(","):
            key, sep, val = part.partition("=")
            if not sep or not key.strip() or not val.strip():
                fail("analyze", f"{what} {part!r} is not NAME=VALUE")
            pairs[key.strip()] = val.strip()
    return pairs


def _parse_reference(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        lat, lon = (float(x) for x in value.split(","))
    except ValueError:
        fail("analyze", f"--reference {value!r} is not LAT,LON")
    return lat, lon


def _print_summary(result: pipeline.AnalyzeResult) -> None:
    pts, flights = result.points, result.flights
    n_valid = int(sum(pts.column("valid").to_pylist())) if pts.num_rows else 0
    table = Table(title=f"overflight {__version__}: {result.out_dir}", show_header=False)
    table.add_row("positions", f"{pts.num_rows:,} ({n_valid:,} valid)")
    table.add_row("aircraft", f"{len(set(flights.column('icao24').to_pylist())):,}")
    table.add_row("flights", f"{flights.num_rows:,}")
    for f in result.files:
        table.add_row("wrote", str(f))
    out_console.print(table)


def _context(
    focus: str | None,
    near_km: float,
    boundaries: Path | None,
    land: Path | None,
    zones: list[Path] | None,
    aircraft_db: list[Path] | None,
    auth: Path | None,
    no_airspace: bool,
    reach_km: float | None,
) -> pipeline.Context:
    return pipeline.Context.load(
        focus=focus,
        near_km=near_km,
        boundaries=boundaries,
        land=land,
        zones=zones or (),
        aircraft_db=aircraft_db or (),
        authorisations=auth,
        airspace_enabled=not no_airspace,
        reach_range_km=reach_km,
    )


FocusOpt = Annotated[
    str | None,
    typer.Option("--focus", help="ISO3 code of the country whose point of view the report takes."),
]
NearOpt = Annotated[
    float, typer.Option("--near-km", help="Distance from the focus airspace that counts as near.")
]
BoundariesOpt = Annotated[
    Path | None,
    typer.Option(
        "--boundaries", help="Countries with territorial sea (GeoJSON/Shapefile/GeoPackage)."
    ),
]
LandOpt = Annotated[
    Path | None, typer.Option("--land", help="Countries clipped at the coastline (land only).")
]
ZonesOpt = Annotated[
    list[Path] | None,
    typer.Option("--zones", help="Extra zones to report (ADIZ, restricted areas); repeatable."),
]
DbOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--aircraft-db",
        help="Aircraft database (tar1090-db, OpenSky, plane-alert-db, FlightAware); repeatable.",
    ),
]
AuthOpt = Annotated[
    Path | None,
    typer.Option("--auth", help="Authorised aircraft/operators/callsigns per country (YAML/CSV)."),
]
NoAirspaceOpt = Annotated[
    bool, typer.Option("--no-airspace", help="Skip the airspace stage (no boundary data needed).")
]
ReachOpt = Annotated[
    float | None,
    typer.Option("--reach-km", help="Cap of the sensor range for observation reach, km."),
]


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
) -> None:
    """Read INPUTS, find who flew, what they did and where, and write it into --out."""
    options = pipeline.AnalyzeOptions(
        fmt=fmt,
        mapping=_parse_pairs(mapping, "--map"),
        units=_parse_pairs(units, "--units"),
        reference=_parse_reference(reference),
        on_invalid=on_invalid,
    )
    with errors_as_exit("analyze"), steps() as on_step:
        on_step("loading boundaries, aircraft database and model")
        context = _context(
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
    _print_summary(result)


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
    out_console.print(f"{folder}: every file matches the manifest{signed}")


@app.command()
def keygen(
    private: Annotated[Path, typer.Argument(help="Where to write the private key (PEM, 0600).")],
    public: Annotated[Path, typer.Argument(help="Where to write the public key (PEM).")],
) -> None:
    """Make an Ed25519 key pair for `analyze --sign` and `verify --key`."""
    with errors_as_exit("keygen"):
        report.generate_keypair(private, public)
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
    _print_summary(result)
    out_console.print(f"report: {(result.out_dir / 'report.html').resolve()}", highlight=False)


@app.command("trends")
def trends_command(
    inputs: Annotated[
        list[Path], typer.Argument(help="Input files, or folders written by `analyze`.")
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
) -> None:
    """Surveillance flights, hours and entries near FOCUS per day and week, with sharp changes."""
    from overflight import airspace, trends

    with errors_as_exit("trends"), steps() as on_step:
        on_step("loading boundaries, aircraft database and model")
        context = _context(focus, near_km, boundaries, land, None, aircraft_db, None, False, None)
        folders = [p for p in inputs if p.is_dir()]
        files = [p for p in inputs if not p.is_dir()]
        parts = [pipeline.load_analysis(f) for f in folders]
        if files:
            options = pipeline.AnalyzeOptions(on_invalid=on_invalid)
            messages, _ = pipeline.read_inputs(files, options, on_step)
            parts.append(pipeline.process(messages, context, on_step))
        data = pipeline.combine(parts)
        points = data.points
        if "countries" not in points.column_names:
            on_step("deciding airspace for every point")
            points = airspace.classify_points(points, context.boundaries)
        on_step(f"distances to {context.focus} airspace")
        assert context.focus is not None
        dist = airspace.distance_to_country_m(
            points, context.boundaries, context.focus, max_distance_m=near_km * 1000.0 * 1.5
        )
        on_step("counting per day and finding change points")
        result = trends.trends(points, data.flights, data.events, context.focus, near_km, dist)
        written = trends.write_trends(
            out,
            result.daily,
            result.weekly,
            result.changes,
            title=f"Surveillance activity within {near_km:g} km of {context.focus}",
        )
    daily = result.daily
    table = Table(title=f"trends near {context.focus} ({near_km:g} km)", show_header=False)
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
) -> None:
    """Train the mission classifier on the traffic samples (and the RNC flights)."""
    from overflight.classify import train as training

    with errors_as_exit("train"), steps() as on_step:
        on_step("building features and training (a few minutes)")
        metrics = training.train(traffic_samples_dir(), rnc, out, seed=seed, evaluate=evaluate)
    for key in ("macro_f1", "baseline_macro_f1", "n_flights"):
        if key in metrics:
            out_console.print(f"{key}: {metrics[key]}")
    out_console.print(f"model: {out}")


@store_app.command("append")
def store_append(
    db: Annotated[Path, typer.Argument(help="DuckDB file (created when missing).")],
    analysis: Annotated[Path, typer.Argument(help="Folder written by `overflight analyze`.")],
    label: Annotated[str, typer.Option(help="A name for this analysis.")] = "",
) -> None:
    """Append an analysis folder to the store, all or nothing."""
    with errors_as_exit("store append"):
        analysis_id = store.append_dir(db, analysis, label=label)
    out_console.print(f"appended {analysis} to {db} as analysis {analysis_id}")


@store_app.command("query")
def store_query(
    db: Annotated[Path, typer.Argument(help="DuckDB file.")],
    sql: Annotated[str, typer.Argument(help="SQL; tables: points, flights, events, analyses.")],
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
) -> None:
    """Run SQL against the store (read-only) and print the result."""
    with errors_as_exit("store query"):
        result = store.query(db, sql)
    if csv:
        result.to_pandas().to_csv(sys.stdout, index=False)
        return
    table = Table(*result.column_names)
    for row in result.to_pylist()[:1000]:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    out_console.print(table)
    if result.num_rows > 1000:
        out_console.print(f"... {result.num_rows - 1000:,} more rows (use --csv for all)")


token_app = typer.Typer(help="Access tokens for `overflight serve`.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    db: Annotated[Path, typer.Option("--db", help="The store the tokens are for.")],
    role: Annotated[str, typer.Option("--role", help="read or admin.")] = "read",
    tokens_file: Annotated[
        Path | None, typer.Option("--tokens", help="Tokens file (default: DB.tokens.json).")
    ] = None,
) -> None:
    """Create a token and print it once; only its SHA-256 is stored."""
    from overflight import web

    if role not in ("read", "admin"):
        fail("token create", f"--role must be read or admin, got {role!r}")
    with errors_as_exit("token create"):
        plaintext = web.create_token(tokens_file or web.default_tokens_file(db), role=role)
    out_console.print(plaintext, markup=False, highlight=False)


@app.command()
def serve(
    db: Annotated[Path, typer.Option("--db", help="The DuckDB store to show.")],
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    tokens_file: Annotated[
        Path | None, typer.Option("--tokens", help="Tokens file (default: DB.tokens.json).")
    ] = None,
) -> None:
    """Serve the live map, alerts, history and JSON API over the store."""
    from overflight import web

    with errors_as_exit("serve"):
        tokens = tokens_file or web.default_tokens_file(db)
        if not Path(tokens).exists():
            fail(
                "serve",
                f"no tokens file at {tokens}: nobody could log in",
                f"overflight token create --db {db} --role admin",
            )
        err_console.print(f"serving {db} on http://{host}:{port}/ (append ?token=YOUR_TOKEN)")
        web.serve(db, host=host, port=port, tokens_file=tokens)


@app.command()
def watch(
    db: Annotated[Path, typer.Option("--db", help="DuckDB file that keeps what was received.")],
    beast: Annotated[
        list[str] | None, typer.Option("--beast", help="Beast TCP feed HOST:PORT (30005).")
    ] = None,
    sbs: Annotated[
        list[str] | None, typer.Option("--sbs", help="SBS-1 TCP feed HOST:PORT (30003).")
    ] = None,
    avr: Annotated[
        list[str] | None, typer.Option("--avr", help="AVR TCP feed HOST:PORT (30002).")
    ] = None,
    readsb: Annotated[
        list[str] | None,
        typer.Option("--readsb", help="readsb aircraft.json URL or path it rewrites."),
    ] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="Alert rules (YAML).")] = None,
    webhook: Annotated[
        list[str] | None, typer.Option("--webhook", help="POST every alert here as JSON.")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="Receiver position LAT,LON (surface positions).")
    ] = None,
    clock: Annotated[
        str, typer.Option(help="Beast timestamps: 12mhz, utc_ns_of_day or arrival.")
    ] = "12mhz",
    focus: FocusOpt = None,
    boundaries: BoundariesOpt = None,
    aircraft_db: DbOpt = None,
    auth: AuthOpt = None,
    share_db: Annotated[
        bool,
        typer.Option("--share-db", help="Open the store per batch so `serve` can read it."),
    ] = False,
    idle_exit_s: Annotated[
        float | None, typer.Option(help="Stop after this many seconds without data.")
    ] = None,
    export_dir: Annotated[
        Path | None, typer.Option(help="On stop, export the points to Parquet by day here.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No alert lines on stdout.")] = False,
) -> None:
    """Watch live feeds: store every position, decide airspace, raise alerts once per episode."""
    from overflight.live import commands

    commands.setup_logging()
    with errors_as_exit("watch"):
        code = commands.watch_command(
            db,
            export_dir=export_dir,
            beast=beast or (),
            sbs=sbs or (),
            avr=avr or (),
            readsb=readsb or (),
            rules=rules,
            webhook=webhook or (),
            reference=reference,
            clock_mode=clock,
            idle_exit_s=idle_exit_s,
            quiet=quiet,
            share_db=share_db,
            focus=focus,
            boundaries=boundaries,
            aircraft_db=aircraft_db or (),
            authorisations=auth,
        )
    raise typer.Exit(code)


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="A recorded Beast, AVR or SBS file.")],
    port: Annotated[int, typer.Option("--port", help="Loopback port to serve it on.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    speed: Annotated[
        float, typer.Option(help="1 = real time, 10 = ten times faster, 0 = as fast as possible.")
    ] = 1.0,
    loop: Annotated[bool, typer.Option("--loop", help="Start again at the end.")] = False,
    fmt: Annotated[
        str | None, typer.Option("--format", help="beast, avr or sbs (else detected).")
    ] = None,
) -> None:
    """Serve a recording on loopback, paced by its own timestamps, for tests and demos."""
    from overflight.live import commands

    commands.setup_logging()
    with errors_as_exit("replay"):
        code = commands.replay_command(file, port, host=host, speed=speed, loop=loop, fmt=fmt)
    raise typer.Exit(code)


@app.command()
def version() -> None:
    """Print the version."""
    out_console.print(__version__)


def main() -> None:  # pragma: no cover - console entry point
    app()
