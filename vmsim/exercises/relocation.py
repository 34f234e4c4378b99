"""Base-and-bounds (dynamic relocation): a virtual address is valid when ``vaddr < limit``, and
then ``paddr = base + vaddr`` (OSTEP chapter 15, "Address Translation")."""

from __future__ import annotations

import random

from vmsim.errors import VmsimError
from vmsim.exercises.common import (
    Answers,
    Kind,
    Options,
    Params,
    Summary,
    hex_width,
    human,
    hx,
    option_args,
    pick_addresses,
    translate_prompts,
    va_label,
)

DEFAULT_ASIZE = 1 << 10
DEFAULT_PSIZE = 16 << 10
DEFAULT_COUNT = 5


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
    addresses = opts.addresses_or_drawn(asize, "--asize", DEFAULT_COUNT, lambda n: pick_addresses(rng, n, valid, invalid))
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
    w = hex_width(p["asize"], p["psize"])
    lines = [
        f"  address space {human(p['asize'])}, physical memory {human(p['psize'])}",
        f"  base  {hx(p['base'], w)} (decimal {p['base']})",
        f"  limit {hx(p['limit'], w)} (decimal {p['limit']})",
        *translate_prompts(p["addresses"], w, "segmentation violation", "a segmentation violation"),
    ]
    return "\n".join(lines)


def solution(p: Params, answers: Answers, summary: Summary) -> str:
    """The worked answers as text, for ``--solve``."""
    w = hex_width(p["asize"], p["psize"])
    lines = ["Answers (valid when vaddr < limit; then PA = base + vaddr):"]
    for i, a in enumerate(answers):
        va = a["vaddr"]
        if a["valid"]:
            what = f"PA {hx(a['paddr'], w)} (decimal {a['paddr']} = {p['base']} + {va})"
        else:
            what = f"segmentation violation ({va} >= limit {p['limit']})"
        lines.append(f"  {va_label(i, va, w)} --> {what}")
    return "\n".join(lines)


def command(p: Params, seed: int) -> list[str]:
    """The command-line options that pose the same problem with every parameter explicit."""
    return option_args(p, "asize", "psize", "base", "limit", "addresses")


# Same shape as the other kinds' KIND on purpose: a keyword record of this module's functions, which mypy checks.
KIND = Kind(
    name="relocation",
    title="Base-and-bounds translation",
    summary="base and bounds: PA = base + VA when VA < limit",
    options=("--asize", "--psize", "--base", "--limit", "--addresses", "--count"),
    build=build,
    solve=solve,
    statement=statement,
    solution=solution,
    command=command,
)
