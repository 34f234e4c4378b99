"""``refs``, ``replay`` and ``convert``: a reference string or a trace file through the replay
engine, or a trace rewritten in a binary format."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vmsim.cli.options import (
    ExplainOpt,
    Format,
    FormatOpt,
    FramesOpt,
    NoInstructionsOpt,
    PolicyOpt,
    Profile,
    ProfileOpt,
    QuietOpt,
    ScopeArg,
    ScopeOpt,
    SeedOpt,
    TracePageSizeOpt,
    emit,
    interrupted,
    parse_frames,
    parse_policies,
    required_frames,
)
from vmsim.errors import VmsimError
from vmsim.metrics.progress import Progress
from vmsim.workloads.formats import FORMATS

CSVOpt = Annotated[
    str | None,
    typer.Option(
        "--csv",
        metavar="SPEC",
        help="A libCacheSim csv trace's columns, as libCacheSim takes them: obj-id-col=N (1-based), "
        "has-header=true|false, delimiter=C, obj-id-is-num=true|false, and op-col=N (set/write/put/update write). "
        "Implies --trace-format csv.",
    ),
]

ObjectPagesOpt = Annotated[
    bool,
    typer.Option(
        "--object-pages",
        help="oracleGeneral: a request touches ceil(size / page size) pages of its object, not one page.",
    ),
]

if TYPE_CHECKING:  # imported when a command runs, not at start-up
    from vmsim.engine import Source
    from vmsim.metrics.results import RunResult
    from vmsim.metrics.schema import RunsDoc
    from vmsim.policies import PolicySpec


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
    from vmsim.engine import replay

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


def _explained(doc: RunsDoc) -> str:
    from vmsim.metrics import render

    """``--explain``: each run's step table, then the table of runs."""
    return "\n\n".join(render.steps_table(r) for r in doc.runs) + "\n\n" + render.runs_table(doc.runs)


def _emit(doc: RunsDoc, fmt: Format, profile: Profile | None, explain: bool) -> None:
    from vmsim.metrics import render

    """A ``--profile`` prints as the other tool does, whatever ``--format`` says."""
    if profile is not None:
        to_profile = render.to_ostep if profile is Profile.ostep else render.to_pitt
        typer.echo("\n\n".join(to_profile(r) for r in doc.runs))
        return
    table = _explained if explain else (lambda d: render.runs_table(d.runs))
    emit(doc, fmt, table=table, csv=lambda d: render.runs_csv(d.runs))


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
    from vmsim.metrics.schema import RunsDoc
    from vmsim.workloads import parse_refs

    chunk = parse_refs(references)
    specs = parse_policies(policy)
    counts = parse_frames(frames)
    steps = explain or profile is Profile.ostep or (fmt is Format.json and explain)
    runs = _run_all(lambda: [chunk], specs, counts, "global", seed, steps)
    _emit(RunsDoc.of("refs", {"references": references}, runs), fmt, profile, explain)


def replay_cmd(
    trace: Annotated[Path, typer.Argument(help="Trace file (.gz accepted), streamed, never loaded whole.")],
    frames: FramesOpt = None,
    policy: PolicyOpt = None,
    page_size: TracePageSizeOpt = 4096,
    trace_format: Annotated[
        str | None, typer.Option("--trace-format", help=f"Force the format: {', '.join(FORMATS)} (default: detect).")
    ] = None,
    no_instructions: NoInstructionsOpt = False,
    limit: Annotated[int | None, typer.Option("--limit", help="Replay only the first N accesses.")] = None,
    csv_spec: CSVOpt = None,
    object_pages: ObjectPagesOpt = False,
    scope: ScopeArg = ScopeOpt.global_,
    explain: ExplainOpt = False,
    fmt: FormatOpt = Format.table,
    profile: ProfileOpt = None,
    seed: SeedOpt = 0,
    quiet: QuietOpt = False,
) -> None:
    """Replay a trace file: lackey, pitt, rw, pid, pages (txt), oracleGeneral or vmsim format."""
    from vmsim.metrics.schema import RunsDoc
    from vmsim.workloads import open_trace

    counts = required_frames(frames)
    specs = parse_policies(policy)
    source = open_trace(trace, trace_format, page_size, not no_instructions, limit, csv_spec, object_pages)
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
    # Only when given, so that the echo of every other replay stays as it was.
    echo.update({k: v for k, v in (("csv", csv_spec), ("object_pages", object_pages)) if v})
    doc = RunsDoc.of("replay", echo, runs, partial=len(runs) < len(specs) * len(counts))
    _emit(doc, fmt, profile, explain)
    interrupted(doc.partial)


# convert reads a trace with replay's input options (same names, its own help where the verb differs):
# the signatures look alike on purpose; the shared option types are defined once, in options.py.
def convert(
    trace: Annotated[Path, typer.Argument(help="Trace file in any format replay reads.")],
    out: Annotated[Path, typer.Argument(help="The file to write.")],
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="oracleGeneral (libCacheSim's binary requests: page = object id, size 1, next access filled in) "
            "or vmsim (vmsim's memory-mapped binary, keeps write flags and process ids). "
            "Default: oracleGeneral if OUT's name contains it, else vmsim.",
        ),
    ] = None,
    page_size: TracePageSizeOpt = 4096,
    trace_format: Annotated[
        str | None, typer.Option("--trace-format", help=f"Force the input format: {', '.join(FORMATS)} (default: detect).")
    ] = None,
    no_instructions: NoInstructionsOpt = False,
    limit: Annotated[int | None, typer.Option("--limit", help="Convert only the first N accesses.")] = None,
    csv_spec: CSVOpt = None,
    object_pages: ObjectPagesOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
) -> None:
    """Write a trace as oracleGeneral (for libCacheSim) or as vmsim's binary (replay reads it at disk
    speed)."""
    from vmsim.errors import check_output, replacing
    from vmsim.workloads import binary, open_trace

    kind = to or ("oracleGeneral" if "oracleGeneral" in out.name else "vmsim")
    if kind not in ("oracleGeneral", "vmsim"):
        raise VmsimError(f"--to must be oracleGeneral or vmsim, got {kind!r}")
    source = open_trace(trace, trace_format, page_size, not no_instructions, limit, csv_spec, object_pages)
    check_output(out, force=force)
    if kind == "oracleGeneral" and source.fmt not in ("oracleGeneral", "pages"):
        typer.echo("vmsim: oracleGeneral has no write flags or process ids: writes become reads, one process", err=True)
    with replacing(out) as tmp, tmp.open("wb") as fh:
        n = (binary.write_oracle if kind == "oracleGeneral" else binary.write_vmsim)(source(), fh)
    typer.echo(f"{out}: {n:,} accesses as {kind}")
