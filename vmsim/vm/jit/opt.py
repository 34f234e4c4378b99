"""OPT, compiled: an indexed max-heap of frames by the next use of their page; pages never used
again rank above every next use, the least recently accessed first (as the Python policy)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.base import NEVER
from vmsim.policies.opt import OPT
from vmsim.vm.jit.driver import Kernel, count_fault, domains, evict, load

POLICY = OPT
LOCAL = True
_LATEST = 1 << 60


# _sift_up and _sift_down mirror each other on purpose: the two directions of an indexed heap.
# A domain's heap is heap[b : b + its size]; pos[f] is f's place in its domain's heap.
@njit(cache=True)
def _sift_up(heap, pos, key, j, b):  # type: ignore[no-untyped-def]
    f = heap[b + j]
    k = key[f]
    while j > 0:
        parent = (j - 1) >> 1
        g = heap[b + parent]
        if key[g] >= k:
            break
        heap[b + j] = g
        pos[g] = j
        j = parent
    heap[b + j] = f
    pos[f] = j


@njit(cache=True)
def _sift_down(heap, pos, key, j, size, b):  # type: ignore[no-untyped-def]
    f = heap[b + j]
    k = key[f]
    while True:
        c = 2 * j + 1
        if c >= size:
            break
        if c + 1 < size and key[heap[b + c + 1]] > key[heap[b + c]]:
            c += 1
        g = heap[b + c]
        if key[g] <= k:
            break
        heap[b + j] = g
        pos[g] = j
        j = c
    heap[b + j] = f
    pos[f] = j


@njit(cache=True, nogil=True)
def _loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, nxt, heap, pos, key, t, base, size, used, local):  # type: ignore[no-untyped-def]
    t0 = t[0]
    for i in range(len(ids)):
        x = ids[i]
        w = writes[i]
        u = nxt[i]
        k = u if u < NEVER else NEVER + (_LATEST - (t0 + i))
        f = frame_of[x]
        p = pidx[i]
        d = p if local else 0  # the replacement domain: the process's own frames, or all of them
        if f >= 0:
            if w:
                dirty[f] = 1
            old = key[f]
            key[f] = k
            if k > old:
                _sift_up(heap, pos, key, pos[f], base[d])
            else:
                _sift_down(heap, pos, key, pos[f], used[d], base[d])
            continue
        count_fault(x, p, seen, cnt)
        b = base[d]
        if used[d] < size[d]:
            f = b + used[d]
            heap[b + used[d]] = f
            pos[f] = used[d]
            key[f] = k
            used[d] += 1
            _sift_up(heap, pos, key, used[d] - 1, b)
        else:
            f = heap[b]
            evict(f, id_in, owner, dirty, frame_of, cnt)
            key[f] = k
            _sift_down(heap, pos, key, 0, used[d], b)
        load(f, x, w, id_in, frame_of, dirty)
    t[0] = t0 + len(ids)


class _OPT(Kernel):
    future = True

    def __init__(self, frames: int, quotas: list[int] | None) -> None:
        super().__init__(frames)
        self.heap = np.zeros(frames, np.int32)
        self.pos = np.zeros(frames, np.int32)
        self.key = np.zeros(frames, np.int64)
        self.t = np.zeros(1, np.int64)  # the stream position of the next chunk's first access
        self.base, self.size, self.local = domains(frames, quotas)
        self.used = np.zeros(len(self.size), np.int64)

    loop = staticmethod(_loop)

    def extra(self) -> tuple[Any, ...]:
        return self.heap, self.pos, self.key, self.t, self.base, self.size, self.used, self.local


def make(frames: int, params: dict[str, Any], quotas: list[int] | None = None) -> Kernel:
    """The compiled OPT over ``frames`` frames (``quotas``: each process's, by dense index, under
    local scope)."""
    return _OPT(frames, quotas)
