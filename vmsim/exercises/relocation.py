"""Base-and-bounds (dynamic relocation): a virtual address is valid when ``vaddr < limit``, and
then ``paddr = base + vaddr`` (OSTEP chapter 15, "Address Translation")."""

from __future__ import annotations

import random

from vmsim.errors import VmsimError
from vmsim.exercises import translation
from vmsim.exercises.common import Answer, Answers, Options, Params, Summary, hx, option_args

TITLE = "Base-and-bounds translation"
SUMMARY = "base and bounds: PA = base + VA when VA < limit"
OPTIONS = ("--asize", "--psize", "--base", "--limit", "--addresses", "--count")

DEFAULT_ASIZE = 1 << 10
DEFAULT_PSIZE = 16 << 10


def build(opts: Options, rng: random.Random) -> Params:
    """The problem's parameters from the options, drawing what is not given from ``rng``."""
    asize = opts.size("--asize") or DEFAULT_ASIZE
    psize = opts.size("--psize") or DEFAULT_PSIZE
    limit = opts.size("--limit", positive=False)
    base = opts.size("--base", positive=False)
    if limit is not None and limit > asize:
        raise VmsimError(f"--limit {limit} is larger than the address space (--asize {asize})")
    if limit is not None and limit > psize:
        raise VmsimError(f"--limit {limit} is larger than physical memory (--psize {psize})")
    if limit is None:
        top = min(asize, psize if base is None else psize - base)
        if top < 0:
            raise VmsimError(f"--base {base} is outside physical memory (--psize {psize})")
        limit = rng.randint(min(top, asize // 4), min(top, (asize * 3) // 4))
    if base is None:
        base = rng.randrange(psize - limit + 1)
    if base + limit > psize:
        raise VmsimError(f"--base {base} + --limit {limit} = {base + limit} does not fit in physical memory (--psize {psize})")
    valid, invalid = [(0, limit)], [(limit, asize)]
    addresses = translation.addresses(opts, rng, asize, valid, invalid)
    return {"asize": asize, "psize": psize, "base": base, "limit": limit, "addresses": addresses}


def solve(p: Params, seed: int) -> tuple[Answers, Summary]:
    """The answers to the problem (and a summary, where the kind has one)."""
    answers = []
    for va in p["addresses"]:
        valid = va < p["limit"]
        answers.append({"vaddr": va, "valid": valid, "paddr": p["base"] + va if valid else None})
    return answers, None


def statement(p: Params, seed: int) -> str:
    """The problem statement as text: what a student is given."""
    w = translation.width(p)
    registers = [f"  base  {hx(p['base'], w)} (decimal {p['base']})", f"  limit {hx(p['limit'], w)} (decimal {p['limit']})"]
    return translation.statement(p, registers, "segmentation violation", "a segmentation violation")


def _explain(p: Params, a: Answer, w: int) -> str:
    if a["valid"]:
        return translation.pa(a["paddr"], w, f"{p['base']} + {a['vaddr']}")
    return f"segmentation violation ({a['vaddr']} >= limit {p['limit']})"


def solution(p: Params, answers: Answers, summary: Summary) -> str:
    """The worked answers as text, for ``--solve``."""
    return translation.solution(p, answers, "Answers (valid when vaddr < limit; then PA = base + vaddr):", _explain)


def command(p: Params, seed: int) -> list[str]:
    """The command-line options that pose the same problem with every parameter explicit."""
    return option_args(p, "asize", "psize", "base", "limit", "addresses")
