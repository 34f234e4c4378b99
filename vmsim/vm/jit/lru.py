"""LRU, compiled: per replacement domain a doubly linked list over its frames, least to most
recently used."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.lru import LRU
from vmsim.vm.jit.driver import Kernel, count_fault, domains, evict, load

POLICY = LRU
LOCAL = True


@njit(cache=True)
def _loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, prev, nxt, base, size, used, head, tail, local):  # type: ignore[no-untyped-def]
    for i in range(len(ids)):
        x = ids[i]
        w = writes[i]
        f = frame_of[x]
        p = pidx[i]
        d = p if local else 0  # the replacement domain: the process's own frames, or all of them
        if f >= 0:
            if w:
                dirty[f] = 1
            t = tail[d]
            # Written out rather than driver.unlink/append: on the hit path that costs about 60%
            # more here (zipf10m, 100k frames, measured in-process), the loop's hottest lines.
            if f != t:  # move to the most recent end
                a, b = prev[f], nxt[f]
                if a >= 0:
                    nxt[a] = b
                else:
                    head[d] = b
                prev[b] = a
                prev[f] = t
                nxt[f] = -1
                nxt[t] = f
                tail[d] = f
            continue
        count_fault(x, p, seen, cnt)
        if used[d] < size[d]:
            f = base[d] + used[d]
            used[d] += 1
        else:
            f = head[d]
            head[d] = nxt[f]
            if head[d] >= 0:
                prev[head[d]] = -1
            else:
                tail[d] = -1
            evict(f, id_in, owner, dirty, frame_of, cnt)
        load(f, x, w, id_in, frame_of, dirty)
        prev[f] = tail[d]
        nxt[f] = -1
        if tail[d] >= 0:
            nxt[tail[d]] = f
        else:
            head[d] = f
        tail[d] = f


class _LRU(Kernel):
    def __init__(self, frames: int, quotas: list[int] | None) -> None:
        super().__init__(frames)
        self.prev = np.full(frames, -1, np.int32)
        self.nxt = np.full(frames, -1, np.int32)
        self.base, self.size, self.local = domains(frames, quotas)
        self.used = np.zeros(len(self.size), np.int64)
        self.head = np.full(len(self.size), -1, np.int64)
        self.tail = np.full(len(self.size), -1, np.int64)

    loop = staticmethod(_loop)

    def extra(self) -> tuple[Any, ...]:
        return self.prev, self.nxt, self.base, self.size, self.used, self.head, self.tail, self.local


def make(frames: int, params: dict[str, Any], quotas: list[int] | None = None) -> Kernel:
    """The compiled LRU over ``frames`` frames (``quotas``: each process's, by dense index, under
    local scope)."""
    return _LRU(frames, quotas)
