"""``simulate``, ``sweep``, ``validate`` and ``schema``: YAML scenarios on the SimPy kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmsim.cli.options import (
    Format,
    PlotForceOpt,
    PlotOpt,
    QuietOpt,
    SchedulerOpt,
    SetOpt,
    SimFormatOpt,
    WorkersOpt,
    check_plot,
    emit,
    interrupted,
    worker_count,
)
from vmsim.errors import VmsimError
from vmsim.metrics.progress import Progress


# Each command spells out its options: typer reads them from the signature, so signatures that look
# alike (here and in analysis.py) are intended; the option types themselves are defined once, in
# options.py.
def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    set_: SetOpt = None,
    fmt: SimFormatOpt = Format.table,
    quiet: QuietOpt = False,
    plot: PlotOpt = None,
    force: PlotForceOpt = False,
) -> None:
    """Run a YAML scenario on the SimPy kernel: processes, scheduler, paging device, load control."""
    from vmsim.metrics import render
    from vmsim.metrics.schema import SimDoc
    from vmsim.scenario.build import simulate as run_scenario
    from vmsim.scenario.loader import load_scenario

    if fmt is Format.csv:
        raise VmsimError("simulate prints table or json; use sweep --format csv for a table of runs")
    check_plot(plot, force)
    sc = load_scenario(scenario, set_ or [])
    with Progress(f"simulate {sc.name}", enabled=False if quiet else None) as progress:
        doc = SimDoc.of(run_scenario(sc, on_sample=progress))
    if plot is not None:
        from vmsim.metrics.plots import plot_simulation

        plot_simulation(doc, plot)
    emit(doc, fmt, table=render.sim_table)
    interrupted(doc.partial)


def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    vary: Annotated[
        list[str] | None,
        typer.Option("--vary", help="PATH=V1,V2,... or PATH=A..B; several --vary make a grid."),
    ] = None,
    set_: SetOpt = None,
    fmt: SimFormatOpt = Format.table,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Also write a tidy table, one row per run, as runs finish: FILE.csv or FILE.parquet."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip the runs already in --out (a table of this same grid, or refused).")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out or --plot file.")] = False,
    quiet: QuietOpt = False,
    plot: PlotOpt = None,
) -> None:
    """Run a scenario over a grid of values: one run per combination, all validated first."""
    from vmsim import sweep as sw
    from vmsim.metrics import render

    if not vary:
        raise VmsimError("sweep needs at least one --vary PATH=V1,V2,... (or PATH=A..B)")
    if resume and out is None:
        raise VmsimError("--resume applies to --out FILE")
    if force and out is None and plot is None:
        raise VmsimError("--force applies to --out FILE and --plot FILE")
    check_plot(plot, force, force_needs_plot=False)
    with Progress("sweep", enabled=False if quiet else None) as progress:
        outcome = sw.sweep(
            scenario,
            vary,
            set_ or [],
            workers=worker_count(workers),
            scheduler=scheduler,
            out=out,
            resume=resume,
            force=force,
            progress=progress,
            label=progress.relabel,
        )
    doc = outcome.doc
    if outcome.skipped:
        typer.echo(
            f"vmsim: {outcome.skipped} of {outcome.skipped + len(doc.points)} runs were already in {out}; "
            "the output below shows the others",
            err=True,
        )
    if plot is not None:
        from vmsim.metrics.plots import plot_sweep

        plot_sweep(doc, plot)
    emit(doc, fmt, table=render.sweep_table, csv=render.sweep_csv)
    interrupted(doc.partial)


def validate(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
    set_: SetOpt = None,
) -> None:
    """Check scenarios without running them: one line per file, exit code 2 if any is invalid."""
    from vmsim.scenario.build import server_config, serves
    from vmsim.scenario.loader import load_scenario

    bad = 0
    for path in scenarios:
        try:
            sc = load_scenario(path, set_ or [], thorough=True)
        except VmsimError as e:
            typer.echo(f"vmsim: error: {e}", err=True)
            bad += 1
            continue
        procs = sum(g.count for g in sc.processes)
        memory = f"{sc.machine.frames:,} frames"
        if serves(sc):  # the serving model's memory is the GPU's KV pool, not machine.memory
            cfg = server_config(sc)
            memory = f"a KV pool of {cfg.pool_blocks:,} blocks of {cfg.block_tokens} tokens on {cfg.gpu}"
        typer.echo(f"{path}: ok ({sc.name}: {procs} process{'es' if procs != 1 else ''}, {memory})")
    if bad:
        raise typer.Exit(2)


def schema(
    results: Annotated[bool, typer.Option("--results", help="The schema of the JSON results instead.")] = False,
) -> None:
    """Print the JSON Schema of scenario files (for editor completion), or of the JSON results."""
    import json

    if results:
        from vmsim.metrics.schema import results_schema_text

        typer.echo(results_schema_text().rstrip("\n"))
        return
    from vmsim.scenario.models import Scenario

    typer.echo(json.dumps(Scenario.model_json_schema(), indent=2))
