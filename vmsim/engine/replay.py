"""Replay a stream of accesses against one frame pool and one policy, as fast as Python allows.

Accesses are never events: each chunk runs in a plain loop that does what the MMU does (look the
page up, set the referenced and dirty bits) and calls the Pager only on a fault. Separate loops
for policies with and without a hit hook keep FIFO and Clock free of any call on a hit.

Exact shortcut: when a policy declares ``repeat_is_noop``, an access that repeats the previous
access to the same page (same process) is folded into it before the loop (it is a hit that only
sets bits already set, plus the dirty bit if it writes). Counts are identical with and without it;
``tests/test_engine.py`` checks that.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat

import numpy as np

from vmsim.errors import VmsimError
from vmsim.hw.access import Chunk
from vmsim.hw.segments import AddressSpace
from vmsim.kernel.future import iter_values as _iter_values
from vmsim.kernel.future import next_use as _next_use
from vmsim.kernel.paging import Pager, Scope
from vmsim.metrics.results import ProcessResult, RunResult, Step
from vmsim.policies import PolicySpec

#: A source can be iterated more than once (OPT and local scope read the stream twice).
Source = Callable[[], Iterable[Chunk]]

_SLICE = 1 << 18


def _fold_repeats(chunk: Chunk) -> Chunk:
    """Fold each run of consecutive accesses to the same (process, page) into its first access,
    OR-ing the write flags of the run."""
    pages, writes, pids = chunk
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
    pages, writes, pids = chunk
    for i in range(0, len(pages), _SLICE):
        j = i + _SLICE
        wl: Iterable[int] = repeat(0) if writes is None else writes[i:j].tolist()
        yield pages[i:j].tolist(), wl, repeat(0) if pids is None else pids[i:j].tolist()


def replay(
    source: Source,
    spec: PolicySpec,
    frames: int,
    *,
    scope: Scope = "global",
    seed: int = 0,
    steps: bool = False,
    on_chunk: Callable[[int, int], bool] | None = None,
) -> RunResult:
    """Run the whole stream from ``source`` and return its counters.

    Under local scope the frames are split equally among the processes of the stream (found by a
    first pass), the remainder going one each to the lowest process ids. ``steps=True`` records
    every access (for ``--explain``); it is meant for short streams.

    ``on_chunk(references, faults)`` is called after each chunk (progress bars); when it returns
    True the run stops there and the result is marked partial (its counters are exact for the
    accesses replayed so far).
    """
    if frames <= 0:
        raise VmsimError(f"frames must be a positive number, got {frames}")
    cls = spec.cls
    pager = Pager(frames, spec, random.Random(seed), scope)
    quotas: dict[int, int] = {}
    if scope == "local":
        pids = sorted(_stream_pids(source))
        if len(pids) > frames:
            raise VmsimError(f"local replacement needs at least one frame per process: {len(pids)} processes, {frames} frames")
        share, extra = divmod(frames, max(1, len(pids)))
        quotas = {pid: share + (1 if i < extra else 0) for i, pid in enumerate(pids)}

    tables: dict[int, dict[int, int]] = {}
    references: dict[int, int] = {}

    def ensure(pid: int) -> None:
        if pid not in tables:
            space = AddressSpace.flat()
            if cls.table_order is not None:
                space.tables[0].entries = OrderedDict()
            pager.add_process(pid, space, quotas.get(pid))
            tables[pid] = space.tables[0].entries
            references[pid] = 0

    fold = cls.folds_repeats(**spec.params) and not steps
    chunks: Iterable[Chunk] = source()
    if cls.needs_future:
        held: list[Chunk] = []
        held_refs: list[dict[int, int]] = []  # each held chunk's unfolded references, per process
        for c in chunks:
            counts = _chunk_counts(c)
            for pid, n in counts.items():
                ensure(pid)
                references[pid] += n
            held_refs.append(counts)
            held.append(_fold_repeats(c) if fold else c)
        nxt = _next_use(held)
        if scope == "global":
            if references:
                pager.domains[next(iter(references))].set_future(_iter_values(nxt))
        else:
            allpids = np.concatenate([_pids_of(c) for c in held]) if held else np.empty(0, np.int64)
            for pid in references:
                pager.domains[pid].set_future(_iter_values(nxt[allpids == pid]))
        chunks = held
    counted = cls.needs_future

    record: list[Step] | None = [] if steps else None

    def run_chunk(chunk: Chunk) -> None:
        if record is not None:
            _run_steps(chunk, pager, tables, record)
        elif chunk.pids is None and scope == "global" and cls.table_order is not None:
            _run_ordered(chunk, pager, tables[0], cls.table_order)  # type: ignore[arg-type]
        elif chunk.pids is None and scope == "global" and not (cls.releases_on_fault or cls.wants_incoming):
            _run_single(chunk, pager, tables[0], cls.needs_hit)
        else:
            _run_multi(chunk, pager, tables, cls.needs_hit)

    ticker = _Ticker(pager, spec.params["period"], fold) if cls.periodic else None
    partial = False
    done_refs = 0
    for chunk in chunks:
        if not len(chunk):
            continue
        if on_chunk is not None and on_chunk(done_refs, sum(pager.faults.values())):
            partial = True
            break
        if not counted:
            _count_chunk(chunk, references, ensure)
        done_refs += len(chunk)
        if ticker is not None:
            ticker.run(chunk, run_chunk)
            continue
        if fold and not cls.needs_future:
            chunk = _fold_repeats(chunk)
        run_chunk(chunk)
    if partial and counted:  # references were counted up front: recount what actually ran
        references = {pid: 0 for pid in references}
        for counts in held_refs[: _chunks_done(held, done_refs)]:
            for pid, n in counts.items():
                references[pid] += n

    procs = tuple(
        ProcessResult(
            pid=pid,
            references=references[pid],
            faults=pager.faults[pid],
            cold_faults=pager.cold[pid],
            evictions=pager.evictions[pid],
            writebacks=pager.writebacks[pid],
        )
        for pid in sorted(references)
    )
    return RunResult(
        policy=spec.label,
        frames=frames,
        scope=scope,
        seed=seed,
        references=sum(p.references for p in procs),
        faults=sum(p.faults for p in procs),
        cold_faults=sum(p.cold_faults for p in procs),
        evictions=sum(p.evictions for p in procs),
        writebacks=sum(p.writebacks for p in procs),
        processes=procs,
        steps=tuple(record) if record is not None else None,
        partial=partial,
    )


class _Ticker:
    """Periodic ticks by reference counts: every ``period`` accesses of the stream (all processes,
    counted before folding repeats) each domain's ``tick(now)`` runs, ``now`` being the accesses so
    far, and the frames it gives up are freed. Chunks are cut at tick boundaries and each piece is
    folded on its own, so a run of repeats that spans a tick (which may clear referenced bits) is
    not folded across it."""

    def __init__(self, pager: Pager, period: int, fold: bool) -> None:
        self.pager = pager
        self.period = period
        self.fold = fold
        self.now = 0
        self.next = period

    def run(self, chunk: Chunk, run_chunk: Callable[[Chunk], None]) -> None:
        pages, writes, pids = chunk
        i, n = 0, len(pages)
        while i < n:
            j = min(n, i + self.next - self.now)
            piece = Chunk(pages[i:j], None if writes is None else writes[i:j], None if pids is None else pids[i:j])
            run_chunk(_fold_repeats(piece) if self.fold else piece)
            self.now += j - i
            i = j
            if self.now == self.next:
                self.next += self.period
                seen: set[int] = set()
                for domain in self.pager.domains.values():
                    if id(domain) not in seen:
                        seen.add(id(domain))
                        self.pager.give_up(domain.tick(self.now))


def _chunks_done(chunks: list[Chunk], accesses: int) -> int:
    """How many leading chunks hold ``accesses`` accesses."""
    n = 0
    for i, c in enumerate(chunks):
        if n >= accesses:
            return i
        n += len(c)
    return len(chunks)


def _pids_of(chunk: Chunk) -> np.ndarray:
    return chunk.pids if chunk.pids is not None else np.zeros(len(chunk), np.int64)


def _stream_pids(source: Source) -> set[int]:
    pids: set[int] = set()
    for c in source():
        if c.pids is None:
            if len(c):
                pids.add(0)
        else:
            pids.update(np.unique(c.pids).tolist())
    return pids


def _chunk_counts(chunk: Chunk) -> dict[int, int]:
    """Accesses per process in one chunk."""
    if chunk.pids is None:
        return {0: len(chunk)} if len(chunk) else {}
    uniq, counts = np.unique(chunk.pids, return_counts=True)
    return dict(zip(uniq.tolist(), counts.tolist()))


def _count_chunk(chunk: Chunk, references: dict[int, int], ensure: Callable[[int], None]) -> None:
    for pid, cnt in _chunk_counts(chunk).items():
        ensure(pid)
        references[pid] += cnt


def _run_single(chunk: Chunk, pager: Pager, table: dict[int, int], needs_hit: bool) -> None:
    """The hot loop for one process under global replacement. Keep it small: measure before and
    after touching it.

    While free frames remain, faults go through ``Pager.fault``. Once memory is full, a fault is
    handled inline with the same steps (victim, unmap, count the write-back, map, insert) and the
    counters are handed back to the Pager at the end of the chunk; ``tests/test_engine.py`` checks
    that this path and the step-by-step path (always ``Pager.fault``) agree.
    """
    frames = pager.frames
    get = table.get
    ref, dirty, page_of = frames.referenced, frames.dirty, frames.page
    domain = pager.domains[0]
    victim, insert = domain.victim, domain.insert
    hit = domain.hit
    seen = pager.seen[0]
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
                if needs_hit:
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
    pager.faults[0] += faults
    pager.cold[0] += cold
    pager.evictions[0] += evictions
    pager.writebacks[0] += writebacks
    if faults:
        pager.last_victim = None


def _run_ordered(chunk: Chunk, pager: Pager, table: OrderedDict[int, int], kind: str) -> None:
    """The fused loop for one process and a ``table_order`` policy (FIFO, LRU, MRU).

    The page table itself is kept in the policy's order, so one ordered-dict operation both picks
    the victim and unmaps it, and a hit is one lookup (plus one move for LRU and MRU). Work that
    can wait is done once per chunk instead of once per access: the frames' page numbers and
    referenced bits (every resident page has been accessed, so every bit is set; these policies
    never clear them), evictions (faults minus frames filled) and cold faults (growth of the set of
    pages seen). The policy adopts the order at the end of the chunk. ``tests/test_engine.py``
    checks this path against the step-by-step one, which always goes through ``Pager.fault``.
    """
    frames = pager.frames
    dirty = frames.dirty
    move = table.move_to_end
    pop = table.popitem
    last = kind == "mru"
    recency = kind != "fifo"
    seen = pager.seen[0]
    add_seen = seen.add
    seen_before, resident_before = len(seen), len(table)
    faults = writebacks = 0
    full = frames.free_count == 0
    # With no write in the chunk and no dirty frame, dirty bits cannot change: skip them.
    clean = chunk.writes is None and dirty.count(1) == 0
    for pages, writes, _ in _pieces(chunk):
        if clean and recency:
            for p in pages:
                if p in table:
                    move(p)
                    continue
                faults += 1
                add_seen(p)
                if full:
                    table[p] = pop(last)[1]
                else:
                    f, full = _take_free(pager, table)
                    table[p] = pop(last)[1] if f < 0 else f
        elif clean:
            for p in pages:
                if p in table:
                    continue
                faults += 1
                add_seen(p)
                if full:
                    table[p] = pop(False)[1]
                else:
                    f, full = _take_free(pager, table)
                    table[p] = pop(False)[1] if f < 0 else f
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
                if full:
                    f = pop(last)[1]
                    writebacks += dirty[f]
                else:
                    f, full = _take_free(pager, table)
                    if f < 0:
                        f = pop(last)[1]
                        writebacks += dirty[f]
                table[p] = f
                dirty[f] = w
    page_of, ref = frames.page, frames.referenced
    for p, f in table.items():
        page_of[f] = p
        ref[f] = 1
    pager.faults[0] += faults
    pager.cold[0] += len(seen) - seen_before
    pager.evictions[0] += faults - (len(table) - resident_before)
    pager.writebacks[0] += writebacks
    pager.resident[0] = len(table)
    pager.domains[0].adopt(list(table.values()))
    if faults:
        pager.last_victim = None


def _take_free(pager: Pager, table: dict[int, int]) -> tuple[int, bool]:
    """A free frame for process 0 (-1 if none) and whether memory is now full."""
    frames = pager.frames
    f = frames.allocate()
    if f is None:
        return -1, True
    frames.owner[f] = 0
    frames.table[f] = table
    pager.owned[0].add(f)
    return f, frames.free_count == 0


def _run_multi(chunk: Chunk, pager: Pager, tables: dict[int, dict[int, int]], needs_hit: bool) -> None:
    """The loop for a stream of several processes sharing the frames."""
    fault = pager.fault
    ref = pager.frames.referenced
    dirty = pager.frames.dirty
    domains = pager.domains
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
                if needs_hit:
                    domains[pid].hit(f)


def _run_steps(chunk: Chunk, pager: Pager, tables: dict[int, dict[int, int]], record: list[Step]) -> None:
    """Access by access, recording the state after each one (for explanations, not for speed)."""
    frames = pager.frames
    needs_hit = pager.spec.cls.needs_hit
    pids = chunk.pids.tolist() if chunk.pids is not None else [0] * len(chunk)
    writes = chunk.writes.tolist() if chunk.writes is not None else [0] * len(chunk)
    for pid, p, w in zip(pids, chunk.pages.tolist(), writes):
        table = tables[pid]
        f = table.get(p)
        victim = None
        if f is None:
            pager.fault(pid, table, p, w)
            if pager.last_victim is not None:
                victim = pager.last_victim[1]
        else:
            frames.referenced[f] = 1
            if w:
                frames.dirty[f] = 1
            if needs_hit:
                pager.domains[pid].hit(f)
        record.append(
            Step(
                pid=pid,
                page=p,
                write=bool(w),
                hit=f is not None,
                frames=tuple(None if frames.owner[i] < 0 else frames.page[i] for i in range(frames.n)),
                order=tuple(frames.page[i] for i in pager.domain_frames(pid)),
                victim=victim,
            )
        )
