"""The `vmsim` command: parse, call the engine, render. No simulation logic here."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
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
from vmsim.errors import VmsimError
from vmsim.metrics import render
from vmsim.metrics.progress import Progress
from vmsim.metrics.results import RunResult
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
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise VmsimError(f"--frames takes a number, a list (16,64,256) or a range (1..8), got {text!r}") from None
    bad = [f for f in out if f <= 0]
    if bad:
        raise VmsimError(f"--frames must be positive, got {bad[0]}")
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
    source: Source, policies: list[PolicySpec], frames: list[int], scope: str, seed: int, steps: bool,
    name: str = "", quiet: bool = True,
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


def _emit(runs: list[RunResult], fmt: Format, profile: Profile | None, explain: bool) -> None:
    if profile is Profile.ostep:
        out = "\n\n".join(render.to_ostep(r) for r in runs)
    elif profile is Profile.pitt:
        out = "\n\n".join(render.to_pitt(r) for r in runs)
    elif fmt is Format.json:
        out = render.to_json(runs)
    elif fmt is Format.csv:
        out = render.to_csv(runs).rstrip("\n")
    elif explain:
        out = "\n\n".join(render.to_steps(r) for r in runs) + "\n\n" + render.to_table(runs)
    else:
        out = render.to_table(runs)
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
    runs = [replace(r, config={"command": "refs", "references": references}) for r in runs]
    _emit(runs, fmt, profile, explain)


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
    echo = {"command": "replay", "trace": str(trace), "format": source.fmt, "page_size": page_size,
            "instructions": not no_instructions, "limit": limit}
    runs = [replace(r, config=echo) for r in runs]
    _emit(runs, fmt, profile, explain)
    _interrupted(any(r.partial for r in runs) or len(runs) < len(specs) * len(counts))


SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario field: PATH=VALUE, e.g. kernel.replacement.policy=fifo (repeatable)."),
]
PlotOpt = Annotated[
    Path | None, typer.Option("--plot", help="Also draw the results to FILE.png or FILE.svg (needs matplotlib).")
]
SimFormatOpt = Annotated[Format, typer.Option("--format", help="Output format: table or json (csv: sweep only).")]


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    set_: SetOpt = None,
    fmt: SimFormatOpt = Format.table,
    quiet: QuietOpt = False,
    plot: PlotOpt = None,
) -> None:
    """Run a YAML scenario on the SimPy kernel: processes, scheduler, paging device, load control."""
    from vmsim.scenario.build import simulate as run_scenario
    from vmsim.scenario.loader import load_scenario

    sc = load_scenario(scenario, set_ or [])
    with Progress(f"simulate {sc.name}", enabled=False if quiet else None) as progress:
        result = run_scenario(sc, on_sample=progress)
    if plot is not None:
        from vmsim.metrics.plots import plot_simulation

        plot_simulation(result.to_dict(), plot)
    if fmt is Format.json:
        import json

        typer.echo(json.dumps(result.to_dict(), indent=2))
    elif fmt is Format.csv:
        raise VmsimError("simulate prints table or json; use sweep --format csv for a table of runs")
    else:
        typer.echo(render.sim_table(result))
    _interrupted(result.partial)


@app.command()
def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    vary: Annotated[
        list[str] | None,
        typer.Option("--vary", help="PATH=V1,V2,... or PATH=A..B; several --vary make a grid."),
    ] = None,
    set_: SetOpt = None,
    fmt: SimFormatOpt = Format.table,
    quiet: QuietOpt = False,
    plot: PlotOpt = None,
) -> None:
    """Run a scenario over a grid of values: one run per combination, all validated first."""
    from vmsim.scenario.build import simulate as run_scenario
    from vmsim.scenario.loader import grid, load_grid

    if not vary:
        raise VmsimError("sweep needs at least one --vary PATH=V1,V2,... (or PATH=A..B)")
    points = grid(vary)
    scenarios = load_grid(scenario, set_ or [], points)
    rows = []
    with Progress("sweep", enabled=False if quiet else None) as progress:
        for i, (params, sc) in enumerate(zip(points, scenarios), 1):
            progress.relabel(f"sweep {i}/{len(points)}")
            rows.append((params, run_scenario(sc, on_sample=progress)))
            if progress.stop:
                break
    if plot is not None:
        from vmsim.metrics.plots import plot_sweep

        plot_sweep([{"params": p, "global": r.global_dict()} for p, r in rows], plot)
    if fmt is Format.json:
        import json

        typer.echo(json.dumps([{"params": p, "global": r.global_dict()} for p, r in rows], indent=2))
    elif fmt is Format.csv:
        typer.echo(render.sweep_csv(rows).rstrip("\n"))
    else:
        typer.echo(render.sweep_table(rows))
    _interrupted(len(rows) < len(points) or any(r.partial for _, r in rows))


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
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Faults per policy and frame count, OPT as the reference, and every Belady anomaly."""
    import json
    from dataclasses import asdict

    from vmsim import compare as cmp

    with Progress(f"compare {source.name}", enabled=False if quiet else None) as progress:
        runs, anomalies = cmp.compare(source, parse_policies(policy), required_frames(frames), page_size=page_size,
                                      trace_format=trace_format, seed=seed, overrides=set_ or [], progress=progress)
    if plot is not None:
        from vmsim.metrics.plots import plot_compare

        plot_compare({"runs": runs, "anomalies": [asdict(a) for a in anomalies]}, plot)
    if fmt is Format.json:
        typer.echo(json.dumps({"runs": runs, "anomalies": [asdict(a) for a in anomalies]}, indent=2))
    elif fmt is Format.csv:
        typer.echo(render.runs_csv(runs).rstrip("\n"))
    else:
        typer.echo(render.compare_table(runs))
    for a in anomalies if fmt is Format.table else ():
        typer.echo(f"Belady anomaly: {a.policy} faults {a.faults_from:,} with {a.frames_from} frames "
                   f"but {a.faults_to:,} with {a.frames_to}")
    _interrupted(any(r.get("partial") for r in runs))


@app.command()
def curve(
    source: Annotated[Path, typer.Argument(help="A trace file or a scenario YAML.")],
    frames: Annotated[str | None, typer.Option("--frames", "-f", help="Frames: 1..64 or a list 16,64,256.")] = None,
    policy: PolicyOpt = None,
    page_size: Annotated[int, typer.Option("--page-size", help="Page size in bytes for a trace.")] = 4096,
    trace_format: Annotated[str | None, typer.Option("--trace-format", help="Force the trace format.")] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Parallel processes for the non-LRU policies (default: all cores).")
    ] = None,
    set_: SetOpt = None,
    fmt: FormatOpt = Format.table,
    seed: SeedOpt = 0,
    plot: PlotOpt = None,
) -> None:
    """Miss-ratio curves: faults at every frame count. LRU comes from one pass over the trace
    (stack distances); other policies run once per size, in parallel."""
    import json
    import os

    from vmsim import compare as cmp
    from vmsim.engine.curves import curve as lru_curve

    counts = required_frames(frames)
    specs = parse_policies(policy)
    if cmp.is_scenario(source):
        runs, _ = cmp.compare(source, specs, counts, seed=seed, overrides=set_ or [])
        points = [{"policy": r["policy"], "frames": r["frames"], "references": r["references"], "faults": r["faults"],
                   "writebacks": r["writebacks"]} for r in runs]
    else:
        trace = open_trace(source, trace_format, page_size)
        n = workers if workers is not None else (os.cpu_count() or 1)
        points = [{"policy": p.policy, "frames": p.frames, "references": p.references, "faults": p.faults,
                   "writebacks": p.writebacks} for p in lru_curve(trace, specs, counts, seed=seed, workers=n)]
    if plot is not None:
        from vmsim.metrics.plots import plot_curve

        plot_curve(points, plot)
    if fmt is Format.json:
        typer.echo(json.dumps(points, indent=2))
    elif fmt is Format.csv:
        typer.echo(render.runs_csv(points).rstrip("\n"))
    else:
        typer.echo(render.curve_table(points))


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
) -> None:
    """Run every input x policy x frames and write their counters to a golden file."""
    from vmsim import golden as g

    names = [spec.label for spec in parse_policies(policy)]
    doc = g.record(inputs, names, required_frames(frames), page_size=page_size, trace_format=trace_format, seed=seed,
                   scope=scope.value)
    g.write_golden(golden, doc, overwrite=force)
    typer.echo(f"{golden}: {len(doc['runs'])} runs recorded")


@app.command()
def check(golden: Annotated[Path, typer.Argument(help="A golden file written by vmsim record.")]) -> None:
    """Re-run a golden file's runs: exit 0 when every counter matches, 1 with a table of diffs."""
    from vmsim import golden as g

    result = g.check(golden)
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
            sc = load_scenario(path, set_ or [])
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
        params = ", ".join(f"{k}={str(d).lower() if isinstance(d, bool) else d}" for k, (_, d) in param_info(cls).items())
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
    typer.echo(f"try: vmsim --policy-file {policy}:{class_name(name)} refs \"1 2 3 4 1 2 5 1 2 3 4 5\" -f 3 -p {name} --explain")
    typer.echo(f"test: python -m pytest {tests}")


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
            "--policy-file", metavar="FILE.py:CLASS",
            help="Load a replacement policy class from a Python file for this run (repeatable); it is "
            "registered like a built-in. Also accepted after the command name.",
        ),
    ] = None,
    no_entry_points: Annotated[
        bool,
        typer.Option("--no-entry-points", help="Do not load the policies of installed packages (entry points vmsim.policies)."),
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: bad input is one line on stderr and exit code 2, never a traceback."""
    args = _hoist_root_options(list(sys.argv[1:] if argv is None else argv))
    try:
        result = app(args=args, prog_name="vmsim", standalone_mode=False)
    except VmsimError as e:
        typer.echo(f"vmsim: error: {e}", err=True)
        return 2
    except _cx.UsageError as e:
        if type(e).__name__ == "NoArgsIsHelpError" and e.ctx is not None:
            typer.echo(e.ctx.get_help())
            return 0
        hint = f" (see vmsim {e.ctx.info_name} --help)" if e.ctx is not None and e.ctx.info_name != "vmsim" else ""
        typer.echo(f"vmsim: error: {e.format_message()}{hint}", err=True)
        return 2
    except typer.Exit as e:
        return e.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("vmsim: interrupted", err=True)
        return 130
    except _cx.ClickException as e:
        typer.echo(f"vmsim: error: {e.format_message()}", err=True)
        return 2
    except BrokenPipeError:
        return 0
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script wrapper."""
    sys.exit(main())


