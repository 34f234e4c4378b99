"""LRU, compiled: a doubly linked list over frames from least to most recently used."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.lru import LRU
from vmsim.vm.jit.driver import Kernel, count_fault, evict, load

POLICY = LRU


@njit(cache=True)
def _loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, prev, nxt, st):  # type: ignore[no-untyped-def]
    used, head, tail, n = st[0], st[1], st[2], len(id_in)
    # Each compiled loop opens alike on purpose (look the id up; on a fault count it, evict, load):
    # the shared steps are inlined helpers (driver.py); the loop itself stays the policy's own.
    for i in range(len(ids)):
        x = ids[i]
        w = writes[i]
        f = frame_of[x]
        if f >= 0:
            if w:
                dirty[f] = 1
            if f != tail:  # move to the most recent end
                a, b = prev[f], nxt[f]
                if a >= 0:
                    nxt[a] = b
                else:
                    head = b
                prev[b] = a
                prev[f] = tail
                nxt[f] = -1
                nxt[tail] = f
                tail = f
            continue
        count_fault(x, pidx[i], seen, cnt)
        if used < n:
            f = used
            used += 1
        else:
            f = head
            head = nxt[f]
            if head >= 0:
                prev[head] = -1
            else:
                tail = -1
            evict(f, id_in, owner, dirty, frame_of, cnt)
        load(f, x, w, id_in, frame_of, dirty)
        prev[f] = tail
        nxt[f] = -1
        if tail >= 0:
            nxt[tail] = f
        else:
            head = f
        tail = f
    st[0], st[1], st[2] = used, head, tail


class _LRU(Kernel):
    def __init__(self, frames: int) -> None:
        super().__init__(frames)
        self.prev = np.full(frames, -1, np.int64)
        self.nxt = np.full(frames, -1, np.int64)
        self.st = np.array([0, -1, -1], np.int64)

    loop = staticmethod(_loop)

    def extra(self) -> tuple[Any, ...]:
        return self.prev, self.nxt, self.st


def make(frames: int, params: dict[str, Any]) -> Kernel:
    """The compiled LRU over ``frames`` frames."""
    return _LRU(frames)
