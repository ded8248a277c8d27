"""``overflight store``, ``token``, ``serve``, ``watch``, ``replay`` and ``version``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from overflight import __version__, store
from overflight.cli._common import (
    AuthOpt,
    BoundariesOpt,
    DbOpt,
    FocusOpt,
    app,
    err_console,
    errors_as_exit,
    fail,
    out_console,
    store_app,
    token_app,
)


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
    from overflight.web.server import check_listen

    with errors_as_exit("serve"):
        tokens = tokens_file or web.default_tokens_file(db)
        if not Path(tokens).exists():
            fail(
                "serve",
                f"no tokens file at {tokens}: nobody could log in",
                f"overflight token create --db {db} --role admin",
            )
        check_listen(host, port)
        if not Path(db).exists():
            err_console.print(
                f"note: {db} does not exist yet; the map stays empty until "
                f"`overflight watch --db {db} --share-db ...` writes it",
                markup=False,
                highlight=False,
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
    start_time: Annotated[
        str | None,
        typer.Option(
            "--start-time",
            help="UTC time (ISO 8601) of the first 12 MHz-stamped Beast frame, for a "
            "replayed recording: its points keep their own dates (default: arrival time).",
        ),
    ] = None,
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
            start_time=start_time,
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
