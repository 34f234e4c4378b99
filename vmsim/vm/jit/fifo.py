"""FIFO, compiled: each replacement domain's frames filled in order, then replaced round its ring
(load order)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from vmsim.policies.fifo import FIFO
from vmsim.vm.jit.driver import Kernel, count_fault, domains, evict, load

POLICY = FIFO
LOCAL = True


@njit(cache=True)
def _loop(ids, writes, pidx, frame_of, seen, owner, id_in, dirty, cnt, base, size, used, ptr, local):  # type: ignore[no-untyped-def]
    # Every compiled loop (lru.py, clock.py, sieve.py, opt.py, s3fifo.py, arc.py) opens alike on
    # purpose (look the id up; on a fault count it, evict, load): the shared steps are inlined
    # helpers (driver.py); the loop itself stays the policy's own.
    for i in range(len(ids)):
        x = ids[i]
        w = writes[i]
        f = frame_of[x]
        if f >= 0:
            if w:
                dirty[f] = 1
            continue
        p = pidx[i]
        count_fault(x, p, seen, cnt)
        d = p if local else 0  # the replacement domain: the process's own frames, or all of them
        if used[d] < size[d]:
            f = base[d] + used[d]
            used[d] += 1
        else:
            f = base[d] + ptr[d]
            ptr[d] = ptr[d] + 1 if ptr[d] + 1 < size[d] else 0
            evict(f, id_in, owner, dirty, frame_of, cnt)
        load(f, x, w, id_in, frame_of, dirty)


class _FIFO(Kernel):
    def __init__(self, frames: int, quotas: list[int] | None) -> None:
        super().__init__(frames)
        self.base, self.size, self.local = domains(frames, quotas)
        self.used = np.zeros(len(self.size), np.int64)
        self.ptr = np.zeros(len(self.size), np.int64)

    loop = staticmethod(_loop)

    def extra(self) -> tuple[Any, ...]:
        return self.base, self.size, self.used, self.ptr, self.local


def make(frames: int, params: dict[str, Any], quotas: list[int] | None = None) -> Kernel:
    """The compiled FIFO over ``frames`` frames (``quotas``: each process's, by dense index, under
    local scope)."""
    return _FIFO(frames, quotas)
