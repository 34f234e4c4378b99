"""The `vmsim` command: parse, call the engine, render. No simulation logic here."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

try:  # typer >= 0.20 vendors click; older releases use click itself
    from typer._click import exceptions as _cx
except ImportError:  # pragma: no cover
    from click import exceptions as _cx  # type: ignore[no-redef]

from vmsim import __version__
from vmsim.engine import Source, replay
from vmsim.errors import OptionError, VmsimError, check_output
from vmsim.limits import MAX_FRAMES, MAX_RANGE, describe
from vmsim.metrics import render
from vmsim.metrics.progress import Progress
from vmsim.metrics.results import RunResult
from vmsim.metrics.schema import RunsDoc, dump_json
from vmsim.policies import (
    PolicySpec,
    available,
    load_entry_points,
    load_policy_file,
    lookup,
    origin_of,
    param_info,
    parse_policy,
)
from vmsim.workloads import FORMATS, open_trace, parse_refs

app = typer.Typer(
    name="vmsim",
    help="vmsim: a virtual-memory simulator (paging, segmentation, replacement policies).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class Profile(StrEnum):
    ostep = "ostep"
    pitt = "pitt"


class ScopeOpt(StrEnum):
    global_ = "global"
    local = "local"


def parse_frames(text: str) -> list[int]:
    """``8``, ``16,64,256`` or ``1..8`` (inclusive); every count must be positive."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if ".." in part:
                lo, hi = (int(x) for x in part.split("..", 1))
                if hi < lo:
                    raise VmsimError(f"--frames range {part!r} is empty (write low..high)")
                if hi - lo >= MAX_RANGE:
                    raise OptionError(f"--frames range {part!r} has more than {MAX_RANGE:,} sizes", field="--frames")
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise VmsimError(f"--frames takes a number, a list (16,64,256) or a range (1..8), got {text!r}") from None
    bad = [f for f in out if f <= 0]
    if bad:
        raise OptionError(f"--frames must be positive, got {bad[0]}", field="--frames")
    big = [f for f in out if f > MAX_FRAMES]
    if big:
        raise OptionError(f"--frames {big[0]:,}: vmsim simulates at most {describe(MAX_FRAMES)} frames", field="--frames")
    return list(dict.fromkeys(out))


def required_frames(text: str | None) -> list[int]:
    """``--frames`` for the commands that have no default."""
    if text is None:
        raise VmsimError("--frames is required: a number (64), a list (16,64,256) or a range (1..8)")
    return parse_frames(text)


def parse_policies(values: Sequence[str] | None) -> list[PolicySpec]:
    """Repeatable ``--policy``; commas separate several; ``all`` means every registered policy."""
    names: list[str] = []
    for v in values or ["lru"]:
        names.extend(x.strip() for x in v.split(",") if x.strip())
    specs: list[PolicySpec] = []
    for n in names:
        if n.lower() == "all":
            specs.extend(parse_policy(p) for p in available())
        else:
            specs.append(parse_policy(n))
    return list({s.label: s for s in specs}.values())


PolicyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--policy",
        "-p",
        help="Replacement policy, repeatable or comma-separated; NAME:key=value sets a parameter "
        "(clock:ref_bit_on_load=false); 'all' runs every registered policy (built-ins and plug-ins). "
        "Default: lru. Your own policy: --policy-file FILE.py:Class (before or after the command).",
    ),
]
FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]
ProfileOpt = Annotated[
    Profile | None,
    typer.Option("--profile", help="Print in the format of another tool: ostep (paging-policy.py -c) or pitt (CS1550 vmsim)."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the simulation's random generator (random policy).")]
ScopeArg = Annotated[
    ScopeOpt,
    typer.Option("--scope", help="global: victims among all frames; local: each process replaces only its own frames."),
]
ExplainOpt = Annotated[bool, typer.Option("--explain", help="Print the step table: one row per access.")]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress line on stderr (it only shows on a terminal, after 2 s).")
]


def _interrupted(partial: bool) -> None:
    """After printing partial results: say so, and exit as an interrupted program does."""
    if partial:
        typer.echo("vmsim: interrupted: the results above are partial", err=True)
        raise typer.Exit(130)


def _run_all(
    source: Source,
    policies: list[PolicySpec],
    frames: list[int],
    scope: str,
    seed: int,
    steps: bool,
    name: str = "",
    quiet: bool = True,
) -> list[RunResult]:
    """Every (policy, frames) run; Ctrl-C stops the current run and skips the rest."""
    runs: list[RunResult] = []
    with Progress(name, enabled=False if quiet else None) as progress:
        for spec in policies:
            for f in frames:
                progress.relabel(f"{name} {spec.label} {f} frames")
                run = replay(source, spec, f, scope=scope, seed=seed, steps=steps, on_chunk=progress)  # type: ignore[arg-type]
                runs.append(run)
                if run.partial or progress.stop:
                    return runs
    return runs


def _emit(doc: RunsDoc, fmt: Format, profile: Profile | None, explain: bool) -> None:
    if profile is Profile.ostep:
        out = "\n\n".join(render.to_ostep(r) for r in doc.runs)
    elif profile is Profile.pitt:
        out = "\n\n".join(render.to_pitt(r) for r in doc.runs)
    elif fmt is Format.json:
        out = dump_json(doc)
    elif fmt is Format.csv:
        out = render.runs_csv(doc.runs).rstrip("\n")
    elif explain:
        out = "\n\n".join(render.steps_table(r) for r in doc.runs) + "\n\n" + render.runs_table(doc.runs)
    else:
        out = render.runs_table(doc.runs)
    typer.echo(out)


@app.command()
def refs(
    references: Annotated[str, typer.Argument(help='Pages separated by spaces or commas; a w suffix writes: "7 0 1 2w 0".')],
    frames: Annotated[str, typer.Option("--frames", "-f", help="Frames: 3, a list 3,4 or a range 1..8.")] = "3",
    policy: PolicyOpt = None,
    explain: ExplainOpt = False,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    seed: SeedOpt = 0,
) -> None:
    """Run a reference string, as in a textbook exercise."""
    chunk = parse_refs(references)
    specs = parse_policies(policy)
    counts = parse_frames(frames)
    steps = explain or profile is Profile.ostep or (fmt is Format.json and explain)
    runs = _run_all(lambda: [chunk], specs, counts, "global", seed, steps)
    _emit(RunsDoc.of("refs", {"references": references}, runs), fmt, profile, explain)


@app.command(name="replay")
def replay_cmd(
    trace: Annotated[Path, typer.Argument(help="Trace file (.gz accepted), streamed, never loaded whole.")],
    frames: Annotated[str | None, typer.Option("--frames", "-f", help="Frames: 64, a list 16,64,256 or a range 1..8.")] = None,
    policy: PolicyOpt = None,
    page_size: Annotated[int, typer.Option("--page-size", help="Page size in bytes (a power of two).")] = 4096,
    trace_format: Annotated[
        str | None, typer.Option("--trace-format", help=f"Force the format: {', '.join(FORMATS)} (default: detect).")
    ] = None,
    no_instructions: Annotated[bool, typer.Option("--no-instructions", help="Skip lackey instruction fetches.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="Replay only the first N accesses.")] = None,
    scope: ScopeArg = ScopeOpt.global_,
    explain: ExplainOpt = False,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    seed: SeedOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Replay a trace file: lackey, pitt, rw, pid or pages format."""
    counts = required_frames(frames)
    specs = parse_policies(policy)
    source = open_trace(trace, trace_format, page_size, not no_instructions, limit)
    steps = explain or profile is Profile.ostep
    runs = _run_all(source, specs, counts, scope.value, seed, steps, trace.name, quiet)
    echo = {
        "trace": str(trace),
        "format": source.fmt,
        "page_size": page_size,
        "instructions": not no_instructions,
        "limit": limit,
        "scope": scope.value,
        "seed": seed,
    }
    doc = RunsDoc.of("replay", echo, runs, partial=len(runs) < len(specs) * len(counts))
    _emit(doc, fmt, profile, explain)
    _interrupted(doc.partial)


SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario field: PATH=VALUE, e.g. kernel.replacement.policy=fifo (repeatable)."),
]
PlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        help="Also draw the results to FILE.png or FILE.svg (needs matplotlib); an existing FILE is kept unless --force.",
    ),
]
PlotForceOpt = Annotated[bool, typer.Option("--force", help="Let --plot replace an existing file.")]


def _check_plot(plot: Path | None, force: bool, *, force_needs_plot: bool = True) -> None:
    """Before any run: --plot FILE ends in .png or .svg, can be written, matplotlib is there, and
    FILE does not exist unless --force (so nobody waits for a run to learn the plot cannot be made)."""
    if plot is None:
        if force and force_needs_plot:
            raise VmsimError("--force only lets --plot replace a file; give --plot FILE")
        return
    from vmsim.metrics.plots import check_plot_path

    check_plot_path(plot)
    check_output(plot, force=force)


SimFormatOpt = Annotated[Format, typer.Option("--format", help="Output format: table or json (csv: sweep only).")]


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    set_: SetOpt = None,
    fmt: SimFormatOpt = Format.table,
    quiet: QuietOpt = False,
    plot: PlotOpt = None,
    force: PlotForceOpt = False,
) -> None:
    """Run a YAML scenario on the SimPy kernel: processes, scheduler, paging device, load control."""
    from vmsim.metrics.schema import SimDoc
    from vmsim.scenario.build import simulate as run_scenario
    from vmsim.scenario.loader import load_scenario

    if fmt is Format.csv:
        raise VmsimError("simulate prints table or json; use sweep --format csv for a table of runs")
    _check_plot(plot, force)
    sc = load_scenario(scenario, set_ or [])
    with Progress(f"simulate {sc.name}", enabled=False if quiet else None) as progress:
        doc = SimDoc.of(run_scenario(sc, on_sample=progress))
    if plot is not None:
        from vmsim.metrics.plots import plot_simulation

        plot_simulation(doc, plot)
    typer.echo(dump_json(doc) if fmt is Format.json else render.sim_table(doc))
    _interrupted(doc.partial)


WorkersOpt = Annotated[int | None, typer.Option("--workers", help="Parallel worker processes (default: all cores); 1 runs here.")]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler", help="Run on a Dask cluster: tcp://HOST:PORT, or 'local' for a local one (needs vmsim[cluster])."
    ),
]


def _workers(n: int | None) -> int:
    from vmsim.parallel import default_workers

    if n is not None and n < 1:
        raise VmsimError(f"--workers must be at least 1, got {n}")
    return default_workers() if n is None else n


@app.command()
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

    if not vary:
        raise VmsimError("sweep needs at least one --vary PATH=V1,V2,... (or PATH=A..B)")
    if resume and out is None:
        raise VmsimError("--resume applies to --out FILE")
    if force and out is None and plot is None:
        raise VmsimError("--force applies to --out FILE and --plot FILE")
    _check_plot(plot, force, force_needs_plot=False)
    with Progress("sweep", enabled=False if quiet else None) as progress:
        outcome = sw.sweep(
            scenario,
            vary,
            set_ or [],
            workers=_workers(workers),
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
    if fmt is Format.json:
        typer.echo(dump_json(doc))
    elif fmt is Format.csv:
        typer.echo(render.sweep_csv(doc).rstrip("\n"))
    else:
        typer.echo(render.sweep_table(doc))
    _interrupted(doc.partial)


@app.command()
def compare(
    source: Annotated[Path, typer.Argument(help="A trace file or a scenario YAML.")],
    frames: Annotated[str | None, typer.Option("--frames", "-f", help="Frames: 64, a list 16,64,256 or a range 1..8.")] = None,
    policy: PolicyOpt = None,
    page_size: Annotated[int, typer.Option("--page-size", help="Page size in bytes for a trace.")] = 4096,
    trace_format: Annotated[str | None, typer.Option("--trace-format", help="Force the trace format.")] = None,
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

    _check_plot(plot, force)
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
            workers=_workers(workers),
            scheduler=scheduler,
        )
    if plot is not None:
        from vmsim.metrics.plots import plot_compare

        plot_compare(doc, plot)
    if fmt is Format.json:
        typer.echo(dump_json(doc))
    elif fmt is Format.csv:
        typer.echo(render.runs_csv(doc.runs).rstrip("\n"))
    else:
        typer.echo(render.compare_table(doc))
    for a in doc.anomalies if fmt is Format.table else ():
        typer.echo(
            f"Belady anomaly: {a.policy} faults {a.faults_from:,} with {a.frames_from} frames "
            f"but {a.faults_to:,} with {a.frames_to}"
        )
    _interrupted(doc.partial)


@app.command()
def curve(
    source: Annotated[Path, typer.Argument(help="A trace file or a scenario YAML.")],
    frames: Annotated[str | None, typer.Option("--frames", "-f", help="Frames: 1..64 or a list 16,64,256.")] = None,
    policy: PolicyOpt = None,
    page_size: Annotated[int, typer.Option("--page-size", help="Page size in bytes for a trace.")] = 4096,
    trace_format: Annotated[str | None, typer.Option("--trace-format", help="Force the trace format.")] = None,
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
    from vmsim.metrics.schema import CurvePoint

    counts = required_frames(frames)
    specs = parse_policies(policy)
    n = _workers(workers)
    _check_plot(plot, force)
    with Progress(f"curve {source.name}", enabled=False if quiet else None) as progress:
        if cmp.is_scenario(source):
            doc = cmp.compare(
                source, specs, counts, seed=seed, overrides=set_ or [], progress=progress, workers=n, scheduler=scheduler
            )
            points = [
                CurvePoint(
                    policy=r.policy,
                    frames=r.frames,
                    references=r.references,
                    faults=r.faults,
                    writebacks=r.writebacks,
                    partial=r.partial,
                )
                for r in doc.runs
            ]
            expected = len(doc.config["policies"]) * len(counts)
        else:
            trace = open_trace(source, trace_format, page_size)
            points = trace_curve(trace, specs, counts, seed=seed, workers=n, scheduler=scheduler, progress=progress)
            expected = len(specs) * len(counts)
    if plot is not None:
        from vmsim.metrics.plots import plot_curve

        plot_curve(points, plot)
    if fmt is Format.json:
        typer.echo(dump_json(points))
    elif fmt is Format.csv:
        typer.echo(render.curve_csv(points).rstrip("\n"))
    else:
        typer.echo(render.curve_table(points))
    _interrupted(len(points) < expected or any(p.partial for p in points))


@app.command()
def record(
    golden: Annotated[Path, typer.Argument(help="The golden file to write (JSON).")],
    inputs: Annotated[list[str], typer.Argument(help="Traces and/or scenario YAML files.")],
    frames: Annotated[str | None, typer.Option("--frames", "-f", help="Frames: 64, a list 16,64,256 or a range 1..8.")] = None,
    policy: PolicyOpt = None,
    page_size: Annotated[int, typer.Option("--page-size", help="Page size in bytes for traces.")] = 4096,
    trace_format: Annotated[str | None, typer.Option("--trace-format", help="Force the trace format.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default: 0 for traces, the scenario's own).")] = None,
    scope: ScopeArg = ScopeOpt.global_,
    force: Annotated[bool, typer.Option("--force", help="Overwrite GOLDEN if it exists.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Run every input x policy x frames and write their counters to a golden file."""
    from vmsim import golden as g

    names = [spec.label for spec in parse_policies(policy)]
    check_output(golden, force=force)  # before running anything
    with Progress(f"record {golden.name}", enabled=False if quiet else None) as progress:
        doc = g.record(
            inputs,
            names,
            required_frames(frames),
            page_size=page_size,
            trace_format=trace_format,
            seed=seed,
            scope=scope.value,
            progress=progress,
        )
    g.write_golden(golden, doc, overwrite=force)
    typer.echo(f"{golden}: {len(doc['runs'])} runs recorded")


@app.command()
def check(
    golden: Annotated[
        Path,
        typer.Argument(
            help="A golden file written by vmsim record, or an exercise's answer key (vmsim exercise ... --solve --format json)."
        ),
    ],
    answers: Annotated[
        Path | None, typer.Option("--answers", help="With an answer key: a student's answers (a JSON list) to grade.")
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Re-run a golden file's runs: exit 0 when every counter matches, 1 with a table of diffs.
    With an exercise's answer key, grade --answers against it the same way."""
    from vmsim import golden as g
    from vmsim.errors import read_json
    from vmsim.exercises import grade

    doc = read_json(golden)
    if grade.is_key(doc):
        given = None if answers is None else read_json(answers, "answers file")
        n, wrong = grade.check_answers(doc, given, str(golden))
        typer.echo(grade.mismatch_table(n, wrong))
        if wrong:
            raise typer.Exit(1)
        return
    if answers is not None:
        raise VmsimError("--answers grades against an exercise's answer key; this is a golden file of runs", source=str(golden))

    with Progress(f"check {golden.name}", enabled=False if quiet else None) as progress:
        result = g.check(golden, progress, doc)
    typer.echo(g.diff_table(result))
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def report(
    results: Annotated[Path, typer.Argument(help="A JSON file printed by refs, replay, simulate, sweep, compare or curve.")],
    html: Annotated[Path, typer.Option("--html", help="The HTML page to write.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite the HTML file if it exists.")] = False,
) -> None:
    """Write one self-contained HTML page (tables and inline SVG plots) from a results file."""
    from vmsim.metrics.report import write_report

    write_report(results, html, overwrite=force)
    typer.echo(f"{html}: written")


@app.command()
def validate(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
    set_: SetOpt = None,
) -> None:
    """Check scenarios without running them: one line per file, exit code 2 if any is invalid."""
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
        typer.echo(f"{path}: ok ({sc.name}: {procs} process{'es' if procs != 1 else ''}, {sc.machine.frames:,} frames)")
    if bad:
        raise typer.Exit(2)


@app.command()
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


@app.command(name="policies")
def policies_cmd() -> None:
    """List the replacement policies with their aliases, parameters and where they come from."""
    rows = []
    for name in available():
        cls = lookup(name)
        params = ", ".join(f"{k}={str(d).lower() if isinstance(d, bool) else d}" for k, (_, d, _) in param_info(cls).items())
        rows.append([name, ", ".join(cls.aliases), params or "-", cls.summary or "-", origin_of(name)])
    from tabulate import tabulate

    typer.echo(tabulate(rows, headers=["policy", "aliases", "parameters", "description", "from"]))


@app.command(name="new-policy")
def new_policy(
    name: Annotated[str, typer.Argument(help="The new policy's name: lower-case letters, digits and _ (e.g. my_lfu).")],
    directory: Annotated[Path, typer.Option("--dir", help="Where to write NAME.py and test_NAME.py.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite the files if they exist.")] = False,
) -> None:
    """Write a documented skeleton policy NAME.py (a working FIFO to change) and its tests test_NAME.py."""
    from vmsim.policies._skeleton import class_name, write_skeleton

    policy, tests = write_skeleton(name, directory, overwrite=force)
    typer.echo(f"{policy}: written\n{tests}: written")
    typer.echo(f'try: vmsim --policy-file {policy}:{class_name(name)} refs "1 2 3 4 1 2 5 1 2 3 4 5" -f 3 -p {name} --explain')
    typer.echo(f"test: python -m pytest {tests}")


class ExerciseFormat(StrEnum):
    text = "text"
    json = "json"


def _xopt(name: str, metavar: str, help: str) -> object:
    """An exercise option: a string parsed (and checked against the kind) by vmsim.exercises."""
    return typer.Option(name, metavar=metavar, help=help)


@app.command()
def exercise(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(metavar="KIND", help="relocation, segmentation, linear, multilevel, tlb or freelist.")],
    solve: Annotated[bool, typer.Option("--solve", help="Print the answers too.")] = False,
    fmt: Annotated[ExerciseFormat, typer.Option("--format", help="text or json.")] = ExerciseFormat.text,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random problem (and of tlb's random policy).")] = 0,
    count: Annotated[str | None, _xopt("--count", "N", "How many random addresses, accesses or operations.")] = None,
    addresses: Annotated[str | None, _xopt("--addresses", "LIST", "Virtual addresses a,b,... (decimal or 0x hex).")] = None,
    asize: Annotated[str | None, _xopt("--asize", "SIZE", "Address-space size (16k, 1m, 0x4000).")] = None,
    psize: Annotated[str | None, _xopt("--psize", "SIZE", "Physical-memory size.")] = None,
    base: Annotated[str | None, _xopt("--base", "ADDR", "relocation: base register; freelist: heap start address.")] = None,
    limit: Annotated[str | None, _xopt("--limit", "SIZE", "relocation: bounds (limit) register.")] = None,
    base0: Annotated[str | None, _xopt("--base0", "ADDR", "segmentation: physical start of segment 0.")] = None,
    limit0: Annotated[str | None, _xopt("--limit0", "SIZE", "segmentation: size of segment 0.")] = None,
    base1: Annotated[str | None, _xopt("--base1", "ADDR", "segmentation: where segment 1 ends (its top).")] = None,
    limit1: Annotated[str | None, _xopt("--limit1", "SIZE", "segmentation: size of segment 1.")] = None,
    page_size: Annotated[str | None, _xopt("--page-size", "SIZE", "linear, tlb: page size.")] = None,
    page_table: Annotated[str | None, _xopt("--page-table", "LIST", "linear: frame per page, - invalid: 12,-,-,6.")] = None,
    pdbr: Annotated[str | None, _xopt("--pdbr", "N", "multilevel: physical page of the page directory (0..127).")] = None,
    memory: Annotated[str | None, _xopt("--memory", "FILE", "multilevel: memory, a page of 32 hex bytes a line.")] = None,
    write_memory: Annotated[
        Path | None, typer.Option("--write-memory", metavar="FILE", help="multilevel: save the memory image.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Let --write-memory overwrite a file.")] = False,
    entries: Annotated[str | None, _xopt("--entries", "N", "tlb: number of entries.")] = None,
    ways: Annotated[str | None, _xopt("--ways", "N", "tlb: associativity (1: direct-mapped; default: full).")] = None,
    policy: Annotated[str | None, _xopt("--policy", "NAME", "tlb: lru, fifo, random; freelist: first, best, ...")] = None,
    hit_time: Annotated[str | None, _xopt("--hit-time", "NS", "tlb: ns of an access that hits the TLB (default 10).")] = None,
    miss_penalty: Annotated[str | None, _xopt("--miss-penalty", "NS", "tlb: ns a TLB miss adds (default 100).")] = None,
    size: Annotated[str | None, _xopt("--size", "SIZE", "freelist: heap size.")] = None,
    order: Annotated[str | None, _xopt("--order", "ORDER", "freelist: address, size-asc, size-desc, front, back.")] = None,
    coalesce: Annotated[bool | None, typer.Option("--coalesce/--no-coalesce", help="freelist: merge freed blocks.")] = None,
    align: Annotated[str | None, _xopt("--align", "N", "freelist: round requests up to a multiple of this.")] = None,
    ops: Annotated[str | None, _xopt("--ops", "LIST", "freelist: a16 allocates 16 bytes, f0 frees alloc 0.")] = None,
) -> None:
    """Pose an address-translation or allocation exercise from --seed or explicit numbers; --solve answers it."""
    from vmsim import exercises

    common = {"kind", "solve", "fmt", "seed", "force"}
    given = {
        p.opts[0]: ctx.params[p.name]
        for p in ctx.command.params
        if p.param_type_name == "option" and p.name not in common and ctx.params.get(p.name) is not None
    }
    if force and write_memory is None:
        raise VmsimError("--force only lets --write-memory overwrite a file; give --write-memory FILE")
    problem = exercises.make(kind, given, seed)
    if write_memory is not None:
        check_output(write_memory, force=force)
        problem = exercises.write_memory(problem, write_memory, force)
        typer.echo(
            f"{write_memory}: memory image written (pose it again with --pdbr {problem.params['pdbr']} --memory {write_memory})",
            err=True,
        )
    typer.echo(problem.to_json(solve) if fmt is ExerciseFormat.json else problem.to_text(solve))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vmsim {__version__}")
        raise typer.Exit()


#: Commands that never use a policy, so they do not load installed plug-ins (entry points).
_NO_POLICIES = frozenset({"report", "new-policy", "exercise"})


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
    policy_file: Annotated[
        list[str] | None,
        typer.Option(
            "--policy-file",
            metavar="FILE.py:CLASS",
            help="Load a replacement policy class from a Python file for this run (repeatable); it is "
            "registered like a built-in. Also accepted after the command name.",
        ),
    ] = None,
    no_entry_points: Annotated[
        bool,
        typer.Option("--no-entry-points", help="Do not load the policies of installed packages (entry points vmsim.policies)."),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Show the Python traceback of an internal error (also VMSIM_DEBUG=1). Accepted anywhere on the command line.",
        ),
    ] = False,
) -> None:
    """vmsim: a virtual-memory simulator.

    Plug-in policies are loaded here, before the command runs, and only here: installed packages'
    entry points (group vmsim.policies) for every command that uses policies, and each
    --policy-file. A scenario file never loads code.
    """
    if not no_entry_points and ctx.invoked_subcommand not in _NO_POLICIES:
        load_entry_points()
    for ref in policy_file or []:
        load_policy_file(ref)


def _hoist_root_options(args: list[str]) -> list[str]:
    """Move ``--policy-file`` and ``--no-entry-points`` given after the command name in front of
    it, where the root reads them. Asking for help never loads installed plug-ins."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i:])
            break
        if a == "--policy-file" and i + 1 < len(args):
            front += args[i : i + 2]
            i += 2
            continue
        (front if a.startswith("--policy-file=") or a == "--no-entry-points" else rest).append(a)
        i += 1
    if "--help" in rest and "--no-entry-points" not in front:
        front.append("--no-entry-points")
    return front + rest


#: Where to report a bug (the last-resort handler names it).
ISSUES_URL = "https://github.com/vmsim/vmsim/issues"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: bad input is one line on stderr and exit code 2, never a traceback. Anything
    else that escapes is a bug in vmsim: one line, exit code 70 (EX_SOFTWARE), and ``--debug``
    (or VMSIM_DEBUG=1) shows the traceback."""
    args = _hoist_root_options(list(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in args[: args.index("--")] if "--" in args else "--debug" in args
    if debug:
        args = [a for i, a in enumerate(args) if a != "--debug" or ("--" in args and i > args.index("--"))]
    debug = debug or os.environ.get("VMSIM_DEBUG", "") not in ("", "0")
    try:
        result = app(args=args, prog_name="vmsim", standalone_mode=False)
    except VmsimError as e:
        typer.echo(f"vmsim: error: {_one_line(str(e))}", err=True)
        return 2
    except _cx.UsageError as e:
        if type(e).__name__ == "NoArgsIsHelpError" and e.ctx is not None:
            typer.echo(e.ctx.get_help())
            return 0
        hint = f" (see vmsim {e.ctx.info_name} --help)" if e.ctx is not None and e.ctx.info_name != "vmsim" else ""
        typer.echo(f"vmsim: error: {_one_line(e.format_message())}{hint}", err=True)
        return 2
    except typer.Exit as e:
        return e.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("vmsim: interrupted", err=True)
        return 130
    except _cx.ClickException as e:
        typer.echo(f"vmsim: error: {_one_line(e.format_message())}", err=True)
        return 2
    except BrokenPipeError:
        return 0
    except MemoryError:
        if debug:
            raise
        typer.echo(
            "vmsim: error: out of memory: this machine cannot hold what the run needs "
            "(use less memory, larger pages or a shorter run)",
            err=True,
        )
        return 70
    except Exception as e:  # the last resort: a bug in vmsim, reported in one line
        if debug:
            raise
        typer.echo(
            f"vmsim: internal error: {type(e).__name__}: {_one_line(str(e))[:300]} -- this is a bug in "
            f"vmsim {__version__}; please report it at {ISSUES_URL} with the command you ran "
            "(run it again with --debug for the traceback)",
            err=True,
        )
        return 70
    return result if isinstance(result, int) else 0


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text else text


def run() -> None:
    """Console-script wrapper."""
    sys.exit(main())
