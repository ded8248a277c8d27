"""Shared pieces of the ``overflight`` command line: the app, errors, options.

Every command prints ``overflight COMMAND: error: …`` on stderr and exits 1
when its input is wrong; the message names the file and the record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from overflight import __version__, engine, pipeline
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


def parse_pairs(values: list[str] | None, what: str) -> dict[str, str] | None:
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


def parse_reference(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        lat, lon = (float(x) for x in value.split(","))
    except ValueError:
        fail("analyze", f"--reference {value!r} is not LAT,LON")
    return lat, lon


def print_summary(result: pipeline.AnalyzeResult) -> None:
    pts, flights = result.points, result.flights
    n_valid = int(sum(pts.column("valid").to_pylist())) if pts.num_rows else 0
    table = Table(title=f"overflight {__version__}: {result.out_dir}", show_header=False)
    table.add_row("positions", f"{pts.num_rows:,} ({n_valid:,} valid)")
    table.add_row("aircraft", f"{len(set(flights.column('icao24').to_pylist())):,}")
    table.add_row("flights", f"{flights.num_rows:,}")
    for f in result.files:
        table.add_row("wrote", str(f))
    out_console.print(table)
    print_unused(result.stats)


def print_unused(stats: dict[str, Any]) -> None:
    """Say on stderr which inputs gave nothing at all, and why."""
    for line in pipeline.unused_inputs(stats):
        err_console.print(f"note: {line}", markup=False, highlight=False)


def context_spec(
    focus: str | None,
    near_km: float,
    boundaries: Path | None,
    land: Path | None,
    zones: Sequence[Path] | None,
    aircraft_db: Sequence[Path] | None,
    auth: Path | None,
    no_airspace: bool,
    reach_km: float | None = None,
    *,
    absolute: bool = False,
) -> engine.ContextSpec:
    """The command's stage options as one spec; ``absolute`` resolves the paths
    (an engine worker may run in another folder), else they stay as typed, so
    that error messages name them as the user did."""

    def path(p: Path | None) -> str | None:
        return None if p is None else str(Path(p).resolve() if absolute else p)

    return engine.ContextSpec(
        focus=focus,
        near_km=near_km,
        boundaries=path(boundaries),
        land=path(land),
        zones=tuple(str(path(z)) for z in zones or ()),
        aircraft_db=tuple(str(path(d)) for d in aircraft_db or ()),
        authorisations=path(auth),
        airspace_enabled=not no_airspace,
        reach_range_km=reach_km,
    )


def load_context(
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
    """Load the stage context the options describe (:func:`context_spec`)."""
    spec = context_spec(
        focus, near_km, boundaries, land, zones, aircraft_db, auth, no_airspace, reach_km
    )
    return pipeline.Context.load(**spec.kwargs())


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


token_app = typer.Typer(help="Access tokens for `overflight serve`.", no_args_is_help=True)
app.add_typer(token_app, name="token")
