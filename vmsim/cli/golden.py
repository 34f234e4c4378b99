"""``record``, ``check`` and ``report``: golden files of counters, answer keys, HTML reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vmsim.cli.options import (
    FramesOpt,
    PolicyOpt,
    QuietOpt,
    ScopeArg,
    ScopeOpt,
    TraceFormatOpt,
    parse_policies,
    required_frames,
)
from vmsim.errors import VmsimError, check_output
from vmsim.metrics.progress import Progress


def record(
    golden: Annotated[Path, typer.Argument(help="The golden file to write (JSON).")],
    inputs: Annotated[list[str], typer.Argument(help="Traces and/or scenario YAML files.")],
    frames: FramesOpt = None,
    policy: PolicyOpt = None,
    page_size: Annotated[int, typer.Option("--page-size", help="Page size in bytes for traces.")] = 4096,
    trace_format: TraceFormatOpt = None,
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


def report(
    results: Annotated[Path, typer.Argument(help="A JSON file printed by refs, replay, simulate, sweep, compare or curve.")],
    html: Annotated[Path, typer.Option("--html", help="The HTML page to write.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite the HTML file if it exists.")] = False,
) -> None:
    """Write one self-contained HTML page (tables and inline SVG plots) from a results file."""
    from vmsim.metrics.report import write_report

    write_report(results, html, overwrite=force)
    typer.echo(f"{html}: written")
