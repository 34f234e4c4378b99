"""Free-list allocation (OSTEP chapter 17, "Free-Space Management"): a heap, a placement policy,
a free-list order and coalescing, over a sequence of allocations and frees.

``a16`` (or ``+16``) allocates 16 bytes; ``f2`` (or ``-2``) frees the pointer returned by
allocation number 2 (allocations are numbered from 0, frees are not numbered). A request is
rounded up to a multiple of ``align`` and served from one free block, split at its low end (the
remainder stays free). Rules, as the free-space chapter's homework states them:

* The policy scans the free list **in list order**: ``first`` takes the first block big enough,
  ``best`` the smallest big enough, ``worst`` the largest (if it is big enough); ties go to the
  block met first. ``next`` (address order only) starts where the last search ended.
* A split leaves the remainder where the block was in the list. A freed block goes to the
  ``front`` or the ``back`` of the list, or (``address``, ``size-asc``, ``size-desc``) to the back,
  and then the whole list is sorted again by address or by size, stably: among blocks of the same
  size the earlier ones in the list stay first.
* Coalescing runs after each free: consecutive blocks *of the list* merge when the first ends
  where the second starts. In address order that merges every pair of free neighbours; in the
  other orders only neighbours that happen to sit next to each other in the list.

Address order runs on :class:`vmsim.alloc.heap.FitHeap`, the allocator the AI workloads use;
the other orders need the list order, which that heap does not keep, so :class:`ListFreeList`
models them.
"""

from __future__ import annotations

import random
import re

from vmsim.alloc.heap import FitHeap
from vmsim.errors import VmsimError
from vmsim.exercises.common import Answers, Options, Params, Summary, option_args

TITLE = "Free-list allocation"
SUMMARY = "first/best/worst fit over an ordered free list, with or without coalescing"
OPTIONS = ("--size", "--base", "--policy", "--order", "--coalesce", "--align", "--ops", "--count")

POLICIES = ("first", "best", "worst", "next")
ORDERS = ("address", "size-asc", "size-desc", "front", "back")
DEFAULT_SIZE = 100
DEFAULT_COUNT = 10

Blocks = list[tuple[int, int]]


class ListFreeList:
    """Free blocks ``(addr, size)`` in list order, searched and inserted as the module doc says."""

    def __init__(self, base: int, size: int, policy: str, order: str, coalesce: bool) -> None:
        self.blocks: Blocks = [(base, size)]
        self.policy, self.order, self.coalesce = policy, order, coalesce

    def alloc(self, n: int) -> int | None:
        """Allocate ``n`` bytes; the address, or None when no free block fits."""
        pick = None
        for i, (_, size) in enumerate(self.blocks):
            if size < n:
                continue
            if self.policy == "first":
                pick = i
                break
            if pick is None or (size < self.blocks[pick][1] if self.policy == "best" else size > self.blocks[pick][1]):
                pick = i
        if pick is None:
            return None
        addr, size = self.blocks[pick]
        if size == n:
            del self.blocks[pick]
        else:
            self.blocks[pick] = (addr + n, size - n)
        return addr

    def free(self, addr: int, n: int) -> None:
        """Free the ``n`` bytes at ``addr`` (coalescing with neighbours if asked)."""
        bl = self.blocks
        if self.order == "front":
            bl.insert(0, (addr, n))
        else:
            bl.append((addr, n))
            if self.order == "address":
                bl.sort()
            elif self.order == "size-asc":
                bl.sort(key=lambda b: b[1])
            elif self.order == "size-desc":
                bl.sort(key=lambda b: b[1], reverse=True)
        if self.coalesce:
            merged: Blocks = [bl[0]]
            for a, s in bl[1:]:
                pa, ps = merged[-1]
                if pa + ps == a:
                    merged[-1] = (pa, ps + s)
                else:
                    merged.append((a, s))
            self.blocks = merged

    def free_list(self) -> Blocks:
        """The free blocks as (address, size), in the list's order."""
        return list(self.blocks)


class HeapFreeList:
    """Address order on vmsim's own heap allocator, shifted to start at ``base``."""

    def __init__(self, base: int, size: int, policy: str, coalesce: bool) -> None:
        self.base = base
        self.heap = FitHeap(size, f"{policy}_fit", round=1, coalesce=coalesce)

    def alloc(self, n: int) -> int | None:
        """Allocate ``n`` bytes; the address, or None when no free block fits."""
        a = self.heap.alloc(n)
        return None if a is None else a + self.base

    def free(self, addr: int, n: int) -> None:
        """Free the ``n`` bytes at ``addr`` (coalescing with neighbours if asked)."""
        self.heap.free(addr - self.base)

    def free_list(self) -> Blocks:
        """The free blocks as (address, size), in the list's order."""
        return [(a + self.base, s) for a, s in self.heap.free_blocks()]


def allocator(p: Params) -> ListFreeList | HeapFreeList:
    """The free-list allocator the parameters describe: a heap allocator when sorted by address."""
    if p["order"] == "address":
        return HeapFreeList(p["base"], p["size"], p["policy"], p["coalesce"])
    return ListFreeList(p["base"], p["size"], p["policy"], p["order"], p["coalesce"])


_OP = re.compile(r"([af+-])\s*([0-9]+)", re.IGNORECASE)


def parse_ops(text: str) -> list[str]:
    """``a16,f0,+8,-1`` -> ``["a16", "f0", "a8", "f1"]``, checking every free names an earlier, live allocation."""
    out: list[str] = []
    allocs = 0
    freed: set[int] = set()
    for tok in (t.strip() for t in text.split(",")):
        m = _OP.fullmatch(tok)
        if not m:
            raise VmsimError(
                f"--ops: {tok!r} is not an operation: aN (or +N) allocates N bytes, fK (or -K) frees the pointer of allocation K"
            )
        n = int(m.group(2))
        if m.group(1).lower() in "a+":
            if n <= 0:
                raise VmsimError(f"--ops: {tok!r} allocates nothing: sizes are positive")
            out.append(f"a{n}")
            allocs += 1
        else:
            if n >= allocs:
                raise VmsimError(
                    f"--ops: {tok!r} frees allocation {n}, but only {allocs} allocation"
                    f"{' comes' if allocs == 1 else 's come'} before it (numbered from 0)"
                )
            if n in freed:
                raise VmsimError(f"--ops: {tok!r} frees allocation {n} a second time")
            freed.add(n)
            out.append(f"f{n}")
    return out


def _aligned(n: int, align: int) -> int:
    return -(-n // align) * align


def _random_ops(rng: random.Random, p: Params, n: int) -> list[str]:
    """Half allocations of 1..size/10 bytes, half frees of a random live pointer (run as generated,
    so only pointers that were really returned get freed)."""
    heap = allocator(p)
    live: list[tuple[int, int, int]] = []  # (ptr, addr, block)
    ops: list[str] = []
    allocs = 0
    top = max(1, p["size"] // 10)
    for _ in range(n):
        if not live or rng.random() < 0.5:
            size = rng.randint(1, top)
            block = _aligned(size, p["align"])
            addr = heap.alloc(block)
            if addr is not None:
                live.append((allocs, addr, block))
            ops.append(f"a{size}")
            allocs += 1
        else:
            ptr, addr, block = live.pop(rng.randrange(len(live)))
            heap.free(addr, block)
            ops.append(f"f{ptr}")
    return ops


def build(opts: Options, rng: random.Random) -> Params:
    """The problem's parameters from the options, drawing what is not given from ``rng``."""
    size = opts.size("--size") or DEFAULT_SIZE
    base = opts.size("--base", positive=False) or 0
    policy = opts.choice("--policy", POLICIES) or "first"
    order = opts.choice("--order", ORDERS) or "address"
    if policy == "next" and order != "address":
        raise VmsimError(f"--policy next needs --order address (it scans by address), got --order {order}")
    coalesce = opts.flag("--coalesce")
    align = opts.size("--align") or 1
    p: Params = {
        "size": size,
        "base": base,
        "policy": policy,
        "order": order,
        "coalesce": True if coalesce is None else coalesce,
        "align": align,
    }
    ops_text = opts.text("--ops")
    if ops_text is not None:
        p["ops"] = parse_ops(ops_text)
    else:
        p["ops"] = _random_ops(rng, p, opts.count(DEFAULT_COUNT))
    return p


def solve(p: Params, seed: int) -> tuple[Answers, Summary]:
    """The answers to the problem (and a summary, where the kind has one)."""
    heap = allocator(p)
    ptrs: list[tuple[int | None, int]] = []  # allocation number -> (address or None, block)
    answers = []
    failed = 0
    for op in p["ops"]:
        n = int(op[1:])
        if op[0] == "a":
            block = _aligned(n, p["align"])
            addr = heap.alloc(block)
            failed += addr is None
            answers.append(
                {
                    "op": "alloc",
                    "ptr": len(ptrs),
                    "size": n,
                    "block": block,
                    "addr": addr,
                    "free_list": [list(b) for b in heap.free_list()],
                }
            )
            ptrs.append((addr, block))
        else:
            addr, block = ptrs[n]
            if addr is not None:
                heap.free(addr, block)
            answers.append({"op": "free", "ptr": n, "addr": addr, "free_list": [list(b) for b in heap.free_list()]})
    final = heap.free_list()
    return answers, {
        "failed_allocations": failed,
        "free_blocks": len(final),
        "free_bytes": sum(s for _, s in final),
        "largest_free": max((s for _, s in final), default=0),
    }


def _blocks_text(blocks: list[list[int]] | Blocks) -> str:
    return "[" + ", ".join(f"({a}, {s})" for a, s in blocks) + "]"


def _op_text(op: str, ptr: int) -> str:
    return f"ptr[{ptr}] = alloc({op[1:]})" if op[0] == "a" else f"free(ptr[{op[1:]}])"


def _ptr_numbers(ops: list[str]) -> list[int]:
    """The allocation number of each op (for a free: the pointer it frees)."""
    out, k = [], 0
    for op in ops:
        out.append(k if op[0] == "a" else int(op[1:]))
        k += op[0] == "a"
    return out


def statement(p: Params, seed: int) -> str:
    """The problem statement as text: what a student is given."""
    where = {
        "address": "sorted by address",
        "size-asc": "sorted by size, smallest first",
        "size-desc": "sorted by size, largest first",
        "front": "freed blocks go to the front",
        "back": "freed blocks go to the back",
    }
    lines = [
        f"  a heap of {p['size']} bytes at address {p['base']}: the free list starts as {_blocks_text([(p['base'], p['size'])])}",
        f"  policy {p['policy']} fit; free list order: {p['order']} ({where[p['order']]}); coalescing "
        f"{'on' if p['coalesce'] else 'off'}",
    ]
    if p["align"] > 1:
        lines.append(f"  every request is rounded up to a multiple of {p['align']} bytes")
    lines += ["", "For each operation give the address returned (or NULL) and the free list after it:"]
    ptrs = _ptr_numbers(p["ops"])
    for op, k in zip(p["ops"], ptrs):
        lines.append(f"  {_op_text(op, k)}")
    return "\n".join(lines)


def solution(p: Params, answers: Answers, summary: Summary) -> str:
    """The worked answers as text, for ``--solve``."""
    assert summary is not None
    rows = []
    for op, a in zip(p["ops"], answers):
        left = _op_text(op, a["ptr"])
        if a["op"] == "alloc":
            res = "NULL (no free block fits)" if a["addr"] is None else f"returns {a['addr']}"
            if a["block"] != a["size"]:
                res += f" (block of {a['block']})"
        else:
            res = "free(NULL): nothing to do" if a["addr"] is None else f"returns block {a['addr']} to the list"
        rows.append((left, res, _blocks_text(a["free_list"])))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = ["Answers:"] + [f"  {r[0]:<{w0}}  --> {r[1]:<{w1}}  free list {r[2]}" for r in rows]
    lines += [
        "",
        f"failed allocations {summary['failed_allocations']}; at the end {summary['free_blocks']} free "
        f"block{'s' if summary['free_blocks'] != 1 else ''}, {summary['free_bytes']} bytes free, largest "
        f"{summary['largest_free']}",
    ]
    return "\n".join(lines)


def command(p: Params, seed: int) -> list[str]:
    """The command-line options that pose the same problem with every parameter explicit."""
    coalesce = "--coalesce" if p["coalesce"] else "--no-coalesce"
    return [*option_args(p, "size", "base", "policy", "order"), coalesce, *option_args(p, "align"), "--ops", ",".join(p["ops"])]
