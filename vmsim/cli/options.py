"""What the commands share: option types, their parsers, and the one way to print a results document."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from vmsim.errors import OptionError, VmsimError, check_output
from vmsim.limits import MAX_FRAMES, MAX_RANGE, describe

if TYPE_CHECKING:  # the commands import the heavy layers when they run, not at start-up
    from pydantic import BaseModel

    from vmsim.policies import PolicySpec


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
    from vmsim.policies import available, parse_policy

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


def worker_count(n: int | None) -> int:
    """``--workers``: at least 1; by default every core."""
    from vmsim.parallel import default_workers

    if n is not None and n < 1:
        raise VmsimError(f"--workers must be at least 1, got {n}")
    return default_workers() if n is None else n


def check_plot(plot: Path | None, force: bool, *, force_needs_plot: bool = True) -> None:
    """Before any run: --plot FILE ends in .png or .svg, can be written, matplotlib is there, and
    FILE does not exist unless --force (so nobody waits for a run to learn the plot cannot be made)."""
    if plot is None:
        if force and force_needs_plot:
            raise VmsimError("--force only lets --plot replace a file; give --plot FILE")
        return
    from vmsim.metrics.plots import check_plot_path

    check_plot_path(plot)
    check_output(plot, force=force)


Doc = TypeVar("Doc", bound="BaseModel | Sequence[BaseModel]")


def emit(document: Doc, fmt: Format, *, table: Callable[[Doc], str], csv: Callable[[Doc], str] | None = None) -> None:
    """Print a results document on stdout: ``--format json`` as the JSON results (the same for every
    command), ``csv`` with the command's ``csv`` renderer, ``table`` with its ``table`` renderer.
    A command without ``csv`` refuses ``--format csv`` before it runs."""
    if fmt is Format.json:
        from vmsim.metrics.schema import dump_json

        out = dump_json(document)
    elif fmt is Format.csv and csv is not None:
        out = csv(document).rstrip("\n")
    else:
        out = table(document)
    typer.echo(out)


def interrupted(partial: bool) -> None:
    """After printing partial results: say so, and exit as an interrupted program does."""
    if partial:
        typer.echo("vmsim: interrupted: the results above are partial", err=True)
        raise typer.Exit(130)


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
SimFormatOpt = Annotated[Format, typer.Option("--format", help="Output format: table or json (csv: sweep only).")]
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
WorkersOpt = Annotated[int | None, typer.Option("--workers", help="Parallel worker processes (default: all cores); 1 runs here.")]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler", help="Run on a Dask cluster: tcp://HOST:PORT, or 'local' for a local one (needs vmsim[cluster])."
    ),
]
FramesOpt = Annotated[str | None, typer.Option("--frames", "-f", help="Frames: 64, a list 16,64,256 or a range 1..8.")]
PageSizeOpt = Annotated[int, typer.Option("--page-size", help="Page size in bytes for a trace.")]
#: --page-size of the commands that read one trace file (replay, convert).
TracePageSizeOpt = Annotated[int, typer.Option("--page-size", help="Page size in bytes (a power of two).")]
NoInstructionsOpt = Annotated[bool, typer.Option("--no-instructions", help="Skip lackey instruction fetches.")]
TraceFormatOpt = Annotated[str | None, typer.Option("--trace-format", help="Force the trace format.")]
