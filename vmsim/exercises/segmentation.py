"""Two segments (OSTEP chapter 16, "Segmentation"): the top bit of a virtual address picks the segment.

Segment 0 grows up from virtual address 0: valid when ``vaddr < limit0``, ``paddr = base0 + vaddr``.
Segment 1 grows down from the top of the address space: its offset is negative,
``offset = vaddr - asize``; valid when ``asize - vaddr <= limit1``, and then
``paddr = base1 + offset = base1 - (asize - vaddr)``, where ``base1`` is the physical address at
which segment 1 ends (one past its highest byte).
"""

from __future__ import annotations

import random

from vmsim.errors import VmsimError
from vmsim.exercises import translation
from vmsim.exercises.common import Answer, Answers, Options, Params, Ranges, Summary, hx, is_power_of_two, option_args, pick_in
from vmsim.hw import Segment

TITLE = "Segmentation with two segments"
SUMMARY = "two segments, seg 0 grows up from 0, seg 1 grows down from the top"
OPTIONS = ("--asize", "--psize", "--base0", "--limit0", "--base1", "--limit1", "--addresses", "--count")

DEFAULT_ASIZE = 1 << 10
DEFAULT_PSIZE = 16 << 10


def _starts_clear_of(length: int, psize: int, taken: tuple[int, int] | None, room_for: int = 0) -> Ranges:
    """Start addresses of a ``length``-byte block inside ``[0, psize)`` that avoid ``taken`` and,
    with ``room_for``, leave a gap of that many bytes below or above for another block."""
    if taken is not None:
        lo, hi = taken
        return [(0, lo - length + 1), (hi, psize - length + 1)]
    if room_for:
        return [(0, psize - length - room_for + 1), (room_for, psize - length + 1)]
    return [(0, psize - length + 1)]


def _place(rng: random.Random, ranges: Ranges, what: str, psize: int) -> int:
    if sum(max(0, hi - lo) for lo, hi in ranges) == 0:
        raise VmsimError(f"{what} does not fit beside the other segment in physical memory (--psize {psize})")
    return pick_in(rng, ranges)


def build(opts: Options, rng: random.Random) -> Params:
    """The problem's parameters from the options, drawing what is not given from ``rng``."""
    asize = opts.size("--asize") or DEFAULT_ASIZE
    psize = opts.size("--psize") or DEFAULT_PSIZE
    if not is_power_of_two(asize) or asize < 2:
        raise VmsimError(f"--asize must be a power of two (its top bit picks the segment), got {asize}")
    half = asize // 2
    limits = []
    for i in (0, 1):
        lim = opts.size(f"--limit{i}", positive=False)
        if lim is not None and lim > half:
            raise VmsimError(f"--limit{i} {lim} is larger than half the address space ({half}: the top bit picks the segment)")
        limits.append(lim)
    hi = min((asize * 7) // 16, psize // 2)
    limit0, limit1 = [rng.randint(min(asize // 8, hi), hi) if lim is None else lim for lim in limits]
    if limit0 + limit1 > psize:
        raise VmsimError(f"--limit0 {limit0} + --limit1 {limit1} do not fit in physical memory (--psize {psize})")
    base0 = opts.size("--base0", positive=False)
    base1 = opts.size("--base1", positive=False)
    if base0 is not None and base0 + limit0 > psize:
        raise VmsimError(
            f"--base0 {base0} + --limit0 {limit0} = {base0 + limit0} does not fit in physical memory (--psize {psize})"
        )
    if base1 is not None and base1 > psize:
        raise VmsimError(f"--base1 {base1} (the top of segment 1) is beyond physical memory (--psize {psize})")
    if base1 is not None and base1 < limit1:
        raise VmsimError(f"--base1 {base1} is the top of segment 1, so it must be >= --limit1 {limit1}")
    if base0 is None and base1 is None:
        base0 = _place(rng, _starts_clear_of(limit0, psize, None, room_for=limit1), "--limit0", psize)
    if base1 is None:
        assert base0 is not None
        base1 = _place(rng, _starts_clear_of(limit1, psize, (base0, base0 + limit0)), "segment 1", psize) + limit1
    if base0 is None:
        base0 = _place(rng, _starts_clear_of(limit0, psize, (base1 - limit1, base1)), "segment 0", psize)
    if limit0 and limit1 and base0 < base1 and base1 - limit1 < base0 + limit0:
        raise VmsimError(
            f"segments overlap in physical memory: segment 0 is [{base0}, {base0 + limit0}), "
            f"segment 1 is [{base1 - limit1}, {base1}) (--base0/--limit0, --base1/--limit1)"
        )
    valid, invalid = [(0, limit0), (asize - limit1, asize)], [(limit0, half), (half, asize - limit1)]
    addresses = translation.addresses(opts, rng, asize, valid, invalid)
    return {
        "asize": asize,
        "psize": psize,
        "base0": base0,
        "limit0": limit0,
        "base1": base1,
        "limit1": limit1,
        "addresses": addresses,
    }


def solve(p: Params, seed: int) -> tuple[Answers, Summary]:
    """The answers to the problem (and a summary, where the kind has one)."""
    asize = p["asize"]
    seg0 = Segment("0", 0, p["limit0"])
    seg1 = Segment("1", asize, p["limit1"], grows="down")
    answers = []
    for va in p["addresses"]:
        if va < asize // 2:
            valid = seg0.contains(va)
            answers.append({"vaddr": va, "segment": 0, "offset": va, "valid": valid, "paddr": p["base0"] + va if valid else None})
        else:
            valid = seg1.contains(va)
            offset = va - asize
            answers.append(
                {"vaddr": va, "segment": 1, "offset": offset, "valid": valid, "paddr": p["base1"] + offset if valid else None}
            )
    return answers, None


def statement(p: Params, seed: int) -> str:
    """The problem statement as text: what a student is given."""
    w = translation.width(p)
    segments = [
        "  segment 0 grows up from virtual address 0; segment 1 grows down from the top of the address space;",
        f"  the top bit of a virtual address (value {p['asize'] // 2}) picks the segment",
        f"  segment 0: base  {hx(p['base0'], w)} (decimal {p['base0']}), limit {p['limit0']}",
        f"  segment 1: base  {hx(p['base1'], w)} (decimal {p['base1']}, where the segment ends), limit {p['limit1']}",
    ]
    return translation.statement(p, segments, "segmentation violation", "a segmentation violation")


def _explain(p: Params, a: Answer, w: int) -> str:
    va, seg = a["vaddr"], a["segment"]
    if seg == 0:
        arithmetic, check = f"{p['base0']} + {va}", f"{va} >= limit0 {p['limit0']}"
    else:
        neg = p["asize"] - va
        arithmetic, check = f"{p['base1']} - {neg}", f"{p['asize']} - {va} = {neg} > limit1 {p['limit1']}"
    if a["valid"]:
        return f"segment {seg}, " + translation.pa(a["paddr"], w, arithmetic)
    return f"segmentation violation in segment {seg} ({check})"


def solution(p: Params, answers: Answers, summary: Summary) -> str:
    """The worked answers as text, for ``--solve``."""
    header = (
        "Answers (segment 0: valid when VA < limit0, PA = base0 + VA; "
        "segment 1: offset = VA - asize, valid when -offset <= limit1, PA = base1 + offset):"
    )
    return translation.solution(p, answers, header, _explain)


def command(p: Params, seed: int) -> list[str]:
    """The command-line options that pose the same problem with every parameter explicit."""
    return option_args(p, "asize", "psize", "base0", "limit0", "base1", "limit1", "addresses")
