"""OPT, compiled: an indexed max-heap of frames by the next use of their page; pages never used
again rank above every next use, the least recently accessed first (as the Python policy)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.base import NEVER
from vmsim.policies.opt import OPT
from vmsim.vm.jit.driver import Kernel, count_fault, evict, load

POLICY = OPT
_LATEST = 1 << 60


# _sift_up and _sift_down mirror each other on purpose: the two directions of an indexed heap.
@njit(cache=True)
def _sift_up(heap, pos, key, j):  # type: ignore[no-untyped-def]
    f = heap[j]
    k = key[f]
    while j > 0:
        parent = (j - 1) >> 1
        g = heap[parent]
        if key[g] >= k:
            break
        heap[j] = g
        pos[g] = j
        j = parent
    heap[j] = f
    pos[f] = j


@njit(cache=True)
def _sift_down(heap, pos, key, j, size):  # type: ignore[no-untyped-def]
    f = heap[j]
    k = key[f]
    while True:
        c = 2 * j + 1
        if c >= size:
            break
        if c + 1 < size and key[heap[c + 1]] > key[heap[c]]:
            c += 1
        g = heap[c]
        if key[g] <= k:
            break
        heap[j] = g
        pos[g] = j
        j = c
    heap[j] = f
    pos[f] = j


@njit(cache=True)
def _loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, nxt, heap, pos, key, st):  # type: ignore[no-untyped-def]
    used, t0, n = st[0], st[1], len(id_in)
    for i in range(len(ids)):
        x = ids[i]
        w = writes[i]
        u = nxt[i]
        k = u if u < NEVER else NEVER + (_LATEST - (t0 + i))
        f = frame_of[x]
        if f >= 0:
            if w:
                dirty[f] = 1
            old = key[f]
            key[f] = k
            if k > old:
                _sift_up(heap, pos, key, pos[f])
            else:
                _sift_down(heap, pos, key, pos[f], used)
            continue
        count_fault(x, pidx[i], seen, cnt)
        if used < n:
            f = used
            heap[used] = f
            pos[f] = used
            key[f] = k
            used += 1
            _sift_up(heap, pos, key, used - 1)
        else:
            f = heap[0]
            evict(f, id_in, owner, dirty, frame_of, cnt)
            key[f] = k
            _sift_down(heap, pos, key, 0, used)
        load(f, x, w, id_in, frame_of, dirty)
    st[0], st[1] = used, t0 + len(ids)


class _OPT(Kernel):
    future = True

    def __init__(self, frames: int) -> None:
        super().__init__(frames)
        self.heap = np.zeros(frames, np.int32)
        self.pos = np.zeros(frames, np.int32)
        self.key = np.zeros(frames, np.int64)
        self.st = np.zeros(2, np.int64)

    loop = staticmethod(_loop)

    def extra(self) -> tuple[Any, ...]:
        return self.heap, self.pos, self.key, self.st


def make(frames: int, params: dict[str, Any]) -> Kernel:
    """The compiled OPT over ``frames`` frames."""
    return _OPT(frames)
