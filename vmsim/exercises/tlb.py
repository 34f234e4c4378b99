"""A TLB over a sequence of virtual addresses (OSTEP chapter 19, "Paging: Faster Translations").

The TLB has ``entries`` entries in ``sets = entries / ways`` sets of ``ways`` entries each
(``ways = 1``: direct-mapped; ``ways = entries``: fully associative). A page's set is
``vpn mod sets``. On a miss in a full set the policy picks the victim within that set:
``lru`` the entry used longest ago, ``fifo`` the entry loaded longest ago, ``random`` one drawn
uniformly (``randrange`` over the set in the order shown, from a ``random.Random(seed)`` started
afresh for solving, so the same problem and seed give the same answers). The answers come from
the TLB the kernel simulates (:class:`vmsim.hw.tlb.SetAssociativeTLB`).

Effective access time: ``EAT = hit_time + miss_ratio * miss_penalty``, where ``hit_time`` is the
cost of an access whose translation hits the TLB and ``miss_penalty`` what a miss adds (the page
table walk). Silberschatz's form ``a(e + m) + (1 - a)(e + 2m)`` is the same with
``hit_time = e + m`` and ``miss_penalty = m``.
"""

from __future__ import annotations

import random

from vmsim.errors import VmsimError
from vmsim.exercises.common import Answers, Options, Params, Summary, hex_width, human, hx, option_args
from vmsim.hw import AddressSplit, check_page_size
from vmsim.hw.tlb import SetAssociativeTLB

TITLE = "TLB"
SUMMARY = "hits and misses of a set-associative TLB, and the effective access time"
OPTIONS = (
    "--asize",
    "--page-size",
    "--entries",
    "--ways",
    "--policy",
    "--hit-time",
    "--miss-penalty",
    "--addresses",
    "--count",
)

POLICIES = ("lru", "fifo", "random")
DEFAULT_ASIZE = 64 << 10
DEFAULT_PAGE = 4 << 10
DEFAULT_ENTRIES = 4
DEFAULT_HIT_NS = 10.0
DEFAULT_MISS_NS = 100.0
DEFAULT_COUNT = 12
MAX_ENTRIES = 1024


def _random_addresses(rng: random.Random, n: int, asize: int, page: int) -> list[int]:
    """A stream with locality: 60% of accesses revisit one of the last four pages used."""
    pages = asize // page
    recent: list[int] = []
    out = []
    for _ in range(n):
        vpn = rng.choice(recent[-4:]) if recent and rng.random() < 0.6 else rng.randrange(pages)
        if vpn in recent:
            recent.remove(vpn)
        recent.append(vpn)
        out.append(vpn * page + rng.randrange(page))
    return out


def build(opts: Options, rng: random.Random) -> Params:
    """The problem's parameters from the options, drawing what is not given from ``rng``."""
    asize = opts.size("--asize") or DEFAULT_ASIZE
    page = opts.size("--page-size") or DEFAULT_PAGE
    check_page_size(page, "--page-size")
    if page > asize:
        raise VmsimError(f"--page-size {page} is larger than the address space (--asize {asize})")
    entries = opts.number("--entries", positive=True) or DEFAULT_ENTRIES
    if entries > MAX_ENTRIES:
        raise VmsimError(f"--entries must be at most {MAX_ENTRIES}, got {entries}")
    ways = opts.number("--ways", positive=True) or entries
    if ways > entries or entries % ways:
        raise VmsimError(f"--ways {ways} must divide --entries {entries} (1 = direct-mapped, {entries} = fully associative)")
    policy = opts.choice("--policy", POLICIES) or "lru"
    hit = opts.real("--hit-time")
    miss = opts.real("--miss-penalty")
    addresses = opts.addresses_or_drawn(asize, "--asize", DEFAULT_COUNT, lambda n: _random_addresses(rng, n, asize, page))
    return {
        "asize": asize,
        "page_size": page,
        "entries": entries,
        "ways": ways,
        "sets": entries // ways,
        "policy": policy,
        "hit_time_ns": DEFAULT_HIT_NS if hit is None else hit,
        "miss_penalty_ns": DEFAULT_MISS_NS if miss is None else miss,
        "addresses": addresses,
    }


def solve(p: Params, seed: int) -> tuple[Answers, Summary]:
    """Replay the addresses through the simulator's own TLB (vmsim.hw.tlb), one address space."""
    split = AddressSplit(p["page_size"])
    nsets = p["sets"]
    rng = random.Random(seed) if p["policy"] == "random" else None
    tlb = SetAssociativeTLB(p["entries"], p["ways"], p["policy"], rng=rng)
    tlb.switch_to(0)
    answers = []
    hits = 0
    for va in p["addresses"]:
        vpn = split.vpn(va)
        s = vpn % nsets
        before = list(tlb.sets[s])
        hit = tlb.access(0, vpn)
        after = list(tlb.sets[s])
        hits += hit
        evicted = next((v for v in before if v not in after), None)
        answers.append({"vaddr": va, "vpn": vpn, "set": s, "hit": hit, "evicted": evicted, "set_after": after})
    n = len(answers)
    misses = n - hits
    eat = p["hit_time_ns"] + misses / n * p["miss_penalty_ns"]
    summary = {
        "accesses": n,
        "hits": hits,
        "misses": misses,
        "hit_ratio": round(hits / n, 6),
        "eat_ns": round(eat, 6),
        "formula": "EAT = hit_time + miss_ratio * miss_penalty",
    }
    return answers, summary


def _geometry(p: Params) -> str:
    if p["ways"] == 1:
        kind = "direct-mapped"
    elif p["sets"] == 1:
        kind = "fully associative"
    else:
        kind = f"{p['ways']}-way set associative"
    return f"{p['entries']} entries, {kind} ({p['sets']} set{'s' if p['sets'] != 1 else ''} of {p['ways']})"


def statement(p: Params, seed: int) -> str:
    """The problem statement as text: what a student is given."""
    w = hex_width(p["asize"])
    order = {"lru": "least recently used", "fifo": "first in, first out", "random": f"random (seed {seed})"}
    lines = [
        f"  {_geometry(p)}, replacement {p['policy']} ({order[p['policy']]}) within a set",
        f"  address space {human(p['asize'])}, pages of {human(p['page_size'])}; set = VPN mod {p['sets']}",
        f"  an access costs {p['hit_time_ns']:g} ns when its translation hits the TLB, {p['miss_penalty_ns']:g} ns more "
        "when it misses",
        "",
        "For each access give the VPN, its set, hit or miss and the entry evicted; then the hit ratio and",
        "the effective access time EAT = hit time + miss ratio * miss penalty. The TLB starts empty.",
    ]
    for i, va in enumerate(p["addresses"]):
        lines.append(f"  [{i}] VA {hx(va, w)} (decimal {va}) --> hit or miss?")
    return "\n".join(lines)


def solution(p: Params, answers: Answers, summary: Summary) -> str:
    """The worked answers as text, for ``--solve``."""
    from tabulate import tabulate

    assert summary is not None
    w = hex_width(p["asize"])
    order = "LRU first" if p["policy"] == "lru" else "oldest first" if p["policy"] == "fifo" else "in slot order"
    rows = [
        [
            i,
            hx(a["vaddr"], w),
            a["vpn"],
            a["set"],
            "hit" if a["hit"] else "MISS",
            "-" if a["evicted"] is None else a["evicted"],
            " ".join(map(str, a["set_after"])),
        ]
        for i, a in enumerate(answers)
    ]
    table = tabulate(rows, headers=["#", "VA", "VPN", "set", "result", "evicted VPN", f"set after ({order})"])
    n, misses = summary["accesses"], summary["misses"]
    return "\n".join(
        [
            "Answers:",
            table,
            "",
            f"hits {summary['hits']} of {n}: hit ratio {summary['hits']}/{n} = {summary['hit_ratio']:.4f}",
            f"EAT = {p['hit_time_ns']:g} + ({misses}/{n}) * {p['miss_penalty_ns']:g} = {summary['eat_ns']:.2f} ns",
        ]
    )


def command(p: Params, seed: int) -> list[str]:
    """The command-line options that pose the same problem with every parameter explicit."""
    times = ["--hit-time", f"{p['hit_time_ns']:g}", "--miss-penalty", f"{p['miss_penalty_ns']:g}"]
    out = [*option_args(p, "asize", "page_size", "entries", "ways", "policy"), *times, *option_args(p, "addresses")]
    return [*out, "--seed", str(seed)] if p["policy"] == "random" else out
