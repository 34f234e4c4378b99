"""``compare`` and ``curve``: every policy at every frame count, on a trace or a scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmsim.cli.options import (
    Format,
    FormatOpt,
    FramesOpt,
    PageSizeOpt,
    PlotForceOpt,
    PlotOpt,
    PolicyOpt,
    QuietOpt,
    SchedulerOpt,
    SeedOpt,
    SetOpt,
    TraceFormatOpt,
    WorkersOpt,
    check_plot,
    emit,
    interrupted,
    parse_policies,
    required_frames,
    worker_count,
)
from vmsim.metrics.progress import Progress


# compare and curve take the same options in their own orders (typer's --help lists them in signature
# order, kept as it was); the signatures look alike on purpose, the option types are defined once.
def compare(
    source: Annotated[Path, typer.Argument(help="A trace file or a scenario YAML.")],
    frames: FramesOpt = None,
    policy: PolicyOpt = None,
    page_size: PageSizeOpt = 4096,
    trace_format: TraceFormatOpt = None,
    set_: SetOpt = None,
    fmt: FormatOpt = Format.table,
    seed: SeedOpt = 0,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    plot: PlotOpt = None,
    force: PlotForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Faults per policy and frame count, OPT as the reference, and every Belady anomaly."""
    from vmsim import compare as cmp
    from vmsim.metrics import render

    check_plot(plot, force)
    with Progress(f"compare {source.name}", enabled=False if quiet else None) as progress:
        doc = cmp.compare(
            source,
            parse_policies(policy),
            required_frames(frames),
            page_size=page_size,
            trace_format=trace_format,
            seed=seed,
            overrides=set_ or [],
            progress=progress,
            workers=worker_count(workers),
            scheduler=scheduler,
        )
    if plot is not None:
        from vmsim.metrics.plots import plot_compare

        plot_compare(doc, plot)
    emit(doc, fmt, table=render.compare_table, csv=lambda d: render.runs_csv(d.runs))
    for a in doc.anomalies if fmt is Format.table else ():
        typer.echo(
            f"Belady anomaly: {a.policy} faults {a.faults_from:,} with {a.frames_from} frames "
            f"but {a.faults_to:,} with {a.frames_to}"
        )
    interrupted(doc.partial)


def curve(
    source: Annotated[Path, typer.Argument(help="A trace file or a scenario YAML.")],
    frames: Annotated[str | None, typer.Option("--frames", "-f", help="Frames: 1..64 or a list 16,64,256.")] = None,
    policy: PolicyOpt = None,
    page_size: PageSizeOpt = 4096,
    trace_format: TraceFormatOpt = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    set_: SetOpt = None,
    fmt: FormatOpt = Format.table,
    seed: SeedOpt = 0,
    plot: PlotOpt = None,
    force: PlotForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Miss-ratio curves: faults at every frame count. LRU comes from one pass over the trace
    (stack distances); other policies run once per size, in parallel."""
    from vmsim import compare as cmp
    from vmsim.engine.curves import curve as trace_curve
    from vmsim.metrics import render
    from vmsim.metrics.schema import CurvePoint
    from vmsim.workloads import open_trace

    counts = required_frames(frames)
    specs = parse_policies(policy)
    n = worker_count(workers)
    check_plot(plot, force)
    with Progress(f"curve {source.name}", enabled=False if quiet else None) as progress:
        if cmp.is_scenario(source):
            doc = cmp.compare(
                source, specs, counts, seed=seed, overrides=set_ or [], progress=progress, workers=n, scheduler=scheduler
            )
            points = [CurvePoint.of(r) for r in doc.runs]
            expected = len(doc.config["policies"]) * len(counts)
        else:
            trace = open_trace(source, trace_format, page_size)
            points = trace_curve(trace, specs, counts, seed=seed, workers=n, scheduler=scheduler, progress=progress)
            expected = len(specs) * len(counts)
    if plot is not None:
        from vmsim.metrics.plots import plot_curve

        plot_curve(points, plot)
    emit(points, fmt, table=render.curve_table, csv=render.curve_csv)
    interrupted(len(points) < expected or any(p.partial for p in points))
