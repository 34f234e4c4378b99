"""What the one-step translation kinds share (relocation, segmentation, linear): each maps a virtual
address below ``asize`` to a physical one below ``psize``, or refuses it, and its statement and
answers read alike: the sizes, the kind's own registers or table, one line per address.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from vmsim.exercises.common import (
    Answer,
    Answers,
    Options,
    Params,
    Ranges,
    address_prompts,
    hex_width,
    human,
    hx,
    pick_addresses,
    va_label,
)

#: How many random addresses a problem asks about when neither --addresses nor --count is given.
DEFAULT_COUNT = 5

#: How a kind explains one answer, given the parameters, the answer and the hex width.
Explain = Callable[[Params, Answer, int], str]


def addresses(opts: Options, rng: random.Random, asize: int, valid: Ranges, invalid: Ranges) -> list[int]:
    """``--addresses``, or ``--count`` random ones, each drawn from ``valid`` or ``invalid`` with even odds."""
    return opts.addresses_or_drawn(asize, "--asize", DEFAULT_COUNT, lambda n: pick_addresses(rng, n, valid, invalid))


def width(p: Params) -> int:
    """Hex digits that show every virtual and physical address of the problem."""
    return hex_width(p["asize"], p["psize"])


def pa(paddr: int, w: int, arithmetic: str) -> str:
    """``PA 0x.. (decimal .. = <arithmetic>)``: the answer for an address that translates."""
    return f"PA {hx(paddr, w)} (decimal {paddr} = {arithmetic})"


def statement(p: Params, facts: Sequence[str], outcome: str, said: str, geometry: str = "") -> str:
    """The statement: the sizes (and ``geometry`` on that line), the kind's ``facts``, then the task
    (``... or say it is <said>:``) and one ``--> PA or <outcome>?`` line per address."""
    lines = [
        f"  address space {human(p['asize'])}, physical memory {human(p['psize'])}{geometry}",
        *facts,
        "",
        f"Translate each virtual address to a physical address, or say it is {said}:",
        *address_prompts(p["addresses"], width(p), f"PA or {outcome}?"),
    ]
    return "\n".join(lines)


def solution(p: Params, answers: Answers, header: str, explain: Explain) -> str:
    """The worked answers: ``header``, then ``VA[i] 0x.. (decimal ..) --> <explain>`` per address."""
    w = width(p)
    lines = [header, *(f"  {va_label(i, a['vaddr'], w)} --> {explain(p, a, w)}" for i, a in enumerate(answers))]
    return "\n".join(lines)
