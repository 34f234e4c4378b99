"""The compiled replay driver: chunks to dense ids, one compiled loop per chunk, counters per process.

Every compiled loop keeps the same state as the Python core, in arrays: per id its frame
(``frame_of``, -1 when not resident), whether it was ever loaded (``seen``: cold faults) and its
process (``DenseIds.owner``); per frame its id (``id_in``) and dirty bit; per process index the
counters ``cnt[p] = (faults, cold faults, evictions, write-backs)``, evictions and write-backs
charged to the evicted page's owner as the Pager does. Free frames are taken in order 0, 1, ...
and a victim's frame takes the new page, as the Pager's frame table does in a replay.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain
from typing import Any

import numpy as np
from numba import njit

from vmsim.errors import VmsimError
from vmsim.hw.access import Chunk
from vmsim.metrics.progress import ProgressFn
from vmsim.parallel import default_workers
from vmsim.policies.base import NEVER
from vmsim.vm.jit.ids import DenseIds, grow
from vmsim.vm.loops import fold_repeats

FAULTS, COLD, EVICTIONS, WRITEBACKS = range(4)


# The steps every compiled loop shares, inlined into each loop by numba.


@njit(inline="always")
def count_fault(x, p, seen, cnt):  # type: ignore[no-untyped-def]
    """Count a fault of process ``p`` on id ``x``, cold if ``x`` was never loaded."""
    cnt[p, 0] += 1
    if not seen[x]:
        seen[x] = 1
        cnt[p, 1] += 1


@njit(inline="always")
def evict(f, id_in, owner, dirty, frame_of, cnt):  # type: ignore[no-untyped-def]
    """Evict frame ``f``'s page, charging the eviction (and a write-back if dirty) to its owner."""
    v = id_in[f]
    o = owner[v]
    cnt[o, 2] += 1
    if dirty[f]:
        cnt[o, 3] += 1
    frame_of[v] = -1


@njit(inline="always")
def unlink(x, prev, nxt, ends, h, t):  # type: ignore[no-untyped-def]
    """Take ``x`` out of the doubly linked list whose first and last items are ``ends[h]``, ``ends[t]``."""
    a, b = prev[x], nxt[x]
    if a >= 0:
        nxt[a] = b
    else:
        ends[h] = b
    if b >= 0:
        prev[b] = a
    else:
        ends[t] = a


@njit(inline="always")
def append(x, prev, nxt, ends, h, t):  # type: ignore[no-untyped-def]
    """Put ``x`` at the end of that list."""
    prev[x] = ends[t]
    nxt[x] = -1
    if ends[t] >= 0:
        nxt[ends[t]] = x
    else:
        ends[h] = x
    ends[t] = x


@njit(inline="always")
def load(f, x, w, id_in, frame_of, dirty):  # type: ignore[no-untyped-def]
    """Map id ``x`` into frame ``f``, dirty if the loading access writes."""
    id_in[f] = x
    frame_of[x] = f
    dirty[f] = w


def domains(frames: int, quotas: list[int] | None) -> tuple[np.ndarray, np.ndarray, bool]:
    """The replacement domains as (first frame, frames) arrays and whether they are per process:
    one domain of every frame (global scope), or each process's quota, in dense process order,
    as consecutive frames (local scope)."""
    size = np.array([frames] if quotas is None else quotas, np.int64)
    base = np.concatenate(([0], np.cumsum(size)[:-1])).astype(np.int64)
    return base, size, quotas is not None


class Kernel:
    """One policy's compiled loop and its state over ``frames`` frames; subclasses set ``loop``
    (called as ``loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, *extra)``)
    and ``extra()``, the policy's own state arrays."""

    #: Whether the loop takes each access's next use (OPT), right after ``cnt``.
    future = False

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.id_in = np.full(frames, -1, np.int32)
        self.dirty = np.zeros(frames, np.uint8)
        self.frame_of = np.full(1 << 12, -1, np.int32)
        self.seen = np.zeros(1 << 12, np.uint8)

    def loop(self, *args: Any) -> None:
        """The compiled loop over one chunk."""
        raise NotImplementedError

    def extra(self) -> tuple[Any, ...]:
        """The policy's own state, passed after the common arrays."""
        return ()

    def run(
        self, ids: np.ndarray, writes: np.ndarray, pidx: np.ndarray, owner: np.ndarray, cnt: np.ndarray, nxt: np.ndarray | None
    ) -> None:
        """One chunk of accesses (as dense ids, with their next uses for a foresighted loop)."""
        future = (nxt,) if self.future else ()
        self.loop(ids, writes, pidx, self.frame_of, self.seen, owner, self.id_in, self.dirty, cnt, *future, *self.extra())

    def room(self, ids: int) -> None:
        """Per-id arrays long enough for ``ids`` ids."""
        if ids > len(self.frame_of):
            self.frame_of = grow(self.frame_of, ids, -1)
            self.seen = grow(self.seen, ids)


class Replay:
    """Chunks through one or more kernels (a curve's sizes) over one parse and one set of dense
    ids; ``pids`` lists the processes by dense index, ``cnt[k]`` holds kernel ``k``'s counters."""

    def __init__(self, kernels: list[Kernel], pids: list[int] | None = None) -> None:
        self.kernels = kernels
        self.ids = DenseIds()
        self.pids: list[int] = []
        self._index: dict[int, int] = {}
        self.cnt = [np.zeros((4, 4), np.int64) for _ in kernels]
        self.references = np.zeros(4, np.int64)
        #: The kernels still running on the last chunk (:meth:`start`).
        self._running: list[Future[None]] = []
        if pids:  # dense process indexes fixed up front (local scope: they index the quotas)
            self._pid_index(np.array(pids))

    def prepare(self, chunk: Chunk) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A chunk's dense ids, write flags (uint8) and dense process indexes (int32)."""
        n = len(chunk)
        if chunk.pids is None:
            pidx = np.zeros(n, np.int32)
            self._pid_index(np.array([0]))
        else:
            uniq, inv = np.unique(chunk.pids, return_inverse=True)
            pidx = self._pid_index(uniq)[inv].astype(np.int32)
        writes = np.zeros(n, np.uint8) if chunk.writes is None else chunk.writes.astype(np.uint8, copy=False)
        ids = self.ids.ids(chunk.pages, pidx)
        self.finish()  # the kernels' arrays may grow: none may still be running on them
        for k in self.kernels:
            k.room(self.ids.count)
        return ids, writes, pidx

    def _pid_index(self, uniq: np.ndarray) -> np.ndarray:
        for pid in uniq.tolist():
            if pid not in self._index:
                self._index[pid] = len(self.pids)
                self.pids.append(pid)
        if len(self.pids) > len(self.references):
            self.finish()
            self.references = grow(self.references, len(self.pids))
            for i, c in enumerate(self.cnt):
                self.cnt[i] = np.zeros((len(self.references), 4), np.int64)
                self.cnt[i][: len(c)] = c
        return np.array([self._index[p] for p in uniq.tolist()], np.int64)

    def count(self, chunk: Chunk) -> None:
        """Count ``chunk``'s references (before it is folded: a folded access is still one)."""
        if chunk.pids is None:
            self._pid_index(np.array([0]))
            self.references[self._index[0]] += len(chunk)
        else:
            uniq, counts = np.unique(chunk.pids, return_counts=True)
            self.references[self._pid_index(uniq)] += counts

    def run(
        self, ids: np.ndarray, writes: np.ndarray, pidx: np.ndarray, nxt: np.ndarray | None = None, counted: bool = False
    ) -> None:
        """One prepared chunk through every kernel (with its accesses' next uses for foresighted
        ones); ``counted``: its references were counted already (:meth:`count`)."""
        self.start(ids, writes, pidx, nxt, counted)
        self.finish()

    def start(
        self, ids: np.ndarray, writes: np.ndarray, pidx: np.ndarray, nxt: np.ndarray | None = None, counted: bool = False
    ) -> None:
        """As :meth:`run`, but several kernels (a curve's sizes) run on the pool's threads (their
        loops release the GIL) and this returns at once: the next chunk is read meanwhile, and
        :meth:`prepare` (or :meth:`finish`) waits for them."""
        if not counted:
            self.references[: len(self.pids)] += np.bincount(pidx, minlength=len(self.pids))[: len(self.pids)]
        owner = self.ids.owner
        if len(self.kernels) < 2 or _POOL.workers < 2:
            for k, cnt in zip(self.kernels, self.cnt):
                k.run(ids, writes, pidx, owner, cnt, nxt)
            return

        def one(kc: tuple[Kernel, np.ndarray]) -> None:
            kc[0].run(ids, writes, pidx, owner, kc[1], nxt)

        self._running = _POOL.start(one, list(zip(self.kernels, self.cnt, strict=True)))

    def finish(self) -> None:
        """Wait for the kernels started on the last chunk."""
        running, self._running = self._running, []
        for f in running:
            f.result()

    def faults(self) -> int:
        """The first kernel's faults so far (for progress)."""
        return int(self.cnt[0][:, FAULTS].sum())

    def counters(self, k: int = 0) -> dict[int, tuple[int, int, int, int, int]]:
        """Kernel ``k``'s counters: pid -> (references, faults, cold faults, evictions, write-backs)."""
        out = {}
        for i, pid in enumerate(self.pids):
            c = self.cnt[k][i].tolist()
            out[pid] = (int(self.references[i]), c[FAULTS], c[COLD], c[EVICTIONS], c[WRITEBACKS])
        return out


def _stream_future(r: Replay, chunks: Iterable[Chunk], on_chunk: ProgressFn | None) -> tuple[Replay, bool]:
    """A foresighted kernel fed the trace's own next accesses chunk by chunk: nothing is held."""
    done = 0
    for chunk in chunks:
        if not len(chunk):
            continue
        if chunk.nexts is None:
            raise VmsimError(f"the trace stops giving next accesses at access {done:,}")
        if on_chunk is not None and on_chunk(done, r.faults()):
            return r, True
        at = chunk.nexts.positions(chunk.pages)
        r.run(*r.prepare(chunk), np.where(at < 0, NEVER, at))
        done += len(chunk)
    return r, False


class _Pool:
    """Threads that run a curve's kernels side by side, made on first use, one per core."""

    def __init__(self) -> None:
        self.workers = min(4, default_workers())
        self._pool: ThreadPoolExecutor | None = None

    def start(self, fn: Callable[[Any], None], items: list[Any]) -> list[Future[None]]:
        """``fn`` over ``items``, spread over the threads; wait on the futures for the end."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="vmsim-jit")
        per = -(-len(items) // self.workers)

        def each(group: list[Any]) -> None:
            for x in group:
                fn(x)

        return [self._pool.submit(each, items[i : i + per]) for i in range(0, len(items), per)]


_POOL = _Pool()
# A forked worker has none of the parent's threads: it makes its own pool if it needs one.
os.register_at_fork(after_in_child=lambda: setattr(_POOL, "_pool", None))


@njit(cache=True)
def next_uses(ids: np.ndarray, ids_total: int) -> np.ndarray:
    """Each access's next access to the same id (its index in ``ids``), NEVER if none."""
    n = len(ids)
    out = np.empty(n, np.int64)
    last = np.full(ids_total, NEVER, np.int64)
    for i in range(n - 1, -1, -1):
        x = ids[i]
        out[i] = last[x]
        last[x] = i
    return out


def replay_chunks(
    kernels: Kernel | list[Kernel],
    chunks: Iterable[Chunk],
    on_chunk: ProgressFn | None = None,
    pids: list[int] | None = None,
    fold: bool = False,
) -> tuple[Replay, bool]:
    """Every chunk through the kernels; returns the replay and whether ``on_chunk`` stopped it.
    ``pids``: the processes in the order of their dense indexes (local scope's quotas); ``fold``:
    every kernel's policy treats an immediate repeat as a no-op, so repeats are folded once per
    chunk for all of them (not with a foresighted kernel)."""
    r = Replay(kernels if isinstance(kernels, list) else [kernels], pids)
    done = 0
    if any(k.future for k in r.kernels):
        it = iter(chunks)
        first = next((c for c in it if len(c)), None)
        if first is not None and first.nexts is not None:
            return _stream_future(r, chain([first], it), on_chunk)
        prepared = [r.prepare(c) for c in chain([] if first is None else [first], it) if len(c)]
        nxt = next_uses(np.concatenate([p[0] for p in prepared]) if prepared else np.empty(0, np.int64), max(1, r.ids.count))
        at = 0
        for ids, writes, pidx in prepared:
            if on_chunk is not None and on_chunk(done, r.faults()):
                return r, True
            r.run(ids, writes, pidx, nxt[at : at + len(ids)])
            at += len(ids)
            done += len(ids)
        return r, False
    for chunk in chunks:
        if not len(chunk):
            continue
        if on_chunk is not None and on_chunk(done, r.faults()):
            r.finish()
            return r, True
        if fold:
            r.count(chunk)
            r.start(*r.prepare(fold_repeats(chunk)), counted=True)
        else:
            r.start(*r.prepare(chunk))
        done += len(chunk)
    r.finish()
    return r, False
