"""Large runs from the command line: ``analyze``/``trends`` on an engine, ``store export``.

``analyze --engine auto`` (the default) keeps small inputs in memory and
hands inputs of more than :data:`AUTO_ROWS` rows, and partitioned dataset
folders, to the local out-of-core engine; ``--engine dask`` runs on a Dask
cluster (``--scheduler ADDRESS``, else a LocalCluster).  Engine runs write
``points/`` in the partitioned layout next to ``flights.parquet`` and
``events.parquet``; the report is added when the points are few enough to
draw (:data:`REPORT_MAX_POINTS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from rich.table import Table

from overflight import engine, pipeline, trends
from overflight.cli._common import errors_as_exit, out_console, print_unused, store_app
from overflight.engine.partition import estimate_rows, plan_sources
from overflight.engine.tasks import resolve_context
from overflight.store.export import export as export_store

#: ``--engine auto`` switches from memory to the local engine above this many input rows.
AUTO_ROWS = 4_000_000
#: Engine runs write the HTML report and exports only up to this many points.
REPORT_MAX_POINTS = 2_000_000
ENGINE_CHOICES = ("auto", "memory", "local", "dask")

EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="auto (memory for small inputs, else local), memory, local (out of core) or dask.",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option("--scheduler", help="Dask scheduler address (default: a LocalCluster)."),
]
PartitionsOpt = Annotated[
    int | None,
    typer.Option("--partitions", help="Aircraft partitions (default: one per million rows)."),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", help="Local: worker processes (1); dask: LocalCluster workers (2)."),
]


@dataclass(frozen=True)
class EngineChoice:
    """How to run: ``name`` in :data:`ENGINE_CHOICES` (after ``auto`` is resolved)."""

    name: str
    scheduler: str | None = None
    partitions: int | None = None
    workers: int | None = None


def resolve_engine(choice: str, inputs: Sequence[Path], options: pipeline.AnalyzeOptions) -> str:
    """``memory``, ``local`` or ``dask``: what ``choice`` means for these inputs.

    Examples
    --------
    >>> resolve_engine("dask", [], pipeline.AnalyzeOptions())
    'dask'
    """
    if choice not in ENGINE_CHOICES:
        raise typer.BadParameter(f"--engine must be one of {', '.join(ENGINE_CHOICES)}")
    if choice != "auto":
        return choice
    if any(p.is_dir() for p in inputs):
        return "local"
    return "local" if estimate_rows(plan_sources(inputs, options)) > AUTO_ROWS else "memory"


def scheduler_choice(
    choice: str,
    inputs: Sequence[Path],
    options: pipeline.AnalyzeOptions,
    scheduler: str | None,
    partitions: int | None,
    workers: int | None,
) -> EngineChoice:
    """The engine options of a command, ``auto`` resolved (``--scheduler`` implies dask)."""
    if scheduler is not None and choice == "auto":
        choice = "dask"
    return EngineChoice(resolve_engine(choice, inputs, options), scheduler, partitions, workers)


def run_engine(
    inputs: Sequence[Path],
    out: Path,
    options: pipeline.AnalyzeOptions,
    spec: engine.ContextSpec,
    how: EngineChoice,
    collect: engine.DailyCollector | None = None,
) -> engine.EngineResult:
    """:func:`overflight.engine.run` as ``how`` says, with progress bars."""
    with engine.rich_progress() as progress:
        return engine.run(
            inputs,
            out,
            options,
            spec,
            engine=how.name,
            scheduler=how.scheduler,
            partitions=how.partitions,
            on_progress=progress,
            workers=how.workers,
            collect=collect,
        )


def analyze_with_engine(
    inputs: Sequence[Path],
    out: Path,
    options: pipeline.AnalyzeOptions,
    spec: engine.ContextSpec,
    how: EngineChoice,
    *,
    write_report: bool,
    sign_key: Path | None,
) -> engine.EngineResult:
    """One engine run into ``out``, then the report when the points fit one."""
    result = run_engine(inputs, out, options, spec, how)
    if write_report and result.points <= REPORT_MAX_POINTS:
        context = resolve_context(spec)
        analysis = pipeline.load_analysis(out)
        params = pipeline.report_params(context, inputs, options, result.stats["input_stats"])
        pipeline.write_report_files(out, analysis, context, params, sign_key)
    elif write_report:
        out_console.print(
            f"no report: {result.points:,} points are more than one report shows"
            f" ({REPORT_MAX_POINTS:,}); `overflight trends {out} --focus ISO3` summarises them",
            highlight=False,
        )
    return result


def print_engine_summary(result: engine.EngineResult) -> None:
    """What an engine run did, as a small table."""
    table = Table(title=f"overflight ({result.engine} engine): {result.out_dir}", show_header=False)
    table.add_row("messages", f"{result.messages:,}")
    table.add_row("positions", f"{result.points:,}")
    table.add_row("flights", f"{result.flights.num_rows:,}")
    table.add_row("partitions", f"{result.partitions}")
    seconds = result.stats.get("seconds", {})
    if seconds.get("total"):
        rate = result.messages / max(float(seconds["total"]), 1e-9)
        table.add_row("time", f"{seconds['total']:.1f} s ({rate:,.0f} messages/s)")
    for f in result.files:
        table.add_row("wrote", str(f))
    out_console.print(table)
    print_unused(result.stats.get("input_stats", {}))


def trends_with_engine(
    inputs: Sequence[Path],
    work: Path,
    options: pipeline.AnalyzeOptions,
    spec: engine.ContextSpec,
    how: EngineChoice,
    near_km: float,
) -> trends.Trends:
    """Daily activity per partition on an engine, summed per day, then weeks and changes."""
    assert spec.focus is not None
    collect = engine.DailyCollector(spec.focus, near_km)
    result = run_engine(inputs, work, options, spec, how, collect)
    parts = result.extra if result.extra is not None else pa.table({})
    return trends.from_daily(engine.combine_daily(parts))


@store_app.command("export")
def store_export(
    db: Annotated[Path, typer.Argument(help="DuckDB store.")],
    out: Annotated[Path, typer.Argument(help="Empty folder for the GeoParquet-by-day dataset.")],
    table: Annotated[str, typer.Option(help="points, flights or events.")] = "points",
    analysis_id: Annotated[
        str | None, typer.Option("--analysis", help="Only the rows of this analysis id.")
    ] = None,
    region_deg: Annotated[
        int | None, typer.Option("--region-deg", help="Also partition by lat/lon tiles of N°.")
    ] = None,
    buckets: Annotated[
        int | None,
        typer.Option(
            help="Also split by aircraft into N buckets: later analyses with N partitions "
            "(or a divisor of N) skip re-sorting the rows by aircraft."
        ),
    ] = None,
) -> None:
    """Write a table of the store as GeoParquet partitioned by day (read by every command)."""
    with errors_as_exit("store export"):
        result = export_store(
            db, out, table=table, analysis_id=analysis_id, region_deg=region_deg, buckets=buckets
        )
    out_console.print(
        f"exported {result.rows:,} rows of {table} into {len(result.files)} files under {out}",
        highlight=False,
    )
