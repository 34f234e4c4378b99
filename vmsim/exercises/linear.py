"""A one-level (linear) page table (OSTEP chapter 18, "Paging: Introduction").

``vpn = vaddr // page_size``, ``offset = vaddr % page_size``; the address is valid when the page
table maps ``vpn`` to a frame, and then ``paddr = pfn * page_size + offset``.
"""

from __future__ import annotations

import random

from vmsim.errors import VmsimError
from vmsim.exercises import translation
from vmsim.exercises.common import Answer, Answers, Options, Params, Summary, human, is_power_of_two, option_args
from vmsim.hw import AddressSplit, check_page_size

TITLE = "Linear page table"
SUMMARY = "one-level page table: PA = PFN * page size + offset"
OPTIONS = ("--asize", "--psize", "--page-size", "--page-table", "--addresses", "--count")

DEFAULT_ASIZE = 16 << 10
DEFAULT_PSIZE = 64 << 10
DEFAULT_PAGE = 4 << 10
MAX_PAGES = 1024


def parse_page_table(text: str, pages: int, frames: int) -> list[int | None]:
    """``12,-,-,6``: one frame number (decimal or 0x hex) per virtual page, ``-`` for invalid."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != pages:
        raise VmsimError(
            f"--page-table has {len(parts)} entries but the address space has {pages} pages "
            "(--asize / --page-size): give one frame number or - per page"
        )
    table: list[int | None] = []
    for vpn, part in enumerate(parts):
        if part == "-":
            table.append(None)
            continue
        try:
            pfn = int(part, 0) if part.lower().startswith("0x") else int(part)
        except ValueError:
            raise VmsimError(f"--page-table entry {vpn} is {part!r}: write a frame number or - (invalid)") from None
        if not 0 <= pfn < frames:
            raise VmsimError(
                f"--page-table entry {vpn} maps to frame {pfn}, but physical memory has {frames} frames (--psize / --page-size)"
            )
        table.append(pfn)
    return table


def build(opts: Options, rng: random.Random) -> Params:
    """The problem's parameters from the options, drawing what is not given from ``rng``."""
    asize = opts.size("--asize") or DEFAULT_ASIZE
    psize = opts.size("--psize") or DEFAULT_PSIZE
    page = opts.size("--page-size") or DEFAULT_PAGE
    check_page_size(page, "--page-size")
    if not is_power_of_two(asize):
        raise VmsimError(f"--asize must be a power of two, got {asize}")
    if not is_power_of_two(psize):
        raise VmsimError(f"--psize must be a power of two, got {psize}")
    if page > asize:
        raise VmsimError(f"--page-size {page} is larger than the address space (--asize {asize})")
    if page > psize:
        raise VmsimError(f"--page-size {page} is larger than physical memory (--psize {psize})")
    pages, frames = asize // page, psize // page
    if pages > MAX_PAGES:
        raise VmsimError(f"--asize / --page-size gives {pages} pages; an exercise has at most {MAX_PAGES}")
    pt_text = opts.text("--page-table")
    if pt_text is not None:
        table = parse_page_table(pt_text, pages, frames)
    else:
        mapped = [vpn for vpn in range(pages) if rng.random() < 0.5]
        if len(mapped) > frames:
            mapped = sorted(rng.sample(mapped, frames))
        pfns = rng.sample(range(frames), len(mapped))
        table = [None] * pages
        for vpn, pfn in zip(mapped, pfns):
            table[vpn] = pfn
    valid = [(v * page, (v + 1) * page) for v in range(pages) if table[v] is not None]
    invalid = [(v * page, (v + 1) * page) for v in range(pages) if table[v] is None]
    addresses = translation.addresses(opts, rng, asize, valid, invalid)
    return {"asize": asize, "psize": psize, "page_size": page, "page_table": table, "addresses": addresses}


def solve(p: Params, seed: int) -> tuple[Answers, Summary]:
    """The answers to the problem (and a summary, where the kind has one)."""
    split = AddressSplit(p["page_size"])
    answers = []
    for va in p["addresses"]:
        vpn, off = split.vpn(va), split.offset(va)
        pfn = p["page_table"][vpn]
        answers.append(
            {
                "vaddr": va,
                "vpn": vpn,
                "offset": off,
                "valid": pfn is not None,
                "pfn": pfn,
                "paddr": None if pfn is None else pfn * p["page_size"] + off,
            }
        )
    return answers, None


def statement(p: Params, seed: int) -> str:
    """The problem statement as text: what a student is given."""
    page = p["page_size"]
    bits = page.bit_length() - 1
    table = [
        f"  so a virtual address is a VPN of {(p['asize'] // page).bit_length() - 1} bits and an offset of {bits} bits",
        "",
        "Page table (VPN -> PFN):",
    ]
    for vpn, pfn in enumerate(p["page_table"]):
        table.append(f"  VPN {vpn:>3}: " + ("invalid" if pfn is None else f"PFN {pfn} (0x{pfn:x})"))
    return translation.statement(p, table, "invalid", "invalid (a page fault)", geometry=f", pages of {human(page)}")


def _explain(p: Params, a: Answer, w: int) -> str:
    head = f"VPN {a['vpn']}, offset {a['offset']}: "
    if a["valid"]:
        return head + translation.pa(a["paddr"], w, f"{a['pfn']} * {p['page_size']} + {a['offset']}")
    return head + "invalid (the page is not mapped)"


def solution(p: Params, answers: Answers, summary: Summary) -> str:
    """The worked answers as text, for ``--solve``."""
    page = p["page_size"]
    header = f"Answers (VPN = VA // {page}, offset = VA % {page}; PA = PFN * {page} + offset):"
    return translation.solution(p, answers, header, _explain)


def command(p: Params, seed: int) -> list[str]:
    """The command-line options that pose the same problem with every parameter explicit."""
    table = ",".join("-" if f is None else str(f) for f in p["page_table"])
    return [*option_args(p, "asize", "psize", "page_size"), "--page-table", table, *option_args(p, "addresses")]
