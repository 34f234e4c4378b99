"""A two-level page table over a small physical memory, as in the classic small-tables homework
(OSTEP chapter 20, "Paging: Smaller Tables").

Geometry: 32-byte pages, 128 physical pages (4 KiB), 15-bit virtual addresses (32 KiB) split
5/5/5. Bits 14..10 index the page directory, bits 9..5 the page table, bits 4..0 are the offset.
An entry is one byte: bit 7 is the valid bit, bits 6..0 the frame number.

Translation: the PDE is byte ``pde_index`` of physical page ``pdbr``; if valid, its frame holds the
page table, whose byte ``pte_index`` is the PTE; if valid, ``paddr = pfn * 32 + offset`` and the
answer's ``value`` is the byte of memory there.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from vmsim.errors import VmsimError
from vmsim.exercises.common import Answers, Options, Params, Summary, address_prompts, option_args, pick_in, va_label

TITLE = "Two-level page table"
SUMMARY = "two-level page table, 32-byte pages, 128 physical pages, 15-bit addresses split 5/5/5"
OPTIONS = ("--pdbr", "--memory", "--addresses", "--count", "--write-memory")

PAGE = 32
PAGES = 128
VA_BITS = 15
ASIZE = 1 << VA_BITS
#: Hex digits shown for a virtual address.
VA_DIGITS = (VA_BITS + 3) // 4
VALID = 0x80
#: What the generator writes in an invalid entry (any byte with bit 7 clear is invalid).
INVALID_ENTRY = 0x7F
DEFAULT_COUNT = 5

Memory = list[bytes]

_LINE = re.compile(r"(?:page\s*(\d+)\s*:)?\s*([0-9a-fA-F\s]*)")


def read_memory(path: Path) -> Memory:
    """Parse a memory file: one physical page per line, 32 bytes in hex.

    A line may start with ``page N:`` (N must then be the page's number) and may put spaces between
    bytes. Blank lines and lines starting with ``#`` are skipped.
    """
    try:
        text = path.read_text()
    except OSError as e:
        raise VmsimError(f"--memory: cannot read {path}: {e.strerror or e}") from None
    pages: Memory = []
    last = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        last = lineno
        m = _LINE.fullmatch(s)
        if not m:
            raise VmsimError("expected [page N:] and 32 bytes in hex", source=str(path), line=lineno)
        if m.group(1) is not None and int(m.group(1)) != len(pages):
            raise VmsimError(f"this line is page {len(pages)}, but it says page {m.group(1)}", source=str(path), line=lineno)
        digits = re.sub(r"\s+", "", m.group(2))
        if any(len(t) % 2 for t in m.group(2).split()) or len(digits) != 2 * PAGE:
            raise VmsimError(
                f"a page is {PAGE} bytes ({2 * PAGE} hex digits, bytes whole), this line has {len(digits)} hex digits",
                source=str(path),
                line=lineno,
            )
        if len(pages) == PAGES:
            raise VmsimError(f"more than {PAGES} pages: memory is {PAGES} pages of {PAGE} bytes", source=str(path), line=lineno)
        pages.append(bytes.fromhex(digits))
    if len(pages) != PAGES:
        raise VmsimError(
            f"has {len(pages)} pages, needs exactly {PAGES} (one line of {PAGE} hex bytes each)",
            source=str(path),
            line=last or None,
        )
    return pages


def memory_text(memory: Memory, pdbr: int) -> str:
    """The memory image in the format :func:`read_memory` accepts."""
    head = [f"# vmsim multilevel memory: {PAGES} pages of {PAGE} bytes; the page directory is page {pdbr} (--pdbr)"]
    return "\n".join(head + [f"page {n:3d}: {page.hex(' ')}" for n, page in enumerate(memory)]) + "\n"


def write_memory(memory: Memory, pdbr: int, path: Path, force: bool) -> None:
    """Save the image for ``--memory``; refuse to overwrite an existing file without ``force``."""
    if path.exists() and not force:
        raise VmsimError(f"--write-memory: {path} exists (add --force to overwrite it)")
    try:
        path.write_text(memory_text(memory, pdbr))
    except OSError as e:
        raise VmsimError(f"--write-memory: cannot write {path}: {e.strerror or e}") from None


def split(va: int) -> tuple[int, int, int]:
    """``(pde_index, pte_index, offset)``: bits 14..10, 9..5 and 4..0."""
    return (va >> 10) & 0x1F, (va >> 5) & 0x1F, va & 0x1F


def walk(memory: Memory, pdbr: int, va: int) -> dict[str, object]:
    """Translate one virtual address; the answer object of one address."""
    pdi, pti, off = split(va)
    pde = memory[pdbr][pdi]
    out: dict[str, object] = {
        "vaddr": va,
        "pde_index": pdi,
        "pte_index": pti,
        "offset": off,
        "pde": pde,
        "pte": None,
        "fault": None,
        "valid": False,
        "paddr": None,
        "value": None,
    }
    if not pde & VALID:
        out["fault"] = "pde"
        return out
    pte = memory[pde & 0x7F][pti]
    out["pte"] = pte
    if not pte & VALID:
        out["fault"] = "pte"
        return out
    pa = (pte & 0x7F) * PAGE + off
    out.update(valid=True, paddr=pa, value=memory[pa // PAGE][pa % PAGE])
    return out


def random_memory(rng: random.Random, pdbr: int) -> Memory:
    """A consistent image: random bytes everywhere, a page directory at ``pdbr`` with a few valid
    entries, each pointing to a page table with a few valid entries, each pointing to its own data
    page; invalid entries hold 0x7f. Table and data pages are distinct."""
    mem = [bytearray(rng.randrange(256) for _ in range(PAGE)) for _ in range(PAGES)]
    free = [n for n in range(PAGES) if n != pdbr]

    def take() -> int:
        return free.pop(rng.randrange(len(free)))

    mem[pdbr] = bytearray([INVALID_ENTRY] * PAGE)
    for pdi in sorted(rng.sample(range(PAGE), rng.randint(3, 6))):
        table = take()
        mem[pdbr][pdi] = VALID | table
        mem[table] = bytearray([INVALID_ENTRY] * PAGE)
        for pti in sorted(rng.sample(range(PAGE), rng.randint(2, 10))):
            mem[table][pti] = VALID | take()
    return [bytes(p) for p in mem]


def _random_addresses(rng: random.Random, n: int, memory: Memory, pdbr: int) -> list[int]:
    """About half valid; the invalid ones fault at the PDE or at the PTE, evenly when both exist."""
    vpns: dict[str | None, list[tuple[int, int]]] = {None: [], "pde": [], "pte": []}
    for vpn in range(ASIZE // PAGE):
        fault = walk(memory, pdbr, vpn * PAGE)["fault"]
        vpns[fault].append((vpn * PAGE, (vpn + 1) * PAGE))  # type: ignore[index]
    out = []
    for _ in range(n):
        kind: str | None = None if rng.random() < 0.5 else rng.choice(["pde", "pte"])
        if not vpns[kind]:
            kind = next(k for k in (None, "pte", "pde") if vpns[k])
        out.append(pick_in(rng, vpns[kind]))
    return out


def build(opts: Options, rng: random.Random) -> Params:
    """The problem's parameters from the options, drawing what is not given from ``rng``."""
    pdbr = opts.number("--pdbr")
    if pdbr is not None and pdbr >= PAGES:
        raise VmsimError(f"--pdbr is a physical page number, 0..{PAGES - 1}, got {pdbr}")
    mem_path = opts.text("--memory")
    if mem_path is not None:
        if pdbr is None:
            raise VmsimError("--memory needs --pdbr: the page number of the page directory in that memory")
        memory = read_memory(Path(mem_path))
    else:
        if pdbr is None:
            pdbr = rng.randrange(PAGES)
        memory = random_memory(rng, pdbr)
    assert pdbr is not None
    space = f"{VA_BITS}-bit virtual addresses"
    addresses = opts.addresses_or_drawn(ASIZE, space, DEFAULT_COUNT, lambda n: _random_addresses(rng, n, memory, pdbr))
    return {
        "page_size": PAGE,
        "pages": PAGES,
        "va_bits": VA_BITS,
        "pdbr": pdbr,
        "addresses": addresses,
        "memory": [p.hex() for p in memory],
    }


def memory_of(p: Params) -> Memory:
    """The physical memory of the parameters: one bytes object per page, from hex."""
    return [bytes.fromhex(h) for h in p["memory"]]


def solve(p: Params, seed: int) -> tuple[Answers, Summary]:
    """The answers to the problem (and a summary, where the kind has one)."""
    memory = memory_of(p)
    return [walk(memory, p["pdbr"], va) for va in p["addresses"]], None


def statement(p: Params, seed: int) -> str:
    """The problem statement as text: what a student is given."""
    lines = [
        f"  pages of {PAGE} bytes, {PAGES} physical pages, {VA_BITS}-bit virtual addresses: "
        "PDE index = bits 14..10, PTE index = bits 9..5, offset = bits 4..0",
        "  an entry is one byte: bit 7 = valid, bits 6..0 = frame number",
        f"  the page directory is physical page {p['pdbr']} (PDBR = {p['pdbr']}, 0x{p['pdbr']:02x})",
        "",
        "Physical memory (save it with --write-memory FILE to pose the problem again with --memory FILE):",
        memory_text(memory_of(p), p["pdbr"]).split("\n", 1)[1].rstrip("\n"),
        "",
        "Translate each virtual address and give the byte stored there, or say where it faults:",
        *address_prompts(p["addresses"], VA_DIGITS, "PA and value, or fault?"),
    ]
    return "\n".join(lines)


def solution(p: Params, answers: Answers, summary: Summary) -> str:
    """The worked answers as text, for ``--solve``."""
    lines = ["Answers:"]
    for i, a in enumerate(answers):
        lines.append(
            f"  {va_label(i, a['vaddr'], VA_DIGITS)}: PDE index {a['pde_index']} (0x{a['pde_index']:02x}), "
            f"PTE index {a['pte_index']} (0x{a['pte_index']:02x}), offset {a['offset']}"
        )
        pde = a["pde"]
        if a["fault"] == "pde":
            lines.append(f"      PDE = page {p['pdbr']} byte {a['pde_index']} = 0x{pde:02x}: not valid --> fault (PDE invalid)")
            continue
        lines.append(f"      PDE = page {p['pdbr']} byte {a['pde_index']} = 0x{pde:02x}: valid, page table in page {pde & 0x7F}")
        pte = a["pte"]
        if a["fault"] == "pte":
            lines.append(f"      PTE = page {pde & 0x7F} byte {a['pte_index']} = 0x{pte:02x}: not valid --> fault (PTE invalid)")
            continue
        lines.append(f"      PTE = page {pde & 0x7F} byte {a['pte_index']} = 0x{pte:02x}: valid, frame {pte & 0x7F}")
        lines.append(
            f"      --> PA 0x{a['paddr']:03x} (decimal {a['paddr']} = {pte & 0x7F} * {PAGE} + {a['offset']}), "
            f"value 0x{a['value']:02x} (decimal {a['value']})"
        )
    return "\n".join(lines)


def command(p: Params, seed: int) -> list[str]:
    """The command-line options that pose the same problem with every parameter explicit."""
    return [*option_args(p, "pdbr"), "--memory", "FILE", *option_args(p, "addresses")]
