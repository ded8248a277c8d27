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

from overflight import __version__, pipeline, store
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
err_console = Console(stderr=True)


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
    db: Annotated[
        Path | None, typer.Option("--db", help="Also append the results to this DuckDB store.")
    ] = None,
) -> None:
    """Read INPUTS, clean and split flights, and write the analysis into --out."""
    options = pipeline.AnalyzeOptions(
        fmt=fmt,
        mapping=_parse_pairs(mapping, "--map"),
        units=_parse_pairs(units, "--units"),
        reference=_parse_reference(reference),
    )
    with errors_as_exit("analyze"), steps() as on_step:
        result = pipeline.analyze(inputs, out, options, on_step)
        if db is not None:
            on_step(f"appending to {db}")
            store.append_dir(db, out)
    _print_summary(result)


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


@app.command()
def version() -> None:
    """Print the version."""
    out_console.print(__version__)


def main() -> None:  # pragma: no cover - console entry point
    app()
