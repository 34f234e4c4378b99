"""LRU, compiled: per replacement domain a doubly linked list over its frames, least to most
recently used."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.lru import LRU
from vmsim.vm.jit.driver import Kernel, append, count_fault, domains, evict, load, unlink

POLICY = LRU
LOCAL = True


@njit(cache=True, nogil=True)
def _loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, prev, nxt, base, size, used, ends, local):  # type: ignore[no-untyped-def]
    # Opens like every compiled loop, on purpose (clock.py says why).
    for i in range(len(ids)):
        x = ids[i]
        w = writes[i]
        f = frame_of[x]
        p = pidx[i]
        d = p if local else 0  # the replacement domain: the process's own frames, or all of them
        h = 2 * d  # its least recent frame is ends[h], its most recent ends[h + 1]
        if f >= 0:
            if w:
                dirty[f] = 1
            t = ends[h + 1]
            # Written out rather than driver.unlink/append: on the hit path that costs about 60%
            # more here (zipf10m, 100k frames, measured in-process), the loop's hottest lines.
            if f != t:  # move to the most recent end
                a, b = prev[f], nxt[f]
                if a >= 0:
                    nxt[a] = b
                else:
                    ends[h] = b
                prev[b] = a
                prev[f] = t
                nxt[f] = -1
                nxt[t] = f
                ends[h + 1] = f
            continue
        count_fault(x, p, seen, cnt)
        if used[d] < size[d]:
            f = base[d] + used[d]
            used[d] += 1
        else:
            f = ends[h]
            unlink(f, prev, nxt, ends, h, h + 1)
            evict(f, id_in, owner, dirty, frame_of, cnt)
        load(f, x, w, id_in, frame_of, dirty)
        append(f, prev, nxt, ends, h, h + 1)


class _LRU(Kernel):
    def __init__(self, frames: int, quotas: list[int] | None) -> None:
        super().__init__(frames)
        self.prev = np.full(frames, -1, np.int32)
        self.nxt = np.full(frames, -1, np.int32)
        self.base, self.size, self.local = domains(frames, quotas)
        self.used = np.zeros(len(self.size), np.int64)
        self.ends = np.full(2 * len(self.size), -1, np.int64)  # each domain's least and most recent frame

    loop = staticmethod(_loop)

    def extra(self) -> tuple[Any, ...]:
        return self.prev, self.nxt, self.base, self.size, self.used, self.ends, self.local


def make(frames: int, params: dict[str, Any], quotas: list[int] | None = None) -> Kernel:
    """The compiled LRU over ``frames`` frames (``quotas``: each process's, by dense index, under
    local scope)."""
    return _LRU(frames, quotas)
