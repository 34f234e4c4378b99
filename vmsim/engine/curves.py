"""Miss-ratio curves: faults and write-backs of one stream at many frame counts.

LRU is a stack algorithm (Mattson et al., 1970): with F frames an access hits exactly when its LRU
stack distance (the number of distinct pages accessed since the previous access to its page,
itself included) is at most F. One pass computes every access's distance, so the whole curve costs
about one run whatever the number of sizes:

- immediate repeats are folded first (distance 1: a hit at every size; their writes are OR-ed
  into the access they repeat), exactly as ``replay`` folds them;
- with ``nxt[j]`` the next use of access ``j``, ``s`` the previous access to the page of access
  ``t`` and ``D_t`` the number of distinct pages in ``[0, t)``, the distance is
  ``D_t - #{j <= s : nxt[j] > t}``. The count is an offline dominance count, done level by level
  over aligned blocks of ``2**k`` accesses (the prefix ``[0, s)`` is one block per set bit of
  ``s``; block ``2m`` answers the queries of block ``2m + 1``). Small blocks are compared element
  by element; larger ones are sorted row by row and the (already sorted) queries found with one
  ``searchsorted`` per level. O(n log^2 n) work, all in NumPy.

Write-backs at all sizes come from the same distances. Between two consecutive accesses ``i`` and
``i+1`` of one page (or after its last access) the page is evicted at ``F`` iff the gap's distance
``g`` (the next access's distance, or 1 + the distinct pages accessed after the last one) exceeds
``F``. It is dirty then iff the latest write ``w <= i`` to it lies in the same residency, i.e. no
access in ``(w, i]`` faulted: ``F >= M``, the largest distance over ``(w, i]`` (infinite if the
page was never written). So each gap adds one write-back to every ``F`` in ``[M, g)``.

OPT and every other policy run ``replay`` once per size (in worker processes when asked).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from itertools import chain

import numpy as np

from vmsim.engine.replay import Source, replay
from vmsim.errors import VmsimError
from vmsim.hw.access import Chunk
from vmsim.metrics.progress import ProgressFn
from vmsim.metrics.schema import CurvePoint
from vmsim.parallel import Totals, run_jobs
from vmsim.policies import PolicySpec, lookup

__all__ = ["CurvePoint", "curve", "lru_distances"]

#: Blocks up to this many accesses are compared element by element instead of sorted.
_DIRECT = 32


Progress = ProgressFn


def curve(
    source: Source,
    policies: list[PolicySpec],
    frames: list[int],
    *,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> list[CurvePoint]:
    """Faults and write-backs of each policy at each number of frames (global scope).

    Points come in input order, policies then frames. LRU is computed in one pass for all sizes
    (exactly ``replay``'s counts); other policies run ``replay`` per size, in ``workers`` processes
    when ``workers > 1`` or on a Dask ``scheduler`` (see :func:`vmsim.parallel.run_jobs`) when the
    source pickles, in this process otherwise. Results do not depend on ``workers``.

    ``progress(references, faults)`` is called as the work goes on; when it returns True the curve
    stops early: the LRU pass keeps the prefix read so far (its points marked partial), a run in
    this process stops at its next chunk (marked partial), runs in workers in flight are dropped,
    and sizes not reached are missing from the result.
    """
    for f in frames:
        if f <= 0:
            raise VmsimError(f"frames must be a positive number, got {f}")
    lru = lookup("lru")
    results: dict[tuple[int, int], CurvePoint] = {}
    tasks: list[tuple[int, int]] = []
    lru_points: dict[int, tuple[int, int, int]] | None = None
    stopped = False
    for i, spec in enumerate(policies):
        if spec.cls is lru:
            if lru_points is None:
                lru_points, stopped = _lru_curve(source, sorted(set(frames)), progress)
            for f in frames:
                refs, faults, wb = lru_points[f]
                results[i, f] = CurvePoint(
                    policy=spec.label, frames=f, references=refs, faults=faults, writebacks=wb, partial=stopped
                )
        else:
            tasks.extend((i, f) for f in frames)
    tasks = list(dict.fromkeys(tasks))
    if tasks and not stopped:
        compiled, stopped = _compiled_sizes(source, policies, tasks, progress)
        results.update(compiled)
        tasks = [t for t in tasks if t not in compiled]
    jobs = [(source, policies[i], f, seed) for i, f in tasks]
    if stopped:
        pass
    elif (workers > 1 or scheduler is not None) and len(jobs) > 1 and _picklable(source, policies):
        totals = Totals(progress)
        done = run_jobs(
            _run_one, jobs, workers=workers, scheduler=scheduler, on_result=lambda _, p: totals.add(p.references, p.faults)
        )
        for j, point in done.items():
            results[tasks[j]] = point
    else:
        totals = Totals(progress)
        for key, (src, spec, f, sd) in zip(tasks, jobs):
            r = replay(src, spec, f, seed=sd, on_chunk=totals.during())
            results[key] = CurvePoint.of(r)
            totals.add(r.references, r.faults, report=False)
            if r.partial:
                break
    return [results[i, f] for i in range(len(policies)) for f in frames if (i, f) in results]


def _compiled_sizes(
    source: Source, policies: list[PolicySpec], tasks: list[tuple[int, int]], progress: Progress | None
) -> tuple[dict[tuple[int, int], CurvePoint], bool]:
    """Every size of the policies that have a compiled loop, all in one pass over the source (one
    parse, one set of dense ids, one compiled loop per size), when compiled loops run here."""
    from vmsim.vm import jit

    mine = [(i, f) for i, f in tasks if policies[i].cls.name in jit.KERNELS]
    if len(mine) < 2 or jit.mode() == "off":
        return {}, False
    chunks = iter(source())
    head = jit.peek(chunks, -(-jit.MIN_ACCESSES // len(mine)))  # the runs together repay loading numba
    if head is None or not jit.enabled():
        return {}, False
    modules = {i: m for i, _ in mine if (m := jit.kernel_module(policies[i])) is not None}
    mine = [(i, f) for i, f in mine if i in modules]
    if not mine:
        return {}, False
    from vmsim.vm.jit.driver import replay_chunks

    kernels = [modules[i].make(f, policies[i].params) for i, f in mine]
    totals = Totals(progress)
    fold = all(policies[i].cls.folds_repeats(**policies[i].params) for i, _ in mine)
    run, partial = replay_chunks(kernels, chain(head, chunks), totals.during(), fold=fold)
    out: dict[tuple[int, int], CurvePoint] = {}
    for k, (i, f) in enumerate(mine):
        counts = run.counters(k).values()
        refs, faults, wb = (sum(c[j] for c in counts) for j in (0, 1, 4))
        out[i, f] = CurvePoint(policy=policies[i].label, frames=f, references=refs, faults=faults, writebacks=wb, partial=partial)
    return out, partial


def _picklable(*objs: object) -> bool:
    try:
        pickle.dumps(objs)
    except Exception:
        return False
    return True


def _run_one(job: tuple[Source, PolicySpec, int, int]) -> CurvePoint:
    source, spec, frames, seed = job
    return CurvePoint.of(replay(source, spec, frames, seed=seed))


# --- LRU: stack distances ------------------------------------------------------------------------


def _keys(chunks: Iterable[Chunk]) -> tuple[np.ndarray, np.ndarray | None, int]:
    """The stream's (process, page) keys as one int64 array, its write flags, and its length."""
    held = [c for c in chunks if len(c)]
    if not held:
        return np.empty(0, np.int64), None, 0
    pages = np.concatenate([c.pages for c in held]).astype(np.int64, copy=False)
    writes = None
    if any(c.writes is not None for c in held):
        writes = np.concatenate([c.writes if c.writes is not None else np.zeros(len(c), np.uint8) for c in held])
        writes = writes.astype(bool, copy=False)
    if any(c.pids is not None for c in held):
        pids = np.concatenate([c.pids if c.pids is not None else np.zeros(len(c), np.int64) for c in held])
        pids = pids.astype(np.int64, copy=False)
        if pages.min() >= 0 and pages.max() < (1 << 40) and pids.min() >= 0 and pids.max() < (1 << 22):
            keys = (pids << 40) | pages
        else:
            pairs = np.stack([pids, pages], axis=1)
            keys = np.unique(pairs, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)
    else:
        keys = pages
    return keys, writes, len(pages)


def _fold(keys: np.ndarray, writes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Fold runs of the same key into their first access, OR-ing the writes."""
    if len(keys) < 2:
        return keys, writes
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    if len(starts) == len(keys):
        return keys, writes
    if writes is not None:
        writes = np.logical_or.reduceat(writes, starts)
    return keys[starts], writes


def _next_use(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(next use of each access, n where none; the accesses in (key, time) order)."""
    n = len(keys)
    order = np.argsort(keys, kind="stable")
    nxt = np.full(n, n, dtype=np.int64)
    if n > 1:
        same = keys[order[1:]] == keys[order[:-1]]
        nxt[order[:-1][same]] = order[1:][same]
    return nxt, order


def lru_distances(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LRU stack distance of each access of a stream without immediate repeats (``n + 1`` for a
    first access, ``n`` being the stream's length), and each access's next use (``n`` if none)."""
    n = len(keys)
    nxt, _ = _next_use(keys)
    dist = np.full(n, n + 1, dtype=np.int64)
    if n < 2:
        return dist, nxt
    first = np.ones(n, dtype=bool)
    has_next = nxt < n
    first[nxt[has_next]] = False
    distinct_before = np.cumsum(first) - first  # D_t: distinct pages in [0, t)
    levels = max(1, (n - 1).bit_length())
    padded = np.full(1 << levels, n, dtype=np.int64)  # padding never answers or asks
    padded[:n] = nxt
    by_s = np.zeros(1 << levels, dtype=np.int64)  # counts found for the query asked at s
    by_t = np.zeros(n + 1, dtype=np.int64)  # counts found for the query of access t
    shift = n.bit_length() + 1
    for k in range(levels):
        width = 1 << k
        rows = padded.reshape(-1, 2, width)
        data, ask = rows[:, 0, :], rows[:, 1, :]  # block 2m answers the queries of block 2m + 1
        if width <= _DIRECT:
            count = np.zeros(ask.shape, dtype=np.int64)
            for b in range(width):
                count += data[:, b : b + 1] > ask
            by_s.reshape(-1, 2, width)[:, 1, :] += count
            continue
        offset = (np.arange(len(rows), dtype=np.int64) << shift)[:, None]
        data_keys = (np.sort(data, axis=1) + offset).ravel()
        ask_sorted = np.sort(ask, axis=1)
        le = np.searchsorted(data_keys, (ask_sorted + offset).ravel(), side="right")
        le = le.reshape(ask.shape) - (np.arange(len(rows), dtype=np.int64) << k)[:, None]
        t = ask_sorted.ravel()
        live = t < n
        by_t[t[live]] += width - le.ravel()[live]
    prev = np.zeros(n, dtype=np.int64)
    prev[nxt[has_next]] = np.flatnonzero(has_next)
    acc = by_t[:n] + by_s[prev]
    again = ~first
    dist[again] = distinct_before[again] - acc[again]
    return dist, nxt


def _chunks(source: Source, progress: Progress | None, stop: list[bool]) -> Iterator[Chunk]:
    """The source's chunks, reporting progress after each; stops (and sets ``stop[0]``) when
    ``progress`` asks to."""
    done = 0
    for chunk in source():
        yield chunk
        done += len(chunk)
        if progress is not None and progress(done, None):
            stop[0] = True
            return


def _lru_curve(
    source: Source, sizes: list[int], progress: Progress | None = None
) -> tuple[dict[int, tuple[int, int, int]], bool]:
    """frames -> (references, faults, write-backs) of LRU, for every size at once, and whether
    ``progress`` stopped the pass early (the counts then cover the prefix read)."""
    stop = [False]
    keys, writes, references = _keys(_chunks(source, progress, stop))
    keys, writes = _fold(keys, writes)
    n = len(keys)
    dist, nxt = lru_distances(keys)
    # Real distances are at most n (first accesses have n + 1): sizes above n act as n.
    clipped = np.minimum(np.array(sizes, dtype=np.int64), n)
    # faults(F) = #{dist > F}: a histogram of distances and a suffix sum.
    hist = np.bincount(dist, minlength=n + 2)
    above = hist[::-1].cumsum()[::-1]  # above[d] = #{dist >= d}
    faults = above[clipped + 1]
    wbs = np.zeros(len(sizes), dtype=np.int64)
    if writes is not None and writes.any() and n:
        wbs = _lru_writebacks(keys, writes, dist, nxt, clipped)
    return {f: (references, int(faults[i]), int(wbs[i])) for i, f in enumerate(sizes)}, stop[0]


def _lru_writebacks(keys: np.ndarray, writes: np.ndarray, dist: np.ndarray, nxt: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Write-backs of LRU at each size (see the module docstring): each gap after an access adds
    one to every size in ``[M, g)``."""
    n = len(keys)
    top = n + 1  # distances and gaps are at most n, first accesses n + 1 (never hit)
    has_next = nxt < n
    # g: the gap after each access. Before a later access: that access's distance. After the last
    # access: 1 + the pages whose last access comes later.
    gap = np.empty(n, dtype=np.int64)
    gap[has_next] = dist[nxt[has_next]]
    lasts = np.flatnonzero(~has_next)
    gap[lasts] = len(lasts) - np.arange(len(lasts))  # 1 + number of later last accesses
    # M: the largest distance since the latest write to the page (the write's own distance
    # excluded), infinite before the page's first write. A segmented running max in (key, time)
    # order, segments starting at each page's first access and at each write.
    _, order = _next_use(keys)
    k_sorted = keys[order]
    w_sorted = writes[order]
    value = np.where(w_sorted, 0, np.minimum(dist[order], top))
    start = w_sorted.copy()
    start[0] = True
    start[1:] |= k_sorted[1:] != k_sorted[:-1]
    seg = np.cumsum(start) - 1
    base = seg * (top + 1)
    runmax = np.maximum.accumulate(value + base) - base
    m = np.empty(n, dtype=np.int64)
    m[order] = runmax
    g = np.minimum(gap, top)
    live = m < g
    lo, hi = m[live], g[live]
    # Count over the requested sizes only: F in [lo, hi) <=> lo <= F < hi.
    diff = np.bincount(lo, minlength=top + 2) - np.bincount(hi, minlength=top + 2)
    per_size = np.cumsum(diff)
    return per_size[sizes]
