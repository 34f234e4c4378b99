"""Replay a stream of accesses against one frame pool and one policy: the VM core's run loops
(vmsim.vm.loops) driven chunk by chunk, with no SimPy.

The engine sets the run up (processes and their page tables, local quotas, OPT's future, ticks),
hands each chunk to the VM core and builds the result from the Pager's accounts.
"""

from __future__ import annotations

import os
import random
from collections import OrderedDict
from collections.abc import Callable, Iterable
from itertools import chain

import numpy as np

from vmsim.errors import VmsimError
from vmsim.hw.access import Chunk
from vmsim.hw.segments import AddressSpace
from vmsim.metrics.progress import ProgressFn
from vmsim.metrics.results import ProcessCounters, RunResult, Step
from vmsim.policies import PolicySpec
from vmsim.vm.future import iter_values, next_use
from vmsim.vm.loops import Runner, fold_repeats
from vmsim.vm.pager import Pager, Scope, Table
from vmsim.vm.ticks import Ticker

#: A source can be iterated more than once (OPT and local scope read the stream twice).
Source = Callable[[], Iterable[Chunk]]


def replay(
    source: Source,
    spec: PolicySpec,
    frames: int,
    *,
    scope: Scope = "global",
    seed: int = 0,
    steps: bool = False,
    on_chunk: ProgressFn | None = None,
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
    if not steps:
        compiled = _compiled(source, spec, frames, scope, seed, on_chunk)
        if compiled is not None:
            return compiled
    pager = Pager(frames, spec, random.Random(seed), scope)
    plan = pager.plan
    quotas: dict[int, int] = {}
    if scope == "local":
        pids = sorted(_stream_pids(source))
        if len(pids) > frames:
            raise VmsimError(f"local replacement needs at least one frame per process: {len(pids)} processes, {frames} frames")
        quotas = dict(zip(pids, _local_quotas(len(pids), frames)))

    tables: dict[int, Table] = {}
    references: dict[int, int] = {}

    def ensure(pid: int) -> None:
        if pid not in tables:
            space = AddressSpace.flat()
            if plan.table is not None:
                space.tables[0].entries = OrderedDict()
            pager.add_process(pid, space, quotas.get(pid))
            tables[pid] = space.tables[0].entries
            references[pid] = 0

    fold = plan.folds and not steps
    chunks: Iterable[Chunk] = source()
    if plan.future:
        held: list[Chunk] = []
        held_refs: list[dict[int, int]] = []  # each held chunk's unfolded references, per process
        for c in chunks:
            counts = _chunk_counts(c)
            for pid, n in counts.items():
                ensure(pid)
                references[pid] += n
            held_refs.append(counts)
            held.append(fold_repeats(c) if fold else c)
        nxt = next_use(held)
        if scope == "global":
            if references:
                pager.accounts[next(iter(references))].domain.set_future(iter_values(nxt))  # type: ignore[attr-defined]
        else:
            allpids = np.concatenate([_pids_of(c) for c in held]) if held else np.empty(0, np.int64)
            for pid in references:
                pager.accounts[pid].domain.set_future(iter_values(nxt[allpids == pid]))  # type: ignore[attr-defined]
        chunks = held
    counted = plan.future

    record: list[Step] | None = [] if steps else None
    run_chunk = Runner(pager, tables, record).run
    ticker = Ticker(pager, plan.period, fold) if plan.period is not None else None
    partial = False
    done_refs = 0
    for chunk in chunks:
        if not len(chunk):
            continue
        if on_chunk is not None and on_chunk(done_refs, sum(a.faults for a in pager.accounts.values())):
            partial = True
            break
        if not counted:
            _count_chunk(chunk, references, ensure)
        done_refs += len(chunk)
        if ticker is not None:
            ticker.run(chunk, run_chunk)
            continue
        if fold and not plan.future:
            chunk = fold_repeats(chunk)
        run_chunk(chunk)
    if partial and counted:  # references were counted up front: recount what actually ran
        references = {pid: 0 for pid in references}
        for counts in held_refs[: _chunks_done(held, done_refs)]:
            for pid, n in counts.items():
                references[pid] += n

    accounts = pager.accounts
    procs = tuple(
        ProcessCounters(
            pid=pid,
            references=references[pid],
            hits=references[pid] - accounts[pid].faults,
            faults=accounts[pid].faults,
            cold_faults=accounts[pid].cold,
            evictions=accounts[pid].evictions,
            writebacks=accounts[pid].writebacks,
        )
        for pid in sorted(references)
    )
    return _result(spec, frames, scope, seed, procs, record, partial)


def _compiled(
    source: Source, spec: PolicySpec, frames: int, scope: Scope, seed: int, on_chunk: ProgressFn | None
) -> RunResult | None:
    """The run on a compiled loop (vmsim.vm.jit), or None where none applies. A stream shorter than
    :func:`vmsim.vm.jit.min_accesses` runs in Python (unless ``VMSIM_JIT=always``): loading numba
    would cost more than it saves."""
    from vmsim.vm import jit

    if spec.cls.name not in jit.KERNELS or jit.mode() == "off":
        return None
    loader = jit.preload() if _large_file(source) else None
    try:
        return _compiled_run(source, spec, frames, scope, seed, on_chunk)
    finally:
        if loader is not None:
            loader.join()  # never leave the loading thread running into the interpreter's exit


def _large_file(source: Source) -> bool:
    """A trace file big enough that its replay will likely run compiled: load numba meanwhile."""
    path = getattr(source, "path", None)
    try:
        return path is not None and os.stat(path).st_size >= 8 << 20
    except (OSError, TypeError):
        return False


def _compiled_run(
    source: Source, spec: PolicySpec, frames: int, scope: Scope, seed: int, on_chunk: ProgressFn | None
) -> RunResult | None:
    from vmsim.vm import jit

    chunks = iter(source())
    head = jit.peek(chunks, jit.min_accesses(spec))
    if head is None or not jit.enabled():
        return None
    module = jit.kernel_module(spec)
    if module is None or (scope == "local" and not getattr(module, "LOCAL", False)):
        return None
    from vmsim.vm.jit.driver import replay_chunks

    if scope == "local":
        pids = sorted(_stream_pids(source))
        if len(pids) > frames:
            return None  # the Python path says why
        kernel = module.make(frames, spec.params, _local_quotas(len(pids), frames))
        run, partial = replay_chunks(kernel, chain(head, chunks), on_chunk, pids)
    else:
        run, partial = replay_chunks(module.make(frames, spec.params), chain(head, chunks), on_chunk)
    procs = tuple(
        ProcessCounters(pid=pid, references=r, hits=r - f, faults=f, cold_faults=c, evictions=e, writebacks=w)
        for pid, (r, f, c, e, w) in sorted(run.counters().items())
    )
    return _result(spec, frames, scope, seed, procs, None, partial)


def _local_quotas(processes: int, frames: int) -> list[int]:
    """Local scope's quotas, by process in pid order: equal shares, the remainder one frame each
    to the lowest pids."""
    share, extra = divmod(frames, max(1, processes))
    return [share + (1 if i < extra else 0) for i in range(processes)]


def _result(
    spec: PolicySpec,
    frames: int,
    scope: Scope,
    seed: int,
    procs: tuple[ProcessCounters, ...],
    steps: list[Step] | None,
    partial: bool,
) -> RunResult:
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
        steps=tuple(steps) if steps is not None else None,
        partial=partial,
    )


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
