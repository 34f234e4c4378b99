"""The VM core's per-chunk run loops: a stream of accesses against one Pager, as fast as Python
allows.

Accesses are never events: each chunk runs in a plain loop that does what the MMU does (look the
page up, set the referenced and dirty bits) and calls the policy only where its declared path says
(vmsim.vm.plan). One loop per path:

- ``_run_ordered`` (FIFO_TABLE, LRU_TABLE, MRU_TABLE, one process, global scope): the page table
  itself is kept in the policy's order, so one ordered-dict operation both picks the victim and
  unmaps it; the policy adopts the order at the end of the chunk;
- ``_run_single`` (BITS and HITS, one process, global scope): hits inline; once memory is full a
  fault is handled inline with the same steps as ``Pager.fault``;
- ``_run_multi`` (several processes, local scope, or a policy that asks more of a fault than a
  victim): every fault through ``Pager.fault``;
- ``_run_steps`` (``--explain``): access by access, recording the state after each one.

The inline paths write the Pager's accounts themselves (they are the Pager's own loops);
``tests/test_engine.py`` checks each against the step-by-step path, which always goes through
``Pager.fault``.

Exact shortcut: when the policy folds repeats, an access that repeats the previous access to the
same page (same process) is folded into it before the loop (``fold_repeats``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from itertools import repeat

import numpy as np

from vmsim.hw.access import Chunk
from vmsim.metrics.results import Step
from vmsim.vm.pager import Pager, Table

_SLICE = 1 << 18


def fold_repeats(chunk: Chunk) -> Chunk:
    """Fold each run of consecutive accesses to the same (process, page) into its first access,
    OR-ing the write flags of the run."""
    pages, writes, pids = chunk.pages, chunk.writes, chunk.pids
    n = len(pages)
    if n < 2:
        return chunk
    new = pages[1:] != pages[:-1]
    if pids is not None:
        new |= pids[1:] != pids[:-1]
    if np.count_nonzero(new) > 0.97 * (n - 1):
        return chunk  # too few repeats to repay the gathers (unfolded is exact too)
    starts = np.flatnonzero(np.concatenate(([True], new)))
    if writes is not None:
        writes = np.maximum.reduceat(writes.astype(np.uint8), starts)
    return Chunk(pages[starts], writes, None if pids is None else pids[starts])


def _pieces(chunk: Chunk) -> Iterator[tuple[list[int], Iterable[int], Iterable[int]]]:
    """Plain lists for the loop, a slice at a time (iterating lists beats iterating arrays)."""
    pages, writes, pids = chunk.pages, chunk.writes, chunk.pids
    for i in range(0, len(pages), _SLICE):
        j = i + _SLICE
        wl: Iterable[int] = repeat(0) if writes is None else writes[i:j].tolist()
        yield pages[i:j].tolist(), wl, repeat(0) if pids is None else pids[i:j].tolist()


class Runner:
    """Runs chunks against ``pager``, for the processes whose page tables are ``tables``."""

    def __init__(self, pager: Pager, tables: dict[int, Table], steps: list[Step] | None = None) -> None:
        self.pager = pager
        self.tables = tables
        self.steps = steps

    def run(self, chunk: Chunk) -> None:
        """Every access of ``chunk``, in order."""
        pager = self.pager
        plan = pager.plan
        if self.steps is not None:
            _run_steps(chunk, pager, self.tables, self.steps)
        elif chunk.pids is None and pager.scope == "global" and plan.table is not None:
            _run_ordered(chunk, pager, self.tables[0], plan.table)  # type: ignore[arg-type]
        elif chunk.pids is None and pager.scope == "global" and not plan.general_faults:
            _run_single(chunk, pager, self.tables[0], plan.hits)
        else:
            _run_multi(chunk, pager, self.tables, plan.hits)


def _run_single(chunk: Chunk, pager: Pager, table: Table, hits: bool) -> None:
    """The hot loop for one process under global replacement. Keep it small: measure before and
    after touching it.

    While free frames remain, faults go through ``Pager.fault``. Once memory is full, a fault is
    handled inline with the same steps (victim, unmap, count the write-back, map, insert) and the
    counters are added to the account at the end of the chunk.
    """
    frames = pager.frames
    acct = pager.accounts[0]
    get = table.get
    ref, dirty, page_of = frames.referenced, frames.dirty, frames.page
    domain = acct.domain
    victim, insert = domain.victim, domain.insert
    hit = domain.hit
    seen = acct.seen
    add_seen = seen.add
    fault = pager.fault
    faults = cold = evictions = writebacks = 0
    full = frames.free_count == 0
    for pages, writes, _ in _pieces(chunk):
        for p, w in zip(pages, writes):
            f = get(p)
            if f is not None:
                ref[f] = 1
                if w:
                    dirty[f] = 1
                if hits:
                    hit(f)
            elif full:
                faults += 1
                if p not in seen:
                    add_seen(p)
                    cold += 1
                f = victim()
                del table[page_of[f]]
                evictions += 1
                if dirty[f]:
                    writebacks += 1
                table[p] = f
                page_of[f] = p
                ref[f] = 1
                dirty[f] = w
                insert(f)
            else:
                fault(0, table, p, w)
                full = frames.free_count == 0
    acct.faults += faults
    acct.cold += cold
    acct.evictions += evictions
    acct.writebacks += writebacks


def _run_ordered(chunk: Chunk, pager: Pager, table: OrderedDict[int, int], kind: str) -> None:
    """The fused loop for one process and a table path (FIFO, LRU, MRU).

    The page table itself is kept in the policy's order, so one ordered-dict operation both picks
    the victim and unmaps it, and a hit is one lookup (plus one move for LRU and MRU). Work that
    can wait is done once per chunk instead of once per access: the frames' page numbers and
    referenced bits (every resident page has been accessed, so every bit is set; these policies
    never clear them), evictions (faults minus frames filled) and cold faults (growth of the set of
    pages seen). The policy adopts the order at the end of the chunk.
    """
    frames = pager.frames
    acct = pager.accounts[0]
    dirty = frames.dirty
    move = table.move_to_end
    pop = table.popitem
    last = kind == "mru"
    recency = kind != "fifo"
    seen = acct.seen
    add_seen = seen.add
    seen_before, resident_before = len(seen), len(table)
    faults = writebacks = 0
    full = frames.free_count == 0
    take = pager.take_free
    # With no write in the chunk and no dirty frame, dirty bits cannot change: skip them.
    clean = chunk.writes is None and dirty.count(1) == 0
    for pages, writes, _ in _pieces(chunk):
        # Near-copies on purpose: the hot loop, specialised so that no reference pays for a test
        # that cannot change within the chunk (recency, write flags).
        if clean and recency:
            for p in pages:
                if p in table:
                    move(p)
                    continue
                faults += 1
                add_seen(p)
                if not full:
                    f = take(0, table)
                    if f >= 0:
                        table[p] = f
                        continue
                    full = True
                table[p] = pop(last)[1]
        elif clean:
            for p in pages:
                if p in table:
                    continue
                faults += 1
                add_seen(p)
                if not full:
                    f = take(0, table)
                    if f >= 0:
                        table[p] = f
                        continue
                    full = True
                table[p] = pop(False)[1]
        else:
            for p, w in zip(pages, writes):
                if p in table:
                    if recency:
                        move(p)
                    if w:
                        dirty[table[p]] = 1
                    continue
                faults += 1
                add_seen(p)
                f = -1
                if not full:
                    f = take(0, table)
                    full = f < 0
                if f < 0:
                    f = pop(last)[1]
                    writebacks += dirty[f]
                table[p] = f
                dirty[f] = w
    page_of, ref = frames.page, frames.referenced
    for p, f in table.items():
        page_of[f] = p
        ref[f] = 1
    acct.faults += faults
    acct.cold += len(seen) - seen_before
    acct.evictions += faults - (len(table) - resident_before)
    acct.writebacks += writebacks
    acct.resident = len(table)
    acct.domain.adopt(list(table.values()))


def _run_multi(chunk: Chunk, pager: Pager, tables: dict[int, Table], hits: bool) -> None:
    """The loop for a stream of several processes sharing the frames (or any stream whose faults
    must all go through ``Pager.fault``)."""
    fault = pager.fault
    ref = pager.frames.referenced
    dirty = pager.frames.dirty
    accounts = pager.accounts
    for pages, writes, pids in _pieces(chunk):
        for pid, p, w in zip(pids, pages, writes):
            table = tables[pid]
            f = table.get(p)
            if f is None:
                fault(pid, table, p, w)
            else:
                ref[f] = 1
                if w:
                    dirty[f] = 1
                if hits:
                    accounts[pid].domain.hit(f)


def _run_steps(chunk: Chunk, pager: Pager, tables: dict[int, Table], record: list[Step]) -> None:
    """Access by access, recording the state after each one (for explanations, not for speed)."""
    frames = pager.frames
    hits = pager.plan.hits
    pids = chunk.pids.tolist() if chunk.pids is not None else [0] * len(chunk)
    writes = chunk.writes.tolist() if chunk.writes is not None else [0] * len(chunk)
    for pid, p, w in zip(pids, chunk.pages.tolist(), writes):
        table = tables[pid]
        f = table.get(p)
        victim = None
        if f is None:
            out = pager.fault(pid, table, p, w)
            if out.victim_owner >= 0:
                victim = out.victim_page
        else:
            frames.referenced[f] = 1
            if w:
                frames.dirty[f] = 1
            if hits:
                pager.accounts[pid].domain.hit(f)
        record.append(
            Step(
                pid=pid,
                page=p,
                write=bool(w),
                hit=f is not None,
                frames=tuple(None if frames.owner[i] < 0 else frames.page[i] for i in range(frames.n)),
                victim=victim,
            )
        )
