"""Address-translation and allocation exercises with answers, for an OS course.

:func:`make` poses a problem of one kind from a seed, or from explicit parameters (every option
can be given to re-pose a textbook problem), and solves it. The same kind, options and seed give
the same problem and answers, byte for byte: every random choice comes from one
``random.Random(seed)``.

This package sits beside the workloads: it uses ``vmsim.hw`` (address split, segments) and the heap
allocator of ``vmsim.alloc.heap``, nothing above them.
"""

from __future__ import annotations

import dataclasses
import random
import shlex
from collections.abc import Mapping
from pathlib import Path

from vmsim.errors import VmsimError
from vmsim.exercises import freelist, linear, multilevel, relocation, segmentation, tlb
from vmsim.exercises.common import Kind, KindModule, Options, Problem, parse_addresses, parse_size, shell_command

#: The modules that define the kinds, in the order help and errors list them.
_MODULES: tuple[KindModule, ...] = (relocation, segmentation, linear, multilevel, tlb, freelist)

#: Every exercise kind, by name.
KINDS: dict[str, Kind] = {k.name: k for k in map(Kind.of, _MODULES)}

__all__ = ["KINDS", "Kind", "Problem", "make", "parse_addresses", "parse_size", "write_memory"]


def lookup(kind: str) -> Kind:
    """The exercise kind of this name (any case); an unknown name is a VmsimError listing the kinds."""
    try:
        return KINDS[kind.lower()]
    except KeyError:
        raise VmsimError(f"unknown exercise kind {kind!r}; kinds: {', '.join(KINDS)}") from None


def make(kind: str, given: Mapping[str, object], seed: int = 0) -> Problem:
    """Pose and solve one exercise.

    ``given`` maps option names as spelt on the command line (``"--asize"``) to their values
    (strings, a bool for ``--coalesce``); an option the kind does not take is an error naming it.
    """
    k = lookup(kind)
    for name in given:
        if name not in k.options:
            raise VmsimError(f"{name} is not an option of {k.name} exercises (they take {', '.join(k.options)})")
    for explicit in ("--addresses", "--ops"):
        if "--count" in given and explicit in given:
            raise VmsimError(f"--count sets how many random items to draw; it cannot be combined with {explicit}")
    rng = random.Random(seed)
    untouched = rng.getstate()
    params = k.build(Options(given), rng)
    drawn = rng.getstate() != untouched  # some parameter was drawn at random
    answers, summary = k.solve(params, seed)
    title = f"{k.title} (seed {seed})" if drawn else k.title
    return Problem(
        kind=k.name,
        seed=seed,
        params=params,
        answers=answers,
        summary=summary,
        statement=title + "\n" + k.statement(params, seed),
        solution=k.solution(params, answers, summary),
        command=shell_command(k.name, k.command(params, seed)) if drawn else "",
    )


def write_memory(problem: Problem, path: Path, force: bool = False) -> Problem:
    """Save a multilevel problem's memory image in the format ``--memory`` reads; the problem
    again, its re-pose command naming the file instead of a placeholder."""
    if problem.kind != "multilevel":
        raise VmsimError(f"--write-memory is an option of multilevel exercises, not {problem.kind}")
    multilevel.write_memory(multilevel.memory_of(problem.params), problem.params["pdbr"], path, force)
    named = problem.command.replace(" --memory FILE ", f" --memory {shlex.quote(str(path))} ")
    return dataclasses.replace(problem, command=named)
