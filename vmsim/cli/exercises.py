"""``exercise``: address-translation and allocation problems, posed from a seed or explicit numbers."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from vmsim.errors import VmsimError, check_output


class ExerciseFormat(StrEnum):
    text = "text"
    json = "json"


def _xopt(name: str, metavar: str, help: str) -> object:
    """An exercise option: a string parsed (and checked against the kind) by vmsim.exercises."""
    return typer.Option(name, metavar=metavar, help=help)


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
